"""Schema versions and upgrades.

The database records its schema version in ``ilog_meta``. A new database is created
directly at the current version (the SQLModel tables of :mod:`ilog.store.models`); an older one is upgraded in place
by ``ilog init`` (or ``ilog db upgrade``), one numbered step of :data:`STEPS` at a time,
each in its own transaction (SQLite and PostgreSQL both roll DDL back), and each step is
written down in ``ilog_migration``. A database newer than this ilog is readable but never
written to; one older than this ilog is neither, until ``ilog init`` upgrades it.

Steps are additive (new tables, columns with defaults, indexes), so an ilog one version
behind can still read a database that a newer one upgraded. A step never imports the
current models: it spells out the DDL of its own version, so it still builds the same
schema after the models move on. ``tests/test_migrations.py`` checks that a database
built from the frozen version-1 DDL and upgraded equals a new one, table by table.

Creating and upgrading take ``pg_advisory_xact_lock`` on PostgreSQL (a transaction-level
lock, safe behind PgBouncer); on SQLite ``BEGIN IMMEDIATE`` already serialises them. So
many hosts starting at once upgrade the database exactly once.

Why not Alembic: ilog's migrations are few and additive, Alembic (and Mako) add about
200 ms of import to a tool that runs once per printed document, and the steps below are
plain SQLAlchemy that a reader can follow in one file.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import DatabaseError
from ..version import __version__
from . import tables as models
from .numbers import DEFAULT_SERIES

if TYPE_CHECKING:
    from .database import Database

#: version -> step that upgrades a database from version-1 to version
STEPS: dict[int, Callable[[Connection], None]] = {}

#: the key of the transaction-level advisory lock that serialises create/upgrade on PostgreSQL
LOCK_KEY = 0x696C6F67  # "ilog"

def step(version: int) -> Callable[[Callable[[Connection], None]], Callable[[Connection], None]]:
    """Register the step that brings a database from ``version - 1`` to ``version``."""

    def register(function: Callable[[Connection], None]) -> Callable[[Connection], None]:
        STEPS[version] = function
        return function

    return register


@step(2)
def _v2(conn: Connection) -> None:
    """Version 2: the ``ilog_migration`` history; an index for ``log --user`` / ``--mine``."""
    md = sa.MetaData()
    history = sa.Table(
        "ilog_migration",
        md,
        sa.Column("version", sa.Integer, autoincrement=False),
        sa.Column("applied_at", sa.DateTime, nullable=False),
        sa.Column("ilog_version", sa.String(30), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("version", name="pk_ilog_migration"),
    )
    history.create(conn)
    interaction = sa.Table("interaction", md, sa.Column("user_id", sa.String(100)),
                           sa.Column("occurred_at", sa.DateTime))
    sa.Index("ix_interaction_user_id_occurred_at", interaction.c.user_id, interaction.c.occurred_at).create(conn)


@step(3)
def _v3(conn: Connection) -> None:
    """Version 3: an owner for every entry (existing entries: who logged them), who completed
    an activity, the opportunity an entry regards (and a segment's, a line's owner); teams;
    erasure records; the fingerprint of what an idempotency key recorded."""
    def add(table: str, column: sa.Column) -> None:
        kind = column.type.compile(dialect=conn.dialect)
        conn.exec_driver_sql(f'ALTER TABLE {table} ADD COLUMN {column.name} {kind}')

    for name, length in (("owner", 100), ("completed_by", 100), ("opportunity_no", 30)):
        add("interaction", sa.Column(name, sa.String(length)))
    add("segment", sa.Column("owner", sa.String(100)))
    add("segment", sa.Column("opportunity_no", sa.String(30)))
    add("segment_line", sa.Column("owner", sa.String(100)))
    add("idempotency_key", sa.Column("fingerprint", sa.String(64)))
    conn.exec_driver_sql("UPDATE interaction SET owner = user_id")
    md = sa.MetaData()
    interaction = sa.Table("interaction", md, sa.Column("owner", sa.String(100)), sa.Column("state", sa.String(5)),
                           sa.Column("due_at", sa.DateTime), sa.Column("opportunity_no", sa.String(30)))
    sa.Index("ix_interaction_owner_state_due_at", interaction.c.owner, interaction.c.state,
             interaction.c.due_at).create(conn)
    sa.Index("ix_interaction_opportunity_no", interaction.c.opportunity_no).create(conn)
    team = sa.Table(
        "team", md,
        sa.Column("name", sa.String(30), nullable=False),
        sa.Column("description", sa.String(250)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_team"),
    )
    member = sa.Table(
        "team_member", md,
        sa.Column("team", sa.String(30), nullable=False),
        sa.Column("user_id", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("team", "user_id", name="pk_team_member"),
        sa.ForeignKeyConstraint(["team"], ["team.name"], ondelete="CASCADE", name="fk_team_member_team_team"),
    )
    erasure = sa.Table(
        "erasure", md,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("erased_at", sa.DateTime, nullable=False),
        sa.Column("erased_by", sa.String(100)),
        sa.Column("contact_hash", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("counts", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_erasure"),
    )
    for table in (team, member, erasure):
        table.create(conn)


@step(4)
def _v4(conn: Connection) -> None:
    """Version 4: an erasure names its contact while it is under way (a long erasure runs in
    many short transactions; the next run finishes it), and forgets it when it is done."""
    conn.exec_driver_sql("ALTER TABLE erasure ADD COLUMN contact_no VARCHAR(30)")


_V5_SQLITE_QUARTER = ("coalesce(strftime('%Y-%m-%d %H:', {r}.occurred_at) || substr('00153045', "
                      "1 + 2 * (CAST(strftime('%M', {r}.occurred_at) AS INTEGER) / 15), 2) || ':00.000000', "
                      "substr({r}.occurred_at, 1, 16))")
_V5_PG_QUARTER = ("(date_trunc('hour', {r}occurred_at) "
                  "+ floor(date_part('minute', {r}occurred_at) / 15) * interval '15 minutes')")
_V5_DEPENDS = ("occurred_at", "cost", "duration_min", "cancelled", "postponed")
_V5_UPSERT = ("ON CONFLICT (starts_at) DO UPDATE SET entries = {s}entries + excluded.entries, cost = {s}cost + "
              "excluded.cost, duration_min = {s}duration_min + excluded.duration_min")


def _v5_sqlite_trigger(name: str, event: str, r: str, sign: str) -> str:
    when = f"{r}.cancelled IS NOT 1 AND {r}.postponed IS NOT 1"
    if event.startswith("UPDATE"):
        when += " AND (" + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _V5_DEPENDS) + ")"
    return (f"CREATE TRIGGER {name} AFTER {event} ON interaction FOR EACH ROW WHEN {when} BEGIN "
            f"INSERT INTO interaction_summary (starts_at, entries, cost, duration_min) VALUES "
            f"({_V5_SQLITE_QUARTER.format(r=r)}, {sign}1, {sign}{r}.cost, {sign}{r}.duration_min) "
            f"{_V5_UPSERT.format(s='')}; END")


_V5_PG_DELTA = """
    INSERT INTO interaction_summary AS s (starts_at, entries, cost, duration_min)
    SELECT {quarter}, {sign}count(*), {sign}sum(cost), {sign}sum(duration_min) FROM {rows}
    WHERE cancelled IS NOT true AND postponed IS NOT true GROUP BY 1 ORDER BY 1
    {upsert};"""
_V5_PG_CHANGED = ("(o.occurred_at, o.cost, o.duration_min, o.cancelled, o.postponed) IS DISTINCT FROM "
                  "(w.occurred_at, w.cost, w.duration_min, w.cancelled, w.postponed)")


def _v5_pg_function() -> str:
    upsert, quarter = _V5_UPSERT.format(s="s."), _V5_PG_QUARTER.format(r="")
    return f"""CREATE FUNCTION ilog_interaction_summary() RETURNS trigger LANGUAGE plpgsql
