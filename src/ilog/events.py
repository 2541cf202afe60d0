"""Document events: the built-in names (Business Central's) and those plugins declare."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import BadValue

if TYPE_CHECKING:
    from .logbook import Logbook

BUILTIN_EVENTS = (
    "sales.quote", "sales.blanket-order", "sales.order-confirmation", "sales.draft-invoice",
    "sales.invoice", "sales.credit-memo", "sales.shipment", "sales.statement", "sales.reminder",
    "sales.finance-charge-memo", "sales.return-order", "sales.return-receipt",
    "purchase.quote", "purchase.blanket-order", "purchase.order", "purchase.invoice",
    "purchase.credit-memo", "purchase.receipt", "purchase.return-shipment",
    "purchase.return-order-confirmation",
    "service.order-create", "service.order-post", "service.quote", "service.contract",
    "service.contract-quote",
    "email", "email-draft", "cover-sheet", "outgoing-call", "meeting-invitation",
)


def event_names(logbook: "Logbook") -> list[str]:
    """Every event name: the built-in ones, then those plugins declare (``document_events``)."""
    names = list(BUILTIN_EVENTS)
    for _plugin, declared in logbook.plugins.call("document_events"):
        if isinstance(declared, str):  # one name, not a list of characters
            declared = [declared]
        for name in declared or ():
            name = str(name).strip().lower()
            if name and name not in names:
                names.append(name)
    return names


def check_event_name(logbook: "Logbook", name: str) -> str:
    folded = (name or "").strip().lower()
    if folded in BUILTIN_EVENTS:
        return folded
    if folded in event_names(logbook):
        return folded
    raise BadValue(f"unknown event {name!r}: see `ilog template setup` for the event names")


def document_type_for(event: str) -> str:
    """The document type an event records when none is given: the event name itself."""
    return event
