"""The log out to CSV or JSON Lines, and back into another database as it was.

``log import`` loads a ``log export`` keeping the entry numbers: it checks the whole file
first (every value through the record model, the contacts and templates it names must exist
here, entry numbers not taken by different entries), then inserts in batches with ``ON
CONFLICT DO NOTHING``, so running it again duplicates nothing. No plugin hook runs: this
restores entries, it does not log them again.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...domain import dates, rules, values
from ...domain.choices import MAX_TEXT, MAX_USER
from ...domain.records import INTERACTION_FIELDS, STORED_FIELDS, Interaction, LogFilter
from ...errors import BadValue, IlogError, Refused

if TYPE_CHECKING:
    from ...store.unit import UnitOfWork
    from ..context import ServiceContext
    from ..entries import Entries


@dataclass
class LogImportResult:
    """What ``ilog log import`` did."""

    entries: int = 0
    created: int = 0
    skipped: int = 0
    comments: int = 0
    attachments_dropped: int = 0
    dry_run: bool = False
    max_entry_no: int | None = None


def exact_time(value: Any) -> Any:
    """A time as ISO 8601 in the user's zone, to the microsecond (exports lose nothing)."""
    if isinstance(value, datetime):
        return dates.to_local(value).isoformat()
    return value


def _some(items: set[str], shown: int = 10) -> str:
    ordered = sorted(items)
    more = f" and {len(ordered) - shown} more" if len(ordered) > shown else ""
    return ", ".join(ordered[:shown]) + more


class LogTransfer:
    def __init__(self, ctx: "ServiceContext", entries: "Entries"):
        self.ctx = ctx
        self.entries = entries

    def export(self, flt: LogFilter, *, comments: bool = True, chunk: int = 1000) -> Iterator[dict]:
        """Entries oldest first with every field (times to the microsecond), and their comment lines."""
        buffer: list[dict] = []
        for entry in self.entries.iter_find(flt):
            buffer.append({name: exact_time(value) for name, value in entry.to_dict().items()})
            if len(buffer) >= chunk:
                yield from self._with_comments(buffer, comments)
                buffer = []
        if buffer:
            yield from self._with_comments(buffer, comments)

    def _with_comments(self, records: list[dict], wanted: bool) -> list[dict]:
        if not wanted:
            return records
        with self.ctx.db.unit() as uow:
            by_entry = uow.comments.of_many([r["entry_no"] for r in records])
        for record in records:
            record["comments"] = [{"line_no": c["line_no"], "created_at": exact_time(c["created_at"]),
                                   "user_id": c["user_id"], "text": c["text"]}
                                  for c in by_entry.get(record["entry_no"], [])]
        return records

    def import_(self, path: str, *, dry_run: bool = False, batch_size: int = 5000,
                notice: Callable[[str], None] | None = None,
                progress: Callable[[int, int | None], None] | None = None) -> LogImportResult:
        """Load a ``log export`` (JSON Lines or CSV) keeping entry numbers; running it again adds nothing.

        Nothing is written unless the whole file is valid and every contact and template
        it names exists here. ``progress(done, total)`` is told after each batch: while the
        file is checked (``total`` None), then while it is written.
        """
        notice = notice or (lambda message: None)
        progress = progress or (lambda done, total: None)
        reader = _LogFile(path)
        result = LogImportResult(dry_run=dry_run)
        # pass 1: values, references, conflicts (read-only)
        missing_contacts: set[str] = set()
        missing_templates: set[str] = set()
        conflicts: list[str] = []
        for batch in reader.batches(batch_size):
            result.entries += len(batch)
            with self.ctx.db.unit() as uow:
                wanted = {e[f] for _, e in batch for f in ("contact_no", "company_no") if e.get(f)}
                missing_contacts |= wanted - uow.contacts.existing(wanted)
                codes = {e["template_code"] for _, e in batch if e.get("template_code")}
                missing_templates |= codes - uow.transfer.existing_templates(codes)
                conflicts.extend(self._conflicts(uow, batch))
            progress(result.entries, None)
        if reader.unknown:
            notice(f"fields not known to this ilog were ignored: {', '.join(sorted(reader.unknown))}")
        if missing_contacts or missing_templates:
            parts = []
            if missing_contacts:
                parts.append(f"contacts {_some(missing_contacts)} (import them first: ilog --db OLD contact export "
                             "| ilog --db NEW contact import -)")
            if missing_templates:
                parts.append(f"templates {_some(missing_templates)} (add them first: ilog template add CODE ...)")
            raise Refused(f"{reader.name} refers to what this database does not have: {'; '.join(parts)}; "
                          "nothing imported")
        if conflicts:
            more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
            raise Refused(f"{reader.name}: {conflicts[0]}{more}; nothing imported")
        if dry_run:
            with self.ctx.db.unit() as uow:
                for batch in reader.batches(batch_size):
                    existing = uow.transfer.entries_here([e["entry_no"] for _, e in batch])
                    result.skipped += len(existing)
                    result.created += len(batch) - len(existing)
            return result
        # pass 2: write, a batch per unit of work
        written = 0
        for batch in reader.batches(batch_size):
            with self.ctx.db.unit(write=True) as uow:
                self._write(uow, batch, result)
            written += len(batch)
            progress(written, result.entries)
        return result

    @staticmethod
    def _conflicts(uow: "UnitOfWork", batch: list[tuple[int, dict]]) -> list[str]:
        """Entry numbers (or document occurrences) this database already gave to different entries."""
        problems = []
        existing = uow.transfer.entries_here([e["entry_no"] for _, e in batch])
        for line, entry in batch:
            there = existing.get(entry["entry_no"])
            if there is not None and (
                    there["contact_no"] != entry["contact_no"] or there["template_code"] != entry["template_code"]
                    or int(there["occurred_at"].timestamp()) != int(entry["occurred_at"].timestamp())):
                problems.append(f"line {line}: entry {entry['entry_no']} already exists here and is a different "
                                "entry (this database has its own log)")
        documents = {(e["document_type"], e["document_no"]): (line, e) for line, e in batch if e.get("document_no")}
        for row in uow.transfer.documents_here({d[1] for d in documents}):
            hit = documents.get((row["document_type"], row["document_no"]))
            if hit and hit[1]["occurrence"] == row["occurrence"] and hit[1]["entry_no"] != row["entry_no"]:
                problems.append(f"line {hit[0]}: document {row['document_no']} occurrence {row['occurrence']} "
                                f"is entry {row['entry_no']} here, not {hit[1]['entry_no']}")
        return problems

    @staticmethod
    def _write(uow: "UnitOfWork", batch: list[tuple[int, dict]], result: LogImportResult) -> None:
        rows, comments, keys = [], [], []
        documents: dict[tuple[str, str], int] = {}
        for _, entry in batch:
            row = {name: entry[name] for name in STORED_FIELDS}
            if row["attachment_id"] is not None:
                row["attachment_id"] = None  # attachment ids belong to the other database
                result.attachments_dropped += 1
            rows.append(row)
            comments += [{"entry_no": row["entry_no"], **comment} for comment in entry.get("comments") or []]
            if row["idempotency_key"]:
                keys.append({"key": row["idempotency_key"], "entry_no": row["entry_no"], "created_at": row["created_at"],
                             "fingerprint": rules.fingerprint(row["contact_no"], row["document_type"], row["document_no"],
                                                              row["template_code"], row["kind"])})
            if row["document_no"] and row["occurrence"]:
                doc = (row["document_type"] or "", row["document_no"])
                documents[doc] = max(documents.get(doc, 0), row["occurrence"])
        already = uow.transfer.entries_here([r["entry_no"] for r in rows])
        uow.transfer.restore_entries(rows, comments, keys, [
            {"document_type": t, "document_no": n, "last_occurrence": o} for (t, n), o in documents.items()])
        result.comments += len(comments)
        top = max(r["entry_no"] for r in rows)
        uow.numbers.raise_to("entry", top)
        result.max_entry_no = max(result.max_entry_no or 0, top)
        result.created += len(rows) - len(already)
        result.skipped += len(already)


