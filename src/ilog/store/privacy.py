"""Privacy in the database: everything held about one contact, its erasure batch by batch,
and the erasure records.

An erasure is recorded first, *pending*, naming its contact (:meth:`PrivacyStore.start`);
then :meth:`PrivacyStore.erase_batch` removes the contact's rows a bounded batch at a time,
each batch in its own short transaction, adding what it removed to the record's counts; the
batch that finds nothing more to remove also deletes the contact's segment lines and the
contact itself and empties the record's contact number, all in that one transaction. See
:mod:`ilog.services.privacy` for why.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..domain import privacy as rules
from ..domain.records import Erasure, Interaction, from_row
from ..errors import Refused
from .contacts import chunks
from .entries import CHUNK, to_interactions
from .tables import attachment as A
from .tables import contact as C
from .tables import document_occurrence as D
from .tables import erasure as E
from .tables import idempotency_key as K
from .tables import interaction as T
from .tables import interaction_comment as M
from .tables import interaction_template as P
from .tables import logged_segment as LS
from .tables import segment as S
from .tables import segment_line as L

if TYPE_CHECKING:
    from .unit import UnitOfWork

def _erasure(row: Any) -> Erasure:
    return from_row(Erasure, {name: row[name] for name in Erasure.model_fields})


def _others(nos: list[str]) -> Any:
    """Entries that are not those contacts' own (an entry without a contact included)."""
    return sa.or_(T.c.contact_no.is_(None), T.c.contact_no.not_in(nos))


