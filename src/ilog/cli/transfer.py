"""Import and export: contacts from CSV/XLSX/XML, the log in and out (issue #7).

``contact import`` and ``contact export`` join the ``contact`` group. ``ilog log`` stays
the listing command (``ilog log C1 --rollup``) and also takes two subcommands,
``ilog log export`` and ``ilog log import FILE``: :class:`LogGroup` runs the listing when
the first word is not one of them.
"""

from __future__ import annotations

import copy
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ..output import render
from . import DryRunOpt, say, state
from .interactions import (
    CompanyOpt,
    ContactOpt,
    DocumentNoOpt,
    FromOpt,
    GroupOpt,
    KindOpt,
    RollupOpt,
    SearchOpt,
    SegmentOpt,
    TemplateOpt,
    ToOpt,
    UserOpt,
    make_filter,
)

#: row errors printed on stderr before the rest are only counted (the error file has them all)
SHOWN_ERRORS = 100

ExportFormatOpt = Annotated[str, typer.Option("--format", "-f", help="csv, jsonl or json.")]
BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Rows per write transaction.")]


class LogGroup(TyperGroup):
    """``ilog log``: the listing unless the first word names a subcommand (export, import)."""

    default_command = "list"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def register(app: typer.Typer) -> None:
    """Add ``contact import/export`` and turn ``log`` into the listing plus ``log export/import``."""
    from .contacts import contact_app

    names = {info.name for info in contact_app.registered_commands}
    if "import" not in names:  # contact_app is the module's own: register once per process
        contact_app.command("import")(import_contacts)
    if "export" not in names:
        contact_app.command("export")(export_contacts)
    _log_group(app)


def _log_group(app: typer.Typer) -> None:
    listing = next((info for info in app.registered_commands
                    if (info.name or info.callback.__name__) == "log"), None)
    if listing is None:
        return
    app.registered_commands.remove(listing)
    listed = copy.copy(listing)
    listed.name = "list"
    listed.epilog = ("Also: ilog log export [filters] [-f csv|jsonl] writes entries for another database; "
                     "ilog log import FILE loads such a file.")
    log_app = typer.Typer(name="log", cls=LogGroup, no_args_is_help=False,
                          help="List interaction log entries (ilog log [CONTACT] [filters]); "
                               "export and import them.")
    log_app.registered_commands.append(listed)
    log_app.command("export")(export_log)
    log_app.command("import")(import_log)
    app.add_typer(log_app, name="log")


