"""The tables: SQLModel table classes made from the record bases of :mod:`ilog.domain.records`.

Each ``...Table`` class adds to its base only what is about storage: the table name, the
primary key, column types where one needs more than the Python type says (entry numbers
are ``BIGINT``), server defaults and indexes. Fields, lengths, nullability and foreign keys
come from the base, so the schema ``ilog init`` creates and the records the API returns
are one description.

Every moment is stored as naive UTC (:class:`~ilog.store.types.UTCDateTime`), so SQLite and
PostgreSQL hold and return the same values: :func:`_moments_in_utc` gives every datetime
column that type. Bulk paths insert into ``Table.__table__`` with set-based statements, never
row objects; one-row paths use the same tables.

:data:`SCHEMA_VERSION` is the schema this ilog writes; see :mod:`ilog.store.migrations`
(a change here needs a step there).
"""

from __future__ import annotations

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

SCHEMA_VERSION = 5

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

# short names for the Core tables, used by the store's statements
meta = MetaTable.__table__
migration = MigrationTable.__table__
number_series = NumberSeriesTable.__table__
contact = ContactTable.__table__
interaction_group = InteractionGroupTable.__table__
attachment = AttachmentTable.__table__
interaction_template = TemplateTable.__table__
template_setup = TemplateSetupTable.__table__
interaction = InteractionTable.__table__
interaction_summary = InteractionSummaryTable.__table__
interaction_comment = CommentTable.__table__
idempotency_key = IdempotencyKeyTable.__table__
document_occurrence = DocumentOccurrenceTable.__table__
segment = SegmentTable.__table__
segment_line = SegmentLineTable.__table__
logged_segment = LoggedSegmentTable.__table__
team = TeamTable.__table__
team_member = TeamMemberTable.__table__
erasure = ErasureTable.__table__


#: tables derived from others by triggers: never written by ilog's code, nor copied
DERIVED = (interaction_summary.name,)

# -- the summary's triggers --------------------------------------------------------------------
#
# SQLite: row triggers (a WHEN clause skips what does not count: a purge deletes cancelled
# entries, which were never in the summary, and pays nothing). An UPDATE fires them only
# when a column the summary depends on is set to another value. The quarter of a stored
# moment is computed from its text (SQLAlchemy's format, ``2026-06-30 12:34:56.000000``).
#
# PostgreSQL: statement triggers with transition tables, so a segment of 100,000 entries
# costs one aggregate and a few upserts, not 100,000 function calls; the rows of an UPDATE
# count only when a column the summary depends on changed. Upserts go in time order, so two
# statements that touch the same quarters take their row locks in the same order. The
# function runs in UTC (its own SET timezone), so the quarter of a timestamptz is UTC's.

_SQLITE_QUARTER = ("coalesce(strftime('%Y-%m-%d %H:', {r}.occurred_at) || substr('00153045', "
                   "1 + 2 * (CAST(strftime('%M', {r}.occurred_at) AS INTEGER) / 15), 2) || ':00.000000', "
                   "substr({r}.occurred_at, 1, 16))")
_SQLITE_LIVE = "{r}.cancelled IS NOT 1 AND {r}.postponed IS NOT 1"
_SQLITE_ADD = ("INSERT INTO interaction_summary (starts_at, entries, cost, duration_min) "
               "VALUES ({quarter}, {sign}1, {sign}{r}.cost, {sign}{r}.duration_min) "
               "ON CONFLICT (starts_at) DO UPDATE SET entries = entries + excluded.entries, "
               "cost = cost + excluded.cost, duration_min = duration_min + excluded.duration_min")
_SQLITE_DEPENDS = "occurred_at, cost, duration_min, cancelled, postponed"
_SQLITE_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _SQLITE_DEPENDS.split(", "))


def _sqlite_trigger(name: str, event: str, r: str, sign: str) -> str:
    add = _SQLITE_ADD.format(quarter=_SQLITE_QUARTER.format(r=r), sign=sign, r=r)
    when = _SQLITE_LIVE.format(r=r) + (f" AND ({_SQLITE_CHANGED})" if event.startswith("UPDATE") else "")
    return f"CREATE TRIGGER {name} AFTER {event} ON interaction FOR EACH ROW WHEN {when} BEGIN {add}; END"


#: the quarter of an hour a moment falls in (PostgreSQL 13 has no date_bin)
_PG_QUARTER = ("(date_trunc('hour', {r}occurred_at) "
               "+ floor(date_part('minute', {r}occurred_at) / 15) * interval '15 minutes')")
