"""``ilog event``: record a document event (printed invoice, sent quote...) through the template setup."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import FormatOpt, state
from .interactions import print_result


def register(app: typer.Typer) -> None:
    app.command("event")(event)


def event(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="EVENT", help="Document event, e.g. sales.invoice.")],
    document_no: Annotated[str, typer.Option("--document-no", help="Document number.")],
    contact: Annotated[str | None, typer.Option("--contact", help="Contact number.")] = None,
    ref: Annotated[str | None, typer.Option("--ref", help="ERP reference a plugin resolves to a contact.")] = None,
    document_type: Annotated[str | None, typer.Option("--document-type", help="Document type (default: the event).")] = None,
    version: Annotated[int | None, typer.Option("--version", min=0, help="Archived version of the document.")] = None,
    date: Annotated[str | None, typer.Option("--date", help="When (default: now).")] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="Subject (default: the template's).")] = None,
    attach: Annotated[Path | None, typer.Option("--attach", help="The printed or sent file.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Idempotency key: a retried print records nothing new.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the entry number.")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Record a document event (printed invoice, sent quote...) through the template setup.

    Example: ilog event sales.invoice --document-no INV-1042 --contact CT000001 --key print-7781
    """
    from ..dates import parse_datetime
    from ..records import DocumentEvent, check_code

    doc = DocumentEvent(
        event=name, document_no=document_no, contact_no=check_code(contact, "contact number") if contact else None,
        ref=ref, document_type=document_type, version_no=version,
        occurred_at=parse_datetime(date) if date else None, subject=subject,
        attach=str(attach) if attach else None, idempotency_key=key,
    )
    print_result(state(ctx).logbook.record_event(doc), fmt, quiet)
