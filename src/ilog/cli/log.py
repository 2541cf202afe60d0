"""``ilog log``: list entries (``ilog log [CONTACT] [filters]``), export them, import an export."""


from typing import Annotated, Any

import typer

from .compat import DefaultCommandGroup
from .context import DryRunOpt, FormatOpt, LimitOpt, footer, page_limit, plural, say, state
from .filters import entry_filters
from .render import render

ENTRY_TABLE = ["entry_no", "occurred_at", "contact_no", "template_code", "kind", "flow", "subject", "state",
               "document_no", "owner"]

log_app = typer.Typer(name="log", cls=DefaultCommandGroup, no_args_is_help=False,
                      help="List interaction log entries (ilog log [CONTACT] [filters]); export and import them.")

ExportFormatOpt = Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="csv, jsonl or json.")]
BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, metavar="N", help="Rows per write transaction.")]
ExportLimitOpt = Annotated[int | None, typer.Option("--limit", "-l", min=0, metavar="N",
                                                    help="At most this many entries (0: all, the default).")]


def register(app: typer.Typer) -> None:
    app.add_typer(log_app)


@log_app.command("list", epilog="Also: ilog log export [filters] [-f csv|jsonl] writes entries for another "
                                "database; ilog log import FILE loads such a file.")
@entry_filters()
def list_(
    ctx: typer.Context,
    flt: Any,
    contact_arg: Annotated[str | None, typer.Argument(metavar="CONTACT", help="Contact number.")] = None,
    limit: LimitOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """List interaction log entries, newest first.

    Example: ilog log CT000001 --rollup --from -90d --format json

    Example: ilog log --open --mine

    Example: ilog log --team SALES --kind task --kind phone-call --state open
    """
    from ..domain.records import INTERACTION_FIELDS
    from ..errors import BadValue

    logbook = state(ctx).logbook
    changes: dict[str, Any] = {"limit": page_limit(limit)}
    if contact_arg is not None:
        if flt.contact_no is not None:
            raise BadValue("give the contact as an argument or with --contact, not both")
        changes["contact_no"] = contact_arg
    flt = flt.but(**changes)
    columns = ENTRY_TABLE
    if flt.state == "open" or flt.overdue or flt.due_before:
        columns = [*ENTRY_TABLE[:-1], "due_at", "overdue", "owner"]
    elif flt.completed:
        columns = [*ENTRY_TABLE[:-1], "completed_at", "completed_by"]
    elif flt.owner or flt.team:
        columns = [*ENTRY_TABLE[:-1], "owner"]
    shown = render(entry_rows(logbook.find(flt), fmt), fmt, INTERACTION_FIELDS, table_columns=columns,
                   empty="ilog: no entries")
    footer(shown, flt.limit, lambda: logbook.count(flt.but(limit=None)), "entry")


def entry_rows(entries: Any, fmt: str) -> Any:
    """Entries as rows; in a table the state says cancelled or postponed, as a person reads it."""
    from ..domain.rules import status

    if fmt != "table":
        return (e.to_dict() for e in entries)
    return ({**e.to_dict(), "state": status(e)} for e in entries)


def _export_format(fmt: str) -> str:
    from ..domain import values

    return values.choice(fmt, "format", ("csv", "jsonl", "json"))


@log_app.command("export")
@entry_filters(exclude=("include_cancelled", "postponed"), cancelled="include", postponed="include",
               newest_first=False)
def export(
    ctx: typer.Context,
    flt: Any,
    fmt: ExportFormatOpt = "jsonl",
    no_cancelled: Annotated[bool, typer.Option("--no-cancelled", help="Leave cancelled entries out.")] = False,
    limit: ExportLimitOpt = None,
) -> None:
    """Write entries, oldest first, with every field and their comment lines.

    Cancelled and postponed entries are included unless filtered out. Times keep their
    microseconds, so ilog log import puts back exactly what was exported.

    Example: ilog --db old.db log export > log.jsonl; ilog --db new.db log import log.jsonl
    """
    from ..domain.records import INTERACTION_FIELDS
    from ..errors import BadValue

    fmt = _export_format(fmt)
    if no_cancelled:
        if flt.cancelled == "only":
            raise BadValue("--cancelled and --no-cancelled contradict each other: give one")
        flt = flt.but(cancelled="exclude")
    flt = flt.but(limit=limit)
    from .progress import counting, progress

    logbook = state(ctx).logbook
    columns = [*INTERACTION_FIELDS, "comments"]  # in CSV, the comment lines as a JSON list
    with progress("exporting", unit="entries") as bar:
        total = logbook.count(flt) if bar is not None else None
        if total is not None and flt.limit:
            total = min(total, flt.limit)
        render(counting(logbook.transfer.export_log(flt, comments=True), bar, total), fmt, columns)


@log_app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="A file ilog log export wrote (.jsonl, or .csv).")],
    dry_run: DryRunOpt = False,
    batch_size: BatchOpt = 5000,
) -> None:
    """Load exported entries into this database, keeping their entry numbers; safe to run again.

    The contacts and templates the entries name must exist here first (contact export |
    contact import). No plugin hook runs: entries are restored, not logged again.

    Example: ilog --db postgresql://ilog@db/ilog log import log.jsonl
    """
    from .progress import progress

    with progress("checking", unit="entries") as bar:
        writing = [False]

        def update(done: int, total: int | None) -> None:  # checking the file, then writing it
            if bar is not None:
                if total is not None and not writing[0]:
                    writing[0] = True
                    bar.describe("importing", total=total)
                bar(done, total)

        result = state(ctx).logbook.transfer.import_log(file, dry_run=dry_run, batch_size=batch_size,
                                                        notice=lambda message: say(f"ilog: {message}"),
                                                        progress=update if bar is not None else None)
    if result.attachments_dropped:
        say(f"ilog: {plural(result.attachments_dropped, 'entry')} had attachments, which are not carried over: "
            "their links were dropped")
    head = "dry run, nothing written: would import" if dry_run else "imported"
    tail = "" if dry_run or result.max_entry_no is None else f"; new entries are numbered after {result.max_entry_no}"
    say(f"ilog: {plural(result.entries, 'entry')}: {head} {result.created:,}, {result.skipped:,} already here{tail}")
