"""Empty databases for property tests, one per Hypothesis example (fixtures last a whole test),
and what SQLite's connections are set to when ilog writes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

from ilog.testing import BACKEND


def fresh_database(db_url: str, workdir: Path) -> Callable[[], str]:
    """A function returning the URL of an empty database, new for each example: a new SQLite
    file, or on PostgreSQL the test's database with its schema emptied."""
    counter = iter(range(10**9))
    if BACKEND == "sqlite":
        return lambda: str(workdir / f"example-{next(counter)}.db")

    import sqlalchemy as sa

    from ilog.store.urls import normalise_url

    def fresh() -> str:
        engine = sa.create_engine(normalise_url(db_url), poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
        return db_url

    return fresh


@contextlib.contextmanager
def log_copy_back_at_each_write(engine: Any) -> Iterator[list[tuple[str, int]]]:
    """(DELETE or INSERT, its connection's ``wal_autocheckpoint``) for each statement deleting
    from or inserting into the interaction table on ``engine`` (SQLite) while in the block: 0
    where the commit leaves copying the write-ahead log back to ``Database.write_back``."""
    import sqlalchemy as sa

    seen: list[tuple[str, int]] = []

    def observe(conn, cursor, statement, *_):
        if statement.lstrip().upper().startswith(("DELETE FROM INTERACTION ", "INSERT INTO INTERACTION ")):
            pages = cursor.connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
            seen.append((statement.split()[0].upper(), pages))

    sa.event.listen(engine, "before_cursor_execute", observe)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", observe)
