"""The database tables (SQLAlchemy Core), the one description of the schema.

Core tables rather than ORM classes: the CLI runs once per printed document, and the
ORM and SQLModel layers cost start-up time and bulk-insert speed that a one-shot
process and a 100,000-line segment cannot spare. Records travel as the plain
dataclasses of :mod:`ilog.records`.

All times are stored as naive UTC (:class:`UTCDateTime`), so SQLite and PostgreSQL
hold and return the same values.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

#: the schema version this ilog writes; see :mod:`ilog.migrations` (a change here needs a step there)
SCHEMA_VERSION = 2


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as naive UTC; returned aware (UTC) on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database layer")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL results on SQLite
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc)


EntryNo = BigInteger().with_variant(Integer(), "sqlite")
Code = String(30)
Name = String(250)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

meta = Table(
    "ilog_meta",
    metadata,
    Column("key", String(50), primary_key=True),
    Column("value", Text, nullable=False),
)

#: one row per schema version reached: when, and by which ilog (v2)
migration = Table(
    "ilog_migration",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UTCDateTime, nullable=False),
    Column("ilog_version", String(30), nullable=False),
    Column("action", String(10), nullable=False),  # created | upgraded
)

number_series = Table(
    "number_series",
    metadata,
    Column("code", String(30), primary_key=True),
    Column("prefix", String(20), nullable=False, server_default=""),
    Column("width", Integer, nullable=False, server_default="0"),
    Column("last_no", BigInteger, nullable=False, server_default="0"),
)

contact = Table(
    "contact",
    metadata,
    Column("no", Code, primary_key=True),
    Column("type", String(10), nullable=False),
    Column("name", Name, nullable=False),
    Column("company_no", Code, ForeignKey("contact.no"), nullable=True),
    Column("email", Name),
    Column("phone", String(50)),
    Column("mobile_phone", String(50)),
    Column("salesperson_code", Code),
    Column("external_id", String(100)),
    Column("address", Name),
    Column("address_2", Name),
    Column("post_code", String(20)),
    Column("city", String(100)),
    Column("country", String(50)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_contact_company_no", "company_no"),
    Index("ix_contact_external_id", "external_id", unique=True),
    Index("ix_contact_email", "email"),
)

interaction_group = Table(
    "interaction_group",
    metadata,
    Column("code", Code, primary_key=True),
    Column("description", Name),
)

attachment = Table(
    "attachment",
    metadata,
    Column("id", EntryNo, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("name", Name, nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

interaction_template = Table(
    "interaction_template",
    metadata,
    Column("code", Code, primary_key=True),
    Column("description", Name),
    Column("group_code", Code, ForeignKey("interaction_group.code")),
    Column("kind", String(20), nullable=False),
    Column("flow", String(10), nullable=False),
    Column("initiated_by", String(10), nullable=False),
    Column("unit_cost", Float, nullable=False, server_default="0"),
    Column("unit_duration_min", Float, nullable=False, server_default="0"),
    Column("attempt_failed", Boolean, nullable=False, server_default=text("false")),
    Column("correspondence", String(10), nullable=False),
    Column("campaign_no", Code),
    Column("attachment_id", EntryNo, ForeignKey("attachment.id")),
    Column("created_at", UTCDateTime, nullable=False),
)

template_setup = Table(
    "template_setup",
    metadata,
    Column("event", String(60), primary_key=True),
    Column("template_code", Code, ForeignKey("interaction_template.code"), nullable=False),
)

interaction = Table(
    "interaction",
    metadata,
    Column("entry_no", EntryNo, primary_key=True, autoincrement=False),
    Column("contact_no", Code, ForeignKey("contact.no")),
    Column("company_no", Code, ForeignKey("contact.no")),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("subject", String(1000)),
    Column("template_code", Code, ForeignKey("interaction_template.code")),
    Column("group_code", Code),
    Column("kind", String(20), nullable=False),
    Column("flow", String(10), nullable=False),
    Column("initiated_by", String(10), nullable=False),
    Column("attempt_failed", Boolean, nullable=False),
    Column("cost", Float, nullable=False),
    Column("duration_min", Float, nullable=False),
    Column("user_id", String(100)),
    Column("salesperson_code", Code),
    Column("evaluation", String(15), nullable=False),
    Column("cancelled", Boolean, nullable=False),
    Column("cancelled_at", UTCDateTime),
    Column("postponed", Boolean, nullable=False),
    Column("state", String(5), nullable=False),
    Column("due_at", UTCDateTime),
    Column("completed_at", UTCDateTime),
    Column("document_type", String(40)),
    Column("document_no", String(50)),
    Column("version_no", Integer),
    Column("occurrence", Integer),
    Column("segment_no", Code),
    Column("logged_segment_no", Code),
    Column("campaign_no", Code),
    Column("correspondence", String(10), nullable=False),
    Column("attachment_id", EntryNo, ForeignKey("attachment.id")),
    Column("source", String(10), nullable=False),
    Column("idempotency_key", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    # a contact's history by date, a company's roll-up, date ranges, purge, documents
    Index("ix_interaction_contact_no_occurred_at", "contact_no", "occurred_at"),
    Index("ix_interaction_company_no_occurred_at", "company_no", "occurred_at"),
    Index("ix_interaction_occurred_at", "occurred_at"),
    Index("ix_interaction_cancelled_occurred_at", "cancelled", "occurred_at"),
    Index("ix_interaction_state_due_at", "state", "due_at"),
    Index("ix_interaction_template_code", "template_code"),
    Index("ix_interaction_logged_segment_no", "logged_segment_no"),
    Index("ix_interaction_attachment_id", "attachment_id"),
    Index("ix_interaction_user_id_occurred_at", "user_id", "occurred_at"),  # log --user/--mine (v2)
    Index(
        "ix_interaction_document",
        "document_type",
        "document_no",
        "occurrence",
        unique=True,
        sqlite_where=text("document_no IS NOT NULL"),
        # postgresql_where: set by use_postgresql(); naming it here would import SQLAlchemy's
        # PostgreSQL dialect (~20 ms) in every SQLite process
    ),
)

interaction_comment = Table(
    "interaction_comment",
    metadata,
    Column("entry_no", EntryNo, ForeignKey("interaction.entry_no", ondelete="CASCADE"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("user_id", String(100)),
    Column("text", String(4000), nullable=False),
    PrimaryKeyConstraint("entry_no", "line_no"),
)

#: idempotency keys outlive the entries they produced, so a purge never lets a replay record again
idempotency_key = Table(
    "idempotency_key",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("entry_no", EntryNo, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

#: how many times each document (type, number) has been logged; never decreases
document_occurrence = Table(
    "document_occurrence",
    metadata,
    Column("document_type", String(40), nullable=False),
    Column("document_no", String(50), nullable=False),
    Column("last_occurrence", Integer, nullable=False),
    PrimaryKeyConstraint("document_type", "document_no"),
)

segment = Table(
    "segment",
    metadata,
    Column("no", Code, primary_key=True),
    Column("description", Name, nullable=False),
    Column("template_code", Code, ForeignKey("interaction_template.code")),
    Column("date", UTCDateTime),
    Column("salesperson_code", Code),
    Column("campaign_no", Code),
    Column("subject", String(1000)),
    Column("state", String(10), nullable=False, server_default="open"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(100)),
)

segment_line = Table(
    "segment_line",
    metadata,
    Column("segment_no", Code, ForeignKey("segment.no", ondelete="CASCADE"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("contact_no", Code, ForeignKey("contact.no"), nullable=False),
    Column("template_code", Code, ForeignKey("interaction_template.code")),
    Column("description", String(1000)),
    PrimaryKeyConstraint("segment_no", "line_no"),
    UniqueConstraint("segment_no", "contact_no"),
)

logged_segment = Table(
    "logged_segment",
    metadata,
    Column("no", Code, primary_key=True),
    Column("segment_no", Code, nullable=False),
    Column("description", Name),
    Column("entry_count", Integer, nullable=False),
    Column("first_entry_no", EntryNo),
    Column("last_entry_no", EntryNo),
    Column("logged_at", UTCDateTime, nullable=False),
    Column("logged_by", String(100)),
    Column("cancelled", Boolean, nullable=False, server_default=text("false")),
)


def use_postgresql() -> None:
    """Add the PostgreSQL-only DDL options (called when a PostgreSQL database is opened)."""
    for index in interaction.indexes:
        if index.name == "ix_interaction_document":
            index.dialect_options["postgresql"]["where"] = text("document_no IS NOT NULL")
