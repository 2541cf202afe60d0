"""Shared fixtures: an isolated environment, a real database per test, and the real CLI.

The backend comes from ``ILOG_TEST_DATABASE_URL``: unset means a fresh SQLite file per
test; a PostgreSQL URL means a fresh database on that server per test (created and
dropped here). ``.ci/run`` runs the whole suite both ways.

``ILOG_TEST_ADMIN_URL``, when set, is the server those databases are created and dropped
on, directly, while the tests talk to ``ILOG_TEST_DATABASE_URL`` (``.ci/pgbouncer.sh``
points that at a PgBouncer in front of the same server: CREATE/DROP DATABASE through
PgBouncer would leave its pooled server connections on the database). The fixtures
themselves are ilog's pytest plugin, :mod:`ilog.testing`.
"""

from __future__ import annotations

import os

import pytest
from ilog.testing import BACKEND, CLI, Run  # noqa: F401 - tests import them from here

#: ``ILOG_HYPOTHESIS_PROFILE=thorough`` gives every property test this many examples (a night's
#: run, not CI's): ``ILOG_HYPOTHESIS_PROFILE=thorough python -m pytest tests/test_state_machine.py``,
#: with ``bash .ci/pg.sh`` in front for PostgreSQL
THOROUGH = os.environ.get("ILOG_HYPOTHESIS_PROFILE") == "thorough"
THOROUGH_EXAMPLES = 500


def examples(modest: int) -> int:
    """A property test's example count: ``modest`` (CI time matters), unless the run is thorough."""
    return THOROUGH_EXAMPLES if THOROUGH else modest


def pytest_collection_modifyitems(config, items):
    """Tests marked ``any_backend`` check what the database does not change (help and tables,
    the docs, start-up, completion, hook timing): on PostgreSQL they are left out, so that
    pass spends its time on what PostgreSQL does differently."""
    if BACKEND != "postgresql":
        return
    left_out = [item for item in items if item.get_closest_marker("any_backend")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("any_backend")]


PG_BASE = os.environ.get("ILOG_TEST_DATABASE_URL")
#: where test databases are created and dropped (a direct connection, also behind PgBouncer)
PG_ADMIN = os.environ.get("ILOG_TEST_ADMIN_URL") or PG_BASE


@pytest.fixture(autouse=True)
def isolated_env(ilog_env):
    """No test sees the real home, config, plugins or ILOG_* variables (see ilog.testing)."""
    return ilog_env


@pytest.fixture
def db_url(ilog_db_url):
    return ilog_db_url


@pytest.fixture
def new_db_url(ilog_new_db_url):
    return ilog_new_db_url


@pytest.fixture
def plugins(ilog_plugins):
    return ilog_plugins


@pytest.fixture
def logbook(ilog_logbook):
    return ilog_logbook


@pytest.fixture
def cli(ilog_cli):
    return ilog_cli


@pytest.fixture
def snapshot(db_url):
    """A function returning a checksum of every row of every table (for "database unchanged")."""

    def take() -> str:
        import hashlib

        import sqlalchemy as sa

        from ilog.store import tables as models
        from ilog.store.urls import normalise_url

        engine = sa.create_engine(normalise_url(db_url), poolclass=sa.pool.NullPool)
        digest = hashlib.sha256()
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            for table in models.metadata.sorted_tables:
                if not inspector.has_table(table.name):
                    digest.update(f"{table.name}:absent".encode())
                    continue
                present = [table.c[c["name"]] for c in inspector.get_columns(table.name)]  # an older schema has fewer
                rows = conn.execute(sa.select(*present).order_by(*table.primary_key.columns)).all()
                digest.update(f"{table.name}:{rows!r}".encode())
        engine.dispose()
        return digest.hexdigest()

    return take


@pytest.fixture
def sample(cli):
    """A small world: a company with two persons, a lone person, a group and three templates."""
    cli.ok("group", "add", "SALES", "-d", "Sales")
    cli.ok("contact", "add", "Rossi SpA", "--no", "C1", "--type", "company", "--email", "info@rossi.it")
    cli.ok("contact", "add", "Mario Rossi", "--no", "P1", "--company", "C1", "--email", "mario@rossi.it")
    cli.ok("contact", "add", "Anna Rossi", "--no", "P2", "--company", "C1")
    cli.ok("contact", "add", "Ion Popescu", "--no", "P3")
    cli.ok("template", "add", "CALL", "-d", "Phone call", "--kind", "phone-call", "--flow", "outbound",
           "--initiated-by", "us", "--unit-cost", "1.5", "--unit-duration", "10", "--group", "SALES")
    cli.ok("template", "add", "MAIL", "-d", "Email", "--kind", "email", "--flow", "outbound",
           "--correspondence", "email")
    cli.ok("template", "add", "INVOICE", "-d", "Sales invoice", "--kind", "letter", "--flow", "outbound",
           "--correspondence", "hard-copy", "--group", "SALES")
    return cli