SET timezone TO 'UTC' AS $body$
BEGIN
  IF TG_OP = 'INSERT' THEN{_V5_PG_DELTA.format(quarter=quarter, sign="", rows="new_rows", upsert=upsert)}
  ELSIF TG_OP = 'DELETE' THEN{_V5_PG_DELTA.format(quarter=quarter, sign="-", rows="old_rows", upsert=upsert)}
  ELSE
    INSERT INTO interaction_summary AS s (starts_at, entries, cost, duration_min)
    SELECT starts_at, sum(n), sum(c), sum(d) FROM (
      SELECT {_V5_PG_QUARTER.format(r="o.")} AS starts_at, -1 AS n, -o.cost AS c, -o.duration_min AS d
      FROM old_rows o JOIN new_rows w ON w.entry_no = o.entry_no
      WHERE o.cancelled IS NOT true AND o.postponed IS NOT true AND {_V5_PG_CHANGED}
      UNION ALL
      SELECT {_V5_PG_QUARTER.format(r="w.")}, 1, w.cost, w.duration_min
      FROM new_rows w JOIN old_rows o ON o.entry_no = w.entry_no
      WHERE w.cancelled IS NOT true AND w.postponed IS NOT true AND {_V5_PG_CHANGED}
    ) AS delta GROUP BY starts_at ORDER BY starts_at
    {upsert};
  END IF;
  RETURN NULL;
