"""ilog-dropfolder: record a document event for each printed document an ERP drops into a folder.

``ilog dropfolder scan DIR`` looks at every ``*.pdf`` in DIR. What the document is comes from a
sidecar JSON file with the same name (``INV-1042.pdf`` + ``INV-1042.json``)::

    {"event": "sales.invoice", "document_no": "INV-1042", "contact": "CT000001"}

(``ref`` instead of ``contact`` for an ERP reference a ``resolve_contact`` plugin turns into
a contact; optional ``document_type``, ``version``, ``date``, ``subject``, ``key``), or from
the file name itself: ``EVENT__DOCUMENT-NO__CUSTOMER.pdf``, e.g.
``sales.invoice__INV-1042__CT000001.pdf`` (CUSTOMER is a contact number, else a reference).

Each document is recorded through ``logbook.record_event`` (template setup, hooks,
occurrence) with the PDF attached and an idempotency key made from the file's name and
content, then moved to ``DIR/processed/``; a document that cannot be recorded goes to
``DIR/failed/`` with a ``.reason.txt`` file. A crash between the record and the move, or two
scans at once, record nothing twice: a re-run is always safe.

This module imports nothing heavy at import time: the CLI imports it on every start.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any

import ilog

if TYPE_CHECKING:
    import typer

    from ilog.logbook import Logbook

__version__ = "0.1.0"

#: the keys a sidecar JSON file may hold
SIDECAR_KEYS = frozenset({"event", "document_no", "contact", "ref", "document_type", "version", "date",
                          "subject", "key"})


@ilog.hookimpl
def register_commands(app: "typer.Typer") -> None:
    """Add ``ilog dropfolder scan``."""
    from typing import Annotated

    import typer

    dropfolder = typer.Typer(name="dropfolder", no_args_is_help=True,
                             help="Record the documents an ERP drops into a folder (ilog-dropfolder).")

    @dropfolder.command("scan")
    def scan(
        ctx: typer.Context,
        directory: Annotated[Path, typer.Argument(metavar="DIR", help="The drop folder.")],
        done_dir: Annotated[Path | None, typer.Option("--done-dir", help="Where recorded files go (default DIR/processed).")] = None,
        failed_dir: Annotated[Path | None, typer.Option("--failed-dir", help="Where failed files go (default DIR/failed).")] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="Show what would be recorded; change nothing.")] = False,
    ) -> None:
        """Record a document event for each PDF in DIR, attach it, and move it aside.

        Each PDF needs a sidecar JSON ({"event": ..., "document_no": ..., "contact"|"ref": ...})
        or a name EVENT__DOCUMENT-NO__CUSTOMER.pdf. Recorded files go to DIR/processed,
        failed ones to DIR/failed with a .reason.txt. Safe to re-run from cron.

        Example: ilog dropfolder scan /srv/erp/printed
        """
        from ilog import logbook_for, say

        if dry_run:
            for pdf, meta in plan(directory):
                say(f"ilog: dropfolder: would record {pdf.name}: {meta}")
            return
        report = DropFolder(logbook_for(ctx), directory, done_dir=done_dir, failed_dir=failed_dir).scan()
        for entry_no in report.recorded:
            print(entry_no)
        for line in report.lines:
            say(line)
        say(f"ilog: dropfolder: {len(report.recorded)} recorded, {report.already} already recorded, "
            f"{report.skipped} with no template set up, {len(report.failed)} failed")
        if report.failed:
            raise ilog.Refused(f"{len(report.failed)} document(s) could not be recorded: see {report.failed_dir}")

    app.add_typer(dropfolder)


class Report:
    def __init__(self, failed_dir: Path):
        self.recorded: list[int] = []
        self.already = 0
        self.skipped = 0
        self.failed: list[tuple[str, str]] = []
        self.lines: list[str] = []
        self.failed_dir = failed_dir


def pdfs(directory: Path) -> list[Path]:
    """The PDFs waiting in a drop folder, by name."""
    if not directory.is_dir():
        raise ilog.BadValue(f"drop folder {directory} does not exist")
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() == ".pdf")


def read_document(pdf: Path) -> dict[str, Any]:
    """What a dropped PDF is, from its sidecar JSON or its name; BadValue when neither says."""
    import json

    sidecar = pdf.with_suffix(".json")
    if sidecar.is_file():
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ilog.BadValue(f"{sidecar.name} is not valid JSON: {exc}") from None
        if not isinstance(meta, dict):
            raise ilog.BadValue(f"{sidecar.name} must hold a JSON object")
        unknown = sorted(set(meta) - SIDECAR_KEYS)
        if unknown:
            raise ilog.BadValue(f"{sidecar.name}: unknown key {unknown[0]!r} (known: {', '.join(sorted(SIDECAR_KEYS))})")
        for required in ("event", "document_no"):
            if not meta.get(required):
                raise ilog.BadValue(f"{sidecar.name}: {required!r} is missing")
        if bool(meta.get("contact")) == bool(meta.get("ref")):
            raise ilog.BadValue(f"{sidecar.name}: give exactly one of 'contact' or 'ref'")
        return {k: (v if k == "version" else str(v)) for k, v in meta.items() if v is not None}
    parts = pdf.stem.split("__")
    if len(parts) == 3 and all(p.strip() for p in parts):
        event, document_no, customer = parts
        return {"event": event, "document_no": document_no, "customer": customer}
    raise ilog.BadValue(f"{pdf.name}: no sidecar {sidecar.name} and the name is not EVENT__DOCUMENT-NO__CUSTOMER.pdf")


def plan(directory: Path) -> list[tuple[Path, Any]]:
    """(pdf, what it is or why it cannot be read) for a dry run."""
    out: list[tuple[Path, Any]] = []
    for pdf in pdfs(directory):
        try:
            out.append((pdf, read_document(pdf)))
        except ilog.IlogError as exc:
            out.append((pdf, f"cannot record: {exc.message}"))
    return out


def document_key(pdf: Path, content: bytes) -> str:
    """The idempotency key of a dropped file: its name and content, hashed. (The prefix is still
    ``spool:``, as when the plugin was ilog-spool: a file recorded then but not yet moved must
    not be recorded again under a new key.)"""
    import hashlib

    digest = hashlib.sha256(pdf.name.encode("utf-8") + b"\0" + content).hexdigest()
    return f"spool:{digest}"


class DropFolder:
    """Scans one folder; each document is recorded, then moved, on its own."""

    def __init__(self, logbook: "Logbook", directory: Path, *, done_dir: Path | None = None,
                 failed_dir: Path | None = None):
        self.logbook = logbook
        self.directory = Path(directory)
        self.done_dir = Path(done_dir) if done_dir else self.directory / "processed"
        self.failed_dir = Path(failed_dir) if failed_dir else self.directory / "failed"

    def scan(self) -> Report:
        report = Report(self.failed_dir)
        for pdf in pdfs(self.directory):
            try:
                content = pdf.read_bytes()
            except FileNotFoundError:  # another scan took it
                continue
            try:
                result = self.record(pdf, content)
            except ilog.DatabaseError:
                raise  # the database is down: leave every file where it is, for the next run
            except ilog.IlogError as exc:
                self.fail(pdf, exc.message)
                report.failed.append((pdf.name, exc.message))
                report.lines.append(f"ilog: dropfolder: {pdf.name} failed: {exc.message}")
                continue
            if result.entry_no is None:
                report.skipped += 1
                report.lines.append(f"ilog: dropfolder: {pdf.name}: {result.message}")
            elif result.created:
                report.recorded.append(result.entry_no)
            else:
                report.already += 1
            self.move(pdf, self.done_dir)
        return report

    def record(self, pdf: Path, content: bytes):
        meta = read_document(pdf)
        fields: dict[str, Any] = {"document_no": meta["document_no"], "attach": str(pdf),
                                  "key": meta.get("key") or document_key(pdf, content)}
        if "customer" in meta:
            fields.update(self.customer(meta["customer"]))
        elif meta.get("contact"):
            fields["contact_no"] = meta["contact"]
        else:
            fields["ref"] = meta["ref"]
        if meta.get("document_type"):
            fields["document_type"] = meta["document_type"]
        if meta.get("version") is not None:
            fields["version_no"] = meta["version"]  # checked by ilog, as on every path
        if meta.get("date"):
            fields["occurred_at"] = meta["date"]
        if meta.get("subject"):
            fields["subject"] = meta["subject"]
        # direct: the folder is this plugin's spool; a document the database cannot take now stays in it
        return self.logbook.record_event(meta["event"], delivery="direct", **fields)

    def customer(self, text: str) -> dict[str, str]:
        """A file name's customer part: a contact number if there is one, else a reference."""
        try:
            return {"contact_no": self.logbook.contacts.get(text.strip().upper()).no}
        except (ilog.NotFound, ilog.BadValue):
            return {"ref": text}

    def fail(self, pdf: Path, reason: str) -> None:
        moved = self.move(pdf, self.failed_dir)
        if moved is not None:
            moved.with_name(moved.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")

    def move(self, pdf: Path, target_dir: Path) -> Path | None:
        """Move a PDF and its sidecar; a name already taken there gets a numbered suffix."""
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / pdf.name
        n = 1
        while target.exists() or target.with_suffix(".json").exists():
            target = target_dir / f"{pdf.stem}.{n}{pdf.suffix}"
            n += 1
        sidecar = pdf.with_suffix(".json")
        try:
            if sidecar.is_file():
                sidecar.replace(target.with_suffix(".json"))
            pdf.replace(target)
        except FileNotFoundError:  # another scan moved it first
            return None
        return target
