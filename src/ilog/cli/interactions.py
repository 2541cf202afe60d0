"""Recording and changing interactions: interact, show, cancel, restore, evaluate, comment, complete."""


import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .context import DryRunOpt, FormatOpt, YesOpt, confirm, plural, preview, say, state
from .filters import entry_filters
from .render import render_record

if TYPE_CHECKING:
    from ..domain.records import LogFilter, RecordResult

Entries = Annotated[list[int] | None, typer.Argument(metavar="ENTRY...", help="Entry numbers.", show_default=False)]


def register(app: typer.Typer) -> None:
    for name, function in (("interact", interact), ("show", show), ("cancel", cancel), ("restore", restore),
                           ("evaluate", evaluate), ("comment", comment), ("complete", complete),
                           ("assign", assign)):
        app.command(name)(function)


def print_result(result: "RecordResult", fmt: str, quiet: bool) -> None:
    """What interact and event print: the entry number, or the record with --format."""
    from ..domain.records import INTERACTION_FIELDS

    if result.spooled:  # no entry yet; said even with --quiet: the print is kept, not recorded
        if fmt != "table":
            render_record({"spool_id": result.spool_id, "key": result.key, "message": result.message}, fmt)
        say(f"ilog: {result.message}")
        return
    if result.entry_no is None:
        say(f"ilog: {result.message}")
        return
    if fmt != "table" and result.interaction is not None:
        render_record(result.interaction.to_dict(), fmt, INTERACTION_FIELDS)
        return
    print(result.entry_no, flush=True)
    if not quiet:
        say(f"ilog: logged entry {result.entry_no}" if result.created
            else f"ilog: already recorded as entry {result.entry_no} (same idempotency key); nothing new")


