"""Plain records of the domain, with no database library: what the service takes and returns.

An :class:`Interaction` is a draft while it is being built (plugins may change it in
``enrich_interaction``) and a read-only snapshot once saved (:meth:`Interaction.frozen`).
The value lists below are the only allowed values of each enumerated field; the
``check_*`` helpers are the one place that validates user text at the input boundary.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import BadValue

CONTACT_TYPES = ("company", "person")
KINDS = ("phone-call", "email", "letter", "meeting", "fax", "visit", "sms", "task", "note", "other")
FLOWS = ("outbound", "inbound", "none")
INITIATED_BY = ("us", "them", "none")
EVALUATIONS = ("very-positive", "positive", "neutral", "negative", "very-negative", "none")
CORRESPONDENCE = ("hard-copy", "email", "fax", "none")
STATES = ("open", "done")
SOURCES = ("manual", "segment", "event", "import")

#: longest text accepted per kind of field (characters)
MAX_CODE = 30
MAX_NAME = 250
MAX_SUBJECT = 1000
MAX_TEXT = 4000


def check_choice(value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    """``value`` if it is one of ``allowed`` (case-insensitive), else a :class:`BadValue`."""
    if value is None:
        return None
    folded = value.strip().lower()
    if folded not in allowed:
        raise BadValue(f"invalid {what} {value!r}: choose from {', '.join(allowed)}")
    return folded


def check_text(value: Any, what: str, max_len: int = MAX_NAME, *, required: bool = False) -> str | None:
    """Reject text PostgreSQL and SQLite would treat differently: NUL bytes, invalid UTF-8, huge values."""
    if value is None or value == "":
        if required:
            raise BadValue(f"{what} must not be empty")
        return None if value is None else ""
    if not isinstance(value, str):
        value = str(value)
    if "\x00" in value:
        raise BadValue(f"{what} contains a NUL byte")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadValue(f"{what} is not valid UTF-8 text") from None
    if len(value) > max_len:
        raise BadValue(f"{what} is too long ({len(value)} characters, at most {max_len})")
    return value


def check_code(value: Any, what: str) -> str:
    """A code or number: non-empty, no spaces at the ends, at most MAX_CODE characters, upper-cased."""
    text = check_text(value, what, MAX_CODE, required=True)
    text = text.strip()
    if not text:
        raise BadValue(f"{what} must not be empty")
    return text.upper()


def check_amount(value: Any, what: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadValue(f"invalid {what} {value!r}: not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise BadValue(f"invalid {what} {value!r}")
    if number < 0:
        raise BadValue(f"{what} must not be negative")
    return number


@dataclass
class Record:
    """Base of the records: conversion to a dict for output."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass
class Contact(Record):
    no: str
    name: str
    type: str = "person"
    company_no: str | None = None
    email: str | None = None
    phone: str | None = None
    mobile_phone: str | None = None
    salesperson_code: str | None = None
    external_id: str | None = None
    address: str | None = None
    address_2: str | None = None
    post_code: str | None = None
    city: str | None = None
    country: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class InteractionGroup(Record):
    code: str
    description: str | None = None


@dataclass
class Template(Record):
    code: str
    description: str | None = None
    group_code: str | None = None
    kind: str = "other"
    flow: str = "none"
    initiated_by: str = "none"
    unit_cost: float = 0.0
    unit_duration_min: float = 0.0
    attempt_failed: bool = False
    correspondence: str = "none"
    campaign_no: str | None = None
    attachment_id: int | None = None
    created_at: datetime | None = None


#: the entry fields, in the order JSON and CSV write them
INTERACTION_FIELDS = (
    "entry_no", "contact_no", "company_no", "occurred_at", "subject", "template_code",
    "group_code", "kind", "flow", "initiated_by", "attempt_failed", "cost", "duration_min",
    "user_id", "salesperson_code", "evaluation", "cancelled", "postponed", "state", "due_at",
    "completed_at", "document_type", "document_no", "version_no", "occurrence", "segment_no",
    "logged_segment_no", "campaign_no", "correspondence", "attachment_id", "source",
    "idempotency_key", "created_at", "cancelled_at",
)


