"""Open activities, postponed interactions, timeline, attachments and statistics (issue #6):
``ilog postponed``, ``ilog resume``, ``ilog timeline``, ``ilog stats`` and ``ilog attachment``."""


import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from .context import FormatOpt, LimitOpt, footer, page_limit, say, state
from .filters import entry_filters
from .render import local_time, render, render_record
from .interactions import print_result
from .log import ENTRY_TABLE, entry_rows

TIMELINE_TABLE = ["entry_no", "date", "kind", "flow", "subject", "state", "document"]
ATTACHMENT_FIELDS = ["entry_no", "attachment_id", "name", "media_type", "size", "sha256"]

attachment_app = typer.Typer(name="attachment", help="Files stored with entries.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    for name, function in (("postponed", postponed), ("resume", resume), ("timeline", timeline),
                           ("stats", stats)):
        app.command(name)(function)
    app.add_typer(attachment_app)


def postponed(
    ctx: typer.Context,
    contact: Annotated[str | None, typer.Argument(help="Only this contact's.")] = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only those I own.")] = False,
    user_id: Annotated[str | None, typer.Option("--user", help="Only those saved by this user id.")] = None,
    search: Annotated[str | None, typer.Option("--search", "-s", help="Text in the subject (any case).")] = None,
    limit: LimitOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """List postponed interactions, waiting to be logged with ilog resume.

    Example: ilog postponed --mine
    """
    from ..domain import values
    from ..domain.records import INTERACTION_FIELDS, LogFilter

    logbook = state(ctx).logbook
    flt = values.validated(LogFilter, {"contact_no": contact, "owner": logbook.user if mine else None,
                                       "user_id": user_id, "text": search, "limit": page_limit(limit),
                                       "postponed": "only"})
    shown = render(entry_rows(logbook.find(flt), fmt), fmt, INTERACTION_FIELDS, table_columns=ENTRY_TABLE,
                   empty="ilog: no postponed interactions")
    footer(shown, flt.limit, lambda: logbook.count(flt.but(limit=None)), "postponed interaction")


def resume(
    ctx: typer.Context,
    entry: Annotated[str, typer.Argument(metavar="ENTRY", help="Entry number of a postponed interaction.")],
    subject: Annotated[str | None, typer.Option("--subject", help="Subject.")] = None,
    date: Annotated[str | None, typer.Option("--date", help="When it happened (default: as saved).")] = None,
    duration: Annotated[str | None, typer.Option("--duration", help="Duration in minutes.")] = None,
    cost: Annotated[str | None, typer.Option("--cost", help="Cost.")] = None,
    flow: Annotated[str | None, typer.Option("--flow", help="outbound, inbound, none.")] = None,
    initiated_by: Annotated[str | None, typer.Option("--initiated-by", help="us, them, none.")] = None,
    evaluation: Annotated[str | None, typer.Option("--evaluation", help="very-positive ... very-negative, none.")] = None,
    attempt_failed: Annotated[bool | None, typer.Option("--attempt-failed/--attempt-succeeded", help="Whether the attempt failed.")] = None,
    salesperson: Annotated[str | None, typer.Option("--salesperson", help="Salesperson code.")] = None,
    campaign: Annotated[str | None, typer.Option("--campaign", help="Campaign number.")] = None,
    due: Annotated[str | None, typer.Option("--due", help="Due date: log it as an open activity.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the entry number.")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Log a postponed interaction, with any values changed; prints its entry number.

    Example: ilog resume 42 --subject "Quote sent" --evaluation positive
    """
    result = state(ctx).logbook.resume(
        entry, subject=subject, occurred_at=date, duration_min=duration, cost=cost, flow=flow,
        initiated_by=initiated_by, evaluation=evaluation, attempt_failed=attempt_failed,
        salesperson_code=salesperson, campaign_no=campaign, due_at=due,
    )
    if fmt == "table":
        print(result.entry_no)
        if not quiet:
            say(f"ilog: logged postponed entry {result.entry_no}")
    else:
        print_result(result, fmt, quiet)


def timeline(
    ctx: typer.Context,
    contact: Annotated[str | None, typer.Argument(metavar="CONTACT", help="Contact number (a company includes its persons).")] = None,
    opportunity: Annotated[str | None, typer.Option("--opportunity", metavar="NO", help="The entries regarding this opportunity (of CONTACT, if given).")] = None,
    no_rollup: Annotated[bool, typer.Option("--no-rollup", help="For a company, only its own entries.")] = False,
    include_cancelled: Annotated[bool, typer.Option("--include-cancelled", help="Cancelled entries too.")] = False,
    limit: LimitOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """A contact's history, newest first; a company's includes its persons' (named).

    Example: ilog timeline C1 --limit 20

    Example: ilog timeline --opportunity OP-17
    """
    from ..store.reports import TIMELINE_FIELDS

    logbook = state(ctx).logbook
    limit = page_limit(limit)
    contact_record, rows = logbook.timeline(contact, rollup=not no_rollup, limit=limit,
                                            include_cancelled=include_cancelled, opportunity_no=opportunity)

    def total() -> int:
        return logbook.timeline_count(contact_record.no if contact_record else None, rollup=not no_rollup,
                                      include_cancelled=include_cancelled, opportunity_no=opportunity)

    if fmt != "table":
        footer(render(rows, fmt, TIMELINE_FIELDS), limit, total, "entry")
        return
    columns = list(TIMELINE_TABLE)
    if contact_record is None or (contact_record.type == "company" and not no_rollup):
        columns.insert(2, "person")
    for row in rows:
        row["date"] = row["occurred_at"]
        row["document"] = " ".join(p for p in (row["document_type"], row["document_no"]) if p)
        if row["occurrence"] and row["occurrence"] > 1:
            row["document"] += f" ({row['occurrence']})"
        row["person"] = row["contact_name"] if contact_record is None or row["contact_no"] != contact_record.no else ""
        if row["state"] == "open" and row["due_at"] is not None:
            row["state"] = f"open, due {local_time(row['due_at'], '%Y-%m-%d')}"
    whom = f"{contact_record.no} ({contact_record.name})" if contact_record else f"opportunity {opportunity}"
    shown = render(rows, fmt, columns, empty=f"ilog: no entries for {whom}")
    footer(shown, limit, total, "entry")


@entry_filters(exclude=("cancelled", "include_cancelled", "postponed"))
def stats(
    ctx: typer.Context,
    flt: Any,
    by: Annotated[str, typer.Option("--by", help="template, group, contact, company, user, owner, opportunity, month or day (months and days of your time zone).")] = "template",
    limit: Annotated[int | None, typer.Option("--limit", "-l", min=0, help="At most this many rows (0: all, the "
                                                                             "default).")] = None,
    chart: Annotated[bool, typer.Option("--chart", help="Draw a bar chart in the terminal.")] = False,
    measure: Annotated[str, typer.Option("--measure", help="What --chart draws: count, cost or duration.")] = "count",
    fmt: FormatOpt = "table",
) -> None:
    """Count, cost and duration of the log (cancelled and postponed entries left out).

    Example: ilog stats --by month --from 2026-01-01 --chart
    """
    from ..domain import values
    from ..errors import BadValue
    from ..services.reports import stats_columns
    from .render import render_bar_chart

    from .help import MEASURES

    measure = values.choice(measure, "measure", MEASURES)
    if chart and fmt != "table":
        raise BadValue("--chart draws for people: use it without --format")
    rows = state(ctx).logbook.stats(by, limit=limit or None, flt=flt)
    columns = stats_columns(by)
    key = columns[0]
    if chart:
        value = "duration_min" if measure == "duration" else measure
        render_bar_chart(rows, key, value, empty="ilog: no entries")
        return
    if fmt == "table":
        rows = [{**row, key: "(none)"} if row[key] is None else row for row in rows]
    render(rows, fmt, columns, empty="ilog: no entries")


@attachment_app.command("get")
def attachment_get(
    ctx: typer.Context,
    entry: Annotated[str, typer.Argument(metavar="ENTRY", help="Entry number.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File to write, or a directory to write the stored name in (default: stdout).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite a file that is already there.")] = False,
) -> None:
    """Write an entry's attached file back, byte for byte (never over an existing file without --force).

    Example: ilog attachment get 42 --out ./invoices/
    """
    from ..errors import BadValue, IlogError, Refused
    from ..services.attachments import safe_file_name

    found = state(ctx).logbook.attachment(entry)
    content = bytes(found["content"])
    if out is None:
        stdout = sys.stdout
        if stdout.isatty() and not str(found["media_type"]).startswith("text/"):
            raise BadValue(f"{found['name']!r} is a {found['media_type']} file: use --out FILE or redirect stdout")
        stdout.flush()
        stdout.buffer.write(content)
        stdout.buffer.flush()
        return
    target = out / safe_file_name(found["name"], f"attachment-{found['id']}") if out.is_dir() else out
    if target.exists() and not force:
        raise Refused(f"{target} already exists: give --force to overwrite it, or another --out")
    try:
        with target.open("wb" if force else "xb") as handle:
            handle.write(content)
    except FileExistsError:
        raise Refused(f"{target} already exists: give --force to overwrite it, or another --out") from None
    except OSError as exc:
        raise IlogError(f"cannot write {target}: {exc.strerror}") from None
    say(f"ilog: wrote {target} ({len(content)} bytes)")


@attachment_app.command("show")
def attachment_show(
    ctx: typer.Context,
    entry: Annotated[str, typer.Argument(metavar="ENTRY", help="Entry number.")],
    fmt: FormatOpt = "table",
) -> None:
    """Show the name, media type, size and checksum of an entry's attached file.

    Example: ilog attachment show 42
    """
    found = state(ctx).logbook.attachment(entry)
    record = {"entry_no": entry, "attachment_id": found["id"], **{k: found[k] for k in ATTACHMENT_FIELDS[2:]}}
    render_record(record, fmt, ATTACHMENT_FIELDS)
