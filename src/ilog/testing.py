"""Pytest fixtures for ilog and for plugin authors (installed as the ``ilog`` pytest plugin).

Every fixture works on a real database: a fresh SQLite file per test, or, when
``ILOG_TEST_DATABASE_URL`` names a PostgreSQL server, a fresh database on it (created and
dropped here; ``ILOG_TEST_ADMIN_URL``, when set, is used to create and drop them, e.g. when
the tests talk through PgBouncer). None is autouse: a project opts in, for example in its
``conftest.py``::

    import pytest

    @pytest.fixture(autouse=True)
    def _isolated(ilog_env):
        pass

Fixtures:

- ``ilog_env``: no real home, config, plugins or ``ILOG_*`` variable leaks into the test
  (``ILOG_HOME`` is a temporary folder, the user is ``tester``, no plugin is loaded, no
  ``COLUMNS``: tables are as wide as when output is not a terminal; ``ILOG_CACHE_DIR`` is
  one temporary folder for the session, ``ilog_cache_dir``);
- ``ilog_db_url``: a fresh, empty database (on SQLite an empty file, which ilog initialises on
  first use); ``ilog_new_db_url``: a factory of more; ``ilog_configured_db_url``: one set as
  ``ILOG_DATABASE_URL`` too, for commands run without ``--db`` (in-process with
  :func:`run_installed`, or in a child process, as cron runs them);
- ``ilog_plugins``: a list of plugin objects to register in-process (append before use);
- ``ilog_logbook``: a :class:`~ilog.logbook.Logbook` on ``ilog_db_url`` with those plugins
  (its after-commit warnings collected in ``logbook.warnings``);
- ``ilog_cli``: the real command line on ``ilog_db_url`` through Typer's ``CliRunner``:
  ``ilog_cli("contact", "add", "Rossi SpA")`` returns a :class:`Run`; ``ilog_cli.ok(...)``
  insists on exit status 0; ``ilog_installed_cli`` loads the installed plugins as ``ilog``
  does (what a plugin's own tests use), and :func:`invoke` runs any command line.
"""

from __future__ import annotations

import json
import os
import shlex
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

#: the backend the suite runs on: ``ILOG_TEST_DATABASE_URL`` unset means SQLite
TEST_URL = os.environ.get("ILOG_TEST_DATABASE_URL")
BACKEND = "postgresql" if TEST_URL and TEST_URL.startswith("postgres") else "sqlite"


