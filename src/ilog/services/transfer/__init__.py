"""Import and export: contacts from CSV, XLSX and XML files and out as CSV or JSON Lines; the
log out to CSV or JSON Lines and back into another database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from ...domain import values
from .contact_import import CONTACT_COLUMNS, ContactImport, ImportResult
from .log import LogImportResult, LogTransfer, exact_time

if TYPE_CHECKING:
    from ...domain.records import LogFilter
    from ..context import ServiceContext
    from ..contacts import Contacts
    from ..entries import Entries

__all__ = ["CONTACT_COLUMNS", "ImportResult", "LogImportResult", "Transfer"]


class Transfer:
    """The service behind ``contact import/export`` and ``log export/import``."""

    def __init__(self, ctx: "ServiceContext", contacts: "Contacts", entries: "Entries"):
        self.ctx = ctx
        self.contacts = contacts
        self.log = LogTransfer(ctx, entries)

    def import_contacts(self, name: str, *, input_format: str | None = None, delimiter: str | None = None,
                        sheet: str | None = None, stdin: IO[bytes] | None = None, encoding: str | None = None,
                        **options: Any) -> ImportResult:
        """Import contacts from a CSV, JSON Lines, XLSX or XML file (``-``: standard input)."""
        return ContactImport(self.ctx, **options).run(name, input_format=input_format, delimiter=delimiter,
                                                      sheet=sheet, stdin=stdin, encoding=encoding)

    def export_contacts(self, *, type: str | None = None, company_no: str | None = None) -> Iterator[dict]:
        """Every contact, companies first (so a re-import finds each person's company), streamed."""
        criteria = self.contacts.criteria(type=type, company_no=company_no)
        with self.ctx.db.unit(stream=True) as uow:
            for row in uow.contacts.iter_rows(uow.contacts.clauses(**criteria)):
                yield {c: exact_time(row[c]) if c in ("created_at", "updated_at") else row[c] for c in CONTACT_COLUMNS}

    def export_log(self, flt: "LogFilter", *, comments: bool = True) -> Iterator[dict]:
        return self.log.export(flt, comments=comments)

    def import_log(self, path: str, *, dry_run: bool = False, batch_size: int = 5000, notice: Any = None,
                   progress: Any = None) -> LogImportResult:
        return self.log.import_(path, dry_run=dry_run, batch_size=values.whole(batch_size, "batch size", 1),
                                notice=notice, progress=progress)
