"""Import and export: contacts from CSV, XLSX and XML files; the log out to CSV or JSON Lines
and back into another database.

Contact import (:class:`ContactImport`) streams: the file is read once to refuse a broken
one before anything is written (see :mod:`ilog.readers`), then again in batches of
``batch_size`` rows, each validated and written in one short write transaction with bulk
``executemany`` inserts and updates (``--all-or-nothing`` and ``--dry-run`` use a single
transaction, rolled back on failure or always). Memory stays bounded: one batch of rows, and
a map of company names to numbers when persons name their company.

A row is matched to an existing contact by number, external id or email (``match``; the
default ``auto`` uses the first of those the row has, else the name: a company's, or a
person's within the same company), so importing the same file twice changes nothing the
second time. A bad row (missing name, malformed email, unknown company, a person already
in another company...) is reported with its line number and reason and written to the
error file; the good rows still import unless ``all_or_nothing``.

Log import (:meth:`Transfer.import_log`) loads a ``log export`` into another database
keeping the entry numbers: it checks the whole file first (values, the contacts and
templates it names must exist here, entry numbers not taken by different entries), then
inserts in batches with ``ON CONFLICT DO NOTHING``, so running it again duplicates nothing.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import dates, models, numbering
from .contacts import EDITABLE
from .errors import BadValue, IlogError, Refused
from .readers import CsvSource, Source, open_source
from .records import (
    CONTACT_TYPES,
    INTERACTION_FIELDS,
    MAX_NAME,
    Interaction,
    LogFilter,
    check_choice,
    check_code,
    check_text,
)

if TYPE_CHECKING:
    from .logbook import Logbook

C = models.contact
T = models.interaction

#: every contact column, in the order exports write them
CONTACT_COLUMNS = ["no", "type", "name", "company_no", "email", "phone", "mobile_phone", "salesperson_code",
                   "external_id", "address", "address_2", "post_code", "city", "country", "created_at", "updated_at"]
#: what a column of a contact file can be
IMPORT_FIELDS = ("no", "type", "name", "first_name", "last_name", "company_no", "company_name", *EDITABLE)
#: columns ilog writes itself and reads back without complaint (exports, error files)
IGNORED_COLUMNS = ("created_at", "updated_at", "reason")
MATCH_KEYS = ("auto", "no", "external-id", "email")
ON_EXISTING = ("skip", "update", "error")

_ALIASES = {
    "no": ("no", "nr", "number", "contactno", "contactnumber", "contactnr", "contactid"),
    "type": ("type", "contacttype"),
    "name": ("name", "fullname", "contactname", "displayname"),
    "first_name": ("firstname", "givenname"),
    "last_name": ("lastname", "surname", "familyname"),
    "company_no": ("companyno", "companynumber", "companynr", "companyid", "accountno", "accountnumber"),
    "company_name": ("companyname", "company", "account", "accountname", "organisation", "organization"),
    "email": ("email", "emailaddress", "mail", "email1"),
    "phone": ("phone", "phoneno", "phonenumber", "telephone", "telephoneno", "tel", "businessphone"),
    "mobile_phone": ("mobilephone", "mobilephoneno", "mobilephonenumber", "mobile", "mobileno", "cellphone"),
    "salesperson_code": ("salespersoncode", "salesperson", "salespersonpurchasercode"),
    "external_id": ("externalid", "externalreference", "externalref", "extid", "sourceid"),
    "address": ("address", "address1", "addressline1", "street"),
    "address_2": ("address2", "addressline2", "street2"),
    "post_code": ("postcode", "postalcode", "zip", "zipcode", "postcodezip"),
    "city": ("city", "town"),
    "country": ("country", "countrycode", "countryregion", "countryregioncode"),
}
HEADER_ALIASES = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}
HEADER_ALIASES.update({name.replace("_", ""): None for name in IGNORED_COLUMNS})
_TYPE_WORDS = {"company": "company", "account": "company", "organisation": "company", "organization": "company",
               "person": "person", "contact": "person", "individual": "person"}


def header_key(text: str) -> str:
    """A header as aliases are looked up: case, spaces and punctuation ignored (``E-mail`` = ``email``)."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


class RowError(Exception):
    """One row cannot be imported; the message is the reason."""


