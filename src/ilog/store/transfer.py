"""The bulk statements of imports and exports: contacts in batches, a log restored as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..domain.records import STORED_FIELDS
from .contacts import chunks
from .tables import contact as C
from .tables import idempotency_key as K
from .tables import interaction as T
from .tables import interaction_comment as M
from .tables import interaction_template as P

if TYPE_CHECKING:
    from .unit import UnitOfWork

CONTACT_COLUMNS = tuple(c.name for c in C.columns)


class TransferStore:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    # -- contacts ------------------------------------------------------------------------

    def company_names(self) -> Iterator[tuple[str, str]]:
        """(number, name) of every company, streamed."""
        result = self.uow.execute(sa.select(C.c.no, C.c.name).where(C.c.type == "company")
                                  .execution_options(yield_per=5000))
        yield from result

    def contacts_matching(self, *, nos: set[str], external_ids: set[str], emails: set[str],
                          person_names: set[str]) -> list[dict[str, Any]]:
        """The contacts a batch's rows may refer to: one query per kind of key and chunk."""
        one_of = self.uow.one_of
        queries = [one_of(C.c.no, chunk) for chunk in chunks(list(nos))]
        queries += [one_of(C.c.external_id, chunk) for chunk in chunks(list(external_ids))]
        queries += [one_of(C.c.email, chunk) for chunk in chunks(list(emails))]
        queries += [sa.and_(C.c.type == "person", one_of(C.c.name, chunk)) for chunk in chunks(list(person_names))]
        found: dict[str, dict[str, Any]] = {}
        for clause in queries:
            for row in self.uow.execute(sa.select(C).where(clause)).mappings():
                found.setdefault(row["no"], dict(row))
        return list(found.values())

    def contact_name(self, no: str) -> str | None:
        return self.uow.execute(sa.select(C.c.name).where(C.c.no == no)).scalar()

    def insert_contacts(self, rows: list[dict[str, Any]]) -> None:
        """Insert contacts (each with every column) in one driver-level executemany."""
        self.uow.bulk_insert(C, rows)

    def update_contacts(self, rows: list[dict[str, Any]]) -> None:
        """Write every column but the number and creation time of each row, by number."""
        if not rows:
            return
        columns = [c for c in CONTACT_COLUMNS if c not in ("no", "created_at")]
        stmt = sa.update(C).where(C.c.no == sa.bindparam("match_no")).values({c: sa.bindparam(c) for c in columns})
        self.uow.execute(stmt, [{"match_no": r["no"], **{c: r[c] for c in columns}} for r in rows])

    # -- the log -------------------------------------------------------------------------

    def existing_templates(self, codes: set[str]) -> set[str]:
        if not codes:
            return set()
        return set(self.uow.execute(sa.select(P.c.code).where(P.c.code.in_(sorted(codes)))).scalars())

    def entries_here(self, entry_nos: list[int]) -> dict[int, dict[str, Any]]:
        """What this database has under these entry numbers (to tell a re-import from a clash)."""
        found: dict[int, dict[str, Any]] = {}
        for chunk in chunks(entry_nos, 500):
            rows = self.uow.execute(sa.select(T.c.entry_no, T.c.contact_no, T.c.occurred_at, T.c.template_code)
                                    .where(T.c.entry_no.in_(chunk))).mappings()
            found.update((r["entry_no"], dict(r)) for r in rows)
        return found

    def documents_here(self, document_nos: set[str]) -> list[dict[str, Any]]:
        found = []
        for chunk in chunks(sorted(document_nos), 500):
            rows = self.uow.execute(sa.select(T.c.entry_no, T.c.document_type, T.c.document_no, T.c.occurrence)
                                    .where(T.c.document_no.in_(chunk))).mappings()
            found.extend(dict(r) for r in rows)
        return found

    def restore_entries(self, rows: list[dict[str, Any]], comments: list[dict[str, Any]],
                        keys: list[dict[str, Any]], documents: list[dict[str, Any]]) -> None:
        """Insert exported entries as they were, skipping any already here (a re-run)."""
        self.uow.bulk_insert(T, [{name: row[name] for name in STORED_FIELDS} for row in rows],
                             skip_existing=("entry_no",))
        if comments:
            self.uow.execute(self.uow.upsert(M).on_conflict_do_nothing(index_elements=["entry_no", "line_no"]),
                             comments)
        if keys:
            self.uow.execute(self.uow.upsert(K).on_conflict_do_nothing(index_elements=["key"]), keys)
        self.uow.occurrences.raise_to(documents)