@dataclass
class Interaction(Record):
    """One interaction log entry. ``entry_no`` is None until it is saved."""

    contact_no: str | None
    template_code: str | None = None
    subject: str | None = None
    occurred_at: datetime | None = None
    entry_no: int | None = None
    company_no: str | None = None
    group_code: str | None = None
    kind: str = "other"
    flow: str = "none"
    initiated_by: str = "none"
    attempt_failed: bool = False
    cost: float = 0.0
    duration_min: float = 0.0
    user_id: str | None = None
    salesperson_code: str | None = None
    evaluation: str = "none"
    cancelled: bool = False
    postponed: bool = False
    state: str = "done"
    due_at: datetime | None = None
    completed_at: datetime | None = None
    document_type: str | None = None
    document_no: str | None = None
    version_no: int | None = None
    occurrence: int | None = None
    segment_no: str | None = None
    logged_segment_no: str | None = None
    campaign_no: str | None = None
    correspondence: str = "none"
    attachment_id: int | None = None
    source: str = "manual"
    idempotency_key: str | None = None
    created_at: datetime | None = None
    cancelled_at: datetime | None = None
    #: free-form data plugins may use while the draft travels the pipeline (not stored)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    _frozen: bool = field(default=False, init=False, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError(f"interaction {self.entry_no} is a read-only snapshot")
        object.__setattr__(self, name, value)

    def frozen(self) -> "Interaction":
        """A read-only copy (what hooks after a commit receive)."""
        # a field-for-field copy without __init__ (no __post_init__ here): a 100,000-line
        # segment freezes 100,000 results, and dataclasses.replace costs ten times more
        copy = object.__new__(type(self))
        state = copy.__dict__
        state.update(self.__dict__)
        state["extra"] = dict(self.extra)
        state["_frozen"] = True
        return copy

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in INTERACTION_FIELDS}


@dataclass
class DocumentEvent(Record):
    """A document an ERP printed, sent or posted: the input of ``ilog event``.

    ``contact_no`` names the contact directly; ``ref`` is an ERP reference a
    ``resolve_contact`` hook turns into a contact number.
    """

    event: str
    document_no: str
    contact_no: str | None = None
    ref: str | None = None
    document_type: str | None = None
    version_no: int | None = None
    occurred_at: datetime | None = None
    subject: str | None = None
    attach: str | None = None
    idempotency_key: str | None = None
    salesperson_code: str | None = None
    campaign_no: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class LogFilter(Record):
    """Which entries a listing, a bulk change, an export or a purge is about."""

    entry_nos: list[int] | None = None
    contact_no: str | None = None
    rollup: bool = False
    company_no: str | None = None
    template_code: str | None = None
    group_code: str | None = None
    kind: str | None = None
    document_type: str | None = None
    document_no: str | None = None
    segment_no: str | None = None
    logged_segment_no: str | None = None
    user_id: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    #: "exclude" (default), "only" or "include" cancelled entries
    cancelled: str = "exclude"
    #: "exclude" (default), "only" or "include" postponed entries
    postponed: str = "exclude"
    evaluation: str | None = None
    state: str | None = None
    due_before: datetime | None = None
    overdue: bool = False
    source: str | None = None
    text: str | None = None
    limit: int | None = None
    newest_first: bool = True

    def is_empty(self) -> bool:
        """True when nothing narrows the selection (bulk commands refuse that)."""
        defaults = LogFilter()
        ignored = {"cancelled", "postponed", "limit", "newest_first"}
        return all(
            getattr(self, f.name) == getattr(defaults, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ignored
        )


@dataclass
class RecordResult(Record):
    """What recording one interaction gave: the entry, and whether it is new."""

    entry_no: int | None
    created: bool
    interaction: Interaction | None = None
    message: str | None = None
