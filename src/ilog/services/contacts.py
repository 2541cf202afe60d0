"""Contacts: companies and the persons who belong to them (at most one company each)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain import dates, rules, values
from ..domain.choices import CONTACT_TYPES
from ..domain.records import CONTACT_EDITABLE, Contact, ContactBase
from ..domain.words import plural
from ..errors import AlreadyExists, BadValue, NotFound, Refused

if TYPE_CHECKING:
    from ..store.unit import UnitOfWork
    from .context import ServiceContext


class Contacts:
    """Adding, finding, editing and removing contacts."""

    def __init__(self, ctx: "ServiceContext"):
        self.ctx = ctx

    # -- reading -----------------------------------------------------------------------------

    @staticmethod
    def require(uow: "UnitOfWork", no: str) -> Contact:
        contact = uow.contacts.get(no)
        if contact is None:
            raise NotFound(f"unknown contact {no!r}")
        return contact

    def get(self, no: str, *, uow: "UnitOfWork | None" = None) -> Contact:
        no = values.code(no, "contact number")
        with self.ctx.reading(uow) as u:
            return self.require(u, no)

    @staticmethod
    def criteria(*, type: str | None = None, company_no: str | None = None, salesperson: str | None = None,
                 text: str | None = None) -> dict[str, Any]:
        """Contact criteria, checked (``segment add`` selects contacts with these too)."""
        return {
            "type": values.choice(type, "contact type", CONTACT_TYPES) if type else None,
            "company_no": values.code(company_no, "company number") if company_no else None,
            "salesperson": values.code(salesperson, "salesperson code") if salesperson else None,
            "text": values.text(text, "search text", 250) if text else None,
        }

    def find(self, *, type: str | None = None, company_no: str | None = None, salesperson: str | None = None,
             text: str | None = None, limit: int | None = None, uow: "UnitOfWork | None" = None) -> list[Contact]:
        """Contacts by type, company (its persons), salesperson and a case-insensitive text search."""
        criteria = self.criteria(type=type, company_no=company_no, salesperson=salesperson, text=text)
        limit = values.limit(limit) if limit is not None else None
        with self.ctx.reading(uow) as u:
            return u.contacts.find(u.contacts.clauses(**criteria), limit=limit)

    def many(self, nos: list[str]) -> list[Contact]:
        """The contacts with these numbers, in that order (unknown numbers left out)."""
        numbers = [values.code(no, "contact number") for no in nos]
        with self.ctx.db.unit() as uow:
            return uow.contacts.many(numbers)

    def count(self, *, type: str | None = None, company_no: str | None = None, salesperson: str | None = None,
              text: str | None = None) -> int:
        """How many contacts :meth:`find` would list without a limit."""
        criteria = self.criteria(type=type, company_no=company_no, salesperson=salesperson, text=text)
        with self.ctx.db.unit() as uow:
            return uow.contacts.count(uow.contacts.clauses(**criteria))

    def persons(self, company_no: str, *, uow: "UnitOfWork | None" = None) -> list[Contact]:
        return self.find(company_no=company_no, uow=uow)

    def by_external_id(self, external_id: str, *, uow: "UnitOfWork | None" = None) -> Contact | None:
        """The contact with this external id (an ERP customer number), or None."""
        with self.ctx.reading(uow) as u:
            return u.contacts.by_external_id(str(external_id).strip())

    def by_email(self, email: str, *, uow: "UnitOfWork | None" = None) -> list[Contact]:
        """The contacts with this email address (any case), by number."""
        with self.ctx.reading(uow) as u:
            return u.contacts.by_email(str(email).strip())

    # -- writing -----------------------------------------------------------------------------

    @staticmethod
    def _fields(given: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(given) - set(CONTACT_EDITABLE))
        if unknown:
            raise BadValue(f"unknown contact field {unknown[0]!r}")
        return {k: v for k, v in given.items() if v is not None}

    def _check_company(self, uow: "UnitOfWork", company_no: str, person_no: str | None) -> Contact:
        company = self.require(uow, values.code(company_no, "company number"))
        rules.check_company(company, person_no)
        return company

    def _check_external_id(self, uow: "UnitOfWork", external_id: str | None, no: str | None) -> None:
        if external_id:
            other = uow.contacts.external_id_owner(external_id)
            if other is not None and other != no:
                raise AlreadyExists(f"external id {external_id!r} already belongs to contact {other}")

    def add(self, name: str, *, no: str | None = None, type: str | None = None, company_no: str | None = None,
            exist_ok: bool = False, **given: Any) -> Contact:
        """Add a company or a person (``type``, default person); the number is given or drawn
        from the contact series. ``exist_ok``: a contact with this number and the values given
        is fine (it is returned); one with other values is refused, naming them."""
        now = dates.now()
        fields = self._fields(given)
        draft = values.validated(ContactBase, {"no": no, "type": type or "person", "name": name,
                                               "company_no": company_no, "created_at": now, "updated_at": now,
                                               **fields})
        if draft.company_no and draft.type == "company":
            raise Refused("a company cannot belong to a company")
        with self.ctx.db.unit(write=True) as uow:
            if draft.no is not None:
                existing = uow.contacts.get(draft.no)
                if existing is not None:
                    if exist_ok:
                        asked = ["name", *(["type"] if type else []), *(["company_no"] if company_no else []), *fields]
                        rules.check_same(f"contact {draft.no}", existing.to_dict(),
                                         {k: getattr(draft, k) for k in asked})
                        return existing
                    raise AlreadyExists(f"contact {draft.no} already exists ({existing.name})")
            if draft.company_no:
                self._check_company(uow, draft.company_no, draft.no)
            self._check_external_id(uow, draft.external_id, draft.no)
            if draft.no is None:
                draft.no = uow.numbers.take_code("contact", uow.contacts.exists)
            uow.contacts.insert(draft.model_dump())
            return self.require(uow, draft.no)

    def edit(self, no: str, *, company_no: str | None = None, move: bool = False, detach: bool = False,
             type: str | None = None, **given: Any) -> Contact:
        """Change a contact. Putting a person that belongs to another company into a company
        is refused (naming the current one) unless ``move``; ``detach`` leaves its company."""
        no = values.code(no, "contact number")
        if detach and company_no:
            raise BadValue("a new company (--company, company_no) and leaving the company (--no-company, detach) contradict each other: give one")
        with self.ctx.db.unit(write=True) as uow:
            current = self.require(uow, no)
            edited = values.validated(ContactBase, {**current.to_dict(), **self._fields(given),
                                                    **({"type": type} if type is not None else {})})
            changes = {name: getattr(edited, name) for name in self._fields(given)}
            if type is not None:
                if edited.type == "person" and current.type == "company" and uow.contacts.has_persons(no):
                    raise Refused(f"company {no} has persons: it cannot become a person")
                if edited.type == "company" and current.company_no and not detach:
                    raise Refused(f"contact {no} belongs to company {current.company_no}: "
                                  "a company cannot belong to a company")
                changes["type"] = edited.type
            if detach:
                changes["company_no"] = None
            elif company_no:
                if edited.type == "company":
                    raise Refused("a company cannot belong to a company")
                company = self._check_company(uow, company_no, no)
                if current.company_no and current.company_no != company.no:
                    rules.check_move(no, uow.contacts.get(current.company_no), company.no, move)
                changes["company_no"] = company.no
            self._check_external_id(uow, changes.get("external_id"), no)
            if changes:
                changes["updated_at"] = dates.now()
                uow.contacts.update(no, changes)
            return self.require(uow, no)

    def remove(self, no: str, *, dry_run: bool = False) -> Contact:
        """Delete a contact that has no log entries, no persons and no segment lines."""
        no = values.code(no, "contact number")
        with self.ctx.db.unit(write=True) as uow:
            contact = self.require(uow, no)
            entries = uow.contacts.entry_count(no)
            if entries:
                raise Refused(f"contact {no} has {plural(entries, 'log entry', 'log entries')}: it cannot be removed")
            if uow.contacts.has_persons(no):
                raise Refused(f"company {no} has persons: move or remove them first")
            lines = uow.contacts.open_segment_lines(no)
            if lines:
                raise Refused(f"contact {no} is on {plural(lines, 'line')} of open segments: remove it from them "
                              f"first (ilog segment remove SEGMENT {no})")
            if not dry_run:
                uow.contacts.delete(no)  # with its lines of logged segments: they keep their counts
            return contact