@dataclass
class ImportResult:
    """What a contact import did (or, with ``dry_run``, would do)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    companies_created: int = 0
    dry_run: bool = False
    #: True when ``all_or_nothing`` rolled everything back because rows failed
    rolled_back: bool = False
    unknown_columns: list[str] = field(default_factory=list)
    errors_file: str | None = None


@dataclass
class _Row:
    line: int
    values: list[str]
    data: dict[str, Any]
    type_given: bool
    company_no: str | None
    company_name: str | None


class _Found:
    """The contacts a batch's rows may refer to, by number, external id, email and name."""

    def __init__(self) -> None:
        self.by_no: dict[str, dict] = {}
        self.by_ext: dict[str, dict] = {}
        self.by_email: dict[str, list[dict]] = {}
        self.by_name: dict[str, list[dict]] = {}

    def add(self, row: dict) -> None:
        self.by_no[row["no"]] = row
        if row.get("external_id"):
            self.by_ext[row["external_id"]] = row
        if row.get("email"):
            bucket = self.by_email.setdefault(row["email"].casefold(), [])
            if row not in bucket:
                bucket.append(row)
        bucket = self.by_name.setdefault(row["name"], [])
        if row not in bucket:
            bucket.append(row)


def _chunks(values: Iterable[Any], size: int = 2000) -> Iterator[list[Any]]:
    items = list(values)
    for start in range(0, len(items), size):
        yield items[start:start + size]


