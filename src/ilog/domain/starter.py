"""The starter set ``ilog init --starter`` loads: the interaction groups, templates and
document event map of Business Central's standard set-up, so admins start from known codes.

The values are those of Business Central's demonstration data (the Contoso set-up codeunits
"Create Interaction Group" and "Create Interaction Template", see
``research/business-central-interaction-log.md`` §1.3 and §4.1): the same codes, groups,
unit costs and minutes, information flow and initiator, and the same template for each
document event. Business Central has no ``kind``; each template gets the one its name says
(a phone call, a meeting, a printed document is a letter). Where the demonstration data
maps nothing (service orders), nothing is mapped here either.

Pure data: :meth:`ilog.services.templates.Templates.load_set` loads it through the same
rules as ``ilog group add`` and ``ilog template add``, and leaves alone what exists.
"""

from __future__ import annotations

from typing import Any

#: (code, description)
GROUPS: tuple[tuple[str, str], ...] = (
    ("LETTER", "Letters"),
    ("MEETING", "Meetings"),
    ("PHONE", "Telephone conversations"),
    ("PURCHASES", "Purchase documents"),
    ("SALES", "Sales documents"),
    ("SYSTEM", "System generated entries"),
)


def _template(code: str, group: str, description: str, cost: float, minutes: float, flow: str, by: str,
              kind: str, correspondence: str = "none") -> dict[str, Any]:
    return {"code": code, "group_code": group, "description": description, "unit_cost": cost,
            "unit_duration_min": minutes, "flow": flow, "initiated_by": by, "kind": kind,
            "correspondence": correspondence}


def _document(code: str, group: str, description: str) -> dict[str, Any]:
    """A document template: 8 per print, 1 minute, outbound, by us (as Business Central's)."""
    return _template(code, group, description, 8, 1, "outbound", "us", "letter")


#: the templates, each a dict of template fields
TEMPLATES: tuple[dict[str, Any], ...] = (
    _template("ABSTRACT", "LETTER", "Abstracts of meeting", 8, 90, "outbound", "none", "letter", "hard-copy"),
    _template("BUS", "LETTER", "Business letter", 8, 30, "outbound", "us", "letter", "hard-copy"),
    _template("COVERSH", "SYSTEM", "Cover sheet", 8, 1, "outbound", "us", "letter"),
    _template("EMAIL", "SYSTEM", "Emails", 8, 1, "outbound", "us", "email"),
    _template("EMAIL_D", "SYSTEM", "Email draft", 8, 1, "outbound", "us", "email"),
    _template("INCOME", "PHONE", "Incoming phone call", 0, 15, "inbound", "them", "phone-call"),
    _template("INHOUSE", "MEETING", "Meeting held at our premises", 25, 120, "outbound", "us", "meeting"),
    _template("MEETINV", "SYSTEM", "Meeting invitation", 8, 1, "outbound", "us", "email"),
    _template("ONSITE", "MEETING", "Meeting at the customer's site", 45, 180, "outbound", "us", "meeting"),
    _template("OUTGOING", "PHONE", "Outgoing phone call", 1, 15, "outbound", "us", "phone-call"),
    _document("P_B_ORDER", "PURCHASES", "Purchase blanket order"),
    _document("P_C_MEMO", "PURCHASES", "Purchase credit memo"),
    _document("P_INVOICE", "PURCHASES", "Purchase invoice"),
    _document("P_ORDER", "PURCHASES", "Purchase order"),
    _document("P_QUOTE", "PURCHASES", "Purchase quote"),
    _document("P_RECEIPT", "PURCHASES", "Purchase receipt"),
    _document("P_RT_ORD_C", "PURCHASES", "Purchase return order confirmation"),
    _document("P_RT_SHIP", "PURCHASES", "Purchase return shipment"),
    _document("S_B_ORDER", "SALES", "Sales blanket order"),
    _document("S_C_MEMO", "SALES", "Sales credit memo"),
    _document("S_DRAFT_IN", "SALES", "Sales draft invoice"),
    _document("S_FIN_CHG", "SALES", "Finance charge memo"),
    _document("S_INVOICE", "SALES", "Sales invoice"),
    _document("S_ORDER_CF", "SALES", "Sales order confirmation"),
    _document("S_QUOTE", "SALES", "Sales quote"),
    _document("S_REMIND", "SALES", "Sales reminder"),
    _document("S_RET_ORD", "SALES", "Sales return order"),
    _document("S_RET_RCP", "SALES", "Sales return receipt"),
    _document("S_SHIP", "SALES", "Sales shipment"),
    _document("S_STATM", "SALES", "Sales statement"),
)

#: document event -> template (Business Central's Interaction Template Setup)
EVENTS: dict[str, str] = {
    "sales.invoice": "S_INVOICE",
    "sales.credit-memo": "S_C_MEMO",
    "sales.order-confirmation": "S_ORDER_CF",
    "sales.quote": "S_QUOTE",
    "sales.blanket-order": "S_B_ORDER",
    "sales.draft-invoice": "S_DRAFT_IN",
    "sales.shipment": "S_SHIP",
    "sales.statement": "S_STATM",
    "sales.reminder": "S_REMIND",
    "sales.return-order": "S_RET_ORD",
    "sales.return-receipt": "S_RET_RCP",
    "sales.finance-charge-memo": "S_FIN_CHG",
    "purchase.invoice": "P_INVOICE",
    "purchase.credit-memo": "P_C_MEMO",
    "purchase.order": "P_ORDER",
    "purchase.quote": "P_QUOTE",
    "purchase.blanket-order": "P_B_ORDER",
    "purchase.receipt": "P_RECEIPT",
    "purchase.return-shipment": "P_RT_SHIP",
    "purchase.return-order-confirmation": "P_RT_ORD_C",
    "email": "EMAIL",
    "email-draft": "EMAIL_D",
    "cover-sheet": "COVERSH",
    "outgoing-call": "OUTGOING",
    "meeting-invitation": "MEETINV",
}
