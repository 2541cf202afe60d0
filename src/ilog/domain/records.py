"""The records of ilog: SQLModel classes, the one description of the data.

SQLModel's documented split: a ``...Base`` class here declares each field once, with its
value type (:mod:`ilog.domain.values`: what it accepts, how long, which range) and how it
is stored (key, foreign key, nullability); :mod:`ilog.store.models` makes the table
classes from the same bases (``ContactTable(ContactBase, table=True)``), adding only keys
and indexes; the read models here (``Contact``, ``Interaction``...) are what the Python
API returns and hooks receive. Building a record validates it (``Contact(name=" ")`` is a
:class:`~ilog.errors.BadValue`); records read back from the database are trusted and built
without validation (:func:`from_row`).

An :class:`Interaction` is a draft while it is being built (plugins may change it in
``enrich_interaction``) and a read-only snapshot once saved (:meth:`Interaction.frozen`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, PrivateAttr
from sqlmodel import Field, SQLModel

from ..errors import ReadOnlyRecord
from . import choices as c
from .values import (
    Amount,
    Choice,
    OneOrMany,
    BigCount,
    Code,
    ContactType,
    Correspondence,
    Count,
    Email,
    EndMoment,
    EntryNo,
    Evaluation,
    Flow,
    InitiatedBy,
    Kind,
    Moment,
    Name,
    OptCode,
    SegmentState,
    Source,
    State,
    Text,
)

R = TypeVar("R", bound=BaseModel)


#: the slots every pydantic model has, set straight through their descriptors: half the cost
#: of object.__setattr__ by name, for each of the thousands of records a page or export reads
_new = object.__new__
_set_values = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def from_row(cls: type[R], values: dict[str, Any]) -> R:
    """A record from trusted stored values, without validation (reading millions of rows).

    ``values`` must hold every field of ``cls``; it becomes the record's ``__dict__``.
    """
    record = _new(cls)  # what SQLModel's __new__ adds is set here
    _set_values(record, values)
    _set_fields_set(record, set())
    _set_extra(record, None)
    private = cls.__private_defaults__  # type: ignore[attr-defined]
    _set_private(record, dict(private) if private else None)
    return record


class Record(SQLModel):
    """Base of ilog's records: ``to_dict()`` for output.

    Validation schemas are built on a model's first use (``defer_build``), not at import: a
    one-shot ``ilog event`` builds the two or three it needs, not all twenty.
    """

    model_config = ConfigDict(defer_build=True)  # type: ignore[assignment]

    __private_defaults__: ClassVar[dict[str, Any]] = {}

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in type(self).model_fields}


# -- contacts --------------------------------------------------------------------------------


class ContactBase(Record):
    no: OptCode = None
    type: ContactType = "person"
    name: Name()  # type: ignore[valid-type]
    company_no: OptCode = Field(default=None, foreign_key="contact.no")
    email: Email = None
    phone: Text(50, strip=True) = None  # type: ignore[valid-type]
    mobile_phone: Text(50, strip=True) = None  # type: ignore[valid-type]
    salesperson_code: OptCode = None
    external_id: Text(100, strip=True) = None  # type: ignore[valid-type]
    address: Text(c.MAX_NAME, strip=True) = None  # type: ignore[valid-type]
    address_2: Text(c.MAX_NAME, strip=True) = None  # type: ignore[valid-type]
    post_code: Text(20, strip=True) = None  # type: ignore[valid-type]
    city: Text(100, strip=True) = None  # type: ignore[valid-type]
    country: Text(50, strip=True) = None  # type: ignore[valid-type]
    created_at: Moment | None = Field(default=None, nullable=False)
    updated_at: Moment | None = Field(default=None, nullable=False)


#: the fields of a contact a user may set (``contact add/edit``, imports)
CONTACT_EDITABLE = ("name", "email", "phone", "mobile_phone", "salesperson_code", "external_id", "address",
                    "address_2", "post_code", "city", "country")


class Contact(ContactBase):
    """A company or a person (who belongs to at most one company)."""

    no: Code


# -- groups, templates, attachments ------------------------------------------------------------


class InteractionGroupBase(Record):
    code: Code
    description: Text(c.MAX_NAME) = None  # type: ignore[valid-type]


class InteractionGroup(InteractionGroupBase):
    """Groups templates for statistics."""


class TemplateBase(Record):
    code: Code
    description: Text(c.MAX_NAME) = None  # type: ignore[valid-type]
    group_code: OptCode = Field(default=None, foreign_key="interaction_group.code")
    kind: Kind = "other"
    flow: Flow = "none"
    initiated_by: InitiatedBy = "none"
    unit_cost: Amount = 0.0
    unit_duration_min: Amount = 0.0
    attempt_failed: bool = False
    correspondence: Correspondence = "none"
    campaign_no: OptCode = None
    attachment_id: EntryNo | None = Field(default=None, foreign_key="attachment.id")
    created_at: Moment | None = Field(default=None, nullable=False)


class Template(TemplateBase):
    """An interaction template: the values copied onto each entry logged from it."""


#: the fields of a template a user may set
TEMPLATE_EDITABLE = ("description", "group_code", "kind", "flow", "initiated_by", "unit_cost",
                     "unit_duration_min", "attempt_failed", "correspondence", "campaign_no")


class TemplateSetupBase(Record):
    event: Text(c.MAX_EVENT) = Field(default=None, nullable=False)  # type: ignore[valid-type]
    template_code: Code = Field(foreign_key="interaction_template.code")


class AttachmentBase(Record):
    id: EntryNo | None = None
    sha256: Name(64) = Field(unique=True)  # type: ignore[valid-type]
    name: Name(c.MAX_NAME)  # type: ignore[valid-type]
    media_type: Name(100)  # type: ignore[valid-type]
    size: BigCount
    content: bytes
    created_at: Moment | None = Field(default=None, nullable=False)


# -- interactions --------------------------------------------------------------------------------


class InteractionBase(Record):
    entry_no: EntryNo | None = None
    contact_no: OptCode = Field(default=None, foreign_key="contact.no")
    company_no: OptCode = Field(default=None, foreign_key="contact.no")
    occurred_at: Moment | None = Field(default=None, nullable=False)
    subject: Text(c.MAX_SUBJECT) = None  # type: ignore[valid-type]
    template_code: OptCode = Field(default=None, foreign_key="interaction_template.code")
    group_code: OptCode = None
    kind: Kind = "other"
    flow: Flow = "none"
    initiated_by: InitiatedBy = "none"
    attempt_failed: bool = False
    cost: Amount = 0.0
    duration_min: Amount = 0.0
    user_id: Text(c.MAX_USER) = None  # type: ignore[valid-type]
    salesperson_code: OptCode = None
    evaluation: Evaluation = "none"
    cancelled: bool = False
    cancelled_at: Moment | None = None
    postponed: bool = False
    state: State = "done"
    due_at: Moment | None = None
    completed_at: Moment | None = None
    document_type: Text(c.MAX_DOCUMENT_TYPE) = None  # type: ignore[valid-type]
    document_no: Text(c.MAX_DOCUMENT_NO) = None  # type: ignore[valid-type]
    version_no: Count | None = None
    occurrence: Count | None = None
    segment_no: OptCode = None
    logged_segment_no: OptCode = None
    campaign_no: OptCode = None
    correspondence: Correspondence = "none"
    attachment_id: EntryNo | None = Field(default=None, foreign_key="attachment.id")
    source: Source = "manual"
    idempotency_key: Text(c.MAX_KEY) = None  # type: ignore[valid-type]
    created_at: Moment | None = Field(default=None, nullable=False)
    # v3: who the activity is for (default: who logged it), who completed it, what it regards
    owner: Text(c.MAX_USER) = None  # type: ignore[valid-type]
    completed_by: Text(c.MAX_USER) = None  # type: ignore[valid-type]
    opportunity_no: OptCode = None


#: the entry fields, in the order JSON and CSV write them
INTERACTION_FIELDS = (
    "entry_no", "contact_no", "company_no", "occurred_at", "subject", "template_code",
    "group_code", "kind", "flow", "initiated_by", "attempt_failed", "cost", "duration_min",
    "user_id", "salesperson_code", "evaluation", "cancelled", "postponed", "state", "due_at",
    "completed_at", "document_type", "document_no", "version_no", "occurrence", "segment_no",
    "logged_segment_no", "campaign_no", "correspondence", "attachment_id", "source",
    "idempotency_key", "created_at", "cancelled_at", "owner", "completed_by", "opportunity_no", "overdue",
)
#: the stored fields (the table's columns), in table order
STORED_FIELDS = tuple(InteractionBase.model_fields)


_MISSING = object()


class Interaction(InteractionBase):
    """One interaction log entry. ``entry_no`` is None until it is saved.

    ``extra`` is free-form data plugins may use while a draft travels the pipeline
    (never stored). A snapshot (:meth:`frozen`, what hooks after a commit receive)
    refuses every assignment with :class:`~ilog.errors.ReadOnlyRecord`.
    """

    extra: dict[str, Any] = Field(default_factory=dict, exclude=True)
    _frozen: bool = PrivateAttr(default=False)
    #: every stored field is as the core's checks left it; any assignment clears it
    _checked: bool = PrivateAttr(default=False)

    __private_defaults__: ClassVar[dict[str, Any]] = {"_frozen": False, "_checked": False}

    def __setattr__(self, name: str, value: Any) -> None:
        private = self.__pydantic_private__
        if private:
            if private.get("_frozen"):
                raise ReadOnlyRecord(f"interaction {self.entry_no} is a read-only snapshot: {name} cannot change")
            if private.get("_checked"):  # the value it has again (same type, equal) stays checked
                current = self.__dict__.get(name, _MISSING)
                if type(current) is not type(value) or current != value:
                    private["_checked"] = False
        super().__setattr__(name, value)

    @property
    def checked(self) -> bool:
        """Whether no field was assigned another value since the core last checked every value
        (:meth:`mark_checked`): a draft no hook or caller changed is not validated twice.
        Assigning a field the value it has (same type, equal) changes nothing."""
        private = self.__pydantic_private__
        return bool(private and private.get("_checked"))

    def mark_checked(self) -> None:
        """Say that every value was just checked (``Entries.draft`` and ``Entries.check`` do)."""
        if self.__pydantic_private__ is None:
            object.__setattr__(self, "__pydantic_private__", dict(self.__private_defaults__))
        self.__pydantic_private__["_checked"] = True  # type: ignore[index]

    @property
    def overdue(self) -> bool:
        """An open activity past its due date (not cancelled, not postponed)."""
        from .dates import now

        return (self.state == "open" and self.due_at is not None and not self.cancelled and not self.postponed
                and self.due_at < now())

    def frozen(self) -> "Interaction":
        """A read-only copy (what hooks after a commit receive)."""
        values = dict(self.__dict__)
        values["extra"] = dict(self.extra)
        copy = from_row(Interaction, values)
        copy.__pydantic_private__["_frozen"] = True  # type: ignore[index]
        return copy

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in INTERACTION_FIELDS}


def interaction_from_row(values: dict[str, Any]) -> Interaction:
    """An Interaction from stored column values (every column present)."""
    values["extra"] = {}
    return from_row(Interaction, values)


class CommentBase(Record):
    entry_no: EntryNo = Field(foreign_key="interaction.entry_no", ondelete="CASCADE")
    line_no: Count
    created_at: Moment | None = Field(default=None, nullable=False)
    user_id: Text(c.MAX_USER) = None  # type: ignore[valid-type]
    text: Name(c.MAX_TEXT)  # type: ignore[valid-type]


class Comment(CommentBase):
    """A dated comment line of an entry."""


class IdempotencyKeyBase(Record):
    key: Name(c.MAX_KEY)  # type: ignore[valid-type]
    entry_no: EntryNo
    created_at: Moment | None = Field(default=None, nullable=False)
    #: what the key recorded (a hash of the document and contact), to refuse a key reused for another (v3)
    fingerprint: Text(64) = None  # type: ignore[valid-type]


class DocumentOccurrenceBase(Record):
    document_type: Text(c.MAX_DOCUMENT_TYPE) = Field(default=None, nullable=False)  # type: ignore[valid-type]
    document_no: Text(c.MAX_DOCUMENT_NO) = Field(default=None, nullable=False)  # type: ignore[valid-type]
    last_occurrence: Count


# -- teams and erasures ------------------------------------------------------------------------


class TeamBase(Record):
    name: Code
    description: Text(c.MAX_NAME) = None  # type: ignore[valid-type]
    created_at: Moment | None = Field(default=None, nullable=False)


class Team(TeamBase):
    """A named group of users (a manager's salespeople): ``log --team T`` lists what they own."""

    members: list[str] = Field(default_factory=list)


class TeamMemberBase(Record):
    team: Code = Field(foreign_key="team.name", ondelete="CASCADE")
    user_id: Name(c.MAX_USER)  # type: ignore[valid-type]


class ErasureBase(Record):
    id: EntryNo | None = None
    erased_at: Moment
    erased_by: Text(c.MAX_USER) = None  # type: ignore[valid-type]
    #: SHA-256 of the contact number: proves an erasure happened without keeping who it was
    contact_hash: Name(64)  # type: ignore[valid-type]
    mode: Choice(("delete", "anonymize"), 10)  # type: ignore[valid-type]
    #: JSON: how many rows of each kind were erased
    counts: str
    #: the contact being erased while the erasure is under way; emptied when it finishes (v4)
    contact_no: OptCode = None


class Erasure(ErasureBase):
    """The record an erasure leaves: when, who ran it, how much, the contact number hashed.

    While an erasure is under way (a long one runs in many short transactions) ``state`` is
    ``in progress`` and ``contact_no`` names the contact; once it is ``done``, nothing in the
    record names it.
    """

    def to_dict(self) -> dict[str, Any]:
        import json

        record = super().to_dict()
        record["counts"] = json.loads(self.counts or "{}")
        record["state"] = "in progress" if self.contact_no else "done"
        return record


#: output keys of an erasure record, in order
ERASURE_FIELDS = ("id", "erased_at", "erased_by", "mode", "state", "contact_hash", "counts", "contact_no")


# -- segments ------------------------------------------------------------------------------------


class SegmentBase(Record):
    no: OptCode = None
    description: Name()  # type: ignore[valid-type]
    template_code: OptCode = Field(default=None, foreign_key="interaction_template.code")
    date: Moment | None = None
    salesperson_code: OptCode = None
    campaign_no: OptCode = None
    subject: Text(c.MAX_SUBJECT) = None  # type: ignore[valid-type]
    state: SegmentState = "open"
    created_at: Moment | None = Field(default=None, nullable=False)
    created_by: Text(c.MAX_USER) = None  # type: ignore[valid-type]
    # v3: who the entries are for (default: who logs the segment), the opportunity they regard
    owner: Text(c.MAX_USER) = None  # type: ignore[valid-type]
    opportunity_no: OptCode = None


#: the header fields of a segment a user may set
SEGMENT_EDITABLE = ("description", "template_code", "date", "salesperson_code", "campaign_no", "subject", "owner",
                    "opportunity_no")


class Segment(SegmentBase):
    """A working list of contacts to log one interaction for, with its line count."""

    no: Code
    line_count: int = 0
    logged_segment_no: str | None = None


class SegmentLineBase(Record):
    segment_no: Code = Field(foreign_key="segment.no", ondelete="CASCADE")
    line_no: Count
    contact_no: Code = Field(foreign_key="contact.no")
    template_code: OptCode = Field(default=None, foreign_key="interaction_template.code")
    description: Text(c.MAX_SUBJECT) = None  # type: ignore[valid-type]
    owner: Text(c.MAX_USER) = None  # type: ignore[valid-type]  # v3: this line's entry is for


class SegmentLine(Record):
    """A line of a segment, with its contact's name, type and company."""

    segment_no: str
    line_no: int
    contact_no: str
    contact_name: str | None = None
    contact_type: str | None = None
    company_no: str | None = None
    template_code: str | None = None
    description: str | None = None
    owner: str | None = None


class LoggedSegmentBase(Record):
    no: Code
    segment_no: Code
    description: Text(c.MAX_NAME) = None  # type: ignore[valid-type]
    entry_count: Count
    first_entry_no: EntryNo | None = None
    last_entry_no: EntryNo | None = None
    logged_at: Moment
    logged_by: Text(c.MAX_USER) = None  # type: ignore[valid-type]
    cancelled: bool = False


class LoggedSegment(LoggedSegmentBase):
    """A segment once logged: how many entries, which, when and by whom."""


# -- inputs and results (not stored) -------------------------------------------------------------


def _names(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class DocumentEvent(BaseModel):
    """A document an ERP printed, sent or posted: the input of ``ilog event``, of a batch
    line and of :func:`ilog.record_event`, under the same names everywhere.

    ``contact_no`` names the contact directly; ``ref`` is an ERP reference a
    ``resolve_contact`` hook turns into a contact number. Batch lines may also use the
    option names of ``ilog event`` (``contact``, ``version``, ``date``, ``key``...).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True, defer_build=True)

    event: Name(c.MAX_EVENT)  # type: ignore[valid-type]
    document_no: Name(c.MAX_DOCUMENT_NO)  # type: ignore[valid-type]
    contact_no: OptCode = Field(default=None, validation_alias=_names("contact_no", "contact"))
    ref: Text(100) = None  # type: ignore[valid-type]
    document_type: Text(c.MAX_DOCUMENT_TYPE) = None  # type: ignore[valid-type]
    version_no: Count | None = Field(default=None, validation_alias=_names("version_no", "version"))
    occurred_at: Moment | None = Field(default=None, validation_alias=_names("occurred_at", "date"))
    subject: Text(c.MAX_SUBJECT) = None  # type: ignore[valid-type]
    attach: Text(4096) = None  # type: ignore[valid-type]
    idempotency_key: Text(c.MAX_KEY) = Field(default=None, validation_alias=_names("idempotency_key", "key"))  # type: ignore[valid-type]
    salesperson_code: OptCode = Field(default=None, validation_alias=_names("salesperson_code", "salesperson"))
    campaign_no: OptCode = Field(default=None, validation_alias=_names("campaign_no", "campaign"))
    # what `ilog interact` takes too: every way of recording accepts the same fields
    owner: Text(c.MAX_USER) = None  # type: ignore[valid-type]
    opportunity_no: OptCode = Field(default=None, validation_alias=_names("opportunity_no", "opportunity"))
    flow: Flow | None = None
    initiated_by: InitiatedBy | None = None
    evaluation: Evaluation | None = None
    attempt_failed: bool | None = None
    duration_min: Amount | None = Field(default=None, validation_alias=_names("duration_min", "duration"))
    cost: Amount | None = None
    due_at: Moment | None = Field(default=None, validation_alias=_names("due_at", "due"))
    extra: dict[str, Any] = Field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    def document_fields(self) -> dict[str, Any]:
        """What the entry recorded for this event says of its document, whoever built the
        draft: the core stamps these on it (a template-less ``document_type`` is the event's)."""
        return {"source": "event", "document_type": self.document_type or self.event,
                "document_no": self.document_no, "version_no": self.version_no,
                "idempotency_key": self.idempotency_key}

    #: the fields an event sets on its entry as given (the rest come from the template setup)
    ENTRY_FIELDS: ClassVar[tuple[str, ...]] = (
        "subject", "occurred_at", "salesperson_code", "campaign_no", "owner", "opportunity_no", "flow",
        "initiated_by", "evaluation", "attempt_failed", "duration_min", "cost", "due_at")


#: the names a batch line (and the API) may use for each DocumentEvent field
EVENT_FIELDS = {
    name: [str(a) for a in (info.validation_alias.choices if isinstance(info.validation_alias, AliasChoices)
                            else [name])]
    for name, info in DocumentEvent.model_fields.items()
}


class LogFilter(BaseModel):
    """Which entries a listing, a bulk change, an export or a purge is about.

    Dates may be given as text (``-30d``, ``2026-11-01``) or datetimes; ``date_to`` as a
    bare date means the end of that day.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)

    entry_nos: list[EntryNo] | None = None
    contact_no: OptCode = None
    rollup: bool = False
    company_no: OptCode = None
    #: one template or several (any of them)
    template_code: OneOrMany(Code) = None  # type: ignore[valid-type]
    group_code: OptCode = None
    #: one kind or several (tasks and calls together)
    kind: OneOrMany(Kind) = None  # type: ignore[valid-type]
    #: whose activities: one user or several (the owner, by default who logged the entry)
    owner: OneOrMany(Text(c.MAX_USER)) = None  # type: ignore[valid-type]
    #: the activities the members of a team own
    team: OptCode = None
    salesperson_code: OptCode = None
    campaign_no: OptCode = None
    opportunity_no: OptCode = None
    #: closed activities only: open ones that were completed (``log --done``)
    completed: bool = False
    document_type: Text(c.MAX_DOCUMENT_TYPE) = None  # type: ignore[valid-type]
    document_no: Text(c.MAX_DOCUMENT_NO) = None  # type: ignore[valid-type]
    segment_no: OptCode = None
    logged_segment_no: OptCode = None
    user_id: Text(c.MAX_USER) = None  # type: ignore[valid-type]
    date_from: Moment | None = None
    date_to: EndMoment | None = None
    #: "exclude" (default), "only" or "include" cancelled entries
    cancelled: str = "exclude"
    #: "exclude" (default), "only" or "include" postponed entries
    postponed: str = "exclude"
    evaluation: Evaluation | None = None
    state: State | None = None
    due_before: Moment | None = None
    overdue: bool = False
    source: Source | None = None
    text: Text(c.MAX_SUBJECT) = None  # type: ignore[valid-type]
    limit: BigCount | None = None
    newest_first: bool = True

    #: fields that do not narrow the selection (bulk commands refuse a filter without others)
    NOT_NARROWING: ClassVar[frozenset[str]] = frozenset({"cancelled", "postponed", "limit", "newest_first"})

    def is_empty(self) -> bool:
        """True when nothing narrows the selection (bulk commands refuse that)."""
        defaults = type(self).model_fields
        return all(getattr(self, name) == info.default for name, info in defaults.items()
                   if name not in self.NOT_NARROWING)

    def but(self, **changes: Any) -> "LogFilter":
        """A copy with some fields changed (validated)."""
        return type(self).model_validate({**self.model_dump(), **changes})


class RecordResult(BaseModel):
    """What recording one interaction gave: the entry, and whether it is new.

    A document event that was spooled (the database was away, or ``delivery = "spool"``)
    has no entry yet: ``entry_no`` is None, ``spool_id`` its place in this host's spool and
    ``key`` the idempotency key it will be recorded with (``ilog spool flush``).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, defer_build=True)

    entry_no: int | None
    created: bool
    interaction: Interaction | None = None
    message: str | None = None
    spool_id: int | None = None
    key: str | None = None

    @property
    def spooled(self) -> bool:
        return self.spool_id is not None


class ChangeResult(BaseModel):
    """What a bulk change did: the entries changed, and those refused with a reason; for a dry
    run also the first entries it would change (``preview``, at most :data:`PREVIEW_ENTRIES`)."""

    changed: list[int] = Field(default_factory=list)
    refused: list[tuple[int, str]] = Field(default_factory=list)
    preview: list[Interaction] = Field(default_factory=list, repr=False)


#: entries a dry run keeps to show (``ChangeResult.preview``)
PREVIEW_ENTRIES = 20


class Criteria(BaseModel):
    """Which contacts ``segment add`` / ``segment remove`` select, besides listed numbers.

    Contact criteria: ``type``, ``company_no`` (the persons of that company), ``salesperson``,
    ``text`` (name, email or number, any case). Interaction criteria look at the contact's
    own entries (cancelled and postponed entries do not count): ``with_template`` /
    ``with_group`` keep contacts that have such an entry, ``without_template`` /
    ``without_group`` those that have none, within ``since``..``until`` when given.
    ``no_interaction_since`` keeps contacts with no entry at all (or none of the given
    ``without_*`` template or group) since that moment; ``since``/``until`` alone keep
    contacts with any entry in the range.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: ContactType | None = None
    company_no: OptCode = None
    salesperson: OptCode = None
    text: Text(c.MAX_NAME) = None  # type: ignore[valid-type]
    with_template: OptCode = None
    with_group: OptCode = None
    without_template: OptCode = None
    without_group: OptCode = None
    since: Moment | None = None
    until: EndMoment | None = None
    no_interaction_since: Moment | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, name) in (None, "") for name in type(self).model_fields)


class Selection(BaseModel):
    """What ``segment add`` / ``segment remove`` did (or would do): how many contacts were
    (or would be) added or removed, which ones (``contact_nos``), and how many were not."""

    segment_no: str
    changed: int = 0
    unchanged: int = 0
    contact_nos: list[str] = Field(default_factory=list, repr=False)


class LogResult(BaseModel):
    """What ``segment log`` did (or, with ``dry_run``, would do)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    segment_no: str
    logged_segment_no: str | None
    entry_count: int
    first_entry_no: int | None = None
    last_entry_no: int | None = None
    follow_up_segment_no: str | None = None
    dry_run: bool = False
    drafts: list[Interaction] = Field(default_factory=list, repr=False)
    entry_nos: list[int] = Field(default_factory=list, repr=False)


#: output keys of segments, their lines and logged segments, in order
SEGMENT_FIELDS = tuple(Segment.model_fields)
LINE_FIELDS = tuple(SegmentLine.model_fields)
LOGGED_FIELDS = tuple(LoggedSegment.model_fields)