class ContactImport:
    """One run of ``ilog contact import``."""

    def __init__(self, logbook: "Logbook", *, mapping: dict[str, str] | None = None, match: str = "auto",
                 on_existing: str = "skip", create_companies: bool = False, all_or_nothing: bool = False,
                 dry_run: bool = False, batch_size: int = 5000, errors_path: str | Path | None = None,
                 on_row_error: Callable[[str, int, str], None] | None = None,
                 notice: Callable[[str], None] | None = None,
                 progress: Callable[[int, int | None], None] | None = None):
        self.logbook = logbook
        self.db = logbook.db
        self.mapping = dict(mapping or {})
        self.match = check_choice(match, MATCH_KEYS, "--match")
        self.on_existing = check_choice(on_existing, ON_EXISTING, "--on-existing")
        self.create_companies = create_companies
        self.all_or_nothing = all_or_nothing
        self.dry_run = dry_run
        if batch_size < 1:
            raise BadValue("the batch size must be at least 1")
        self.batch_size = batch_size
        self.errors_path = Path(errors_path) if errors_path else None
        self.on_row_error = on_row_error or (lambda where, line, reason: None)
        self.notice = notice or (lambda message: None)
        self.progress = progress
        self.result = ImportResult(dry_run=dry_run)
        self.companies: dict[str, str | None] | None = None  # casefolded name -> number (None: ambiguous)
        self._errors_file: IO[str] | None = None
        self._errors_writer: Any = None
        self._placeholders: list[str] = []
        self._format: Callable[[int], str] | None = None
        self._now = dates.now()

    # -- the run ---------------------------------------------------------------------

    def run(self, name: str, *, input_format: str | None = None, delimiter: str | None = None,
            sheet: str | None = None, stdin: IO[bytes] | None = None) -> ImportResult:
        source = open_source(name, input_format=input_format, delimiter=delimiter, sheet=sheet, stdin=stdin)
        try:
            source.check()
            self.source = source
            self.columns = self._map_header(source)
            self.width = len(source.header)
            self.strict_width = isinstance(source, CsvSource)
            if self.all_or_nothing or self.dry_run:
                with self.db.write() as conn:
                    self._prepare(conn)
                    for batch in self._batches(source):
                        self._process(conn, batch)
                    if self.dry_run or self.result.failed:
                        conn.rollback()
                        self.result.rolled_back = bool(self.result.failed) and not self.dry_run
            else:
                with self.db.write() as conn:
                    self._prepare(conn)
                for batch in self._batches(source):
                    with self.db.write() as conn:
                        self._process(conn, batch)
        finally:
            source.close()
            if self._errors_file is not None:
                self._errors_file.close()
        if self.errors_path and self._errors_file is not None:
            self.result.errors_file = str(self.errors_path)
        return self.result

    def _batches(self, source: Source) -> Iterator[list[tuple[int, list[str]]]]:
        batch: list[tuple[int, list[str]]] = []
        for item in source.rows():
            batch.append(item)
            if len(batch) >= self.batch_size:
                yield batch
                self._progress(source)
                batch = []
        if batch:
            yield batch
        self._progress(source)

    def _progress(self, source: Source) -> None:
        if self.progress is not None:
            self.progress(source.position, source.total)

    def _prepare(self, conn: Connection) -> None:
        """Load the company names when rows may name their company (a map of names, not of rows)."""
        self._format = numbering.formatter(conn, "contact")
        if "company_name" in self.columns or self.match == "auto":
            self.companies = {}
            result = conn.execute(sa.select(C.c.no, C.c.name).where(C.c.type == "company")
                                  .execution_options(yield_per=5000))
            for no, name in result:
                self._remember_company(name, no)

    def _remember_company(self, name: str, no: str) -> None:
        if self.companies is None:
            return
        key = name.casefold()
        if key in self.companies and self.companies[key] != no:
            self.companies[key] = None  # two companies with this name
        else:
            self.companies[key] = no

    # -- header ----------------------------------------------------------------------

    def _map_header(self, source: Source) -> list[str | None]:
        """The field of each column (None: ignored); unknown columns are reported, not dropped silently."""
        explicit: dict[str, str | None] = {}
        for header, target in self.mapping.items():
            key = header_key(header)
            wanted = target.strip()
            if wanted in ("", "-", "ignore"):
                explicit[key] = None
                continue
            field_name = wanted.replace("-", "_").lower()
            if field_name not in IMPORT_FIELDS:
                field_name = HEADER_ALIASES.get(header_key(wanted)) or ""
            if field_name not in IMPORT_FIELDS:
                raise BadValue(f"--map {header}={target}: unknown contact field {target!r}; "
                               f"choose from {', '.join(IMPORT_FIELDS)} (or - to ignore the column)")
            explicit[key] = field_name
        present = {header_key(h) for h in source.header}
        for header in self.mapping:
            if header_key(header) not in present:
                raise BadValue(f"--map {header}=...: {source.name} has no column {header!r} "
                               f"(its columns: {', '.join(source.header)})")
        columns: list[str | None] = []
        seen: dict[str, str] = {}
        notices: list[str] = []
        for index, header in enumerate(source.header, 1):
            key = header_key(header)
            if key in explicit:
                target = explicit[key]
            elif key in HEADER_ALIASES:
                target = HEADER_ALIASES[key]
            else:
                target = None
                label = repr(header) if header else f"{index} (no header)"
                self.result.unknown_columns.append(header or f"#{index}")
                notices.append(f"column {label} is not a contact field: ignored "
                               f"(--map '{header or '?'}=FIELD' imports it)")
            if target is not None:
                if target in seen:
                    raise BadValue(f"columns {seen[target]!r} and {header!r} both map to {target}: "
                                   f"drop one or --map '{header}=-'")
                seen[target] = header
            columns.append(target)
        if "name" not in seen and not ({"first_name", "last_name"} & set(seen)):
            raise BadValue(f"{source.name} has no Name column (its columns: {', '.join(source.header)}); "
                           "use --map 'HEADER=name'")
        for message in notices:  # once the mapping is known to be usable
            self.notice(message)
        return columns

    # -- one batch -------------------------------------------------------------------

    def _process(self, conn: Connection, batch: list[tuple[int, list[str]]]) -> None:
        self.result.rows += len(batch)
        rows: list[_Row] = []
        errors: list[tuple[int, list[str], str]] = []
        for line, values in batch:
            try:
                rows.append(self._validate(line, values))
            except (RowError, IlogError) as exc:
                errors.append((line, values, str(exc)))
        # companies before persons: a person may name a company further down the batch
        rows.sort(key=lambda r: r.data["type"] != "company")
        found = self._lookup(conn, rows)
        self._placeholders = []
        inserts: dict[str, dict] = {}
        updates: dict[str, dict] = {}
        for row in rows:
            try:
                self._decide(conn, row, found, inserts, updates)
            except RowError as exc:
                errors.append((row.line, row.values, str(exc)))
        self._number(conn, inserts, updates)
        companies = [r for r in inserts.values() if r["type"] == "company"]
        persons = [r for r in inserts.values() if r["type"] == "person"]
        for group in (companies, persons):
            if group:
                conn.execute(C.insert(), group)
        if updates:
            columns = [c for c in CONTACT_COLUMNS if c not in ("no", "created_at")]
            stmt = sa.update(C).where(C.c.no == sa.bindparam("match_no")).values(
                {c: sa.bindparam(c) for c in columns})
            conn.execute(stmt, [{"match_no": r["no"], **{c: r[c] for c in columns}} for r in updates.values()])
        for line, values, reason in sorted(errors, key=lambda e: e[0]):
            self._fail(line, values, reason)

    def _validate(self, line: int, values: list[str]) -> _Row:
        if self.strict_width and len(values) != self.width:
            raise RowError(f"has {len(values)} fields, the header has {self.width}")
        if len(values) > self.width and any(v.strip() for v in values[self.width:]):
            raise RowError(f"has values beyond the last column of the header ({self.width} columns)")
        raw: dict[str, str] = {}
        for target, value in zip(self.columns, values):
            if target is not None and value is not None:
                value = value.strip()
                if value:
                    raw[target] = value
        name = raw.pop("name", None)
        first, last = raw.pop("first_name", None), raw.pop("last_name", None)
        if not name and (first or last):
            name = " ".join(part for part in (first, last) if part)
        if not name:
            raise RowError("missing name")
        type_text = raw.pop("type", None)
        type_given = type_text is not None
        contact_type = "person"
        if type_text is not None:
            contact_type = _TYPE_WORDS.get(type_text.casefold()) or check_choice(type_text, CONTACT_TYPES,
                                                                                 "contact type")
        data: dict[str, Any] = {"type": contact_type,
                                "name": check_text(name, "name", MAX_NAME, required=True)}
        if "no" in raw:
            data["no"] = check_code(raw.pop("no"), "contact number")
        company_no = check_code(raw.pop("company_no"), "company number") if "company_no" in raw else None
        company_name = check_text(raw.pop("company_name", None), "company name", MAX_NAME)
        data.update(self.logbook.contacts._clean(raw))
        if contact_type == "company":
            if (company_no and company_no != data.get("no")) or (
                    company_name and company_name.casefold() != data["name"].casefold()):
                raise RowError("a company cannot belong to a company")
            company_no = company_name = None
        return _Row(line, values, data, type_given, company_no, company_name)

    def _lookup(self, conn: Connection, rows: list[_Row]) -> _Found:
        """One query per kind of key for the whole batch."""
        found = _Found()
        nos = {r.data["no"] for r in rows if "no" in r.data} | {r.company_no for r in rows if r.company_no}
        if self.companies is not None:  # companies matched or named by name
            for r in rows:
                for name in (r.company_name, r.data["name"] if r.data["type"] == "company" else None):
                    no = self.companies.get(name.casefold()) if name else None
                    if no:
                        nos.add(no)
        queries = [C.c.no.in_(chunk) for chunk in _chunks(nos)]
        externals = {r.data["external_id"] for r in rows if r.data.get("external_id")}
        queries += [C.c.external_id.in_(chunk) for chunk in _chunks(externals)]
        if self.match in ("email", "auto"):
            emails = {r.data["email"] for r in rows if r.data.get("email") and self._key(r)[0] == "email"}
            emails |= {e.lower() for e in emails}
            queries += [C.c.email.in_(chunk) for chunk in _chunks(emails)]
        if self.match == "auto":
            names = {r.data["name"] for r in rows if r.data["type"] == "person" and self._key(r)[0] == "name"}
            queries += [sa.and_(C.c.type == "person", C.c.name.in_(chunk)) for chunk in _chunks(names)]
        for clause in queries:
            for row in conn.execute(sa.select(C).where(clause)).mappings():
                if row["no"] not in found.by_no:
                    found.add(dict(row))
        return found

    def _key(self, row: _Row) -> tuple[str, Any]:
        """The key a row is matched by, and its value (None: the row has no such value)."""
        data = row.data
        if self.match == "auto":
            for key in ("no", "external_id", "email"):
                if data.get(key):
                    return key, data[key]
            return "name", data["name"]
        key = {"no": "no", "external-id": "external_id", "email": "email"}[self.match]
        return key, data.get(key)

    def _match(self, row: _Row, found: _Found, company_no: str | None) -> dict | None:
        key, value = self._key(row)
        if value is None:
            return None
        if key == "no":
            return found.by_no.get(value)
        if key == "external_id":
            return found.by_ext.get(value)
        if key == "email":
            candidates = found.by_email.get(value.casefold(), [])
            what = f"email {value}"
        elif row.data["type"] == "company":
            no = self.companies.get(value.casefold(), "") if self.companies is not None else ""
            if no is None:
                raise RowError(f"company name {value!r} matches more than one company: give its number")
            return found.by_no.get(no) if no else None
        else:
            candidates = [c for c in found.by_name.get(value, [])
                          if c["type"] == "person" and c["company_no"] == company_no]
            what = f"name {value!r}"
        if len(candidates) > 1:
            nos = ", ".join(sorted(c["no"] for c in candidates))
            raise RowError(f"{what} matches {len(candidates)} contacts ({nos}): match by number or external id")
        return candidates[0] if candidates else None

    def _new_number(self) -> str:
        """A stand-in for a series number, replaced once the batch knows how many it needs."""
        placeholder = f"\x00new{len(self._placeholders)}"
        self._placeholders.append(placeholder)
        return placeholder

    def _number(self, conn: Connection, inserts: dict[str, dict], updates: dict[str, dict]) -> None:
        """Take exactly the series numbers the batch's new contacts need (skipping numbers given by hand)."""
        if not self._placeholders:
            return
        numbers: list[str] = []
        while len(numbers) < len(self._placeholders):
            count = len(self._placeholders) - len(numbers)
            first = numbering.take(conn, "contact", count)
            candidates = [self._format(first + i) for i in range(count)]  # type: ignore[misc]
            taken = set(conn.execute(sa.select(C.c.no).where(C.c.no.in_(candidates))).scalars())
            numbers += [n for n in candidates if n not in taken]
        real = dict(zip(self._placeholders, numbers))
        for record in (*inserts.values(), *updates.values()):
            record["no"] = real.get(record["no"], record["no"])
            if record["company_no"] in real:
                record["company_no"] = real[record["company_no"]]
        if self.companies:
            for key, no in self.companies.items():
                if no in real:
                    self.companies[key] = real[no]

    def _company(self, conn: Connection, row: _Row, found: _Found) -> tuple[str | None, tuple[str | None, str] | None]:
        """The company number a person row names, or (None, what to create) with ``create_companies``."""
        if row.company_no:
            company = found.by_no.get(row.company_no)
            if company is None:
                if self.create_companies and row.company_name:
                    return None, (row.company_no, row.company_name)
                hint = "" if row.company_name or not self.create_companies else " (give its name to create it)"
                raise RowError(f"unknown company {row.company_no}{hint}")
            if company["type"] != "company":
                raise RowError(f"contact {company['no']} ({company['name']}) is a person, not a company")
            return company["no"], None
        if row.company_name:
            key = row.company_name.casefold()
            no = (self.companies or {}).get(key, "")
            if no is None:
                raise RowError(f"company name {row.company_name!r} matches more than one company: "
                               "give its number (Company No.)")
            if no:
                return no, None
            if self.create_companies:
                return None, (None, row.company_name)
            raise RowError(f"unknown company {row.company_name!r} (--create-companies creates it)")
        return None, None

    def _decide(self, conn: Connection, row: _Row, found: _Found, inserts: dict[str, dict],
                updates: dict[str, dict]) -> None:
        data = row.data
        company_no, create = self._company(conn, row, found) if data["type"] == "person" else (None, None)
        existing = None if create is not None and self._key(row)[0] == "name" else self._match(row, found, company_no)
        if existing is None:
            if data.get("no") and data["no"] in found.by_no:
                other = found.by_no[data["no"]]
                raise RowError(f"contact number {data['no']} already exists ({other['name']})")
            if data.get("external_id") and data["external_id"] in found.by_ext:
                other = found.by_ext[data["external_id"]]
                raise RowError(f"external id {data['external_id']!r} already belongs to contact {other['no']}")
            if create is not None:
                company_no = self._create_company(conn, create, found, inserts)
            record = {c: None for c in CONTACT_COLUMNS}
            record.update(data)
            record["no"] = data.get("no") or self._new_number()
            record.update(company_no=company_no, created_at=self._now, updated_at=self._now)
            inserts[record["no"]] = record
            found.add(record)
            if record["type"] == "company":
                self._remember_company(record["name"], record["no"])
            self.result.created += 1
            return
        if self.on_existing == "error":
            raise RowError(f"contact {existing['no']} already exists ({existing['name']})")
        if self.on_existing == "skip":
            self.result.skipped += 1
            return
        if row.type_given and existing["type"] != data["type"]:
            raise RowError(f"contact {existing['no']} is a {existing['type']}; the file says {data['type']}")
        if data.get("no") and data["no"] != existing["no"]:
            raise RowError(f"the row is contact {data['no']}, but its {self._key(row)[0].replace('_', ' ')} "
                           f"belongs to contact {existing['no']}")
        changes = {k: v for k, v in data.items() if k in EDITABLE and v is not None and existing.get(k) != v}
        if "external_id" in changes:
            other = found.by_ext.get(changes["external_id"])
            if other is not None and other["no"] != existing["no"]:
                raise RowError(f"external id {changes['external_id']!r} already belongs to contact {other['no']}")
        if existing["type"] == "person" and (company_no or create):
            if existing["company_no"] and existing["company_no"] != company_no:
                current = found.by_no.get(existing["company_no"]) or conn.execute(
                    sa.select(C.c.no, C.c.name).where(C.c.no == existing["company_no"])).mappings().first()
                raise RowError(f"person {existing['no']} already belongs to company {existing['company_no']} "
                               f"({current['name'] if current else '?'}); move it with "
                               f"ilog contact edit {existing['no']} --company NO --move")
            if create is not None:
                company_no = self._create_company(conn, create, found, inserts)
            if existing["company_no"] != company_no:
                changes["company_no"] = company_no
        if not changes:
            self.result.skipped += 1
            return
        if existing["type"] == "company" and "name" in changes:
            self._remember_company(changes["name"], existing["no"])
        existing.update(changes, updated_at=self._now)
        found.add(existing)
        if existing["no"] not in inserts:
            updates[existing["no"]] = existing
        self.result.updated += 1

    def _create_company(self, conn: Connection, create: tuple[str | None, str], found: _Found,
                        inserts: dict[str, dict]) -> str:
        """Create a company a person names (once, however many persons name it)."""
        no, name = create
        key = name.casefold()
        if no is None and self.companies and self.companies.get(key):
            return self.companies[key]  # type: ignore[return-value]
        if no is not None and no in found.by_no:
            return no
        record = {c: None for c in CONTACT_COLUMNS}
        record.update(no=no or self._new_number(), type="company", name=name, created_at=self._now,
                      updated_at=self._now)
        inserts[record["no"]] = record
        found.add(record)
        self._remember_company(name, record["no"])
        self.result.companies_created += 1
        return record["no"]

    # -- errors ----------------------------------------------------------------------

    def _fail(self, line: int, values: list[str], reason: str) -> None:
        self.result.failed += 1
        self.on_row_error(self.source.where(line), line, reason)
        if self.errors_path is None:
            return
        if self._errors_writer is None:
            try:
                self._errors_file = self.errors_path.open("w", encoding="utf-8-sig", newline="")
            except OSError as exc:
                raise BadValue(f"cannot write the error file {str(self.errors_path)!r}: {exc.strerror}") from None
            delimiter = getattr(self.source, "delimiter", ",")
            self._errors_writer = csv.writer(self._errors_file, delimiter=delimiter, lineterminator="\r\n")
            self._errors_writer.writerow([*self.source.header, "reason"])
        self._errors_writer.writerow([*values, f"line {line}: {reason}"])


