"""Empty databases for property tests, one per Hypothesis example (fixtures last a whole test)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

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
