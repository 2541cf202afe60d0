"""``ilog log``: list entries (``ilog log [CONTACT] [filters]``), export them, import an export."""


from typing import Annotated, Any

import typer

from .compat import DefaultCommandGroup
from .context import DryRunOpt, FormatOpt, say, state
from .filters import entry_filters
from .render import render

ENTRY_TABLE = ["entry_no", "occurred_at", "contact_no", "template_code", "kind", "flow", "subject", "state",
               "document_no", "user_id"]

log_app = typer.Typer(name="log", cls=DefaultCommandGroup, no_args_is_help=False,
                      help="List interaction log entries (ilog log [CONTACT] [filters]); export and import them.")

ExportFormatOpt = Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="csv, jsonl or json.")]
BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, metavar="N", help="Rows per write transaction.")]
LimitOpt = Annotated[int | None, typer.Option("--limit", "-l", min=0, metavar="N", help="At most this many entries.")]


def register(app: typer.Typer) -> None:
    app.add_typer(log_app)


@log_app.command("list", epilog="Also: ilog log export [filters] [-f csv|jsonl] writes entries for another "
                                "database; ilog log import FILE loads such a file.")
@entry_filters()
def list_(
    ctx: typer.Context,
    flt: Any,
    contact_arg: Annotated[str | None, typer.Argument(metavar="CONTACT", help="Contact number.")] = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only the current user's entries (--user of ilog, ILOG_USER).")] = False,
    limit: LimitOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """List interaction log entries, newest first.

    Example: ilog log CT000001 --rollup --from -90d --format json

    Example: ilog log --open --mine
    """
    from ..domain.records import INTERACTION_FIELDS
    from ..errors import BadValue

    logbook = state(ctx).logbook
    changes: dict[str, Any] = {"limit": limit}
    if contact_arg is not None:
        if flt.contact_no is not None:
            raise BadValue("give the contact as an argument or with --contact, not both")
        changes["contact_no"] = contact_arg
    if mine:
        if flt.user_id is not None and flt.user_id != logbook.user:
            raise BadValue(f"--mine means user {logbook.user!r}: do not combine it with --user {flt.user_id}")
        changes["user_id"] = logbook.user
    flt = flt.but(**changes)
    columns = ENTRY_TABLE
    if flt.state == "open" or flt.overdue or flt.due_before:
        columns = [*ENTRY_TABLE[:-1], "due_at", ENTRY_TABLE[-1]]
    render((e.to_dict() for e in logbook.find(flt)), fmt, INTERACTION_FIELDS, table_columns=columns,
           empty="ilog: no entries")


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
    limit: LimitOpt = None,
) -> None:
    """Write entries, oldest first, with every field (JSON Lines also with comment lines).

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
    columns = list(INTERACTION_FIELDS) + ([] if fmt == "csv" else ["comments"])
    render(state(ctx).logbook.transfer.export_log(flt, comments=fmt != "csv"), fmt, columns)


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
    result = state(ctx).logbook.transfer.import_log(file, dry_run=dry_run, batch_size=batch_size,
                                                    notice=lambda message: say(f"ilog: {message}"))
    if result.attachments_dropped:
        say(f"ilog: {result.attachments_dropped} entries had attachments, which are not carried over: "
            "their links were dropped")
    head = "dry run, nothing written: would import" if dry_run else "imported"
    tail = "" if dry_run or result.max_entry_no is None else f"; new entries are numbered after {result.max_entry_no}"
    say(f"ilog: {result.entries} entries: {head} {result.created}, {result.skipped} already here{tail}")
