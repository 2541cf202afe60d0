"""``ilog contact``: companies and persons."""

from __future__ import annotations

from typing import Annotated

import typer

from ..output import render, render_record
from . import DryRunOpt, FormatOpt, YesOpt, confirm, say, state

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
    type: Annotated[str, typer.Option("--type", help="company or person.")] = "person",
    company: Company = None,
    email: Email = None, phone: Phone = None, mobile: Mobile = None, salesperson: Salesperson = None,
    external_id: ExternalId = None, address: Address = None, address_2: Address2 = None,
    post_code: PostCode = None, city: City = None, country: Country = None,
    exist_ok: Annotated[bool, typer.Option("--exist-ok", help="A contact with this --no already existing is fine.")] = False,
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
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many.")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """List contacts.

    Example: ilog contact list --company CT000001 --format csv
    """
    contacts = state(ctx).logbook.contacts.find(type=type, company_no=company, salesperson=salesperson,
                                                text=search, limit=limit)
    render((c.to_dict() for c in contacts), fmt, CONTACT_COLUMNS, table_columns=TABLE_COLUMNS,
           empty="ilog: no contacts")


@contact_app.command("show")
def show(ctx: typer.Context, no: Annotated[str, typer.Argument(help="Contact number.")], fmt: FormatOpt = "table") -> None:
    """Show one contact, its statistics and its most recent documents (a company's with its persons').

    Example: ilog contact show CT000001
    """
    from .activities import contact_stats_lines

    overview = state(ctx).logbook.contact_overview(no)
    record, stats, documents = overview["contact"].to_dict(), overview["stats"], overview["recent_documents"]
    if fmt == "table":
        render_record(record, fmt, CONTACT_COLUMNS, extra_lines=contact_stats_lines(stats, documents))
    elif fmt == "csv":
        record.update({f"stats_{k}": v for k, v in stats.items()})
        render_record(record, fmt, [*CONTACT_COLUMNS, *(f"stats_{k}" for k in stats)])
    else:
        record.update(stats=stats, recent_documents=documents)
        render_record(record, fmt, [*CONTACT_COLUMNS, "stats", "recent_documents"])


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
    contact = contacts.remove(no, dry_run=True)
    if dry_run:
        say(f"ilog: would remove contact {contact.no} ({contact.name})")
        return
    confirm(f"remove contact {contact.no} ({contact.name})", yes=yes)
    contacts.remove(no)
    say(f"ilog: removed contact {contact.no} ({contact.name})")