class PrivacyStore:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    # -- what is held about a contact ------------------------------------------------------

    def entries_of(self, no: str) -> list[Interaction]:
        """The contact's own entries, in every state, by number."""
        return to_interactions(self.uow.execute(sa.select(T).where(T.c.contact_no == no).order_by(T.c.entry_no)))

    def company_entry_nos(self, no: str) -> list[int]:
        """Entries of other contacts logged under this company (its persons', then or now)."""
        return list(self.uow.execute(sa.select(T.c.entry_no).where(T.c.company_no == no, _others([no]))
                                     .order_by(T.c.entry_no)).scalars())

    def persons_of(self, no: str) -> list[str]:
        return list(self.uow.execute(sa.select(C.c.no).where(C.c.company_no == no).order_by(C.c.no)).scalars())

    def attachments(self, ids: Iterable[int]) -> list[dict[str, Any]]:
        """The attachments with these ids, content included, by id."""
        found: list[dict[str, Any]] = []
        for chunk in chunks(sorted(set(ids)), CHUNK):
            found.extend(dict(r) for r in self.uow.execute(sa.select(A).where(A.c.id.in_(chunk))).mappings())
        return sorted(found, key=lambda a: a["id"])

    def segment_lines_of(self, no: str) -> list[dict[str, Any]]:
        rows = self.uow.execute(
            sa.select(L.c.segment_no, S.c.description.label("segment_description"), L.c.line_no,
                      L.c.template_code, L.c.description)
            .join(S, S.c.no == L.c.segment_no).where(L.c.contact_no == no).order_by(L.c.segment_no)).mappings()
        return [dict(r) for r in rows]

    def logged_segments(self, nos: Iterable[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for chunk in chunks(sorted(set(nos))):
            found.extend(dict(r) for r in self.uow.execute(sa.select(LS).where(LS.c.no.in_(chunk))).mappings())
        return sorted(found, key=lambda s: s["no"])

    def keys_of(self, entry_nos: list[int]) -> list[dict[str, Any]]:
        """The idempotency keys that point at these entries."""
        found: list[dict[str, Any]] = []
        for chunk in chunks(entry_nos, CHUNK):
            found.extend(dict(r) for r in self.uow.execute(sa.select(K).where(K.c.entry_no.in_(chunk))).mappings())
        return sorted(found, key=lambda k: (k["entry_no"], k["key"]))

    def documents(self, pairs: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
        """The document occurrence counts of these (document type or "", number) pairs."""
        found: list[dict[str, Any]] = []
        for document_type, numbers in _by_type(pairs).items():
            for chunk in chunks(numbers, CHUNK):
                found.extend(dict(r) for r in self.uow.execute(sa.select(D).where(
                    D.c.document_type == document_type, D.c.document_no.in_(chunk))).mappings())
        return sorted(found, key=lambda d: (d["document_type"], d["document_no"]))

    # -- what an erasure would remove ----------------------------------------------------

    def preview(self, nos: list[str], mode: str) -> dict[str, int]:
        """What erasing these contacts (persons first, then their company) would remove."""
        own = T.c.contact_no.in_(nos)
        count = lambda stmt: int(self.uow.execute(stmt).scalar_one())  # noqa: E731
        entries = count(sa.select(sa.func.count()).select_from(T).where(own))
        mine = sa.select(T.c.entry_no).where(own)
        attachment_ids = set(self.uow.execute(sa.select(T.c.attachment_id).where(
            own, T.c.attachment_id.is_not(None)).distinct()).scalars())
        documents = {(t or "", n) for t, n in self.uow.execute(sa.select(T.c.document_type, T.c.document_no).where(
            own, T.c.document_no.is_not(None)).distinct())}
        return rules.total({}, {
            "contacts": len(nos),
            "entries" if mode == "delete" else "entries_anonymized": entries,
            "comments": count(sa.select(sa.func.count()).select_from(M).where(M.c.entry_no.in_(mine))),
            "attachments": len(attachment_ids - self._attachments_used(attachment_ids, _others(nos))),
            "segment_lines": count(sa.select(sa.func.count()).select_from(L).where(L.c.contact_no.in_(nos))),
            "idempotency_keys": count(sa.select(sa.func.count()).select_from(K).where(K.c.entry_no.in_(mine))),
            "document_occurrences": len(self._occurrences(documents - self._documents_used(documents, _others(nos)))),
            "company_links_removed": count(sa.select(sa.func.count()).select_from(T).where(
                T.c.company_no.in_(nos), _others(nos))),
        })

    def _attachments_used(self, ids: set[int], where: Any) -> set[int]:
        """Which of ``ids`` a template, or an entry matching ``where``, uses."""
        used: set[int] = set()
        for chunk in chunks(sorted(ids), CHUNK):
            used.update(self.uow.execute(sa.select(T.c.attachment_id).where(T.c.attachment_id.in_(chunk), where)
                                         .distinct()).scalars())
            used.update(self.uow.execute(sa.select(P.c.attachment_id).where(P.c.attachment_id.in_(chunk))).scalars())
        return used

    def _documents_used(self, pairs: set[tuple[str, str]], where: Any = sa.true()) -> set[tuple[str, str]]:
        """Which of these documents an entry matching ``where`` still names."""
        used: set[tuple[str, str]] = set()
        for document_type, numbers in _by_type(pairs).items():
            kind = T.c.document_type.is_(None) if document_type == "" else T.c.document_type == document_type
            for chunk in chunks(numbers, CHUNK):
                used.update((document_type, n) for n in self.uow.execute(sa.select(T.c.document_no).where(
                    kind, T.c.document_no.is_not(None), T.c.document_no.in_(chunk), where).distinct()).scalars())
        return used

    def _occurrences(self, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
        return {(d["document_type"], d["document_no"]) for d in self.documents(pairs)}

    # -- erasures ------------------------------------------------------------------------

    def ensure_placeholder(self, at: datetime) -> None:
        """The contact anonymized entries go to: created when missing, refused when the number
        belongs to a real contact."""
        existing = self.uow.contacts.get(rules.PLACEHOLDER_NO)
        rules.check_placeholder(existing)
        if existing is None:
            self.uow.contacts.insert(rules.placeholder_row(at))

    def start(self, nos: list[str], mode: str, by: str | None, at: datetime) -> list[int]:
        """Record a pending erasure for each contact, in this order; returns their ids."""
        if mode == "anonymize":
            self.ensure_placeholder(at)
        ids = []
        for no in nos:
            ids.append(int(self.uow.execute(E.insert().values(
                erased_at=at, erased_by=by, contact_hash=rules.contact_hash(no), mode=mode, counts="{}",
                contact_no=no).returning(E.c.id)).scalar_one()))
        return ids

    def pending(self) -> list[Erasure]:
        """Erasures under way, oldest first (persons before the company they were started with)."""
        rows = self.uow.execute(sa.select(E).where(E.c.contact_no.is_not(None)).order_by(E.c.id)).mappings()
        return [_erasure(r) for r in rows]

    def erasures(self, contact_hash: str | None = None) -> list[Erasure]:
        stmt = sa.select(E).order_by(E.c.id)
        if contact_hash:
            stmt = stmt.where(E.c.contact_hash == contact_hash)
        return [_erasure(r) for r in self.uow.execute(stmt).mappings()]

    def erase_batch(self, erasure_id: int, size: int, at: datetime) -> tuple[int, Erasure | None]:
        """Remove up to ``size`` entries of a pending erasure's contact, in its mode; returns
        how many entries it handled and, when this batch finished the erasure, the record.

        The batch that handles fewer than ``size`` entries (nothing of the contact is left)
        also deletes its segment lines and the contact, and empties the record's contact
        number, in the same transaction. An erasure another process finished handles 0.
        """
        row = self.uow.execute(sa.select(E).where(E.c.id == erasure_id).with_for_update()).mappings().first()
        if row is None or row["contact_no"] is None:
            return 0, None
        no, mode = row["contact_no"], row["mode"]
        if mode == "anonymize":
            self.ensure_placeholder(at)
        # PostgreSQL: a writer logging an entry for this contact now waits for this batch, and
        # after the last one finds the contact gone (SQLite's BEGIN IMMEDIATE serialises already)
        self.uow.execute(sa.select(C.c.no).where(C.c.no == no).with_for_update())
        batch = self.uow.execute(
            sa.select(T.c.entry_no, T.c.contact_no, T.c.attachment_id, T.c.document_type, T.c.document_no)
            # no ORDER BY: any order will do, and the two indexes stop at the limit instead of sorting all
            .where(sa.or_(T.c.contact_no == no, T.c.company_no == no)).limit(size)).all()
        own = [r for r in batch if r.contact_no == no]
        others = [r.entry_no for r in batch if r.contact_no != no]
        done: dict[str, int] = {}
        if others:  # a person's entry logged while it belonged to this company: the link goes
            done["company_links_removed"] = self.uow.execute(
                sa.update(T).where(T.c.entry_no.in_(others)).values(company_no=None)).rowcount
        if own:
            numbers = [r.entry_no for r in own]
            done["comments"] = self.uow.execute(sa.delete(M).where(M.c.entry_no.in_(numbers))).rowcount
            done["idempotency_keys"] = self.uow.execute(sa.delete(K).where(K.c.entry_no.in_(numbers))).rowcount
            if mode == "delete":
                done["entries"] = self.uow.execute(sa.delete(T).where(T.c.entry_no.in_(numbers))).rowcount
            else:
                # the company link goes with the company: this one, or one being erased with its persons
                erased = [no, *(e.contact_no for e in self.pending() if e.contact_no != no)]
                company = sa.case((T.c.company_no.in_(erased), sa.null()), else_=T.c.company_no)
                done["entries_anonymized"] = self.uow.execute(sa.update(T).where(T.c.entry_no.in_(numbers)).values(
                    contact_no=rules.PLACEHOLDER_NO, company_no=company, **rules.ANONYMIZED)).rowcount
            done["attachments"] = self.uow.attachments.delete_unreferenced(
                {r.attachment_id for r in own if r.attachment_id is not None})
            documents = {(r.document_type or "", r.document_no) for r in own if r.document_no is not None}
            done["document_occurrences"] = self._delete_occurrences(documents - self._documents_used(documents))
        finished = len(batch) < size
        if finished:
            if self.uow.contacts.has_persons(no):
                raise Refused(f"company {no} has persons again (added while it was being erased): "
                              "erase or move them, then run the erasure again")
            done["segment_lines"] = self.uow.execute(sa.delete(L).where(L.c.contact_no == no)).rowcount
            self.uow.contacts.delete(no)
            done["contacts"] = 1
        counts = rules.total(json.loads(row["counts"] or "{}"), done)
        changes: dict[str, Any] = {"counts": json.dumps(counts)}
        if finished:
            changes.update(contact_no=None, erased_at=at)
        self.uow.execute(sa.update(E).where(E.c.id == erasure_id).values(**changes))
        if not finished:
            return len(batch), None
        record = self.uow.execute(sa.select(E).where(E.c.id == erasure_id)).mappings().one()
        return len(batch), _erasure(record)

    def _delete_occurrences(self, pairs: set[tuple[str, str]]) -> int:
        deleted = 0
        for document_type, numbers in _by_type(pairs).items():
            for chunk in chunks(numbers, CHUNK):
                deleted += self.uow.execute(sa.delete(D).where(D.c.document_type == document_type,
                                                               D.c.document_no.in_(chunk))).rowcount
        return deleted


def _by_type(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Document numbers grouped by type, so each query can use the (type, number) index."""
    grouped: dict[str, list[str]] = {}
    for document_type, document_no in sorted(set(pairs)):
        grouped.setdefault(document_type, []).append(document_no)
    return grouped