END
$body$"""


@step(5)
def _v5(conn: Connection) -> None:
    """Version 5: ``interaction_summary``, the live entries of each quarter of an hour (UTC:
    count, cost, duration), kept by triggers in the same transaction as every write to the log,
    so that ``stats --by month|day`` reads a few thousand rows instead of the whole log; filled
    here from the entries already there."""
    md = sa.MetaData()
    # the quarters are moments of the same kind as the entries' (a database made by an ilog
    # whose moments were timestamptz keeps timestamptz)
    zoned = conn.dialect.name == "postgresql" and conn.exec_driver_sql(
        "SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'interaction' AND column_name = 'occurred_at'").scalar() == "timestamp with time zone"
    summary = sa.Table(
        "interaction_summary", md,
        sa.Column("starts_at", sa.DateTime(timezone=zoned), nullable=False),
        sa.Column("entries", sa.BigInteger, nullable=False),
        sa.Column("cost", sa.Float, nullable=False),
        sa.Column("duration_min", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("starts_at", name="pk_interaction_summary"),
        sqlite_with_rowid=False,
    )
    summary.create(conn)
    if conn.dialect.name == "sqlite":
        quarter = _V5_SQLITE_QUARTER.format(r="interaction")
        live = "cancelled IS NOT 1 AND postponed IS NOT 1"
        update = f"UPDATE OF {', '.join(_V5_DEPENDS)}"
        statements = [
            _v5_sqlite_trigger("interaction_summary_insert", "INSERT", "NEW", ""),
            _v5_sqlite_trigger("interaction_summary_delete", "DELETE", "OLD", "-"),
            _v5_sqlite_trigger("interaction_summary_update_old", update, "OLD", "-"),
            _v5_sqlite_trigger("interaction_summary_update_new", update, "NEW", ""),
        ]
    else:
        quarter = _V5_PG_QUARTER.format(r="")
        live = "cancelled IS NOT true AND postponed IS NOT true"
        statements = [_v5_pg_function()] + [
            f"CREATE TRIGGER interaction_summary_{event.lower()} AFTER {event} ON interaction REFERENCING {tables} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ilog_interaction_summary()"
            for event, tables in (("INSERT", "NEW TABLE AS new_rows"),
                                  ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                                  ("DELETE", "OLD TABLE AS old_rows"))]
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL timezone TO 'UTC'")  # UTC's quarters, as the trigger computes them
    conn.exec_driver_sql(
        f"INSERT INTO interaction_summary (starts_at, entries, cost, duration_min) "
        f"SELECT {quarter}, count(*), sum(cost), sum(duration_min) FROM interaction WHERE {live} GROUP BY 1")
    for statement in statements:
        conn.exec_driver_sql(statement)


# -- the machinery ---------------------------------------------------------------------------


def lock(conn: Connection) -> None:
    """Serialise schema changes across processes and hosts (a no-op on SQLite: BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_KEY)))


def _record(conn: Connection, version: int, action: str) -> None:
    conn.execute(models.migration.insert().values(
        version=version, applied_at=datetime.now(timezone.utc), ilog_version=__version__, action=action))


