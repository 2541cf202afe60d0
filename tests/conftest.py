"""Shared fixtures: an isolated environment, a real database per test, and the real CLI.

The backend comes from ``ILOG_TEST_DATABASE_URL``: unset means a fresh SQLite file per
test; a PostgreSQL URL means a fresh database on that server per test (created and
dropped here). ``.ci/run`` runs the whole suite both ways.
"""

from __future__ import annotations

import itertools
import os
import shlex
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_BASE = os.environ.get("ILOG_TEST_DATABASE_URL")
BACKEND = "postgresql" if PG_BASE and PG_BASE.startswith("postgres") else "sqlite"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test sees the real home, config, plugins or ILOG_* variables."""
    for name in list(os.environ):
        if name.startswith("ILOG_") and name != "ILOG_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("ILOG_HOME", str(home))
    monkeypatch.setenv("ILOG_SYSTEM_CONFIG", str(tmp_path / "etc-ilog-config.toml"))
    monkeypatch.setenv("ILOG_USER", "tester")
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "")
    return home


def _pg_url(base: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(base).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def db_url(tmp_path):
    """A fresh, empty database on the backend under test."""
    if BACKEND == "sqlite":
        yield str(tmp_path / "ilog.db")
        return
    import sqlalchemy as sa

    from ilog.db import normalise_url

    name = f"ilog_t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalise_url(PG_BASE), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(normalise_url(PG_BASE), name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def new_db_url(tmp_path):
    """A factory of further fresh, empty databases on the backend under test (dropped afterwards)."""
    names: list[str] = []

    def make() -> str:
        name = f"ilog_t_{uuid.uuid4().hex[:12]}"
        if BACKEND == "sqlite":
            return str(tmp_path / f"{name}.db")
        import sqlalchemy as sa

        from ilog.db import normalise_url

        admin = sa.create_engine(normalise_url(PG_BASE), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        names.append(name)
        return _pg_url(normalise_url(PG_BASE), name)

    yield make
    if names:
        import sqlalchemy as sa

        from ilog.db import normalise_url

        admin = sa.create_engine(normalise_url(PG_BASE), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def plugins():
    """Plugin objects a test registers in-process (append before using ``cli``/``logbook``)."""
    return []


@pytest.fixture
def logbook(db_url, plugins):
    from ilog.logbook import Logbook
    from ilog.plugins import make_plugin_host

    warnings: list[str] = []
    lb = Logbook(db_url, user="tester", plugins=make_plugin_host(entrypoints=False, plugins=tuple(plugins)),
                 warn=warnings.append)
    lb.warnings = warnings  # type: ignore[attr-defined]
    yield lb
    lb.close()


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    def json(self):
        import json

        return json.loads(self.stdout)


class CLI:
    """The real ilog command line on the test's database, through Typer's CliRunner."""

    def __init__(self, db_url: str, plugins: list):
        self.db_url = db_url
        self.plugins = plugins

    def __call__(self, *args: str, input: str | None = None, db: bool = True) -> Run:
        from typer.testing import CliRunner

        from ilog.cli import build_app
        from ilog.plugins import make_plugin_host

        argv = [str(a) for a in args]
        if len(argv) == 1 and " " in argv[0]:
            argv = shlex.split(argv[0])
        if db:
            argv = ["--db", self.db_url, *argv]
        host = make_plugin_host(entrypoints=False, plugins=tuple(self.plugins))
        result = CliRunner().invoke(build_app(host), argv, input=input, catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    def ok(self, *args: str, input: str | None = None) -> Run:
        """Run and insist on exit status 0."""
        run = self(*args, input=input)
        assert run.exit_code == 0, f"ilog {' '.join(map(str, args))} -> {run.exit_code}\n{run.stderr}{run.stdout}"
        return run


@pytest.fixture
def cli(db_url, plugins) -> CLI:
    return CLI(db_url, plugins)


@pytest.fixture
def snapshot(db_url):
    """A function returning a checksum of every row of every table (for "database unchanged")."""

    def take() -> str:
        import hashlib

        import sqlalchemy as sa

        from ilog import models
        from ilog.db import normalise_url

        engine = sa.create_engine(normalise_url(db_url), poolclass=sa.pool.NullPool)
        digest = hashlib.sha256()
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            for table in models.metadata.sorted_tables:
                if not inspector.has_table(table.name):
                    digest.update(f"{table.name}:absent".encode())
                    continue
                rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
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
