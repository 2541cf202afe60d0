"""The allowed values of ilog's enumerated fields, its length limits and number ranges.

Pure data, imported by the value types (:mod:`ilog.domain.values`), the rules and the CLI's
help texts alike, so that a list of kinds or a length limit exists exactly once.
"""

from __future__ import annotations

CONTACT_TYPES = ("company", "person")
KINDS = ("phone-call", "email", "letter", "meeting", "fax", "visit", "sms", "task", "note", "other")
FLOWS = ("outbound", "inbound", "none")
INITIATED_BY = ("us", "them", "none")
EVALUATIONS = ("very-positive", "positive", "neutral", "negative", "very-negative", "none")
CORRESPONDENCE = ("hard-copy", "email", "fax", "none")
STATES = ("open", "done")
SOURCES = ("manual", "segment", "event", "import")
SEGMENT_STATES = ("open", "logged")

#: kinds that may be recorded open (``interact --open``) without a due date
OPEN_KINDS = ("task", "meeting")
#: kinds that may be recorded without a contact (a task or a note to yourself)
CONTACTLESS_KINDS = ("task", "note")

#: Business Central's document events; plugins may declare more (``document_events``)
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

# -- lengths (characters) -----------------------------------------------------------------
MAX_CODE = 30
MAX_NAME = 250
MAX_SUBJECT = 1000
MAX_TEXT = 4000
MAX_USER = 100
MAX_KEY = 200
MAX_DOCUMENT_TYPE = 40
MAX_DOCUMENT_NO = 50
MAX_EVENT = 60

# -- number ranges: what both SQLite and PostgreSQL store ---------------------------------
#: PostgreSQL ``integer`` (versions, occurrences, line numbers, counts)
INT32_MAX = 2**31 - 1
#: PostgreSQL ``bigint`` and SQLite's integers (entry numbers, ids, sizes)
INT64_MAX = 2**63 - 1
