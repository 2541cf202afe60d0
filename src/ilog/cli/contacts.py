"""``ilog contact``: companies and persons, and importing and exporting them."""


from pathlib import Path
from typing import Annotated, Any

import typer

from .context import (DryRunOpt, FormatOpt, LimitOpt, YesOpt, confirm, footer, page_limit, plural, preview, say,
                      state)
from .render import render, render_bundle, render_record

#: row errors printed on stderr before the rest are only counted (the error file has them all)
SHOWN_ERRORS = 100

CONTACT_COLUMNS = ["no", "type", "name", "company_no", "email", "phone", "mobile_phone", "salesperson_code",
                   "external_id", "address", "address_2", "post_code", "city", "country", "created_at", "updated_at"]
TABLE_COLUMNS = ["no", "type", "name", "company_no", "email", "phone", "city"]

Email = Annotated[str | None, typer.Option("--email", help="Email address.")]
Phone = Annotated[str | None, typer.Option("--phone", help="Phone number.")]
Mobile = Annotated[str | None, typer.Option("--mobile", help="Mobile phone number.")]
Salesperson = Annotated[str | None, typer.Option("--salesperson", help="Salesperson code.")]
ExternalId = Annotated[str | None, typer.Option("--external-id", help="Id in another system (import matching).")]
Address = Annotated[str | None, typer.Option("--address", help="Street address.")]
Address2 = Annotated[str | None, typer.Option("--address-2", help="Second address line.")]
PostCode = Annotated[str | None, typer.Option("--post-code", help="Post code.")]
City = Annotated[str | None, typer.Option("--city", help="City.")]
Country = Annotated[str | None, typer.Option("--country", help="Country or region code.")]
Company = Annotated[str | None, typer.Option("--company", help="Number of the company a person belongs to.")]