def _admin_engine() -> Any:
    import sqlalchemy as sa

    from ilog.store.urls import normalise_url

    admin = os.environ.get("ILOG_TEST_ADMIN_URL") or TEST_URL
    return sa.create_engine(normalise_url(admin), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def _url_for(name: str) -> str:
    from sqlalchemy.engine import make_url

    from ilog.store.urls import normalise_url

    return make_url(normalise_url(TEST_URL)).set(database=name).render_as_string(hide_password=False)


class Databases:
    """Fresh databases on the backend under test; :meth:`drop_all` removes the PostgreSQL ones."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.names: list[str] = []

    def new(self) -> str:
        name = f"ilog_t_{uuid.uuid4().hex[:12]}"
        if BACKEND == "sqlite":
            path = self.folder / f"{name}.db"
            path.touch()  # an empty file: ilog makes it a database on first use (a missing one is refused)
            return str(path)
        engine = _admin_engine()
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        self.names.append(name)
        return _url_for(name)

    def drop_all(self) -> None:
        if not self.names:
            return
        engine = _admin_engine()
        with engine.connect() as conn:
            for name in self.names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


@dataclass
class Run:
    """One run of the command line: exit status, stdout, stderr, and both as a terminal shows
    them (``output``, in the order they were written)."""

    exit_code: int
    stdout: str
    stderr: str
    output: str = ""

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    def json(self) -> Any:
        return json.loads(self.stdout)

    def succeeded(self, args: Any) -> "Run":
        """This run, insisting it exited 0 (the message shows ``ilog ARGS``, the status, and
        what it wrote)."""
        assert self.exit_code == 0, f"ilog {' '.join(map(str, args))} -> {self.exit_code}\n{self.stderr}{self.stdout}"
        return self


def invoke(args: list[Any], *, plugins: tuple[object, ...] = (), installed: bool = False,
           plugins_dir: Path | None = None, input: str | None = None) -> Run:
    """Run the command line in-process (Typer's CliRunner), as ``main()`` builds it.

    ``installed`` loads plugins as the ``ilog`` command does (entry points, the plugins
    directory of the configuration or ``plugins_dir``, ``ILOG_LOAD_PLUGINS``); otherwise only
    ``plugins`` are registered. Plugin authors test their commands with ``installed=True``.
    """
    from typer.testing import CliRunner

    from ilog.cli import build_app, keep_only
    from ilog.config import load_settings
    from ilog.plugins.host import make_plugin_host

    argv = [str(a) for a in args]
    if installed:
        settings = load_settings()
        folder = plugins_dir if plugins_dir is not None else settings.plugins_dir
        host = make_plugin_host(plugins_dir=folder, plugins=plugins,
                                plugins_dir_required=plugins_dir is not None or settings.plugins_dir_configured)
    else:
        host = make_plugin_host(entrypoints=False, plugins=plugins)
    app = build_app(host)
    keep_only(app, argv)  # as ``main()`` does: only the invoked command is built
    result = CliRunner().invoke(app, argv, input=input, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr, result.output)


def run_installed(*args: Any, ok: bool = True, input: str | None = None) -> Run:
    """``ilog ARGS`` in-process as the installed command runs it (:func:`invoke` with
    ``installed``), on the database the environment configures (``ilog_configured_db_url``);
    with ``ok`` it insists on exit status 0. What a plugin's own tests call its commands with."""
    run = invoke(list(args), installed=True, input=input)
    return run.succeeded(args) if ok else run


class CLI:
    """The real ilog command line on one database, through Typer's CliRunner."""

    def __init__(self, db_url: str, plugins: list[object], *, installed: bool = False):
        self.db_url = db_url
        self.plugins = plugins
        self.installed = installed

    def __call__(self, *args: Any, input: str | None = None, db: bool = True) -> Run:
        argv = [str(a) for a in args]
        if len(argv) == 1 and " " in argv[0]:
            argv = shlex.split(argv[0])
        if db:
            argv = ["--db", self.db_url, *argv]
        return invoke(argv, plugins=tuple(self.plugins), installed=self.installed, input=input)

    def ok(self, *args: Any, input: str | None = None, db: bool = True) -> Run:
        """Run and insist on exit status 0."""
        return self(*args, input=input, db=db).succeeded(args)


def open_logbook(db_url: str, plugins: tuple[object, ...] = (), *, user: str = "tester") -> Any:
    """A logbook on ``db_url`` (created if missing) with exactly these in-process plugins."""
    from ilog.app import build_logbook
    from ilog.config import load_settings
    from ilog.plugins.host import make_plugin_host

    warnings: list[str] = []
    settings = load_settings(database_url=db_url, user=user)
    logbook = build_logbook(settings, make_plugin_host(entrypoints=False, plugins=plugins), create=True,
                            warn=warnings.append)
    logbook.warnings = warnings  # type: ignore[attr-defined]
    return logbook


@pytest.fixture(scope="session")
def ilog_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache directory (the tables' cache, :mod:`ilog.store.tables`) for the whole session."""
    return tmp_path_factory.mktemp("ilog-cache")


@pytest.fixture
def ilog_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ilog_cache_dir: Path) -> Path:
    """No test sees the real home, config, plugins or ILOG_* variables; returns ILOG_HOME."""
    for name in list(os.environ):
        if name.startswith("ILOG_") and name not in ("ILOG_TEST_DATABASE_URL", "ILOG_TEST_ADMIN_URL"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("ILOG_HOME", str(home))
    monkeypatch.setenv("ILOG_CACHE_DIR", str(ilog_cache_dir))  # built once, not once per test
    monkeypatch.setenv("ILOG_SYSTEM_CONFIG", str(tmp_path / "etc-ilog-config.toml"))
    monkeypatch.setenv("ILOG_USER", "tester")
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "")
    monkeypatch.delenv("COLUMNS", raising=False)  # tables as wide as when output is not a terminal
    return home


@pytest.fixture
def ilog_databases(tmp_path: Path) -> Iterator[Databases]:
    databases = Databases(tmp_path)
    yield databases
    databases.drop_all()


@pytest.fixture
def ilog_db_url(ilog_databases: Databases) -> str:
    """A fresh, empty database on the backend under test."""
    return ilog_databases.new()


@pytest.fixture
def ilog_configured_db_url(ilog_db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, empty database, set as ``ILOG_DATABASE_URL`` (for :func:`run_installed` and child processes)."""
    monkeypatch.setenv("ILOG_DATABASE_URL", ilog_db_url)
    return ilog_db_url


@pytest.fixture
def ilog_new_db_url(ilog_databases: Databases) -> Callable[[], str]:
    """A factory of further fresh, empty databases on the backend under test."""
    return ilog_databases.new


@pytest.fixture
def ilog_plugins() -> list[object]:
    """Plugin objects a test registers in-process (append before using ``ilog_cli``/``ilog_logbook``)."""
    return []


@pytest.fixture
def ilog_logbook(ilog_db_url: str, ilog_plugins: list[object]) -> Iterator[Any]:
    logbook = open_logbook(ilog_db_url, tuple(ilog_plugins))
    yield logbook
    logbook.close()


@pytest.fixture
def ilog_cli(ilog_db_url: str, ilog_plugins: list[object]) -> CLI:
    return CLI(ilog_db_url, ilog_plugins)


@pytest.fixture
def ilog_installed_cli(ilog_db_url: str, ilog_plugins: list[object]) -> CLI:
    """The command line with the installed plugins (entry points, plugins directory), as ``ilog`` runs."""
    return CLI(ilog_db_url, ilog_plugins, installed=True)
