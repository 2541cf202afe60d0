"""The database session: one engine per database, its pool, SQLite's pragmas, and units of work.

:meth:`Database.unit` is the only way code reaches the database: a short transaction
wrapped in a :class:`~ilog.store.unit.UnitOfWork`, committed when the block ends (rolled
back on an error). A write unit on SQLite begins with ``BEGIN IMMEDIATE`` (a deferred
``BEGIN`` lets two read-then-write transactions deadlock into "database is locked"), on a
file opened in WAL mode with ``synchronous=NORMAL``, foreign keys on and a generous busy
timeout.

A :class:`Database` is safe to share between threads: each unit checks a connection out of
a small pool for its own duration (so a long-running ``ilog.open()`` keeps its connections
for its lifetime, and a one-shot command reuses one connection for its few transactions).
The schema is checked once per Database, under a lock.

PostgreSQL: a server that does not answer fails fast (``connect_timeout``); nothing sets
session-level state and psycopg never prepares statements, so PgBouncer in transaction mode
is fine; the only lock ilog takes itself is ``pg_advisory_xact_lock`` (released at commit)
while it creates or upgrades the schema.

Where a database comes from: only ``ilog init`` (``create="file"``) and the default
location (``create="path"``, parents included) create a new SQLite file; anything else on a
missing file is refused, saying how to create it, so a mistyped URL never becomes a new
local database. A new (or empty) file is made readable by its owner only.

SQLite's built-in ``lower()`` folds ASCII only; ilog replaces it with Python's, so a
case-insensitive search for "müller" finds "MÜLLER" on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ..errors import DatabaseError, ReadOnlyDatabase
from . import tables
from .unit import UnitOfWork
from .urls import looks_like_a_mistyped_url, mask_url, normalise_url, password_forms, scrub, sqlite_path

Create = Literal[False, "file", "path"]


def _private_file(path: Path, *, parents: bool) -> None:
    """Create an SQLite file readable by its owner only (its WAL inherits the mode)."""
    if parents:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    elif not path.parent.is_dir():
        raise DatabaseError(f"cannot create database {path}: folder {path.parent} does not exist")
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    except OSError as exc:
        raise DatabaseError(f"cannot create database {path}: {exc.strerror}") from None
    os.close(fd)


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def _enable_wal(cursor, busy_ms: int) -> None:
    """Switch to WAL mode. Several processes opening a brand-new file at once can get
    "database is locked" here without SQLite's busy handler being called, so retry for
    as long as the busy timeout allows."""
    import sqlite3
    import time

    deadline = time.monotonic() + busy_ms / 1000
    delay = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


class Database:
    """One database: an engine with a small pool, and the units of work every service uses."""

    def __init__(self, url: str, *, busy_timeout: float = 30, connect_timeout: float = 5,
                 create: Create = False, pool_size: int = 5):
        if looks_like_a_mistyped_url(url):
            raise DatabaseError(f"{mask_url(url)!r} looks like a mistyped database URL (a URL is "
                                "scheme://user@host/database): nothing was written")
        self.given = url
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.path = sqlite_path(self.url)
        self.create = create
        self._secrets = password_forms(url) + [f for f in password_forms(self.url) if f not in password_forms(url)]
        self._schema_lock = threading.Lock()
        self._checked = False  # schema checked for writing
        self._readable = False  # schema checked for reading
        connect_args: dict = {}
        options: dict = {}
        if self.is_sqlite:
            connect_args["timeout"] = float(busy_timeout)
            connect_args["check_same_thread"] = False  # a unit uses a connection in one thread at a time
        elif self.url.startswith("postgresql"):
            tables.use_postgresql()
            if "connect_timeout=" not in self.url.partition("?")[2]:  # the URL's own value wins
                # libpq waits forever for 0, and treats 1 as 2
                connect_args["connect_timeout"] = max(1, math.ceil(float(connect_timeout)))
            # psycopg prepares statements after 5 runs; PgBouncer < 1.21 in transaction mode can't
            connect_args["prepare_threshold"] = None
            options["pool_pre_ping"] = True  # a server restarted under a long-running logbook
        try:
            self.engine: Engine = sa.create_engine(
                self.url, poolclass=sa.pool.QueuePool, pool_size=pool_size, max_overflow=20, pool_timeout=30,
                connect_args=connect_args, **options)
        except ImportError as exc:
            hint = " (PostgreSQL needs psycopg: pip install 'ilog[postgres]')" if "psycopg" in str(exc) else ""
            raise DatabaseError(f"cannot use database URL {self.masked_url}: {self.scrub(str(exc))}{hint}") from None
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise DatabaseError(f"cannot use database URL {self.masked_url}: {self.scrub(str(exc))}") from None
        except ValueError:  # a URL SQLAlchemy cannot split; its message may quote the password
            raise DatabaseError(f"cannot use database URL {self.masked_url}: not a valid URL (percent-encode "
                                "@, :, / and spaces in a user name or password)") from None
        if self.is_sqlite:
            self._sqlite_setup(int(float(busy_timeout) * 1000))

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def single_writer(self) -> bool:
        """Whether a write transaction blocks every other writer until it ends (SQLite), so that
        a long series of writes must leave the lock free between transactions."""
        return self.is_sqlite

    def scrub(self, text: str) -> str:
        """A message with this database's password masked, in any spelling."""
        return scrub(text, self._secrets)

    def _sqlite_setup(self, busy_ms: int) -> None:
        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_connection, _record):
            # let SQLAlchemy's "begin" event below decide how transactions start
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            _enable_wal(cursor, busy_ms)
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()
            dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

        @event.listens_for(self.engine, "begin")
        def _on_begin(conn):
            write = conn.get_execution_options().get("ilog_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    def _ensure_file(self) -> None:
        """A missing SQLite file: created where allowed, else refused saying how to create it."""
        path = self.path
        if path is None or path.exists():
            if path is not None and path.is_file() and path.stat().st_size == 0:
                path.chmod(0o600)  # an empty file about to become a database: private like a new one
            return
        if not self.create:
            raise DatabaseError(f"no database at {path}: create it with `ilog --db {path} init`")
        _private_file(path, parents=self.create == "path")

    def _connect(self, write: bool) -> Connection:
        if self.is_sqlite:
            self._ensure_file()
        try:
            conn = self.engine.connect()
        except sa.exc.DBAPIError as exc:  # server down, refused, bad password, no such database
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseError(f"cannot open database {self.masked_url}: {self.scrub(reason)}") from None
        return conn.execution_options(ilog_write=True) if write else conn

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Connection]:
        """A transaction with no schema check (for :mod:`ilog.store.migrations` and copies)."""
        with self._connect(write) as conn, conn.begin():
            yield conn

    @contextmanager
    def unit(self, *, write: bool = False) -> Iterator[UnitOfWork]:
        """A unit of work: one short transaction, committed at the end of the block.

        The first unit of a Database checks the schema version; the first write unit of a
        database ilog never initialised creates the schema.
        """
        from . import migrations

        try:
            with self._unit(write, migrations) as uow:
                yield uow
        except sa.exc.SQLAlchemyError as exc:
            raise self.error(exc) from exc

    def error(self, exc: BaseException) -> DatabaseError:
        """A database exception as one line naming its cause, password masked."""
        orig = getattr(exc, "orig", None) or exc
        text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        folded = text.lower()
        if "readonly database" in folded or "read-only" in folded or "read only" in folded:
            return ReadOnlyDatabase(f"the database {self.masked_url} is read-only: {self.scrub(text)}")
        if "unable to open database file" in folded:
            return DatabaseError(f"cannot open database {self.masked_url}: {self.scrub(text)} (is its folder "
                                 "writable? SQLite needs to create its -wal and -shm files there)")
        return DatabaseError(f"the database refused it: {self.scrub(text)}")

    @contextmanager
    def _unit(self, write: bool, migrations) -> Iterator[UnitOfWork]:
        with self._connect(write) as conn:
            checked = False
            with conn.begin():
                if write and not self._checked:
                    with self._schema_lock:
                        migrations.check_writable(conn)
                    checked = True
                elif not write and not (self._checked or self._readable):
                    version = migrations.version_in(conn)
                    if version is not None:
                        migrations.check_version(conn, version, write=False)
                        self._readable = True
                if write or self._checked or self._readable:
                    yield UnitOfWork(conn, self)
                    ready = True
                else:
                    ready = False
            if checked:  # only once the schema it may have created is committed
                self._checked = True
            if ready:
                return
        # a read on a database ilog never initialised: create its schema first
        with self._unit(True, migrations):
            pass
        with self._connect(False) as conn, conn.begin():
            yield UnitOfWork(conn, self)

    def schema_version(self) -> int | None:
        from .migrations import version_in

        with self.transaction(write=False) as conn:
            return version_in(conn)

    def dispose(self) -> None:
        self.engine.dispose()
