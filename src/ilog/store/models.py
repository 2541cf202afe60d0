"""The tables: SQLModel table classes made from the record bases of :mod:`ilog.domain.records`.

Each ``...Table`` class adds to its base only what is about storage: the table name, the
primary key, column types where one needs more than the Python type says (entry numbers
are ``BIGINT``), server defaults and indexes. Fields, lengths, nullability and foreign keys
come from the base, so the schema ``ilog init`` creates and the records the API returns
are one description.

Every moment is stored as naive UTC (:class:`~ilog.store.types.UTCDateTime`), so SQLite and
PostgreSQL hold and return the same values: :func:`_moments_in_utc` gives every datetime
column that type.

The store's statements use the Core tables these classes make, through
:mod:`ilog.store.tables`, which keeps them in a cache so that a one-shot command does not
build the classes again (about a tenth of its start-up); this module is imported when the
cache is missing or stale. A change here needs a step in :mod:`ilog.store.migrations` and
the next ``SCHEMA_VERSION`` in :mod:`ilog.store.tables`.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ..domain.records import (
    AttachmentBase,
    CommentBase,
    ContactBase,
    DocumentOccurrenceBase,
    ErasureBase,
    IdempotencyKeyBase,
    InteractionBase,
    InteractionGroupBase,
    LoggedSegmentBase,
    SegmentBase,
    SegmentLineBase,
    TeamBase,
    TeamMemberBase,
    TemplateBase,
    TemplateSetupBase,
)
from .types import EntryNumber, UTCDateTime


metadata = SQLModel.metadata
metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _default(text: str) -> dict:
    return {"server_default": sa.text(text) if text in ("true", "false") else text}


# -- ilog's own bookkeeping (no record of the API stands for these) --------------------------


class MetaTable(SQLModel, table=True):
    __tablename__ = "ilog_meta"
    key: str = Field(primary_key=True, max_length=50)
    value: str = Field(sa_type=sa.Text)


class MigrationTable(SQLModel, table=True):
    """One row per schema version reached: when, and by which ilog (v2)."""

    __tablename__ = "ilog_migration"
    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    applied_at: datetime
    ilog_version: str = Field(max_length=30)
    action: str = Field(max_length=10)  # created | upgraded


class InteractionSummaryTable(SQLModel, table=True):
    """The live entries (neither cancelled nor postponed) of each quarter of an hour (UTC,
    starting at ``starts_at``): how many, their cost and duration (schema 5). Derived from
    ``interaction`` by the database itself (:data:`SUMMARY_TRIGGERS`), so every statement that
    writes entries keeps it exact in its own transaction; what ``stats --by month|day`` reads
    instead of scanning the log. Quarters, because every zone's offset in use is a whole number
    of quarter hours (India +5:30, Nepal +5:45, Chatham +12:45)."""

    __tablename__ = "interaction_summary"
    __table_args__ = {"sqlite_with_rowid": False}  # stored in starts_at order: a range is a run of pages
    starts_at: datetime = Field(primary_key=True)
    entries: int = Field(sa_type=sa.BigInteger)
    cost: float
    duration_min: float


class NumberSeriesTable(SQLModel, table=True):
    __tablename__ = "number_series"
    code: str = Field(primary_key=True, max_length=30)
    prefix: str = Field(max_length=20, sa_column_kwargs=_default(""))
    width: int = Field(sa_column_kwargs=_default("0"))
    last_no: int = Field(sa_type=sa.BigInteger, sa_column_kwargs=_default("0"))


# -- the domain's tables ----------------------------------------------------------------------


class ContactTable(ContactBase, table=True):
    __tablename__ = "contact"
    __table_args__ = (
        sa.Index("ix_contact_company_no", "company_no"),
        sa.Index("ix_contact_external_id", "external_id", unique=True),
        sa.Index("ix_contact_email", "email"),
    )
    no: str = Field(primary_key=True, max_length=30)


class InteractionGroupTable(InteractionGroupBase, table=True):
    __tablename__ = "interaction_group"
    code: str = Field(primary_key=True, max_length=30)


class AttachmentTable(AttachmentBase, table=True):
    __tablename__ = "attachment"
    id: int | None = Field(default=None, primary_key=True, sa_type=EntryNumber)
    size: int = Field(sa_type=sa.BigInteger)
    content: bytes = Field(sa_type=sa.LargeBinary)


class TemplateTable(TemplateBase, table=True):
    __tablename__ = "interaction_template"
    code: str = Field(primary_key=True, max_length=30)
    unit_cost: float = Field(default=0.0, sa_column_kwargs=_default("0"))
    unit_duration_min: float = Field(default=0.0, sa_column_kwargs=_default("0"))
    attempt_failed: bool = Field(default=False, sa_column_kwargs=_default("false"))
    attachment_id: int | None = Field(default=None, foreign_key="attachment.id", sa_type=EntryNumber)


class TemplateSetupTable(TemplateSetupBase, table=True):
    __tablename__ = "template_setup"
    event: str = Field(primary_key=True, max_length=60)


class InteractionTable(InteractionBase, table=True):
    __tablename__ = "interaction"
    __table_args__ = (
        # a contact's history by date, a company's roll-up, date ranges, purge, documents
        sa.Index("ix_interaction_contact_no_occurred_at", "contact_no", "occurred_at"),
        sa.Index("ix_interaction_company_no_occurred_at", "company_no", "occurred_at"),
        sa.Index("ix_interaction_occurred_at", "occurred_at"),
        sa.Index("ix_interaction_cancelled_occurred_at", "cancelled", "occurred_at"),
        sa.Index("ix_interaction_state_due_at", "state", "due_at"),
        sa.Index("ix_interaction_template_code", "template_code"),
        sa.Index("ix_interaction_logged_segment_no", "logged_segment_no"),
        sa.Index("ix_interaction_attachment_id", "attachment_id"),
        sa.Index("ix_interaction_user_id_occurred_at", "user_id", "occurred_at"),  # log --user (v2)
        sa.Index("ix_interaction_owner_state_due_at", "owner", "state", "due_at"),  # my open activities (v3)
        sa.Index("ix_interaction_opportunity_no", "opportunity_no"),  # (v3)
        sa.Index(
            "ix_interaction_document", "document_type", "document_no", "occurrence", unique=True,
            sqlite_where=sa.text("document_no IS NOT NULL"),
            # postgresql_where: set by use_postgresql(); naming it here would import SQLAlchemy's
            # PostgreSQL dialect (~20 ms) in every SQLite process
        ),
    )
    entry_no: int = Field(primary_key=True, sa_type=EntryNumber, sa_column_kwargs={"autoincrement": False})
    attachment_id: int | None = Field(default=None, foreign_key="attachment.id", sa_type=EntryNumber)


class CommentTable(CommentBase, table=True):
    __tablename__ = "interaction_comment"
    entry_no: int = Field(primary_key=True, foreign_key="interaction.entry_no", ondelete="CASCADE",
                          sa_type=EntryNumber, sa_column_kwargs={"autoincrement": False})
    line_no: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    text: str = Field(max_length=4000)


class IdempotencyKeyTable(IdempotencyKeyBase, table=True):
    """Idempotency keys outlive the entries they produced, so a purge never lets a replay record again."""

    __tablename__ = "idempotency_key"
    key: str = Field(primary_key=True, max_length=200)
    entry_no: int = Field(sa_type=EntryNumber)


class DocumentOccurrenceTable(DocumentOccurrenceBase, table=True):
    """How many times each document (type, number) has been logged; never decreases."""

    __tablename__ = "document_occurrence"
    document_type: str = Field(primary_key=True, max_length=40)
    document_no: str = Field(primary_key=True, max_length=50)


class TeamTable(TeamBase, table=True):
    __tablename__ = "team"
    name: str = Field(primary_key=True, max_length=30)


class TeamMemberTable(TeamMemberBase, table=True):
    __tablename__ = "team_member"
    team: str = Field(primary_key=True, foreign_key="team.name", ondelete="CASCADE", max_length=30)
    user_id: str = Field(primary_key=True, max_length=100)


class ErasureTable(ErasureBase, table=True):
    """What an erasure leaves behind: no personal data, only that it happened and how much."""

    __tablename__ = "erasure"
    id: int | None = Field(default=None, primary_key=True, sa_type=EntryNumber)
    counts: str = Field(sa_type=sa.Text)


class SegmentTable(SegmentBase, table=True):
    __tablename__ = "segment"
    no: str = Field(primary_key=True, max_length=30)
    state: str = Field(default="open", max_length=10, sa_column_kwargs=_default("open"))


class SegmentLineTable(SegmentLineBase, table=True):
    __tablename__ = "segment_line"
    __table_args__ = (sa.UniqueConstraint("segment_no", "contact_no"),)
    segment_no: str = Field(primary_key=True, foreign_key="segment.no", ondelete="CASCADE", max_length=30)
    line_no: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})


class LoggedSegmentTable(LoggedSegmentBase, table=True):
    __tablename__ = "logged_segment"
    no: str = Field(primary_key=True, max_length=30)
    first_entry_no: int | None = Field(default=None, sa_type=EntryNumber)
    last_entry_no: int | None = Field(default=None, sa_type=EntryNumber)
    cancelled: bool = Field(default=False, sa_column_kwargs=_default("false"))


def _moments_in_utc() -> None:
    """Every datetime column stores naive UTC and reads back aware (one rule for all).

    SQLModel maps an aware ``datetime`` field to its own ``UTCDateTime``, a ``TIMESTAMP WITH
    TIME ZONE`` column: ilog's columns are (and were, since version 1) naive UTC on every
    backend, so each datetime column gets ilog's type, whatever SQLModel chose."""
    for table in metadata.tables.values():
        for column in table.columns:
            if column.type._type_affinity is sa.DateTime and not isinstance(column.type, UTCDateTime):
                column.type = UTCDateTime()


_moments_in_utc()
