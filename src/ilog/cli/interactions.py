"""Recording and reading interactions: interact, log, show, cancel, restore, evaluate, comment,
complete."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..output import render, render_record
from . import DryRunOpt, FormatOpt, YesOpt, confirm, say, state

if TYPE_CHECKING:
    from ..records import LogFilter, RecordResult

ENTRY_TABLE = ["entry_no", "occurred_at", "contact_no", "template_code", "kind", "flow", "subject", "state",
               "document_no", "user_id"]

# options shared by every command that selects entries
ContactOpt = Annotated[str | None, typer.Option("--contact", "-c", help="Entries of this contact.")]
RollupOpt = Annotated[bool, typer.Option("--rollup", help="For a company, include its persons' entries.")]
CompanyOpt = Annotated[str | None, typer.Option("--company", help="Entries logged under this company.")]
TemplateOpt = Annotated[str | None, typer.Option("--template", "-t", help="Entries of this template.")]
GroupOpt = Annotated[str | None, typer.Option("--group", "-g", help="Entries of this interaction group.")]
KindOpt = Annotated[str | None, typer.Option("--kind", "-k", help="Entries of this kind.")]
DocumentNoOpt = Annotated[str | None, typer.Option("--document-no", help="Entries of this document number.")]
SegmentOpt = Annotated[str | None, typer.Option("--segment", help="Entries logged from this segment.")]
UserOpt = Annotated[str | None, typer.Option("--user", help="Entries logged by this user id.")]
FromOpt = Annotated[str | None, typer.Option("--from", help="Entries on or after this date.")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Entries on or before this date.")]
SearchOpt = Annotated[str | None, typer.Option("--search", "-s", help="Text in the subject (any case).")]
Entries = Annotated[list[int] | None, typer.Argument(help="Entry numbers.", show_default=False)]


def register(app: typer.Typer) -> None:
    for name, function in (("interact", interact), ("log", log), ("show", show),
                           ("cancel", cancel), ("restore", restore), ("evaluate", evaluate),
                           ("comment", comment), ("complete", complete)):
        app.command(name)(function)


def make_filter(**values: Any) -> "LogFilter":
    """A LogFilter from command options: dates parsed, codes checked, unset options ignored."""
    from ..dates import parse_datetime
    from ..records import EVALUATIONS, KINDS, LogFilter, check_choice, check_code

    flt = LogFilter()
    for name, value in values.items():
        if value is None or value is False:
            continue
        if name in ("date_from", "due_before"):
            value = parse_datetime(value)
        elif name == "date_to":
            value = parse_datetime(value, end_of_day=True)
        elif name == "kind":
            value = check_choice(value, KINDS, "kind")
        elif name == "evaluation":
            value = check_choice(value, EVALUATIONS, "evaluation")
        elif name in ("contact_no", "company_no", "template_code", "group_code", "segment_no",
                      "logged_segment_no"):
            value = check_code(value, name.replace("_", " "))
        setattr(flt, name, value)
    return flt


def print_result(result: "RecordResult", fmt: str, quiet: bool) -> None:
    """What interact and event print: the entry number, or the record with --format."""
    from ..records import INTERACTION_FIELDS

    if result.entry_no is None:
        say(f"ilog: {result.message}")
        return
    if fmt != "table" and result.interaction is not None:
        render_record(result.interaction.to_dict(), fmt, INTERACTION_FIELDS)
        return
    print(result.entry_no)
    if not quiet:
        say(f"ilog: logged entry {result.entry_no}" if result.created
            else f"ilog: already recorded as entry {result.entry_no} (same idempotency key); nothing new")


def interact(
    ctx: typer.Context,
    contact: Annotated[str | None, typer.Argument(help="Contact number (optional for a task or note to yourself).")] = None,
    template: Annotated[str | None, typer.Option("--template", "-t", help="Interaction template code.")] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="Subject (default: the template's description).")] = None,
    date: Annotated[str | None, typer.Option("--date", help="When it happened (default: now).")] = None,
    duration: Annotated[float | None, typer.Option("--duration", help="Duration in minutes.")] = None,
    cost: Annotated[float | None, typer.Option("--cost", help="Cost.")] = None,
    flow: Annotated[str | None, typer.Option("--flow", help="outbound, inbound, none.")] = None,
    initiated_by: Annotated[str | None, typer.Option("--initiated-by", help="us, them, none.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="Override the template's kind.")] = None,
    evaluation: Annotated[str | None, typer.Option("--evaluation", help="very-positive ... very-negative, none.")] = None,
    attempt_failed: Annotated[bool | None, typer.Option("--attempt-failed/--attempt-succeeded", help="Whether the attempt failed.")] = None,
    salesperson: Annotated[str | None, typer.Option("--salesperson", help="Salesperson code.")] = None,
    document_type: Annotated[str | None, typer.Option("--document-type", help="Document type.")] = None,
    document_no: Annotated[str | None, typer.Option("--document-no", help="Document number.")] = None,
    campaign: Annotated[str | None, typer.Option("--campaign", help="Campaign number.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Idempotency key: a retry with the same key records nothing new.")] = None,
    attach: Annotated[Path | None, typer.Option("--attach", help="File to store with this entry.")] = None,
    due: Annotated[str | None, typer.Option("--due", help="Due date: record an open activity.")] = None,
    open_: Annotated[bool, typer.Option("--open", help="Record an open task or meeting (no due date needed).")] = False,
    postpone: Annotated[bool, typer.Option("--postpone", help="Save it unfinished, to log later with ilog resume.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the entry number.")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Log one interaction with a contact; prints the new entry number.

    Example: ilog interact CT000001 -t CALL --subject "Asked for a quote" --duration 12

    Example: ilog interact -t TODO --subject "Send the price list" --due tomorrow
    """
    from ..dates import parse_datetime
    from ..records import check_code

    if template is None and kind is None:
        from ..errors import BadValue

        raise BadValue("give --template CODE (or --kind for an entry without a template)")
    result = state(ctx).logbook.interact(
        contact, template, attach=attach, subject=subject,
        occurred_at=parse_datetime(date) if date is not None else None,
        duration_min=duration, cost=cost, flow=flow, initiated_by=initiated_by, kind=kind,
        evaluation=evaluation, attempt_failed=attempt_failed,
        salesperson_code=check_code(salesperson, "salesperson code") if salesperson else None,
        document_type=document_type, document_no=document_no,
        campaign_no=check_code(campaign, "campaign number") if campaign else None, idempotency_key=key,
        due_at=parse_datetime(due) if due else None, open_activity=open_, postponed=True if postpone else None,
    )
    print_result(result, fmt, quiet)
    if postpone and fmt == "table" and not quiet and result.created:
        say(f"ilog: entry {result.entry_no} is postponed: log it with `ilog resume {result.entry_no}`")


