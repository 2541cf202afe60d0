"""Contacts: companies and the persons who belong to them (at most one company each)."""

from __future__ import annotations

import re
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import dates, models, numbering
from .errors import AlreadyExists, BadValue, NotFound, Refused
from .records import CONTACT_TYPES, MAX_NAME, Contact, check_choice, check_code, check_text

if TYPE_CHECKING:
    from .logbook import Logbook

C = models.contact
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: contact fields a user may set, with their longest length
EDITABLE = {
    "name": MAX_NAME, "email": MAX_NAME, "phone": 50, "mobile_phone": 50, "salesperson_code": 30,
    "external_id": 100, "address": MAX_NAME, "address_2": MAX_NAME, "post_code": 20, "city": 100,
    "country": 50,
}


def check_email(value: str | None) -> str | None:
    value = check_text(value, "email", MAX_NAME)
    if value and not _EMAIL.match(value.strip()):
        raise BadValue(f"invalid email address {value!r}")
    return value.strip() if value else value


def row_to_contact(row: Any) -> Contact:
    return Contact(**{f.name: row[f.name] for f in fields(Contact)})


class ContactBook:
    """Adding, finding, editing and removing contacts."""

    def __init__(self, logbook: "Logbook"):
        self.logbook = logbook
        self.db = logbook.db

    # -- reading ---------------------------------------------------------------------

    def _get(self, conn: Connection, no: str) -> Contact:
        row = conn.execute(sa.select(C).where(C.c.no == no)).mappings().first()
        if row is None:
            raise NotFound(f"unknown contact {no!r}")
        return row_to_contact(row)

    def get(self, no: str) -> Contact:
        with self.db.read() as conn:
            return self._get(conn, check_code(no, "contact number"))

    def find(self, *, type: str | None = None, company_no: str | None = None, salesperson: str | None = None,
             text: str | None = None, limit: int | None = None) -> list[Contact]:
        """Contacts by type, company (its persons), salesperson and a case-insensitive text search."""
        with self.db.read() as conn:
            stmt = sa.select(C).where(*self.where(type=type, company_no=company_no, salesperson=salesperson,
                                                  text=text)).order_by(C.c.no)
            if limit:
                stmt = stmt.limit(limit)
            return [row_to_contact(r) for r in conn.execute(stmt).mappings()]

    def where(self, *, type: str | None = None, company_no: str | None = None, salesperson: str | None = None,
              text: str | None = None) -> list[Any]:
        """WHERE clauses for contact criteria (segments select contacts with these too)."""
        clauses: list[Any] = []
        if type:
            clauses.append(C.c.type == check_choice(type, CONTACT_TYPES, "contact type"))
        if company_no:
            clauses.append(C.c.company_no == check_code(company_no, "company number"))
        if salesperson:
            clauses.append(C.c.salesperson_code == check_code(salesperson, "salesperson code"))
        if text:
            needle = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{needle}%"
            clauses.append(sa.or_(
                sa.func.lower(C.c.name).like(pattern, escape="\\"),
                sa.func.lower(C.c.email).like(pattern, escape="\\"),
                sa.func.lower(C.c.no).like(pattern, escape="\\"),
            ))
        return clauses

    def persons(self, company_no: str) -> list[Contact]:
        return self.find(company_no=company_no)

    def by_external_id(self, external_id: str) -> Contact | None:
        """The contact with this external id (an ERP customer number), or None."""
        with self.db.read() as conn:
            row = conn.execute(sa.select(C).where(C.c.external_id == str(external_id).strip())).mappings().first()
        return row_to_contact(row) if row else None

    def by_email(self, email: str) -> list[Contact]:
        """The contacts with this email address (any case), by number."""
        address = str(email).strip().lower()
        with self.db.read() as conn:
            rows = conn.execute(sa.select(C).where(sa.func.lower(C.c.email) == address).order_by(C.c.no)).mappings()
            return [row_to_contact(r) for r in rows]

    # -- writing ---------------------------------------------------------------------

    def _check_company(self, conn: Connection, company_no: str, person_no: str | None) -> Contact:
        company = self._get(conn, company_no)
        if company.type != "company":
            raise Refused(f"contact {company.no} ({company.name}) is a person, not a company")
        if person_no and company.no == person_no:
            raise Refused(f"contact {person_no} cannot belong to itself")
        return company

    def add(self, name: str, *, no: str | None = None, type: str = "person", company_no: str | None = None,
            exist_ok: bool = False, **values: Any) -> Contact:
        """Add a company or a person; the number is given or drawn from the contact series."""
        type = check_choice(type or "person", CONTACT_TYPES, "contact type")
        name = check_text(name, "name", MAX_NAME, required=True).strip()
        clean = self._clean(values)
        if company_no and type == "company":
            raise Refused("a company cannot belong to a company")
        no = check_code(no, "contact number") if no else None
        now = dates.now()
        with self.db.write() as conn:
            if no is not None:
                existing = conn.execute(sa.select(C).where(C.c.no == no)).mappings().first()
                if existing is not None:
                    if exist_ok:
                        return row_to_contact(existing)
                    raise AlreadyExists(f"contact {no} already exists ({existing['name']})")
            if company_no:
                company_no = self._check_company(conn, check_code(company_no, "company number"), no).no
            if clean.get("external_id"):
                self._check_unique_external_id(conn, clean["external_id"], no)
            if no is None:
                no = numbering.take_code(conn, "contact", lambda n: self._exists(conn, n))
            row = {"no": no, "type": type, "name": name, "company_no": company_no, "created_at": now,
                   "updated_at": now, **clean}
            conn.execute(C.insert().values(**row))
            return self._get(conn, no)

    def _exists(self, conn: Connection, no: str) -> bool:
        return conn.execute(sa.select(C.c.no).where(C.c.no == no)).first() is not None

    def _check_unique_external_id(self, conn: Connection, external_id: str, no: str | None) -> None:
        other = conn.execute(sa.select(C.c.no).where(C.c.external_id == external_id)).scalar()
        if other is not None and other != no:
            raise AlreadyExists(f"external id {external_id!r} already belongs to contact {other}")

    def _clean(self, values: dict[str, Any]) -> dict[str, Any]:
        clean: dict[str, Any] = {}
        for key, value in values.items():
            if key not in EDITABLE:
                raise BadValue(f"unknown contact field {key!r}")
            if value is None:
                continue
            if key == "email":
                clean[key] = check_email(value)
            elif key == "salesperson_code":
                clean[key] = check_code(value, "salesperson code") if value else None
            else:
                text = check_text(value, key.replace("_", " "), EDITABLE[key])
                clean[key] = text.strip() if text else None
                if key == "name" and not clean[key]:
                    raise BadValue("name must not be empty")
        return clean

    def edit(self, no: str, *, company_no: str | None = None, move: bool = False, detach: bool = False,
             type: str | None = None, **values: Any) -> Contact:
        """Change a contact. Putting a person that belongs to another company into a company
        is refused (naming the current one) unless ``move``; ``detach`` leaves its company."""
        no = check_code(no, "contact number")
        clean = self._clean(values)
        with self.db.write() as conn:
            current = self._get(conn, no)
            if type is not None:
                type = check_choice(type, CONTACT_TYPES, "contact type")
                if type == "person" and current.type == "company" and self._has_persons(conn, no):
                    raise Refused(f"company {no} has persons: it cannot become a person")
                if type == "company" and (current.company_no and not detach):
                    raise Refused(f"contact {no} belongs to company {current.company_no}: a company cannot belong to a company")
                clean["type"] = type
            effective_type = clean.get("type", current.type)
            if detach:
                clean["company_no"] = None
            elif company_no:
                company_no = check_code(company_no, "company number")
                if effective_type == "company":
                    raise Refused("a company cannot belong to a company")
                company = self._check_company(conn, company_no, no)
                if current.company_no and current.company_no != company.no and not move:
                    old = self._get(conn, current.company_no)
                    raise Refused(
                        f"contact {no} already belongs to company {old.no} ({old.name}); "
                        "use --move to move it"
                    )
                clean["company_no"] = company.no
            if clean.get("external_id"):
                self._check_unique_external_id(conn, clean["external_id"], no)
            if clean:
                clean["updated_at"] = dates.now()
                conn.execute(sa.update(C).where(C.c.no == no).values(**clean))
            return self._get(conn, no)

    def _has_persons(self, conn: Connection, no: str) -> bool:
        return conn.execute(sa.select(C.c.no).where(C.c.company_no == no).limit(1)).first() is not None

    def remove(self, no: str, *, dry_run: bool = False) -> Contact:
        """Delete a contact that has no log entries, no persons and no segment lines."""
        no = check_code(no, "contact number")
        T = models.interaction
        with self.db.write() as conn:
            contact = self._get(conn, no)
            entries = conn.execute(sa.select(sa.func.count()).select_from(T).where(
                sa.or_(T.c.contact_no == no, T.c.company_no == no))).scalar_one()
            if entries:
                raise Refused(f"contact {no} has {entries} log entries: it cannot be removed")
            if self._has_persons(conn, no):
                raise Refused(f"company {no} has persons: move or remove them first")
            lines = conn.execute(sa.select(sa.func.count()).select_from(models.segment_line).where(
                models.segment_line.c.contact_no == no)).scalar_one()
            if lines:
                raise Refused(f"contact {no} is on {lines} segment line(s): remove it from the segments first")
            if not dry_run:
                conn.execute(sa.delete(C).where(C.c.no == no))
            return contact
