"""The Core tables the store's statements use, made from the SQLModel classes of
:mod:`ilog.store.models` (the one description of the data), and the DDL that goes with them.

Building those classes is about a tenth of a one-shot command's start-up (SQLAlchemy maps
each one). The tables they make are kept in a cache file, a pickle of their
:class:`~sqlalchemy.MetaData` (``tables-<key>.pickle`` in :func:`ilog.config.cache_dir`), whose
key is a hash of the sources that shape the schema (:mod:`ilog.store.models`,
:mod:`ilog.store.types`, :mod:`ilog.domain`) and of the Python, SQLAlchemy, SQLModel and pydantic
versions: any change to them makes a new key, and the classes are built again and the cache
written (atomically; a cache that cannot be written is simply not kept). A cache file that is
not the user's own, or cannot be read back, is ignored. The cache directory is trusted as
the plugins directory is (both run as the user).

:data:`SCHEMA_VERSION` is the schema this ilog writes; see :mod:`ilog.store.migrations`
(a change in :mod:`ilog.store.models` needs a step there).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

from ..config import cache_dir

SCHEMA_VERSION = 5


def _cache_key() -> str:
    """A hash of what shapes the tables: the sources and the libraries' versions."""
    import pydantic
    import sqlmodel

    digest = hashlib.sha256(f"{SCHEMA_VERSION} {sys.version} {sa.__version__} {sqlmodel.__version__} "
                            f"{pydantic.VERSION}".encode())
    here = Path(__file__).resolve().parent
    for source in (here / "models.py", here / "types.py", *sorted((here.parent / "domain").glob("*.py"))):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:24]


def _load_metadata() -> sa.MetaData:
    """The tables: from the cache when it is there and the user's own, else built and cached."""
    try:
        path: Path | None = cache_dir() / f"tables-{_cache_key()}.pickle"
    except Exception:  # no cache directory (no home): built every time
        path = None
    if path is not None:
        try:
            with path.open("rb") as stream:
                if os.name != "posix" or os.fstat(stream.fileno()).st_uid == os.getuid():
                    loaded = pickle.load(stream)
                    if isinstance(loaded, sa.MetaData):
                        return loaded
        except Exception:  # missing, unreadable or damaged: built again and written anew
            pass
    from . import models

    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=".tables-", delete=False) as stream:
                pickle.dump(models.metadata, stream, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(stream.name, path)
        except Exception:  # a read-only home, a full disk: no cache, nothing else changes
            pass
    return models.metadata


metadata = _load_metadata()

# short names for the Core tables, used by the store's statements
meta = metadata.tables["ilog_meta"]
migration = metadata.tables["ilog_migration"]
number_series = metadata.tables["number_series"]
contact = metadata.tables["contact"]
interaction_group = metadata.tables["interaction_group"]
attachment = metadata.tables["attachment"]
interaction_template = metadata.tables["interaction_template"]
template_setup = metadata.tables["template_setup"]
interaction = metadata.tables["interaction"]
interaction_summary = metadata.tables["interaction_summary"]
interaction_comment = metadata.tables["interaction_comment"]
idempotency_key = metadata.tables["idempotency_key"]
document_occurrence = metadata.tables["document_occurrence"]
segment = metadata.tables["segment"]
segment_line = metadata.tables["segment_line"]
logged_segment = metadata.tables["logged_segment"]
team = metadata.tables["team"]
team_member = metadata.tables["team_member"]
erasure = metadata.tables["erasure"]


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