def log(
    ctx: typer.Context,
    contact: Annotated[str | None, typer.Argument(help="Contact number.")] = None,
    rollup: RollupOpt = False,
    company: CompanyOpt = None,
    template: TemplateOpt = None,
    group: GroupOpt = None,
    kind: KindOpt = None,
    document_no: DocumentNoOpt = None,
    segment: SegmentOpt = None,
    user_id: UserOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    search: SearchOpt = None,
    cancelled: Annotated[bool, typer.Option("--cancelled", help="Only cancelled entries.")] = False,
    include_cancelled: Annotated[bool, typer.Option("--include-cancelled", help="Cancelled entries too.")] = False,
    evaluation: Annotated[str | None, typer.Option("--evaluation", help="Entries with this evaluation.")] = None,
    open_: Annotated[bool, typer.Option("--open", help="Only open activities.")] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open activities past their due date.")] = False,
    due_before: Annotated[str | None, typer.Option("--due-before", help="Only activities due before this date.")] = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only the current user's entries (--user of ilog, ILOG_USER).")] = False,
    postponed: Annotated[bool, typer.Option("--postponed", help="Only postponed entries (left out otherwise).")] = False,
    limit: Annotated[int | None, typer.Option("--limit", "-l", min=1, help="At most this many entries.")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """List interaction log entries, newest first.

    Example: ilog log CT000001 --rollup --from -90d --format json

    Example: ilog log --open --mine
    """
    logbook = state(ctx).logbook
    if mine:
        if user_id is not None and user_id != logbook.user:
            from ..errors import BadValue

            raise BadValue(f"--mine means user {logbook.user!r}: do not combine it with --user {user_id}")
        user_id = logbook.user
    flt = make_filter(contact_no=contact, rollup=rollup, company_no=company, template_code=template,
                      group_code=group, kind=kind, document_no=document_no, segment_no=segment,
                      user_id=user_id, date_from=date_from, date_to=date_to, text=search,
                      evaluation=evaluation, overdue=overdue, due_before=due_before,
                      state="open" if open_ else None, limit=limit)
    flt.cancelled = "only" if cancelled else "include" if include_cancelled else "exclude"
    flt.postponed = "only" if postponed else "exclude"
    from ..records import INTERACTION_FIELDS

    entries = logbook.find(flt)
    columns = ENTRY_TABLE
    if open_ or overdue or due_before:
        columns = [*ENTRY_TABLE[:-1], "due_at", ENTRY_TABLE[-1]]
    render((e.to_dict() for e in entries), fmt, INTERACTION_FIELDS, table_columns=columns,
           empty="ilog: no entries")


def show(ctx: typer.Context, entry: Annotated[int, typer.Argument(help="Entry number.")],
         fmt: FormatOpt = "table") -> None:
    """Show one entry in full, with its comment lines.

    Example: ilog show 42
    """
    from ..dates import to_local
    from ..records import INTERACTION_FIELDS

    logbook = state(ctx).logbook
    record = logbook.get(entry).to_dict()
    comments = logbook.comments(entry)
    if fmt == "table":
        lines = [f"comment {c['line_no']}: {to_local(c['created_at']):%Y-%m-%d %H:%M} {c['user_id'] or ''}: {c['text']}"
                 for c in comments]
        render_record(record, fmt, INTERACTION_FIELDS, extra_lines=lines)
    else:
        record["comments"] = [{"line_no": c["line_no"], "created_at": c["created_at"], "user_id": c["user_id"],
                               "text": c["text"]} for c in comments]
        render_record(record, fmt, [*INTERACTION_FIELDS, "comments"])


def _bulk(ctx: typer.Context, action: str, entries: list[int] | None, flt: "LogFilter", dry_run: bool, yes: bool,
          run) -> None:
    """Shared by cancel/restore/complete/evaluate: explicit entries, or a filter with --yes/--dry-run."""
    from ..errors import BadValue

    by_filter = not entries
    if by_filter and flt.is_empty():
        raise BadValue(f"give entry numbers or a filter to {action}")
    if by_filter:
        preview = run(None, flt, True)
        if dry_run or not preview.changed:
            _report(action, preview, dry_run=True)
            return
        confirm(f"{action} {len(preview.changed)} entries", yes=yes)
    elif dry_run:
        _report(action, run(entries, None, True), dry_run=True)
        return
    _report(action, run(entries if not by_filter else None, flt if by_filter else None, False), dry_run=False)


def _report(action: str, result, *, dry_run: bool) -> None:
    for no in result.changed:
        print(no)
    for no, reason in result.refused:
        say(f"ilog: entry {no} {reason}; skipped")
    verb = f"would {action}" if dry_run else {"cancel": "cancelled", "restore": "restored",
                                               "complete": "completed", "evaluate": "evaluated"}[action]
    say(f"ilog: {verb} {len(result.changed)} entries")


def cancel(
    ctx: typer.Context, entries: Entries = None, contact: ContactOpt = None, company: CompanyOpt = None,
    template: TemplateOpt = None, document_no: DocumentNoOpt = None, segment: SegmentOpt = None,
    user_id: UserOpt = None, date_from: FromOpt = None, date_to: ToOpt = None,
    dry_run: DryRunOpt = False, yes: YesOpt = False,
) -> None:
    """Cancel entries by number or by filter (they stay in the log until purged).

    Example: ilog cancel --template MAILING --from 2026-11-01 --yes
    """
    flt = make_filter(contact_no=contact, company_no=company, template_code=template, document_no=document_no,
                      segment_no=segment, user_id=user_id, date_from=date_from, date_to=date_to)
    lb = state(ctx).logbook
    _bulk(ctx, "cancel", entries, flt, dry_run, yes, lambda e, f, d: lb.cancel(e, f, dry_run=d))


def restore(
    ctx: typer.Context, entries: Entries = None, contact: ContactOpt = None, company: CompanyOpt = None,
    template: TemplateOpt = None, document_no: DocumentNoOpt = None, segment: SegmentOpt = None,
    user_id: UserOpt = None, date_from: FromOpt = None, date_to: ToOpt = None,
    dry_run: DryRunOpt = False, yes: YesOpt = False,
) -> None:
    """Undo the cancellation of entries, by number or by filter.

    Example: ilog restore 42 43
    """
    flt = make_filter(contact_no=contact, company_no=company, template_code=template, document_no=document_no,
                      segment_no=segment, user_id=user_id, date_from=date_from, date_to=date_to)
    lb = state(ctx).logbook
    _bulk(ctx, "restore", entries, flt, dry_run, yes, lambda e, f, d: lb.restore(e, f, dry_run=d))


def evaluate(
    ctx: typer.Context, entries: Entries = None,
    value: Annotated[str, typer.Option("--as", help="very-positive, positive, neutral, negative, very-negative, none.")] = ...,
    contact: ContactOpt = None, template: TemplateOpt = None, date_from: FromOpt = None, date_to: ToOpt = None,
    dry_run: DryRunOpt = False, yes: YesOpt = False,
) -> None:
    """Set the evaluation of entries.

    Example: ilog evaluate 42 --as positive
    """
    from ..records import EVALUATIONS, check_choice

    value = check_choice(value, EVALUATIONS, "evaluation")
    flt = make_filter(contact_no=contact, template_code=template, date_from=date_from, date_to=date_to)
    lb = state(ctx).logbook
    _bulk(ctx, "evaluate", entries, flt, dry_run, yes, lambda e, f, d: lb.evaluate(e, value, f, dry_run=d))


def complete(
    ctx: typer.Context, entries: Entries = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="All open activities past their due date.")] = False,
    user_id: UserOpt = None, contact: ContactOpt = None, template: TemplateOpt = None,
    due_before: Annotated[str | None, typer.Option("--due-before", help="Open activities due before this date.")] = None,
    dry_run: DryRunOpt = False, yes: YesOpt = False,
) -> None:
    """Mark open activities done, by number or by filter.

    Example: ilog complete --overdue --user alice --yes
    """
    flt = make_filter(overdue=overdue, user_id=user_id, contact_no=contact, template_code=template,
                      due_before=due_before)
    lb = state(ctx).logbook
    _bulk(ctx, "complete", entries, flt, dry_run, yes, lambda e, f, d: lb.complete(e, f, dry_run=d))


def comment(ctx: typer.Context, entry: Annotated[int, typer.Argument(help="Entry number.")],
            text: Annotated[str, typer.Argument(help="The comment.")]) -> None:
    """Add a dated comment line to an entry (shown by ilog show).

    Example: ilog comment 42 "Customer called back, wants a visit"
    """
    line = state(ctx).logbook.comment(entry, text)
    say(f"ilog: comment line {line} added to entry {entry}")