def _progress_bar():
    """A progress callback drawing a bar on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None, lambda: None
    holder: dict[str, Any] = {}

    def update(done: int, total: int | None) -> None:
        if not total:
            return
        if "bar" not in holder:
            holder["bar"] = typer.progressbar(length=total, label="importing", file=sys.stderr)
            holder["bar"].__enter__()
        bar = holder["bar"]
        bar.update(max(0, min(done, total) - bar.pos))

    def finish() -> None:
        if "bar" in holder:
            holder.pop("bar").__exit__(None, None, None)

    return update, finish


def import_contacts(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="CSV, XLSX or XML file; - reads CSV from standard input.")],
    input_format: Annotated[str | None, typer.Option("--input-format", help="csv, xlsx or xml (default: from the extension).")] = None,
    delimiter: Annotated[str | None, typer.Option("--delimiter", "-d", help="CSV delimiter (default: sniffed; 'tab' for a tab).")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="Worksheet name (XLSX, XML Spreadsheet; default: the first).")] = None,
    mapping: Annotated[list[str] | None, typer.Option("--map", help="HEADER=FIELD: import a column as this field (FIELD - ignores it). Repeatable.")] = None,
    match: Annotated[str, typer.Option("--match", help="Find existing contacts by: auto, no, external-id, email.")] = "auto",
    on_existing: Annotated[str, typer.Option("--on-existing", help="For a contact that exists: skip, update, error.")] = "skip",
    create_companies: Annotated[bool, typer.Option("--create-companies", help="Create the companies persons name that do not exist.")] = False,
    errors: Annotated[str | None, typer.Option("--errors", help="Write failed rows to this CSV file, with a reason column.")] = None,
    all_or_nothing: Annotated[bool, typer.Option("--all-or-nothing", help="Import nothing if any row fails.")] = False,
    dry_run: DryRunOpt = False,
    batch_size: BatchOpt = 5000,
) -> None:
    """Import contacts from CSV, Excel (.xlsx) or XML; prints a summary on stderr.

    Example: ilog contact import customers.csv --create-companies --errors failed.csv

    Example: ilog contact import crm.xlsx --map "Account=company_name" --match email --on-existing update
    """
    from ..errors import BadValue, Refused
    from ..transfer import Transfer

    pairs: dict[str, str] = {}
    for item in mapping or []:
        header, sep, field = item.partition("=")
        if not sep or not header.strip():
            raise BadValue(f"invalid --map {item!r}: use HEADER=FIELD")
        pairs[header.strip()] = field
    shown = [0]

    def row_error(where: str, line: int, reason: str) -> None:
        shown[0] += 1
        if shown[0] <= SHOWN_ERRORS:
            say(f"ilog: {where}: {reason}")
        elif shown[0] == SHOWN_ERRORS + 1:
            say("ilog: more failed rows are not shown" + (f" (all are in {errors})" if errors else ""))

    progress, finish = _progress_bar()
    try:
        result = Transfer(state(ctx).logbook).import_contacts(
            file, input_format=input_format, delimiter=delimiter, sheet=sheet, mapping=pairs, match=match,
            on_existing=on_existing, create_companies=create_companies, all_or_nothing=all_or_nothing,
            dry_run=dry_run, batch_size=batch_size, errors_path=errors, on_row_error=row_error,
            notice=lambda message: say(f"ilog: {message}"), progress=progress,
        )
    finally:
        finish()
    verb = "would be " if dry_run or result.rolled_back else ""
    companies = (f" (and {result.companies_created} {'company' if result.companies_created == 1 else 'companies'}"
                 f" {verb}created for the persons naming them)" if result.companies_created else "")
    head = ("dry run, nothing written: " if dry_run
            else "rolled back, nothing written: " if result.rolled_back else "")
    say(f"ilog: {head}{result.rows} rows: {result.created} {verb}created, {result.updated} {verb}updated, "
        f"{result.skipped} skipped, {result.failed} failed{companies}")
    if result.failed:
        where = f"; they are in {result.errors_file}" if result.errors_file else ""
        if result.rolled_back:
            raise Refused(f"{result.failed} row(s) failed{where}; nothing imported (--all-or-nothing)")
        raise Refused(f"{result.failed} row(s) failed{where}" + ("" if dry_run else "; the other rows were imported"))


def export_contacts(
    ctx: typer.Context,
    fmt: ExportFormatOpt = "csv",
    type: Annotated[str | None, typer.Option("--type", help="Only companies or only persons.")] = None,
    company: Annotated[str | None, typer.Option("--company", help="Persons of this company.")] = None,
) -> None:
    """Write every contact with all fields, companies first, as CSV or JSON Lines (stdout).

    Example: ilog --db old.db contact export | ilog --db new.db contact import -
    """
    from ..transfer import CONTACT_COLUMNS, Transfer

    rows = Transfer(state(ctx).logbook).export_contacts(type=type, company_no=company)
    render(rows, _export_format(fmt), CONTACT_COLUMNS)


def _export_format(fmt: str) -> str:
    from ..errors import BadValue

    folded = fmt.strip().lower()
    if folded not in ("csv", "jsonl", "json"):
        raise BadValue(f"invalid format {fmt!r}: choose from csv, jsonl, json")
    return folded


def export_log(
    ctx: typer.Context,
    fmt: ExportFormatOpt = "jsonl",
    contact: ContactOpt = None,
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
    no_cancelled: Annotated[bool, typer.Option("--no-cancelled", help="Leave cancelled entries out.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", "-l", min=1, help="At most this many entries.")] = None,
) -> None:
    """Write entries, oldest first, with every field (JSON Lines also with comment lines).

    Cancelled and postponed entries are included unless filtered out. Times keep their
    microseconds, so ilog log import puts back exactly what was exported.

    Example: ilog --db old.db log export > log.jsonl; ilog --db new.db log import log.jsonl
    """
    from ..records import INTERACTION_FIELDS
    from ..transfer import Transfer

    fmt = _export_format(fmt)
    flt = make_filter(contact_no=contact, rollup=rollup, company_no=company, template_code=template,
                      group_code=group, kind=kind, document_no=document_no, segment_no=segment,
                      user_id=user_id, date_from=date_from, date_to=date_to, text=search, limit=limit)
    flt.cancelled = "only" if cancelled else "exclude" if no_cancelled else "include"
    flt.postponed = "include"
    flt.newest_first = False
    columns = list(INTERACTION_FIELDS) + ([] if fmt == "csv" else ["comments"])
    render(Transfer(state(ctx).logbook).export_log(flt, comments=fmt != "csv"), fmt, columns)


def import_log(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="A file ilog log export wrote (.jsonl, or .csv).")],
    dry_run: DryRunOpt = False,
    batch_size: BatchOpt = 5000,
) -> None:
    """Load exported entries into this database, keeping their entry numbers; safe to run again.

    The contacts and templates the entries name must exist here first (contact export |
    contact import). No plugin hook runs: entries are restored, not logged again.

    Example: ilog --db postgresql://ilog@db/ilog log import log.jsonl
    """
    from ..transfer import Transfer

    result = Transfer(state(ctx).logbook).import_log(file, dry_run=dry_run, batch_size=batch_size,
                                                     notice=lambda message: say(f"ilog: {message}"))
    if result.attachments_dropped:
        say(f"ilog: {result.attachments_dropped} entries had attachments, which are not carried over: "
            "their links were dropped")
    head = "dry run, nothing written: would import" if dry_run else "imported"
    tail = "" if dry_run or result.max_entry_no is None else f"; new entries are numbered after {result.max_entry_no}"
    say(f"ilog: {result.entries} entries: {head} {result.created}, {result.skipped} already here{tail}")
