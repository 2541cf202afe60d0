"""Contact import: contacts from CSV, XLSX and XML files, streamed in batches.

A :class:`ContactImport` reads the file once to refuse a broken one before anything is
written (see :mod:`ilog.services.transfer.readers`), then again in batches of
``batch_size`` rows, each validated and written in one short write unit with bulk
``executemany`` inserts and updates (``--all-or-nothing`` and ``--dry-run`` use a single
transaction, rolled back on failure or always). Memory stays bounded: one batch of rows, and
a map of company names to numbers when persons name their company.

A row is matched to an existing contact by number, external id or email (``match``; the
default ``auto`` uses the first of those the row has, else the name: a company's, or a
person's within the same company), so importing the same file twice changes nothing the
second time. A bad row (missing name, malformed email, unknown company, a person already
in another company...) is reported with its line number and reason and written to the
error file; the good rows still import unless ``all_or_nothing``.

"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ...domain import dates
from ...domain import values as checks
from ...domain.choices import CONTACT_TYPES, MAX_NAME
from ...domain.records import CONTACT_EDITABLE, Contact, ContactBase
from ...errors import BadValue, IlogError, Interrupted
from .readers import Source, TextSource, open_source

if TYPE_CHECKING:
    from ...store.unit import UnitOfWork
    from ..context import ServiceContext

#: every contact column, in the order exports write them
CONTACT_COLUMNS = list(Contact.model_fields)
#: what a column of a contact file can be
IMPORT_FIELDS = ("no", "type", "name", "first_name", "last_name", "company_no", "company_name", *CONTACT_EDITABLE,
                 "created_at", "updated_at")
#: columns ilog writes itself and reads back without complaint (error files)
IGNORED_COLUMNS = ("reason",)
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
    # what `contact export` writes: a new contact keeps them, so an export imports back unchanged
    "created_at": ("createdat",),
    "updated_at": ("updatedat",),
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
    #: what the row is matched by, and its value (None: the row has no such value)
    key: tuple[str, Any]


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


class ContactImport:
    """One run of ``ilog contact import``."""

    def __init__(self, ctx: "ServiceContext", *, mapping: dict[str, str] | None = None, match: str = "auto",
                 on_existing: str = "skip", create_companies: bool = False, all_or_nothing: bool = False,
                 dry_run: bool = False, batch_size: int = 5000, errors_path: str | Path | None = None,
                 on_row_error: Callable[[str, int, str], None] | None = None,
                 notice: Callable[[str], None] | None = None,
                 progress: Callable[[int, int | None], None] | None = None):
        self.db = ctx.db
        self.mapping = dict(mapping or {})
        self.match = checks.choice(match, "--match", MATCH_KEYS)
        self.on_existing = checks.choice(on_existing, "--on-existing", ON_EXISTING)
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
            sheet: str | None = None, stdin: IO[bytes] | None = None, encoding: str | None = None) -> ImportResult:
        source = open_source(name, input_format=input_format, delimiter=delimiter, sheet=sheet, stdin=stdin,
                             encoding=encoding)
        try:
            for message in getattr(source, "notices", ()):
                self.notice(message)
            rows_in_file = source.check()
            self.source = source
            self.columns = self._map_header(source)
            self.width = len(source.header)
            self.strict_width = isinstance(source, TextSource)
            committed = 0
            try:
                if self.all_or_nothing or self.dry_run:
                    with self.db.unit(write=True) as uow:
                        self._prepare(uow)
                        for batch in self._batches(source):
                            self._process(uow, batch)
                        if self.dry_run or self.result.failed:
                            uow.rollback()
                            self.result.rolled_back = bool(self.result.failed) and not self.dry_run
                else:
                    with self.db.unit(write=True) as uow:
                        self._prepare(uow)
                    for batch in self._batches(source):
                        with self.db.unit(write=True) as uow:
                            self._process(uow, batch)
                        committed += len(batch)
            except KeyboardInterrupt:
                raise Interrupted(f"interrupted: {committed:,} of {rows_in_file:,} rows imported, the rest not; run the same "
                                  "command again to finish (rows already imported are skipped)") from None
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

    def _prepare(self, uow: "UnitOfWork") -> None:
        """Load the company names when rows may name their company (a map of names, not of rows)."""
        self._format = uow.numbers.formatter("contact")
        if "company_name" in self.columns or self.match == "auto":
            self.companies = {}
            for no, name in uow.transfer.company_names():
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

    def _process(self, uow: "UnitOfWork", batch: list[tuple[int, list[str]]]) -> None:
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
        found = self._lookup(uow, rows)
        self._placeholders = []
        inserts: dict[str, dict] = {}
        updates: dict[str, dict] = {}
        for row in rows:
            try:
                self._decide(uow, row, found, inserts, updates)
            except RowError as exc:
                errors.append((row.line, row.values, str(exc)))
        self._number(uow, inserts, updates)
        uow.transfer.insert_contacts([r for r in inserts.values() if r["type"] == "company"])
        uow.transfer.insert_contacts([r for r in inserts.values() if r["type"] == "person"])
        uow.transfer.update_contacts(list(updates.values()))
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
            contact_type = _TYPE_WORDS.get(type_text.casefold()) or checks.choice(type_text, "contact type",
                                                                                  CONTACT_TYPES)
        company_no = checks.code(raw.pop("company_no"), "company number") if "company_no" in raw else None
        company_name = raw.pop("company_name", None)
        if company_name is not None:
            company_name = checks.text(company_name, "company name", MAX_NAME) or None
        contact = checks.validated(ContactBase, {"type": contact_type, "name": name, **raw})
        # the fields the row gives, validated (the record's own times too: an export imported
        # back keeps them; a base record's times are None unless given)
        data: dict[str, Any] = {k: v for k, v in contact.__dict__.items() if v is not None}
        if contact_type == "company":
            if (company_no and company_no != data.get("no")) or (
                    company_name and company_name.casefold() != data["name"].casefold()):
                raise RowError("a company cannot belong to a company")
            company_no = company_name = None
        return _Row(line, values, data, type_given, company_no, company_name, self._key(data))

    def _lookup(self, uow: "UnitOfWork", rows: list[_Row]) -> _Found:
        """One query per kind of key for the whole batch."""
        found = _Found()
        nos = {r.data["no"] for r in rows if "no" in r.data} | {r.company_no for r in rows if r.company_no}
        if self.companies is not None:  # companies matched or named by name
            for r in rows:
                for name in (r.company_name, r.data["name"] if r.data["type"] == "company" else None):
                    no = self.companies.get(name.casefold()) if name else None
                    if no:
                        nos.add(no)
        externals = {r.data["external_id"] for r in rows if r.data.get("external_id")}
        emails: set[str] = set()
        if self.match in ("email", "auto"):
            emails = {r.key[1] for r in rows if r.key[0] == "email" and r.key[1]}
            emails |= {e.lower() for e in emails}
        names: set[str] = set()
        if self.match == "auto":
            names = {r.data["name"] for r in rows if r.data["type"] == "person" and r.key[0] == "name"}
        for row in uow.transfer.contacts_matching(nos=nos, external_ids=externals, emails=emails, person_names=names):
            found.add(row)
        return found

    def _key(self, data: dict[str, Any]) -> tuple[str, Any]:
        """The key a row with these fields is matched by, and its value (None: it has no such value)."""
        if self.match == "auto":
            for key in ("no", "external_id", "email"):
                if data.get(key):
                    return key, data[key]
            return "name", data["name"]
        key = {"no": "no", "external-id": "external_id", "email": "email"}[self.match]
        return key, data.get(key)

    def _match(self, row: _Row, found: _Found, company_no: str | None) -> dict | None:
        key, value = row.key
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

    def _number(self, uow: "UnitOfWork", inserts: dict[str, dict], updates: dict[str, dict]) -> None:
        """Take exactly the series numbers the batch's new contacts need (skipping numbers given by hand)."""
        if not self._placeholders:
            return
        numbers: list[str] = []
        while len(numbers) < len(self._placeholders):
            count = len(self._placeholders) - len(numbers)
            first = uow.numbers.take("contact", count)
            candidates = [self._format(first + i) for i in range(count)]  # type: ignore[misc]
            taken = uow.contacts.existing(candidates)
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

    def _company(self, row: _Row, found: _Found) -> tuple[str | None, tuple[str | None, str] | None]:
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

    def _decide(self, uow: "UnitOfWork", row: _Row, found: _Found, inserts: dict[str, dict],
                updates: dict[str, dict]) -> None:
        data = row.data
        company_no, create = self._company(row, found) if data["type"] == "person" else (None, None)
        existing = None if create is not None and row.key[0] == "name" else self._match(row, found, company_no)
        if existing is None:
            if data.get("no") and data["no"] in found.by_no:
                other = found.by_no[data["no"]]
                raise RowError(f"contact number {data['no']} already exists ({other['name']})")
            if data.get("external_id") and data["external_id"] in found.by_ext:
                other = found.by_ext[data["external_id"]]
                raise RowError(f"external id {data['external_id']!r} already belongs to contact {other['no']}")
            if create is not None:
                company_no = self._create_company(create, found, inserts)
            record = dict.fromkeys(CONTACT_COLUMNS)
            record.update(data)
            record["no"] = data.get("no") or self._new_number()
            record.update(company_no=company_no, created_at=data.get("created_at") or self._now,
                          updated_at=data.get("updated_at") or data.get("created_at") or self._now)
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
            raise RowError(f"the row is contact {data['no']}, but its {row.key[0].replace('_', ' ')} "
                           f"belongs to contact {existing['no']}")
        changes = {k: v for k, v in data.items() if k in CONTACT_EDITABLE and v is not None and existing.get(k) != v}
        if "external_id" in changes:
            other = found.by_ext.get(changes["external_id"])
            if other is not None and other["no"] != existing["no"]:
                raise RowError(f"external id {changes['external_id']!r} already belongs to contact {other['no']}")
        if existing["type"] == "person" and (company_no or create):
            if existing["company_no"] and existing["company_no"] != company_no:
                current = found.by_no.get(existing["company_no"])
                current_name = current["name"] if current else uow.transfer.contact_name(existing["company_no"])
                raise RowError(f"person {existing['no']} already belongs to company {existing['company_no']} "
                               f"({current_name or '?'}); move it with "
                               f"ilog contact edit {existing['no']} --company NO --move")
            if create is not None:
                company_no = self._create_company(create, found, inserts)
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

    def _create_company(self, create: tuple[str | None, str], found: _Found,
                        inserts: dict[str, dict]) -> str:
        """Create a company a person names (once, however many persons name it)."""
        no, name = create
        key = name.casefold()
        if no is None and self.companies and self.companies.get(key):
            return self.companies[key]  # type: ignore[return-value]
        if no is not None and no in found.by_no:
            return no
        record = dict.fromkeys(CONTACT_COLUMNS)
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