contact_app = typer.Typer(name="contact", help="Contacts: companies and persons.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(contact_app)


@contact_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the company or person.")],
    no: Annotated[str | None, typer.Option("--no", help="Contact number (default: next of the series).")] = None,
    type: Annotated[str | None, typer.Option("--type", help="company or person (default: person).")] = None,
    company: Company = None,
    email: Email = None, phone: Phone = None, mobile: Mobile = None, salesperson: Salesperson = None,
    external_id: ExternalId = None, address: Address = None, address_2: Address2 = None,
    post_code: PostCode = None, city: City = None, country: Country = None,
    exist_ok: Annotated[bool, typer.Option("--exist-ok", help="A contact with this --no and these values already "
                                                              "existing is fine (other values are refused).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the contact number.")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Add a company or a person; prints its number.

    Example: ilog contact add "Rossi SpA" --type company --email info@rossi.it
    """
    contact = state(ctx).logbook.contacts.add(
        name, no=no, type=type, company_no=company, exist_ok=exist_ok, email=email, phone=phone,
        mobile_phone=mobile, salesperson_code=salesperson, external_id=external_id, address=address,
        address_2=address_2, post_code=post_code, city=city, country=country,
    )
    if fmt != "table":
        render_record(contact.to_dict(), fmt, CONTACT_COLUMNS)
        return
    print(contact.no)
    if not quiet:
        say(f"ilog: contact {contact.no} ({contact.name}) is saved")


@contact_app.command("list")
def list_(
    ctx: typer.Context,
    type: Annotated[str | None, typer.Option("--type", help="Only companies or only persons.")] = None,
    company: Annotated[str | None, typer.Option("--company", help="Persons of this company.")] = None,
    salesperson: Salesperson = None,
    search: Annotated[str | None, typer.Option("--search", "-s", help="Text in the name, email or number (any case).")] = None,
    limit: LimitOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """List contacts.

    Example: ilog contact list --company CT000001 --format csv
    """
    book = state(ctx).logbook.contacts
    criteria = {"type": type, "company_no": company, "salesperson": salesperson, "text": search}
    limit = page_limit(limit)
    shown = render((c.to_dict() for c in book.find(**criteria, limit=limit)), fmt, CONTACT_COLUMNS,
                   table_columns=TABLE_COLUMNS, empty="ilog: no contacts")
    footer(shown, limit, lambda: book.count(**criteria), "contact")


@contact_app.command("show")
def show(ctx: typer.Context, no: Annotated[str, typer.Argument(help="Contact number.")], fmt: FormatOpt = "table") -> None:
    """Show one contact: its fields, statistics, recent opportunities, recent invoices, next open
    activities and recent documents (a company's with its persons').

    Example: ilog contact show CT000001
    """
    overview = state(ctx).logbook.contact_overview(no)
    record, stats = overview["contact"].to_dict(), overview["stats"]
    sections = ("recent_opportunities", "recent_invoices", "next_activities", "recent_documents")
    if fmt == "table":
        render_record(record, fmt, CONTACT_COLUMNS, extra_lines=contact_stats_lines(overview))
    elif fmt == "csv":
        record.update({f"stats_{k}": v for k, v in stats.items()})
        render_record(record, fmt, [*CONTACT_COLUMNS, *(f"stats_{k}" for k in stats)])
    else:
        record.update(stats=stats, **{name: overview[name] for name in sections})
        render_record(record, fmt, [*CONTACT_COLUMNS, "stats", *sections])


@contact_app.command("edit")
def edit(
    ctx: typer.Context,
    no: Annotated[str, typer.Argument(help="Contact number.")],
    name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    type: Annotated[str | None, typer.Option("--type", help="company or person.")] = None,
    company: Company = None,
    move: Annotated[bool, typer.Option("--move", help="Move a person that belongs to another company.")] = False,
    no_company: Annotated[bool, typer.Option("--no-company", help="Take a person out of its company.")] = False,
    email: Email = None, phone: Phone = None, mobile: Mobile = None, salesperson: Salesperson = None,
    external_id: ExternalId = None, address: Address = None, address_2: Address2 = None,
    post_code: PostCode = None, city: City = None, country: Country = None,
    fmt: FormatOpt = "table",
) -> None:
    """Change a contact; --company NO puts a person in a company (--move if it is in another).

    Example: ilog contact edit CT000007 --company CT000002 --move
    """
    contact = state(ctx).logbook.contacts.edit(
        no, company_no=company, move=move, detach=no_company, type=type, name=name, email=email, phone=phone,
        mobile_phone=mobile, salesperson_code=salesperson, external_id=external_id, address=address,
        address_2=address_2, post_code=post_code, city=city, country=country,
    )
    render_record(contact.to_dict(), fmt, CONTACT_COLUMNS)


@contact_app.command("remove")
def remove(
    ctx: typer.Context,
    no: Annotated[str, typer.Argument(help="Contact number.")],
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
) -> None:
    """Remove a contact that has no log entries.

    Example: ilog contact remove CT000009 --yes
    """
    contacts = state(ctx).logbook.contacts
    contact = contacts.remove(no, dry_run=True)  # the same checks as the real run
    if dry_run:
        preview([contact.to_dict()], TABLE_COLUMNS, [contact.no], what="contact")
        say(f"ilog: would remove contact {contact.no} ({contact.name})")
        return
    confirm(f"remove contact {contact.no} ({contact.name})", yes=yes)
    contacts.remove(no)
    say(f"ilog: removed contact {contact.no} ({contact.name})")


@contact_app.command("data")
def data(
    ctx: typer.Context,
    no: Annotated[str, typer.Argument(help="Contact number.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="A folder to write contact.json and attachments/ into, or a .zip file (default: JSON on stdout, files embedded).")] = None,
) -> None:
    """Write everything ilog holds about a contact as one JSON document, with its attachments.

    The contact, its entries in every state with their comments, attachments, segment
    lines, the logged segments and idempotency keys of its entries (a person's right of
    access and to data portability).

    Example: ilog contact data CT000007 --out CT000007.zip
    """
    found = state(ctx).logbook.privacy.contact_data(no, embed=out is None)
    render_bundle(found.document, found.files, out, name="contact.json")
    if out is not None:
        say(f"ilog: wrote the data of contact {found.document['contact']['no']} to {out} "
            f"({plural(len(found.document['entries']), 'entry')}, {plural(len(found.files), 'attachment')})")


@contact_app.command("erase")
def erase(
    ctx: typer.Context,
    no: Annotated[str, typer.Argument(help="Contact number.")],
    anonymize: Annotated[bool, typer.Option("--anonymize", help="Keep its entries for statistics, without personal data, under contact ERASED.")] = False,
    with_persons: Annotated[bool, typer.Option("--with-persons", help="A company: erase its persons too.")] = False,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    fmt: FormatOpt = "table",
) -> None:
    """Erase a contact and everything ilog holds about it (right to erasure). Cron-safe.

    Deletes the contact, its entries in any state, their comments and idempotency keys, the
    attachments nothing else uses, and its segment lines; logged segments keep their counts.
    --anonymize keeps the entries without contact, subject, comments, attachment or document
    numbers. Leaves a record without personal data (ilog erasures).

    Example: ilog contact erase CT000007 --dry-run

    Example: ilog contact erase CT000002 --with-persons --anonymize --yes
    """
    from .privacy import describe_counts, erasure_record

    privacy = state(ctx).logbook.privacy
    plan = privacy.erase(no, anonymize=anonymize, with_persons=with_persons, dry_run=True)
    verb = "anonymize" if anonymize else "erase"
    what = f"contact {plan.contact_no}" + (f" and its {plural(len(plan.contacts) - 1, 'person')}"
                                            if len(plan.contacts) > 1 else "")
    if dry_run:
        render_record(erasure_record(plan), fmt)
        say(f"ilog: would {verb} {what}: {describe_counts(plan.counts)}")
        return
    confirm(f"{verb} {what} ({describe_counts(plan.counts)}); this cannot be undone", yes=yes)
    result = privacy.erase(no, anonymize=anonymize, with_persons=with_persons)
    render_record(erasure_record(result), fmt)
    say(f"ilog: {verb}d {what}: {describe_counts(result.counts)}")
    if result.resumed:
        say(f"ilog: also finished {plural(len(result.resumed), 'erasure')} that an earlier run left in progress")


@contact_app.command("import")
def import_contacts(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="CSV, JSON Lines, XLSX or XML file; - reads CSV (or --input-format jsonl) from standard input.")],
    input_format: Annotated[str | None, typer.Option("--input-format", help="csv, jsonl, xlsx or xml (default: from the extension).")] = None,
    delimiter: Annotated[str | None, typer.Option("--delimiter", "-d", help="CSV delimiter (default: sniffed; 'tab' for a tab).")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="Worksheet name (XLSX, XML Spreadsheet; default: the first).")] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", metavar="ENCODING", help="Text encoding of a CSV or JSON Lines file: utf-8, cp1252, latin-1, utf-16... (default: UTF-8, else Windows-1252, said on stderr).")] = None,
    mapping: Annotated[list[str] | None, typer.Option("--map", help="HEADER=FIELD: import a column as this field (FIELD - ignores it). Repeatable.")] = None,
    match: Annotated[str, typer.Option("--match", help="Find existing contacts by: auto, no, external-id, email.")] = "auto",
    on_existing: Annotated[str, typer.Option("--on-existing", help="For a contact that exists: skip, update, error.")] = "skip",
    create_companies: Annotated[bool, typer.Option("--create-companies", help="Create the companies persons name that do not exist.")] = False,
    errors: Annotated[str | None, typer.Option("--errors", help="Write failed rows to this CSV file, with a reason column.")] = None,
    all_or_nothing: Annotated[bool, typer.Option("--all-or-nothing", help="Import nothing if any row fails.")] = False,
    dry_run: DryRunOpt = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, metavar="N", help="Rows per write transaction.")] = 5000,
) -> None:
    """Import contacts from CSV, Excel (.xlsx) or XML; prints a summary on stderr.

    Example: ilog contact import customers.csv --create-companies --errors failed.csv

    Example: ilog contact import crm.xlsx --map "Account=company_name" --match email --on-existing update
    """
    from ..errors import BadValue, Refused

    pairs: dict[str, str] = {}
    for item in mapping or []:
        header, sep, field = item.partition("=")
        if not sep or not header.strip():
            raise BadValue(f"invalid --map {item!r}: use HEADER=FIELD")
        pairs[header.strip()] = field
    shown = [0]

    def row_error(where: str, line: int, reason: str) -> None:
        shown[0] += 1
        if shown[0] <= SHOWN_ERRORS:
            say(f"ilog: {where}: {reason}")
        elif shown[0] == SHOWN_ERRORS + 1:
            say("ilog: more failed rows are not shown" + (f" (all are in {errors})" if errors else ""))

    from .progress import progress

    with progress("importing") as bar:  # the service counts bytes read, or rows of a sheet
        result = state(ctx).logbook.transfer.import_contacts(
            file, input_format=input_format, delimiter=delimiter, sheet=sheet, encoding=encoding, mapping=pairs,
            match=match,
            on_existing=on_existing, create_companies=create_companies, all_or_nothing=all_or_nothing,
            dry_run=dry_run, batch_size=batch_size, errors_path=errors, on_row_error=row_error,
            notice=lambda message: say(f"ilog: {message}"), progress=bar,
        )
    verb = "would be " if dry_run or result.rolled_back else ""
    companies = (f" (and {result.companies_created} {'company' if result.companies_created == 1 else 'companies'}"
                 f" {verb}created for the persons naming them)" if result.companies_created else "")
    head = ("dry run, nothing written: " if dry_run
            else "rolled back, nothing written: " if result.rolled_back else "")
    say(f"ilog: {head}{result.rows} rows: {result.created} {verb}created, {result.updated} {verb}updated, "
        f"{result.skipped} skipped, {result.failed} failed{companies}")
    if result.failed:
        where = f"; they are in {result.errors_file}" if result.errors_file else ""
        if result.rolled_back:
            raise Refused(f"{plural(result.failed, 'row')} failed{where}; nothing imported (--all-or-nothing)")
        raise Refused(f"{plural(result.failed, 'row')} failed{where}" + ("" if dry_run else "; the other rows were imported"))


@contact_app.command("export")
def export_contacts(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="csv, jsonl or json.")] = "csv",
    type: Annotated[str | None, typer.Option("--type", help="Only companies or only persons.")] = None,
    company: Annotated[str | None, typer.Option("--company", help="Persons of this company.")] = None,
) -> None:
    """Write every contact with all fields, companies first, as CSV or JSON Lines (stdout).

    Example: ilog --db old.db contact export | ilog --db new.db contact import -
    """
    from ..domain import values
    from ..services.transfer import CONTACT_COLUMNS

    fmt = values.choice(fmt, "format", ("csv", "jsonl", "json"))
    render(state(ctx).logbook.transfer.export_contacts(type=type, company_no=company), fmt, CONTACT_COLUMNS)


def contact_stats_lines(overview: dict[str, Any]) -> list[str]:
    """The lines ``ilog contact show`` prints under the contact's fields: figures, then sections."""
    from .render import _cell, local_time

    stats = overview["stats"]
    last = stats["last_contacted"]
    lines = [
        f"statistics  {plural(stats['count'], 'entry')}, cost {_cell(stats['cost'])}, "
        f"{_cell(stats['duration_min'])} min, {stats['open_activities']} open",
        f"last contacted  {local_time(last)}" if last else "last contacted  never",
    ]
    if overview["recent_opportunities"]:
        lines.append("recent opportunities:")
        lines += [f"  {o['opportunity_no']}  last activity {local_time(o['last_activity'], '%Y-%m-%d')}  "
                  f"{o['entries']} entr{'y' if o['entries'] == 1 else 'ies'}" for o in overview["recent_opportunities"]]
    if overview["recent_invoices"]:
        lines.append("recent invoices:")
        lines += [f"  {local_time(d['occurred_at'], '%Y-%m-%d')}  {d['document_no']}"
                  + (f" (occurrence {d['occurrence']})" if (d["occurrence"] or 1) > 1 else "")
                  + f"  entry {d['entry_no']}" for d in overview["recent_invoices"]]
    if overview["next_activities"]:
        lines.append("next open activities:")
        lines += [f"  {local_time(a['due_at'], '%Y-%m-%d') if a['due_at'] else 'no due date':<10}  "
                  f"{a['kind']}  {a['subject'] or ''}  ({a['owner']}, entry {a['entry_no']})"
                  + ("  OVERDUE" if a["overdue"] else "") for a in overview["next_activities"]]
    documents = overview["recent_documents"]
    if documents:
        lines.append("recent documents:")
        for doc in documents:
            what = " ".join(p for p in (doc["document_type"], doc["document_no"]) if p)
            occurrence = f" (occurrence {doc['occurrence']})" if (doc["occurrence"] or 1) > 1 else ""
            lines.append(f"  {local_time(doc['occurred_at'], '%Y-%m-%d')}  {what}{occurrence}  entry {doc['entry_no']}")
    return lines
