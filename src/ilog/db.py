"""The database session: engine for a URL, SQLite pragmas, transactions, schema checks.

Every write runs in :meth:`Database.write`, which on SQLite begins with ``BEGIN IMMEDIATE``
(a deferred ``BEGIN`` lets two read-then-write transactions deadlock into "database is
locked"), on an SQLite file opened in WAL mode with ``synchronous=NORMAL``, foreign keys
on and a generous busy timeout. One-shot processes use no connection pool (NullPool), and
a PostgreSQL server that does not answer fails fast (``connect_timeout``). Nothing sets
session-level state and psycopg never prepares statements, so PgBouncer in transaction
mode is fine; the only lock ilog takes itself is ``pg_advisory_xact_lock`` (released at
commit) while it creates or upgrades the schema.

SQLite's built-in ``lower()`` folds ASCII only; ilog replaces it with Python's, so a
case-insensitive search for "müller" finds "MÜLLER" on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import math
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from . import models
from .errors import DatabaseError

_URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def normalise_url(url: str) -> str:
    """A SQLAlchemy URL for what the user gave: a plain path means an SQLite file."""
    if not _URL_SCHEME.match(url) and not url.startswith("sqlite:"):
        path = Path(url).expanduser()
        return "sqlite:///" + str(path if url == ":memory:" else path.absolute())
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_path(url: str) -> Path | None:
    """The file behind an SQLite URL, or None (memory, other backends)."""
    if not url.startswith("sqlite"):
        return None
    rest = url.split(":///", 1)[1] if ":///" in url else ""
    rest = rest.split("?", 1)[0]
    if not rest or rest == ":memory:":
        return None
    return Path(rest)


def _create_private_file(path: Path) -> None:
    """Create a new SQLite file readable by its owner only (its WAL inherits the mode)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
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
    """One database: an engine and the transactions every module uses."""

    def __init__(self, url: str, *, busy_timeout: float = 30, connect_timeout: float = 5):
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.path = sqlite_path(self.url)
        self._checked = False  # schema checked for writing
        self._readable = False  # schema checked for reading
        connect_args: dict = {}
        if self.is_sqlite:
            if self.path is not None:
                _create_private_file(self.path)
            connect_args["timeout"] = float(busy_timeout)
        elif self.url.startswith("postgresql"):
            models.use_postgresql()
            if "connect_timeout=" not in self.url.partition("?")[2]:  # the URL's own value wins
                # libpq waits forever for 0, and treats 1 as 2
                connect_args["connect_timeout"] = max(1, math.ceil(float(connect_timeout)))
            # psycopg prepares statements after 5 runs; PgBouncer < 1.21 in transaction mode can't
            connect_args["prepare_threshold"] = None
        try:
            self.engine: Engine = sa.create_engine(self.url, poolclass=NullPool, connect_args=connect_args)
        except ImportError as exc:
            hint = " (PostgreSQL needs psycopg: pip install 'ilog[postgres]')" if "psycopg" in str(exc) else ""
            raise DatabaseError(f"cannot use database URL {self.masked_url}: {exc}{hint}") from None
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise DatabaseError(f"cannot use database URL {self.masked_url}: {exc}") from None
        except ValueError:  # a URL SQLAlchemy cannot split; its message may quote the password
            raise DatabaseError(f"cannot use database URL {self.masked_url}: not a valid URL (percent-encode "
                                "@, : and / in a user name or password)") from None
        if self.is_sqlite:
            self._sqlite_setup(int(float(busy_timeout) * 1000))

    @property
    def masked_url(self) -> str:
        from .config import mask_url

        return mask_url(self.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

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

    def _connect(self, write: bool) -> Connection:
        try:
            conn = self.engine.connect()
        except sa.exc.DBAPIError as exc:  # server down, refused, bad password, no such database
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            from .config import mask_url

            raise DatabaseError(f"cannot open database {self.masked_url}: {mask_url(reason)}") from None
        return conn.execution_options(ilog_write=write) if write else conn

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Connection]:
        """A transaction with no schema check (for :mod:`ilog.migrations` and ``ilog db``)."""
        with self._connect(write) as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A short write transaction (``BEGIN IMMEDIATE`` on SQLite); committed on success.

        The first transaction of a process also checks the schema version, and creates
        the schema in a database ilog never initialised.
        """
        with self._connect(True) as conn, conn.begin():
            if not self._checked:
                from .migrations import check_writable

                check_writable(self, conn)
                self._checked = True
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction."""
        with self._connect(False) as conn, conn.begin():
            if not (self._checked or self._readable):
                version = self.schema_version_in(conn)
                if version is not None:
                    from .migrations import check_version

                    check_version(conn, version, write=False)
                    self._readable = True
            if self._checked or self._readable:
                yield conn
                return
        with self.write():  # a database ilog never initialised: create it first
            pass
        with self._connect(False) as conn, conn.begin():
            yield conn

    # -- schema ----------------------------------------------------------------------

    def schema_version_in(self, conn: Connection) -> int | None:
        """The version recorded in the database, or None for a database ilog never initialised."""
        if not sa.inspect(conn).has_table(models.meta.name):
            return None
        value = conn.execute(
            sa.select(models.meta.c.value).where(models.meta.c.key == "schema_version")
        ).scalar()
        return int(value) if value is not None else None

    def schema_version(self) -> int | None:
        with self._connect(False) as conn, conn.begin():
            return self.schema_version_in(conn)

    def insert(self, table: sa.Table):
        """An INSERT that supports ``on_conflict_do_nothing`` / ``on_conflict_do_update`` here."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    def bulk_insert(self, conn: Connection, table: sa.Table, rows: list[dict]) -> None:
        """INSERT many rows (each with the same keys) with one driver-level ``executemany``.

        What ``conn.execute(table.insert(), rows)`` does, without building and processing
        a parameter dict per row in Python: each column type's bind processor (the same
        SQLAlchemy applies, e.g. :class:`models.UTCDateTime`) runs once per value over
        plain tuples. At 100,000 rows (a segment) that overhead cost more than the insert.
        """
        if not rows:
            return
        from operator import itemgetter

        dialect = conn.dialect
        keys = list(rows[0])
        compiled = table.insert().compile(dialect=dialect, column_keys=keys)
        names = list(compiled.positiontup) if compiled.positional else keys
        getter = itemgetter(*names)
        data = [list(getter(row)) for row in rows] if len(names) > 1 else [[getter(row)] for row in rows]
        for index, name in enumerate(names):
            process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is None:
                continue
            last = last_out = None  # rows of a batch often share one object (a date): process it once
            for values in data:
                value = values[index]
                if value is None:
                    continue
                if value is not last:
                    last, last_out = value, process(value)
                values[index] = last_out
        params = [tuple(v) for v in data] if compiled.positional else [dict(zip(names, v)) for v in data]
        conn.exec_driver_sql(compiled.string, params)

    def keep_connection(self) -> None:
        """Reuse one connection for every transaction that follows, until :meth:`dispose`.

        For a process that runs several short transactions (a command's few reads and its
        write, a batch of 10,000 events): a connection per transaction costs a connect and
        the pragmas each time, and on SQLite in WAL mode closing the last connection
        checkpoints and removes the log, milliseconds of fsync each. Transactions stay
        short; only the idle connection is kept (and closed by :meth:`dispose`).
        """
        pool = self.engine.pool
        if isinstance(pool, NullPool):
            from sqlalchemy.pool import QueuePool

            # as Pool.recreate() does: same connect function, same "connect" listeners
            self.engine.pool = QueuePool(pool._creator, pool_size=1, max_overflow=10, timeout=30,
                                         _dispatch=pool.dispatch, dialect=pool._dialect)

    def dispose(self) -> None:
        self.engine.dispose()
