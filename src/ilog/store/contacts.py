"""Contacts in the database: reading by number, criteria, e-mail and external id; writing rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..domain.records import Contact, from_row
from .tables import contact as C
from .tables import interaction as T
from .tables import segment as S
from .tables import segment_line as L

if TYPE_CHECKING:
    from .unit import UnitOfWork

FIELDS = tuple(Contact.model_fields)
#: contact numbers per IN (...) query (well under SQLite's variable limit)
CHUNK = 5000


def like(needle: str) -> str:
    """A LIKE pattern matching ``needle`` anywhere, its wildcards taken literally."""
    escaped = needle.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def to_contact(row: Any) -> Contact:
    return from_row(Contact, {name: row[name] for name in FIELDS})


class ContactStore:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    # -- reading -------------------------------------------------------------------------

    def get(self, no: str) -> Contact | None:
        """The contact, remembered for the unit (a batch reads each contact once)."""
        key = ("contact", no)
        memo = self.uow.memo
        if key not in memo:
            row = self.uow.execute(sa.select(C).where(C.c.no == no)).mappings().first()
            memo[key] = to_contact(row) if row else None
        return memo[key]

    def prefetch(self, nos: Iterable[str]) -> None:
        """Read these contacts into the unit's memo (one query per chunk), so that :meth:`get`
        of each finds it there: a batch of 500 events for 100 contacts reads them in one go."""
        memo = self.uow.memo
        wanted = [no for no in dict.fromkeys(nos) if ("contact", no) not in memo]
        for chunk in chunks(wanted):
            found = {row["no"]: to_contact(row) for row in
                     self.uow.execute(sa.select(C).where(self.uow.one_of(C.c.no, chunk))).mappings()}
            for no in chunk:
                memo[("contact", no)] = found.get(no)

    def exists(self, no: str) -> bool:
        return self.uow.execute(sa.select(C.c.no).where(C.c.no == no)).first() is not None

    def many(self, nos: list[str]) -> list[Contact]:
        """The contacts with these numbers, in the order given (numbers that do not exist left out)."""
        found: dict[str, Contact] = {}
        for chunk in chunks(list(nos)):
            found.update((r["no"], to_contact(r)) for r in
                         self.uow.execute(sa.select(C).where(C.c.no.in_(chunk))).mappings())
        return [found[no] for no in nos if no in found]

    def existing(self, nos: Iterable[str]) -> set[str]:
        """Which of ``nos`` exist."""
        found: set[str] = set()
        for chunk in chunks(list(nos)):
            found.update(self.uow.execute(sa.select(C.c.no).where(self.uow.one_of(C.c.no, chunk))).scalars())
        return found

    @staticmethod
    def clauses(*, type: str | None = None, company_no: str | None = None, salesperson: str | None = None,
                text: str | None = None) -> list[Any]:
        """WHERE clauses for contact criteria (segments select contacts with these too)."""
        clauses: list[Any] = []
        if type:
            clauses.append(C.c.type == type)
        if company_no:
            clauses.append(C.c.company_no == company_no)
        if salesperson:
            clauses.append(C.c.salesperson_code == salesperson)
        if text:
            pattern = like(text)
            clauses.append(sa.or_(sa.func.lower(C.c.name).like(pattern, escape="\\"),
                                  sa.func.lower(C.c.email).like(pattern, escape="\\"),
                                  sa.func.lower(C.c.no).like(pattern, escape="\\")))
        return clauses

    def find(self, clauses: list[Any], *, limit: int | None = None) -> list[Contact]:
        stmt = sa.select(C).where(*clauses).order_by(C.c.no)
        if limit:
            stmt = stmt.limit(limit)
        return [to_contact(r) for r in self.uow.execute(stmt).mappings()]

    def count(self, clauses: list[Any]) -> int:
        return int(self.uow.execute(sa.select(sa.func.count()).select_from(C).where(*clauses)).scalar_one())

    def numbers(self, clauses: list[Any]) -> list[str]:
        """The numbers of the contacts matching ``clauses``, in order."""
        return list(self.uow.execute(sa.select(C.c.no).where(*clauses).order_by(C.c.no)).scalars())

    def iter_rows(self, clauses: list[Any], *, companies_first: bool = True, chunk: int = 2000) -> Iterator[dict]:
        """Every matching contact as a dict, streamed (exports of millions)."""
        order = [C.c.type != "company", C.c.no] if companies_first else [C.c.no]
        result = self.uow.execute(sa.select(C).where(*clauses).order_by(*order).execution_options(yield_per=chunk))
        for row in result.mappings():
            yield dict(row)

    def by_external_id(self, external_id: str) -> Contact | None:
        row = self.uow.execute(sa.select(C).where(C.c.external_id == external_id)).mappings().first()
        return to_contact(row) if row else None

    def by_email(self, address: str) -> list[Contact]:
        """The contacts with this e-mail address (any case), by number."""
        rows = self.uow.execute(sa.select(C).where(sa.func.lower(C.c.email) == address.lower()).order_by(C.c.no))
        return [to_contact(r) for r in rows.mappings()]

    def external_id_owner(self, external_id: str) -> str | None:
        return self.uow.execute(sa.select(C.c.no).where(C.c.external_id == external_id)).scalar()

    def has_persons(self, no: str) -> bool:
        return self.uow.execute(sa.select(C.c.no).where(C.c.company_no == no).limit(1)).first() is not None

    def entry_count(self, no: str) -> int:
        """Entries logged for the contact or under it (as a company)."""
        return int(self.uow.execute(sa.select(sa.func.count()).select_from(T).where(
            sa.or_(T.c.contact_no == no, T.c.company_no == no))).scalar_one())

    def open_segment_lines(self, no: str) -> int:
        """How many lines of segments not yet logged name the contact."""
        open_segments = sa.select(S.c.no).where(S.c.state == "open")
        return int(self.uow.execute(sa.select(sa.func.count()).select_from(L).where(
            L.c.contact_no == no, L.c.segment_no.in_(open_segments))).scalar_one())

    # -- writing -------------------------------------------------------------------------

    def insert(self, values: dict[str, Any]) -> None:
        self.uow.execute(C.insert().values(**values))
        self.uow.memo.pop(("contact", values["no"]), None)

    def update(self, no: str, values: dict[str, Any]) -> None:
        self.uow.execute(sa.update(C).where(C.c.no == no).values(**values))
        self.uow.memo.pop(("contact", no), None)

    def delete(self, no: str) -> None:
        """Delete a contact, and its lines of logged segments (history: the logged segments keep
        their counts; an entry, not a line, is what stays of a logged interaction)."""
        self.uow.execute(sa.delete(L).where(L.c.contact_no == no))
        self.uow.execute(sa.delete(C).where(C.c.no == no))
        self.uow.memo.pop(("contact", no), None)
