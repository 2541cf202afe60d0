"""Schema versions and upgrades.

The database records its schema version in ``ilog_meta``. A new database is created at
the current version; an older one is upgraded in place by ``ilog init`` (or ``ilog db
upgrade``), one numbered step at a time, each step in its own transaction. A database
newer than this ilog is readable but never written to.

Why not Alembic: ilog's migrations are few and additive, Alembic costs 200 ms of import
on a tool that runs once per printed document, and the steps below are plain SQLAlchemy
that a reader can follow in one file.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import models
from .errors import DatabaseError

#: version -> step that upgrades a database from version-1 to version
STEPS: dict[int, Callable[[Connection], None]] = {}

NUMBER_SERIES = (
    # code, prefix, width
    ("entry", "", 0),
    ("contact", "CT", 6),
    ("segment", "SEG", 5),
    ("logged-segment", "LSEG", 5),
)


def create(conn: Connection) -> None:
    """Create every table at the current version, with the default number series."""
    models.metadata.create_all(conn)
    conn.execute(
        models.meta.insert(), [{"key": "schema_version", "value": str(models.SCHEMA_VERSION)}]
    )
    conn.execute(
        models.number_series.insert(),
        [{"code": c, "prefix": p, "width": w, "last_no": 0} for c, p, w in NUMBER_SERIES],
    )


def upgrade(db) -> tuple[int | None, int]:
    """Create or upgrade the database; returns (version before, version after). Safe to re-run."""
    with db._connect(True) as conn, conn.begin():
        before = db.schema_version_in(conn)
        if before is None:
            create(conn)
            return None, models.SCHEMA_VERSION
    if before > models.SCHEMA_VERSION:
        raise DatabaseError(
            f"the database is at schema version {before}, newer than this ilog "
            f"({models.SCHEMA_VERSION}): upgrade ilog"
        )
    for version in range(before + 1, models.SCHEMA_VERSION + 1):
        with db._connect(True) as conn, conn.begin():
            if db.schema_version_in(conn) >= version:  # another process got there first
                continue
            STEPS[version](conn)
            conn.execute(
                models.meta.update()
                .where(models.meta.c.key == "schema_version")
                .values(value=str(version))
            )
    db._checked = True
    return before, models.SCHEMA_VERSION


def check_version(conn: Connection, version: int | None, *, write: bool) -> None:
    """What every process does first: initialise a new database, refuse an unusable one."""
    if version is None:
        create(conn)
        return
    if version < models.SCHEMA_VERSION:
        raise DatabaseError(
            f"the database is at schema version {version}, this ilog needs {models.SCHEMA_VERSION}: "
            "run `ilog init` to upgrade it"
        )
    if version > models.SCHEMA_VERSION and write:
        raise DatabaseError(
            f"the database is at schema version {version}, newer than this ilog "
            f"({models.SCHEMA_VERSION}): refusing to write; upgrade ilog"
        )