class _LogFile:
    """A ``log export`` file (JSON Lines, or CSV by its extension), read in validated batches."""

    def __init__(self, path: str):
        self.name = path
        self.path = Path(path)
        if not self.path.is_file():
            raise BadValue(f"cannot read {path!r}: no such file")
        self.csv = self.path.suffix.lower() == ".csv"
        self.unknown: set[str] = set()

    def _records(self) -> Iterator[tuple[int, dict]]:
        with self.path.open("r", encoding="utf-8-sig", newline="" if self.csv else None) as stream:
            try:
                if self.csv:
                    reader = csv.DictReader(stream, strict=True)
                    for record in reader:
                        yield reader.line_num, {k: (v if v != "" else None) for k, v in record.items()}
                    return
                for number, text in enumerate(stream, 1):
                    if not text.strip():
                        continue
                    try:
                        record = json.loads(text)
                    except json.JSONDecodeError as exc:
                        raise BadValue(f"{self.name}, line {number}: not JSON ({exc.msg})") from None
                    if not isinstance(record, dict):
                        raise BadValue(f"{self.name}, line {number}: not a JSON object")
                    yield number, record
            except UnicodeDecodeError:
                raise BadValue(f"{self.name}: not valid UTF-8") from None
            except csv.Error as exc:
                raise BadValue(f"{self.name}: {exc}") from None

    def batches(self, size: int) -> Iterator[list[tuple[int, dict]]]:
        batch: list[tuple[int, dict]] = []
        for number, record in self._records():
            try:
                batch.append((number, self._entry(record)))
            except IlogError as exc:
                raise BadValue(f"{self.name}, line {number}: {exc.message}") from None
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _entry(self, record: dict) -> dict:
        """An exported entry, every value checked by the record model (CSV gives text)."""
        given: dict[str, Any] = {}
        for name, value in record.items():
            if name == "comments":
                continue
            if name not in INTERACTION_FIELDS:
                self.unknown.add(name)
                continue
            if value is not None:
                given[name] = value
        if given.get("entry_no") is None:
            raise BadValue("an entry number (entry_no) is required")
        if given.get("occurred_at") is None:
            raise BadValue("occurred_at is required")
        entry = values.validated(Interaction, given)
        if entry.created_at is None:
            entry.created_at = entry.occurred_at
        out = {name: getattr(entry, name) for name in INTERACTION_FIELDS}
        comments = record.get("comments") or []
        if isinstance(comments, str):  # a CSV export: the comment lines as a JSON list in one cell
            try:
                comments = json.loads(comments)
            except ValueError:
                raise BadValue("the comments column is not a JSON list of comment lines") from None
        if not isinstance(comments, list):
            raise BadValue("comments must be a list of comment lines")
        out["comments"] = [self._comment(c, entry) for c in comments]
        return out

    @staticmethod
    def _comment(comment: Any, entry: Interaction) -> dict:
        if not isinstance(comment, dict) or not isinstance(comment.get("line_no"), int):
            raise BadValue("a comment needs a line_no")
        created = comment.get("created_at")
        return {"line_no": comment["line_no"],
                "created_at": values.moment(created, "comment time") if created else entry.created_at,
                "user_id": values.text(comment.get("user_id"), "comment user", MAX_USER) if comment.get("user_id")
                else None,
                "text": values.required_text(comment.get("text"), "comment", MAX_TEXT)}