def create(conn: Connection) -> None:
    """Create every table at the current version, with the default number series."""
    models.metadata.create_all(conn)
    conn.execute(
        models.meta.insert(), [{"key": "schema_version", "value": str(models.SCHEMA_VERSION)}]
    )
    conn.execute(
        models.number_series.insert(),
        [{"code": c, "prefix": p, "width": w, "last_no": 0} for c, p, w in DEFAULT_SERIES],
    )
    _record(conn, models.SCHEMA_VERSION, "created")


def _too_new(version: int, doing: str) -> DatabaseError:
    return DatabaseError(
        f"the database is at schema version {version}, newer than this ilog "
        f"({__version__}, schema version {models.SCHEMA_VERSION}): {doing}; upgrade ilog"
    )


def version_in(conn: Connection) -> int | None:
    """The version recorded in the database, or None for a database ilog never initialised."""
    if not sa.inspect(conn).has_table(models.meta.name):
        return None
    value = conn.execute(sa.select(models.meta.c.value).where(models.meta.c.key == "schema_version")).scalar()
    return int(value) if value is not None else None


def upgrade(db: "Database") -> tuple[int | None, int]:
    """Create or upgrade the database; returns (version before, version after). Safe to re-run."""
    with db.transaction(write=True) as conn:
        lock(conn)
        before = version_in(conn)
        if before is None:
            create(conn)
            return None, models.SCHEMA_VERSION
    if before > models.SCHEMA_VERSION:
        raise _too_new(before, "refusing to change it")
    for version in range(before + 1, models.SCHEMA_VERSION + 1):
        with db.transaction(write=True) as conn:
            lock(conn)
            if (version_in(conn) or 0) >= version:  # another process got there first
                continue
            STEPS[version](conn)
            conn.execute(
                models.meta.update()
                .where(models.meta.c.key == "schema_version")
                .values(value=str(version))
            )
            _record(conn, version, "upgraded")
    return before, models.SCHEMA_VERSION


def check_writable(conn: Connection) -> None:
    """What a process's first write transaction does: create a new database, refuse an unusable one."""
    version = version_in(conn)
    if version is None:
        lock(conn)  # two processes on a new PostgreSQL database: one creates, the other waits
        version = version_in(conn)
    check_version(conn, version, write=True)


def check_version(conn: Connection, version: int | None, *, write: bool) -> None:
    """Initialise a new database (when writing), refuse an older one, and a newer one for writing."""
    if version is None:
        create(conn)
        return
    if version < models.SCHEMA_VERSION:
        raise DatabaseError(
            f"the database is at schema version {version}, this ilog needs {models.SCHEMA_VERSION}: "
            "run `ilog init` to upgrade it"
        )
    if version > models.SCHEMA_VERSION and write:
        raise _too_new(version, "refusing to write")


def status(db: "Database") -> dict[str, Any]:
    """What ``ilog db status`` shows: where, which backend, both versions, and the history."""
    with db.transaction(write=False) as conn:
        version = version_in(conn)
        history: list[dict[str, Any]] = []
        if version is not None and sa.inspect(conn).has_table(models.migration.name):
            m = models.migration
            history = [dict(row) for row in conn.execute(
                sa.select(m.c.version, m.c.action, m.c.applied_at, m.c.ilog_version).order_by(m.c.version)
            ).mappings()]
    if version is None:
        state = "not initialised (ilog init creates it)"
    elif version == models.SCHEMA_VERSION:
        state = "up to date"
    elif version < models.SCHEMA_VERSION:
        state = "older than this ilog: run `ilog init` to upgrade it"
    else:
        state = "newer than this ilog: read-only until ilog is upgraded"
    last = history[-1] if history else None
    return {
        "database": db.masked_url,
        "backend": db.dialect,
        "schema_version": version,
        "ilog_schema_version": models.SCHEMA_VERSION,
        "ilog_version": __version__,
        "status": state,
        "last_change": (f"{last['action']} version {last['version']} with ilog {last['ilog_version']}"
                        if last else None),
        "last_change_at": last["applied_at"] if last else None,
        "history": history,
    }