# -- the service -------------------------------------------------------------------------


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


_INT_FIELDS = {"entry_no", "version_no", "occurrence", "attachment_id"}
_FLOAT_FIELDS = {"cost", "duration_min"}
_BOOL_FIELDS = {"attempt_failed", "cancelled", "postponed"}
_TIME_FIELDS = {"occurred_at", "due_at", "completed_at", "created_at", "cancelled_at"}


class Transfer:
    """Import and export: the service behind ``contact import/export`` and ``log export/import``."""

    def __init__(self, logbook: "Logbook"):
        self.logbook = logbook
        self.db = logbook.db

    # -- contacts --------------------------------------------------------------------

    def import_contacts(self, name: str, *, input_format: str | None = None, delimiter: str | None = None,
                        sheet: str | None = None, stdin: IO[bytes] | None = None, **options: Any) -> ImportResult:
        """Import contacts from a CSV, XLSX or XML file (``-``: CSV on standard input)."""
        return ContactImport(self.logbook, **options).run(name, input_format=input_format, delimiter=delimiter,
                                                          sheet=sheet, stdin=stdin)

    def export_contacts(self, *, type: str | None = None, company_no: str | None = None) -> Iterator[dict]:
        """Every contact, companies first (so a re-import finds each person's company), streamed."""
        clauses = self.logbook.contacts.where(type=type, company_no=company_no)
        with self.db.read() as conn:
            result = conn.execute(sa.select(C).where(*clauses).order_by(C.c.type, C.c.no)
                                  .execution_options(yield_per=2000))
            for row in result.mappings():
                yield {c: _exact_time(row[c]) if c in ("created_at", "updated_at") else row[c]
                       for c in CONTACT_COLUMNS}

    # -- the log ---------------------------------------------------------------------

    def export_log(self, flt: LogFilter, *, comments: bool = True, chunk: int = 1000) -> Iterator[dict]:
        """Entries oldest first with every field (times to the microsecond), and their comment lines."""
        buffer: list[dict] = []
        for entry in self.logbook.iter_find(flt):
            record = {name: _exact_time(value) for name, value in entry.to_dict().items()}
            buffer.append(record)
            if len(buffer) >= chunk:
                yield from self._with_comments(buffer, comments)
                buffer = []
        if buffer:
            yield from self._with_comments(buffer, comments)

    def _with_comments(self, records: list[dict], wanted: bool) -> list[dict]:
        if not wanted:
            return records
        k = models.interaction_comment
        by_entry: dict[int, list[dict]] = {}
        with self.db.read() as conn:
            rows = conn.execute(sa.select(k).where(k.c.entry_no.in_([r["entry_no"] for r in records]))
                                .order_by(k.c.entry_no, k.c.line_no)).mappings()
            for row in rows:
                by_entry.setdefault(row["entry_no"], []).append(
                    {"line_no": row["line_no"], "created_at": _exact_time(row["created_at"]),
                     "user_id": row["user_id"], "text": row["text"]})
        for record in records:
            record["comments"] = by_entry.get(record["entry_no"], [])
        return records

    def import_log(self, path: str, *, dry_run: bool = False, batch_size: int = 5000,
                   notice: Callable[[str], None] | None = None) -> LogImportResult:
        """Load a ``log export`` (JSON Lines or CSV) keeping entry numbers; running it again adds nothing.

        Nothing is written unless the whole file is valid and every contact and template
        it names exists here. No plugin hook runs: this restores entries, it does not log them.
        """
        notice = notice or (lambda message: None)
        reader = _LogFile(path)
        result = LogImportResult(dry_run=dry_run)
        # pass 1: values, references, conflicts (read-only)
        missing_contacts: set[str] = set()
        missing_templates: set[str] = set()
        conflicts: list[str] = []
        for batch in reader.batches(batch_size, self.logbook):
            result.entries += len(batch)
            with self.db.read() as conn:
                self._check_references(conn, batch, missing_contacts, missing_templates)
                conflicts.extend(self._conflicts(conn, batch))
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
            raise Refused(f"{reader.name}: {conflicts[0]}" + (f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1
                                                               else "") + "; nothing imported")
        if dry_run:
            with self.db.read() as conn:
                for batch in reader.batches(batch_size, self.logbook):
                    existing = self._existing(conn, batch)
                    result.skipped += len(existing)
                    result.created += len(batch) - len(existing)
            return result
        # pass 2: write, a batch per transaction
        for batch in reader.batches(batch_size, self.logbook):
            with self.db.write() as conn:
                self._write_entries(conn, batch, result)
        return result

    def _check_references(self, conn: Connection, batch: list[tuple[int, dict]], contacts: set[str],
                          templates: set[str]) -> None:
        wanted = {e[f] for _, e in batch for f in ("contact_no", "company_no") if e.get(f)}
        have = set()
        for chunk in _chunks(wanted):
            have |= set(conn.execute(sa.select(C.c.no).where(C.c.no.in_(chunk))).scalars())
        contacts |= wanted - have
        codes = {e["template_code"] for _, e in batch if e.get("template_code")}
        P = models.interaction_template
        have = set(conn.execute(sa.select(P.c.code).where(P.c.code.in_(codes))).scalars()) if codes else set()
        templates |= codes - have

    def _existing(self, conn: Connection, batch: list[tuple[int, dict]]) -> dict[int, dict]:
        numbers = [e["entry_no"] for _, e in batch]
        rows = conn.execute(sa.select(T.c.entry_no, T.c.contact_no, T.c.occurred_at, T.c.template_code)
                            .where(T.c.entry_no.in_(numbers))).mappings()
        return {r["entry_no"]: dict(r) for r in rows}

    def _conflicts(self, conn: Connection, batch: list[tuple[int, dict]]) -> list[str]:
        """Entry numbers (or document occurrences) this database already gave to different entries."""
        problems = []
        existing = self._existing(conn, batch)
        for line, entry in batch:
            there = existing.get(entry["entry_no"])
            if there is not None and (
                    there["contact_no"] != entry["contact_no"] or there["template_code"] != entry["template_code"]
                    or int(there["occurred_at"].timestamp()) != int(entry["occurred_at"].timestamp())):
                problems.append(f"line {line}: entry {entry['entry_no']} already exists here and is a different "
                                "entry (this database has its own log)")
        documents = {(e["document_type"], e["document_no"]): (line, e) for line, e in batch if e.get("document_no")}
        for chunk in _chunks(list({d[1] for d in documents})):
            rows = conn.execute(sa.select(T.c.entry_no, T.c.document_type, T.c.document_no, T.c.occurrence)
                                .where(T.c.document_no.in_(chunk))).mappings()
            for row in rows:
                hit = documents.get((row["document_type"], row["document_no"]))
                if hit and hit[1]["occurrence"] == row["occurrence"] and hit[1]["entry_no"] != row["entry_no"]:
                    problems.append(f"line {hit[0]}: document {row['document_no']} occurrence {row['occurrence']} "
                                    f"is entry {row['entry_no']} here, not {hit[1]['entry_no']}")
        return problems

    def _write_entries(self, conn: Connection, batch: list[tuple[int, dict]], result: LogImportResult) -> None:
        rows = []
        comments = []
        keys = []
        documents: dict[tuple[str, str], int] = {}
        for _, entry in batch:
            row = {name: entry[name] for name in INTERACTION_FIELDS if name in T.c}
            if row["attachment_id"] is not None:
                row["attachment_id"] = None  # attachment ids belong to the other database
                result.attachments_dropped += 1
            rows.append(row)
            for comment in entry.get("comments") or []:
                comments.append({"entry_no": row["entry_no"], **comment})
            if row["idempotency_key"]:
                keys.append({"key": row["idempotency_key"], "entry_no": row["entry_no"],
                             "created_at": row["created_at"]})
            if row["document_no"] and row["occurrence"]:
                doc = (row["document_type"] or "", row["document_no"])
                documents[doc] = max(documents.get(doc, 0), row["occurrence"])
        already = self._existing(conn, batch)
        conn.execute(self.db.insert(T).on_conflict_do_nothing(index_elements=["entry_no"]), rows)
        if comments:
            k = models.interaction_comment
            conn.execute(self.db.insert(k).on_conflict_do_nothing(index_elements=["entry_no", "line_no"]), comments)
            result.comments += len(comments)
        if keys:
            ik = models.idempotency_key
            conn.execute(self.db.insert(ik).on_conflict_do_nothing(index_elements=["key"]), keys)
        if documents:
            d = models.document_occurrence
            stmt = self.db.insert(d)
            stmt = stmt.on_conflict_do_update(
                index_elements=["document_type", "document_no"],
                set_={"last_occurrence": sa.case((d.c.last_occurrence < stmt.excluded.last_occurrence,
                                                  stmt.excluded.last_occurrence), else_=d.c.last_occurrence)})
            conn.execute(stmt, [{"document_type": t, "document_no": n, "last_occurrence": o}
                                for (t, n), o in documents.items()])
        top = max(r["entry_no"] for r in rows)
        numbering.raise_to(conn, "entry", top)
        result.max_entry_no = max(result.max_entry_no or 0, top)
        result.created += len(rows) - len(already)
        result.skipped += len(already)


