"""``ilog db copy SRC DST``: every row of one ilog database into another (SQLite to PostgreSQL).

The copy keeps everything as it was: entry numbers, contact and segment numbers, the links
between rows, comment lines, idempotency keys, document occurrences, attachments and the
number series, so numbering goes on where the source stopped. The source is read in one
read transaction (a consistent snapshot) and streamed in chunks; the destination is written
in one transaction, tables in foreign-key order, so a failed copy leaves it as it was.

The destination must be empty: a new database, or one ``ilog init`` just created. Both must
be at this ilog's schema version (run ``ilog init`` on an older source first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..errors import DatabaseError, NotFound, Refused
from . import tables as models
from .database import Database
from .migrations import upgrade, version_in
from .urls import normalise_url, sqlite_path

#: rows per INSERT batch
CHUNK = 2000

#: tables ``create()`` fills in a new database: merged, not copied
_SEEDED = (models.meta.name, models.number_series.name, models.migration.name)
#: tables the destination's triggers derive from the rows copied: not copied
_SKIPPED = _SEEDED + models.DERIVED


def _rows(conn: sa.engine.Connection, table: sa.Table):
    """The table's rows in a foreign-key-safe order, streamed in chunks of dicts."""
    order: list[Any] = []
    for fk in table.foreign_keys:  # a self-reference (a person's company): parents first
        if fk.column.table is table:
            order.append(fk.parent.isnot(None))
    order.extend(table.primary_key.columns)
    result = conn.execute(sa.select(table).order_by(*order).execution_options(yield_per=CHUNK))
    for chunk in result.mappings().partitions(CHUNK):
        yield [dict(row) for row in chunk]


def _check_version(db: Database, conn: sa.engine.Connection, role: str) -> None:
    version = version_in(conn)
    if version != models.SCHEMA_VERSION:
        what = "not an ilog database" if version is None else f"at schema version {version}"
        hint = "run `ilog init` on it first" if version is not None and version < models.SCHEMA_VERSION \
            else "use the ilog that matches it"
        raise DatabaseError(f"the {role} {db.masked_url} is {what}, this ilog copies version "
                            f"{models.SCHEMA_VERSION}: {hint}")


@dataclass
class CopyResult:
    source: str  #: masked URLs
    target: str
    counts: dict[str, int] = field(default_factory=dict)  #: rows copied per table


def copy(source_url: str, target_url: str, *, busy_timeout: float = 30, connect_timeout: float = 5,
         progress: Callable[[int, int | None], None] | None = None) -> CopyResult:
    """``ilog db copy``: open both databases (a missing SQLite source is an error, not a new file) and
    copy; ``progress(rows done, rows in all)`` is told after each chunk."""
    path = sqlite_path(normalise_url(source_url))
    if path is not None and not path.is_file():
        raise NotFound(f"no database file {path}")
    source = Database(source_url, busy_timeout=busy_timeout, connect_timeout=connect_timeout)
    target = Database(target_url, busy_timeout=busy_timeout, connect_timeout=connect_timeout, create="file")
    try:
        return CopyResult(source.masked_url, target.masked_url, copy_database(source, target, progress=progress))
    finally:
        source.dispose()
        target.dispose()


def copy_database(source: Database, target: Database, *,
                  progress: Callable[[int, int | None], None] | None = None) -> dict[str, int]:
    """Copy every table of ``source`` into the empty ``target``; returns rows copied per table."""
    if source.url == target.url:
        raise Refused("the source and the destination are the same database")
    with source.transaction(write=False) as src:
        _check_version(source, src, "source")
    upgrade(target)  # creates a new destination at this version
    counts: dict[str, int] = {}
    with source.transaction(write=False) as src, target.transaction(write=True) as dst:
        _check_version(source, src, "source")
        _check_version(target, dst, "destination")
        for table in models.metadata.sorted_tables:
            if table.name in _SEEDED:
                continue
            if dst.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None:
                raise Refused(f"the destination {target.masked_url} is not empty (table {table.name} "
                              "has rows): copy into a new database")
        _merge_seeded(src, dst)
        copied = [t for t in models.metadata.sorted_tables if t.name not in _SKIPPED]
        total = done = 0
        if progress is not None:
            total = sum(int(src.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()) for t in copied)
            progress(0, total)
        for table in copied:
            counts[table.name] = 0
            for chunk in _rows(src, table):
                dst.execute(table.insert(), chunk)
                counts[table.name] += len(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, max(total, done))
        if dst.dialect.name == "postgresql":
            _advance_sequences(dst)
    return counts


def _merge_seeded(src: sa.engine.Connection, dst: sa.engine.Connection) -> None:
    """Number series and settings: the source's values over the destination's defaults."""
    series = models.number_series
    known = set(dst.execute(sa.select(series.c.code)).scalars())
    for row in src.execute(sa.select(series)).mappings():
        if row["code"] in known:
            dst.execute(series.update().where(series.c.code == row["code"])
                        .values(prefix=row["prefix"], width=row["width"], last_no=row["last_no"]))
        else:
            dst.execute(series.insert().values(**row))
    meta = models.meta
    keys = set(dst.execute(sa.select(meta.c.key)).scalars())
    for row in src.execute(sa.select(meta).where(meta.c.key != "schema_version")).mappings():
        if row["key"] in keys:
            dst.execute(meta.update().where(meta.c.key == row["key"]).values(value=row["value"]))
        else:
            dst.execute(meta.insert().values(**row))


def _advance_sequences(dst: sa.engine.Connection) -> None:
    """Copied explicit ids leave PostgreSQL's sequences behind: move them past the highest id."""
    for table in models.metadata.sorted_tables:
        column = table.autoincrement_column
        if column is None:
            continue
        dst.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
            f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"
        ))