def interact(
    ctx: typer.Context,
    contact: Annotated[str | None, typer.Argument(metavar="CONTACT", help="Contact number (optional for a task or note to yourself).")] = None,
    template: Annotated[str | None, typer.Option("--template", "-t", metavar="CODE", help="Interaction template code.")] = None,
    subject: Annotated[str | None, typer.Option("--subject", metavar="TEXT", help="Subject (default: the template's description).")] = None,
    date: Annotated[str | None, typer.Option("--date", metavar="DATE", help="When it happened (default: now).")] = None,
    duration: Annotated[str | None, typer.Option("--duration", metavar="MIN", help="Duration in minutes.")] = None,
    cost: Annotated[str | None, typer.Option("--cost", metavar="AMOUNT", help="Cost.")] = None,
    flow: Annotated[str | None, typer.Option("--flow", metavar="FLOW", help="outbound, inbound, none.")] = None,
    initiated_by: Annotated[str | None, typer.Option("--initiated-by", metavar="WHO", help="us, them, none.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", "-k", metavar="KIND", help="Override the template's kind.")] = None,
    evaluation: Annotated[str | None, typer.Option("--evaluation", metavar="VALUE", help="very-positive ... very-negative, none.")] = None,
    attempt_failed: Annotated[bool | None, typer.Option("--attempt-failed/--attempt-succeeded", help="Whether the attempt failed.")] = None,
    salesperson: Annotated[str | None, typer.Option("--salesperson", metavar="CODE", help="Salesperson code.")] = None,
    document_type: Annotated[str | None, typer.Option("--document-type", metavar="TYPE", help="Document type.")] = None,
    document_no: Annotated[str | None, typer.Option("--document-no", metavar="NO", help="Document number.")] = None,
    campaign: Annotated[str | None, typer.Option("--campaign", metavar="NO", help="Campaign number.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", metavar="USER", help="Who the activity is for (default: you).")] = None,
    opportunity: Annotated[str | None, typer.Option("--opportunity", metavar="NO", help="The opportunity it regards.")] = None,
    key: Annotated[str | None, typer.Option("--key", metavar="KEY", help="Idempotency key: a retry with the same key records nothing new.")] = None,
    attach: Annotated[Path | None, typer.Option("--attach", metavar="FILE", help="File to store with this entry.")] = None,
    due: Annotated[str | None, typer.Option("--due", metavar="DATE", help="Due date: record an open activity.")] = None,
    open_: Annotated[bool, typer.Option("--open", help="Record an open task or meeting (no due date needed).")] = False,
    postpone: Annotated[bool, typer.Option("--postpone", help="Save it unfinished, to log later with ilog resume.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the entry number.")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Log one interaction with a contact; prints the new entry number.

    Example: ilog interact CT000001 -t CALL --subject "Asked for a quote" --duration 12

    Example: ilog interact -t TODO --subject "Send the price list" --due tomorrow

    Example: ilog interact CT000001 -t CALL --due friday --owner anna --opportunity OP-17
    """
    result = state(ctx).logbook.interact(
        contact, template, attach=attach, subject=subject, occurred_at=date, duration_min=duration, cost=cost,
        flow=flow, initiated_by=initiated_by, kind=kind, evaluation=evaluation, attempt_failed=attempt_failed,
        salesperson_code=salesperson, document_type=document_type, document_no=document_no, campaign_no=campaign,
        owner=owner, opportunity_no=opportunity, idempotency_key=key, due_at=due, open_activity=open_,
        postponed=True if postpone else None,
    )
    print_result(result, fmt, quiet)
    if postpone and fmt == "table" and not quiet and result.created:
        say(f"ilog: entry {result.entry_no} is postponed: log it with `ilog resume {result.entry_no}`")


def show(ctx: typer.Context, entry: Annotated[str, typer.Argument(metavar="ENTRY", help="Entry number.")],
         fmt: FormatOpt = "table") -> None:
    """Show one entry in full, with its comment lines.

    Example: ilog show 42
    """
    from ..domain.records import INTERACTION_FIELDS
    from .render import local_time

    logbook = state(ctx).logbook
    found = logbook.get(entry)
    record = found.to_dict()
    comments = logbook.comments(found.entry_no)
    if fmt == "table":
        from ..domain.rules import status

        record["state"] = status(found)
        lines = [f"comment {c['line_no']}: {local_time(c['created_at'])} {c['user_id'] or ''}: {c['text']}"
                 for c in comments]
        render_record(record, fmt, INTERACTION_FIELDS, extra_lines=lines)
    else:
        record["comments"] = [{"line_no": c["line_no"], "created_at": c["created_at"], "user_id": c["user_id"],
                               "text": c["text"]} for c in comments]
        render_record(record, fmt, [*INTERACTION_FIELDS, "comments"])


_DONE = {"cancel": "cancelled", "restore": "restored", "complete": "completed", "evaluate": "evaluated",
         "assign": "assigned"}


def bulk(action: str, entries: list[int] | None, flt: "LogFilter", dry_run: bool, yes: bool, run: Any) -> None:
    """Shared by cancel/restore/complete/evaluate: explicit entries, or a filter with --yes/--dry-run."""
    from ..errors import BadValue

    by_filter = not entries
    if by_filter and flt.is_empty():
        raise BadValue(f"give entry numbers or a filter to {action}")
    if not by_filter and not flt.is_empty():
        raise BadValue(f"give entry numbers or a filter to {action}, not both")
    if by_filter:
        preview = run(None, flt, True)
        if dry_run or not preview.changed:
            _report(action, preview, dry_run=True)
            return
        confirm(f"{action} {plural(len(preview.changed), 'entry')}", yes=yes)
    elif dry_run:
        _report(action, run(entries, None, True), dry_run=True)
        return
    _report(action, run(entries if not by_filter else None, flt if by_filter else None, False), dry_run=False)


#: what a dry run shows of each entry it would change, on a terminal
PREVIEW_COLUMNS = ["entry_no", "occurred_at", "contact_no", "template_code", "subject", "state", "user_id"]


def _report(action: str, result: Any, *, dry_run: bool) -> None:
    """The entries changed (their numbers; a dry run on a terminal: the first of them as a
    table), those skipped and why, and how many."""
    if dry_run:
        preview((e.to_dict() for e in result.preview), PREVIEW_COLUMNS, result.changed, what="entry")
    else:
        sys.stdout.write("".join(f"{no}\n" for no in result.changed))
    for no, reason in result.refused:
        say(f"ilog: entry {no} {reason}; skipped")
    verb = f"would {action}" if dry_run else _DONE.get(action, f"{action}ed")
    say(f"ilog: {verb} {plural(len(result.changed), 'entry')}")


@entry_filters()
def cancel(ctx: typer.Context, flt: Any, entries: Entries = None, dry_run: DryRunOpt = False,
           yes: YesOpt = False) -> None:
    """Cancel entries by number or by filter (they stay in the log until purged).

    Example: ilog cancel --template MAILING --from 2026-11-01 --yes
    """
    lb = state(ctx).logbook
    bulk("cancel", entries, flt, dry_run, yes, lambda e, f, d: lb.cancel(e, f, dry_run=d))


@entry_filters()
def restore(ctx: typer.Context, flt: Any, entries: Entries = None, dry_run: DryRunOpt = False,
            yes: YesOpt = False) -> None:
    """Undo the cancellation of entries, by number or by filter.

    Example: ilog restore 42 43
    """
    lb = state(ctx).logbook
    bulk("restore", entries, flt, dry_run, yes, lambda e, f, d: lb.restore(e, f, dry_run=d))


@entry_filters()
def evaluate(
    ctx: typer.Context, flt: Any, entries: Entries = None,
    value: Annotated[str, typer.Option("--as", metavar="VALUE", help="very-positive, positive, neutral, negative, very-negative, none.")] = ...,
    dry_run: DryRunOpt = False, yes: YesOpt = False,
) -> None:
    """Set the evaluation of entries, by number or by filter.

    Example: ilog evaluate 42 --as positive
    """
    lb = state(ctx).logbook
    bulk("evaluate", entries, flt, dry_run, yes, lambda e, f, d: lb.evaluate(e, value, f, dry_run=d))


@entry_filters()
def complete(ctx: typer.Context, flt: Any, entries: Entries = None, dry_run: DryRunOpt = False,
             yes: YesOpt = False) -> None:
    """Mark open activities done, by number or by filter.

    Example: ilog complete --overdue --user alice --yes
    """
    lb = state(ctx).logbook
    bulk("complete", entries, flt, dry_run, yes, lambda e, f, d: lb.complete(e, f, dry_run=d))


@entry_filters(exclude=("date_to",))  # its --to names who takes them over
def assign(
    ctx: typer.Context, flt: Any, entries: Entries = None,
    to: Annotated[str, typer.Option("--to", metavar="USER", help="Who takes the activities over.")] = ...,
    dry_run: DryRunOpt = False, yes: YesOpt = False,
) -> None:
    """Hand open or postponed activities over to another user, by number or by filter.

    A done entry stays with who did it (refused, per entry, as complete refuses).

    Example: ilog assign 42 43 --to anna

    Example: ilog assign --owner marco --open --yes --to anna
    """
    lb = state(ctx).logbook
    bulk("assign", entries, flt, dry_run, yes, lambda e, f, d: lb.assign(e, to, f, dry_run=d))


def comment(ctx: typer.Context, entry: Annotated[str, typer.Argument(metavar="ENTRY", help="Entry number.")],
            text: Annotated[str, typer.Argument(metavar="TEXT", help="The comment.")]) -> None:
    """Add a dated comment line to an entry (shown by ilog show).

    Example: ilog comment 42 "Customer called back, wants a visit"
    """
    line = state(ctx).logbook.comment(entry, text)
    say(f"ilog: comment line {line} added to entry {entry}")