_PG_UPSERT = ("ON CONFLICT (starts_at) DO UPDATE SET entries = s.entries + excluded.entries, "
              "cost = s.cost + excluded.cost, duration_min = s.duration_min + excluded.duration_min")
_PG_CHANGED = ("(o.occurred_at, o.cost, o.duration_min, o.cancelled, o.postponed) IS DISTINCT FROM "
               "(w.occurred_at, w.cost, w.duration_min, w.cancelled, w.postponed)")
_PG_DELTA = """
    INSERT INTO interaction_summary AS s (starts_at, entries, cost, duration_min)
    SELECT {quarter}, {sign}count(*), {sign}sum(cost), {sign}sum(duration_min) FROM {rows}
    WHERE cancelled IS NOT true AND postponed IS NOT true GROUP BY 1 ORDER BY 1
    {upsert};"""
# SET timezone: quarters are UTC's whatever the session's zone, for timestamp and
# timestamptz columns alike (an upgraded database may have either)
_PG_FUNCTION = f"""CREATE FUNCTION ilog_interaction_summary() RETURNS trigger LANGUAGE plpgsql
SET timezone TO 'UTC' AS $body$
BEGIN
  IF TG_OP = 'INSERT' THEN{_PG_DELTA.format(quarter=_PG_QUARTER.format(r=""), sign="", rows="new_rows",
                                            upsert=_PG_UPSERT)}
  ELSIF TG_OP = 'DELETE' THEN{_PG_DELTA.format(quarter=_PG_QUARTER.format(r=""), sign="-", rows="old_rows",
                                               upsert=_PG_UPSERT)}
  ELSE
    INSERT INTO interaction_summary AS s (starts_at, entries, cost, duration_min)
    SELECT starts_at, sum(n), sum(c), sum(d) FROM (
      SELECT {_PG_QUARTER.format(r="o.")} AS starts_at, -1 AS n, -o.cost AS c, -o.duration_min AS d
      FROM old_rows o JOIN new_rows w ON w.entry_no = o.entry_no
      WHERE o.cancelled IS NOT true AND o.postponed IS NOT true AND {_PG_CHANGED}
      UNION ALL
      SELECT {_PG_QUARTER.format(r="w.")}, 1, w.cost, w.duration_min
      FROM new_rows w JOIN old_rows o ON o.entry_no = w.entry_no
      WHERE w.cancelled IS NOT true AND w.postponed IS NOT true AND {_PG_CHANGED}
    ) AS delta GROUP BY starts_at ORDER BY starts_at
    {_PG_UPSERT};
  END IF;
  RETURN NULL;
END
$body$"""

#: the DDL that keeps :data:`interaction_summary` up to date, per dialect, run after the
#: table is created (``create_all``); migration step 5 spells the same out for itself (a step
#: is history: it must not change when this does)
SUMMARY_TRIGGERS: dict[str, list[str]] = {
    "sqlite": [
        _sqlite_trigger("interaction_summary_insert", "INSERT", "NEW", ""),
        _sqlite_trigger("interaction_summary_delete", "DELETE", "OLD", "-"),
        _sqlite_trigger("interaction_summary_update_old", f"UPDATE OF {_SQLITE_DEPENDS}", "OLD", "-"),
        _sqlite_trigger("interaction_summary_update_new", f"UPDATE OF {_SQLITE_DEPENDS}", "NEW", ""),
    ],
    "postgresql": [
        _PG_FUNCTION,
        "CREATE TRIGGER interaction_summary_insert AFTER INSERT ON interaction REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION ilog_interaction_summary()",
        "CREATE TRIGGER interaction_summary_update AFTER UPDATE ON interaction REFERENCING OLD TABLE AS old_rows "
        "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ilog_interaction_summary()",
        "CREATE TRIGGER interaction_summary_delete AFTER DELETE ON interaction REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION ilog_interaction_summary()",
    ],
}


@sa.event.listens_for(metadata, "after_create")
def _create_summary_triggers(target, connection, tables=(), **kw) -> None:
    """After ``create_all`` made the summary (and so the log): its triggers."""
    if any(table is interaction_summary for table in tables):
        for statement in SUMMARY_TRIGGERS.get(connection.dialect.name, []):
            connection.exec_driver_sql(statement)


def use_postgresql() -> None:
    """Add the PostgreSQL-only DDL options (called when a PostgreSQL database is opened)."""
    for index in interaction.indexes:
        if index.name == "ix_interaction_document":
            index.dialect_options["postgresql"]["where"] = sa.text("document_no IS NOT NULL")