def _some(values: set[str], shown: int = 10) -> str:
    items = sorted(values)
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def _exact_time(value: Any) -> Any:
    """A time as ISO 8601 in the user's zone, to the microsecond (exports lose nothing)."""
    if isinstance(value, datetime):
        return dates.to_local(value).isoformat()
    return value


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

    def batches(self, size: int, logbook: "Logbook") -> Iterator[list[tuple[int, dict]]]:
        batch: list[tuple[int, dict]] = []
        for number, record in self._records():
            try:
                batch.append((number, self._entry(record, logbook)))
            except IlogError as exc:
                raise BadValue(f"{self.name}, line {number}: {exc.message}") from None
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _entry(self, record: dict, logbook: "Logbook") -> dict:
        values: dict[str, Any] = {}
        for name, value in record.items():
            if name == "comments":
                continue
            if name not in INTERACTION_FIELDS:
                self.unknown.add(name)
                continue
            values[name] = _coerce(name, value)
        if values.get("entry_no") is None or values["entry_no"] < 1:
            raise BadValue("an entry number (entry_no) is required")
        if values.get("occurred_at") is None:
            raise BadValue("occurred_at is required")
        draft = Interaction(contact_no=None)
        for name, value in values.items():
            if value is not None:
                setattr(draft, name, value)
        for name in ("contact_no", "company_no", "template_code", "group_code", "segment_no", "logged_segment_no"):
            value = getattr(draft, name)
            if value is not None:
                setattr(draft, name, check_code(value, name.replace("_", " ")))
        logbook.check(draft)
        if draft.created_at is None:
            draft.created_at = draft.occurred_at
        entry = {name: getattr(draft, name) for name in INTERACTION_FIELDS}
        entry["comments"] = [self._comment(c, draft) for c in (record.get("comments") or [])]
        return entry

    @staticmethod
    def _comment(comment: Any, draft: Interaction) -> dict:
        if not isinstance(comment, dict) or not isinstance(comment.get("line_no"), int):
            raise BadValue("a comment needs a line_no")
        created = _coerce("created_at", comment.get("created_at")) or draft.created_at
        return {"line_no": comment["line_no"], "created_at": created,
                "user_id": check_text(comment.get("user_id"), "comment user", 100),
                "text": check_text(comment.get("text"), "comment", 4000, required=True)}


def _coerce(name: str, value: Any) -> Any:
    """A value of an exported entry as the database takes it (CSV gives text; JSON, mostly types)."""
    if value is None or value == "":
        return None
    try:
        if name in _INT_FIELDS:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if name in _FLOAT_FIELDS:
            return float(value)
        if name in _BOOL_FIELDS:
            if isinstance(value, bool):
                return value
            folded = str(value).strip().lower()
            if folded in ("true", "1", "yes"):
                return True
            if folded in ("false", "0", "no"):
                return False
            raise ValueError
        if name in _TIME_FIELDS:
            return dates.parse_datetime(str(value))
    except (TypeError, ValueError):
        raise BadValue(f"invalid {name} {value!r}") from None
    return value if isinstance(value, str) else str(value)
