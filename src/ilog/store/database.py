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

Errors come out as one :class:`~ilog.errors.DatabaseError` line naming the cause, password
masked; those a later retry may cure (refused, timed out, too many connections, starting
up or shutting down, a dropped connection, a read-only standby, a lock held for the whole
busy timeout) are :class:`~ilog.errors.DatabaseUnavailable`, which is what ``ilog event``
spools on (:func:`unavailable` is the one place that tells them apart).

PostgreSQL: a server that does not answer fails fast (``connect_timeout``); nothing sets
session-level state and psycopg never prepares statements, so PgBouncer in transaction mode
is fine; the only lock ilog takes itself is ``pg_advisory_xact_lock`` (released at commit)
while it creates or upgrades the schema. Round trips are what a read costs over a network,
so a read unit sends its statements alone, without ``BEGIN`` and ``COMMIT`` (under READ
COMMITTED, PostgreSQL's default and ilog's, each statement of a transaction sees its own
snapshot anyway; a unit that streams through a server-side cursor keeps its transaction),
and a pooled connection is pinged only when it has been idle for
:data:`PING_AFTER_IDLE_S` (a server restarted while a long-running logbook was idle): a
contact's history is one round trip, not four. A read unit on SQLite likewise sends no
``BEGIN``: each statement is its own read transaction there too, so both backends mean the
same by a read unit. A read whose parts must agree (a contact's data export) asks for
``unit(snapshot=True)``: one snapshot for all its statements, on both backends.

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
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ..errors import DatabaseError, DatabaseUnavailable, ReadOnlyDatabase
from . import tables
from .unit import UnitOfWork
from .urls import looks_like_a_mistyped_url, mask_url, normalise_url, password_forms, scrub, sqlite_path

Create = Literal[False, "file", "path"]

#: a pooled PostgreSQL connection idle for longer than this is pinged before use (a server
#: restarted meanwhile: the pool reconnects); one in use more often is trusted, and if the
#: server went away since, the statement fails as DatabaseUnavailable and the pool reconnects
PING_AFTER_IDLE_S = 1.0


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


def _writable(path: Path) -> bool:
    """Whether this process may write the file and create files beside it (SQLite's -wal, -shm)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


#: SQLite's own wal_autocheckpoint: the commit that takes the write-ahead log past this many
#: pages copies it back into the file
_AUTOCHECKPOINT_PAGES = 1000

#: SQLSTATEs (or their two-character classes) of a server that cannot take the work now:
#: connection exceptions, insufficient resources (too many connections), shutdown and
#: start-up, a read-only (standby) transaction, serialization failures and deadlocks, a lock
#: not available
_UNAVAILABLE_STATES = frozenset({"08", "53", "57P01", "57P02", "57P03", "57P05", "25006", "40001", "40P01",
                                 "55P03"})
#: what libpq, PgBouncer and SQLite say when the server cannot be reached or is busy, where
#: no SQLSTATE comes with it (libpq gives none for a failed connection attempt)
_UNAVAILABLE_TEXTS = (
    "connection refused", "timeout expired", "timed out", "could not connect", "no route to host",
    "network is unreachable", "temporary failure in name resolution", "too many clients",
    "too many connections", "remaining connection slots are reserved", "the database system is starting up",
    "the database system is shutting down", "the database system is in recovery mode",
    "the database system is not yet accepting connections", "server closed the connection unexpectedly",
    "terminating connection", "consuming input failed", "connection is lost", "connection is closed",
    "could not receive data from server", "could not send data to server", "is the server running",
    "server conn crashed", "no more connections allowed", "pgbouncer cannot connect to server",
    "query_wait_timeout", "server login has been failing", "client_login_timeout", "database is locked",
    "database is busy", "database table is locked",
)


def unavailable(exc: BaseException, text: str) -> bool:
    """Whether a driver error means "cannot reach or cannot write now" (a retry may work),
    rather than a wrong password, an unknown database, a bad certificate or a bad statement."""
    state = getattr(exc, "sqlstate", None)
    if state:
        return state in _UNAVAILABLE_STATES or state[:2] in _UNAVAILABLE_STATES
    folded = text.lower()
    return any(phrase in folded for phrase in _UNAVAILABLE_TEXTS)


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


class Database:
    """One database: an engine with a small pool, and the units of work every service uses."""

    def __init__(self, url: str, *, busy_timeout: float = 30, connect_timeout: float = 5,
                 create: Create = False, pool_size: int = 5):
        if looks_like_a_mistyped_url(url):
            raise DatabaseError("the database URL looks mistyped (a URL is scheme://user@host/database, as in "
                                "postgresql://ilog@db.example/ilog): nothing was written")
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
        #: an SQLite file (or folder) this process may not write: opened read-only, so reads work
        self.read_only = bool(self.path and self.path.exists() and not _writable(self.path))
        if self.is_sqlite:
            connect_args["timeout"] = float(busy_timeout)
            connect_args["check_same_thread"] = False  # a unit uses a connection in one thread at a time
            if self.read_only:
                options["creator"] = self._read_only_connection(float(busy_timeout))
        elif self.url.startswith("postgresql"):
            tables.use_postgresql()
            if "connect_timeout=" not in self.url.partition("?")[2]:  # the URL's own value wins
                # libpq waits forever for 0, and treats 1 as 2
                connect_args["connect_timeout"] = max(1, math.ceil(float(connect_timeout)))
            # psycopg prepares statements after 5 runs; PgBouncer < 1.21 in transaction mode can't
            connect_args["prepare_threshold"] = None
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
        else:
            self._ping_when_idle()
        event.listen(self.engine, "handle_error", self._on_error)

    def _on_error(self, context) -> None:
        """A statement that failed because the database went away is a DatabaseUnavailable at
        once, wherever it ran: also inside a hook reading through the logbook, which would
        otherwise make it the plugin's fault (the pool has already dropped the connection)."""
        if context.connection is None:  # connect errors: _connect
            return
        error = self.error(context.sqlalchemy_exception)
        if isinstance(error, DatabaseUnavailable):
            raise error

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

    def write_back(self) -> None:
        """On SQLite, copy what the write-ahead log holds into the database file now (a passive
        checkpoint: it takes no lock a writer needs; what others commit meanwhile is copied by
        a second pass or a third). Elsewhere nothing to do.

        A long series of writes (``unit(bulk=True)``, whose commits leave the copy to this)
        calls it at once after each of its transactions, so that no print's commit finds the
        log past 1,000 pages and has to copy the series' pages itself; and again just before
        the next, so that the log, copied to its end, starts again from its beginning at that
        transaction's first write (else it grows by the series' every transaction, gigabytes
        for a purge of 100,000 entries, and reads through it slow down)."""
        if not self.is_sqlite or self.read_only:
            return
        import sqlite3

        with self._connect(False) as conn:
            driver = conn.connection.driver_connection
            try:
                for _ in range(3):
                    busy, frames, copied = driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if busy or copied >= frames:
                        return
            except sqlite3.Error as exc:  # the disk, not the lock: that is "busy" above
                raise self.error(exc) from exc

    def scrub(self, text: str) -> str:
        """A message with this database's password masked, in any spelling."""
        return scrub(text, self._secrets)

    def _read_only_connection(self, timeout: float):
        """Connections to a file this process may only read: ``mode=ro``, or, when SQLite cannot
        create its shared-memory file beside a WAL database there, ``immutable=1``."""
        import sqlite3

        def connect():
            try:
                conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=timeout,
                                       check_same_thread=False)
                conn.execute("SELECT 1 FROM sqlite_master LIMIT 1")
                return conn
            except sqlite3.OperationalError:
                return sqlite3.connect(f"file:{self.path}?immutable=1", uri=True, timeout=timeout,
                                       check_same_thread=False)

        return connect

    def _ping_when_idle(self) -> None:
        """A pooled connection idle for over :data:`PING_AFTER_IDLE_S` is pinged before it is
        handed out; one that does not answer is replaced (SQLAlchemy's ``pool_pre_ping``, which
        pings before every use, is a round trip per unit: as much as the query of a history)."""
        dialect = self.engine.dialect

        @event.listens_for(self.engine, "checkin")
        def _on_checkin(_dbapi_connection, record):
            record.info["ilog_idle_since"] = time.monotonic()

        @event.listens_for(self.engine, "checkout")
        def _on_checkout(dbapi_connection, record, _proxy):
            since = record.info.get("ilog_idle_since")
            if since is None or time.monotonic() - since <= PING_AFTER_IDLE_S:
                return  # new, or in use a moment ago
            try:
                alive = dialect.do_ping(dbapi_connection)
            except Exception:  # the server went away: any error of the driver
                alive = False
            if not alive:
                raise sa.exc.DisconnectionError("the server dropped the connection")  # the pool reconnects

    def _sqlite_setup(self, busy_ms: int) -> None:
        read_only = self.read_only

        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_connection, _record):
            # let SQLAlchemy's "begin" event below decide how transactions start
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            if not read_only:
                from .wal import enable_wal

                enable_wal(cursor, busy_ms / 1000)
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()
            dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

        @event.listens_for(self.engine, "begin")
        def _on_begin(conn):
            options = conn.get_execution_options()
            write = options.get("ilog_write", False)
            if write:
                # SQLite copies the write-ahead log back in the commit that takes it past 1,000
                # pages (wal_autocheckpoint): a bulk unit leaves that to Database.write_back
                pages = 0 if options.get("ilog_bulk", False) else _AUTOCHECKPOINT_PAGES
                info = conn.connection.info
                if info.get("autocheckpoint", _AUTOCHECKPOINT_PAGES) != pages:
                    conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {pages}")
                    info["autocheckpoint"] = pages
            elif options.get("ilog_statements_alone", False):
                return  # a read unit: each statement its own read transaction
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    def _ensure_file(self) -> None:
        """A missing SQLite file: created where allowed, else refused saying how to create it."""
        path = self.path
        if path is None:
            return
        try:  # one stat per unit (a file removed under a long-running logbook is refused too)
            found = path.stat()
        except FileNotFoundError:
            found = None
        if found is not None:
            if stat.S_ISREG(found.st_mode) and found.st_size == 0:
                path.chmod(0o600)  # an empty file about to become a database: private like a new one
            return
        if not self.create:
            raise DatabaseError(f"no database at {path}: create it with `ilog --db {path} init`")
        _private_file(path, parents=self.create == "path")

    def _connect(self, write: bool, bulk: bool = False, *, transaction: bool = True,
                 snapshot: bool = False) -> Connection:
        """A pooled connection; ``transaction=False`` (read units): its statements are sent
        without BEGIN and COMMIT; ``snapshot``: its transaction sees one snapshot."""
        if self.is_sqlite:
            self._ensure_file()
        try:
            conn = self.engine.connect()
        except sa.exc.DBAPIError as exc:  # server down, refused, bad password, no such database
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            kind = DatabaseUnavailable if unavailable(exc.orig, str(exc.orig or exc)) else DatabaseError
            raise kind(f"cannot open database {self.masked_url}: {self.scrub(reason)}") from None
        if write:
            return conn.execution_options(ilog_write=True, ilog_bulk=bulk)
        if snapshot and not self.is_sqlite:  # psycopg sends BEGIN ISOLATION LEVEL ...: no session state
            return conn.execution_options(isolation_level="REPEATABLE READ")
        if not transaction:
            if self.is_sqlite:  # pysqlite runs with isolation_level=None: "begin" sends no BEGIN
                return conn.execution_options(ilog_statements_alone=True)
            return conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Connection]:
        """A transaction with no schema check (for :mod:`ilog.store.migrations` and copies)."""
        with self._connect(write) as conn, conn.begin():
            try:
                yield conn
            except KeyboardInterrupt:
                self._drop_if_server(conn)
                raise

    @contextmanager
    def unit(self, *, write: bool = False, bulk: bool = False, stream: bool = False,
             snapshot: bool = False) -> Iterator[UnitOfWork]:
        """A unit of work: one short transaction, committed at the end of the block.

        A read unit sends each statement alone (see the module's docstring), so two of its
        statements may see different commits; ``snapshot``: a read unit whose statements all
        see the database as it was at its first (a deferred transaction on SQLite, REPEATABLE
        READ on PostgreSQL), for a document whose parts must agree; ``stream``: a read unit
        whose rows come through a server-side cursor (``yield_per``: exports of millions),
        which PostgreSQL opens only in a transaction.

        The first unit of a Database checks the schema version; the first write unit of a
        database ilog never initialised creates the schema. A ``bulk`` write unit is one of a
        long series (a purge's batches) whose caller runs :meth:`write_back` after each: its
        commit does not copy the write-ahead log back itself on SQLite, so the time it holds
        the write lock is its own work only.
        """
        from . import migrations

        try:
            with self._unit(write, migrations, bulk, stream, snapshot) as uow:
                yield uow
        except sa.exc.SQLAlchemyError as exc:
            raise self.error(exc) from exc

    def error(self, exc: BaseException) -> DatabaseError:
        """A database exception as one line naming its cause, password masked."""
        orig = getattr(exc, "orig", None) or exc
        text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        folded = text.lower()
        if "readonly database" in folded or "read-only" in folded or "read only" in folded or self.read_only:
            return ReadOnlyDatabase(f"the database {self.masked_url} is read-only ({self.scrub(text)}): reading works, "
                                    "writing needs a database this user may write")
        if "unable to open database file" in folded:
            return DatabaseError(f"cannot open database {self.masked_url}: {self.scrub(text)} (is its folder "
                                 "writable? SQLite needs to create its -wal and -shm files there)")
        if isinstance(exc, sa.exc.TimeoutError) or (isinstance(exc, sa.exc.DBAPIError)
                                                      and unavailable(orig, str(orig))):
            return DatabaseUnavailable(f"the database {self.masked_url} cannot take it now: {self.scrub(text)}")
        return DatabaseError(f"the database refused it: {self.scrub(text)}")

    @contextmanager
    def _unit(self, write: bool, migrations, bulk: bool = False, stream: bool = False,
              snapshot: bool = False) -> Iterator[UnitOfWork]:
        transaction = write or stream or snapshot
        with self._connect(write, bulk, transaction=transaction, snapshot=snapshot) as conn:
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
                    try:
                        yield UnitOfWork(conn, self)
                    except KeyboardInterrupt:
                        self._drop_if_server(conn)
                        raise
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
        with self._connect(False, transaction=transaction, snapshot=snapshot) as conn, conn.begin():
            try:
                yield UnitOfWork(conn, self)
            except KeyboardInterrupt:
                self._drop_if_server(conn)
                raise

    def _drop_if_server(self, conn: Connection) -> None:
        """Close a server connection that Ctrl-C interrupted instead of rolling back on it.

        The interrupt may have landed mid-command (psycopg waiting on a COPY, say), leaving
        the protocol half spoken: a ROLLBACK on it fails ("another command is already in
        progress"), and so would the pool's reset. PostgreSQL rolls back the transaction of a
        connection that goes away; SQLite has no such state and rolls back as usual.
        """
        if not self.is_sqlite:
            conn.invalidate()

    def schema_version(self) -> int | None:
        from .migrations import version_in

        with self.transaction(write=False) as conn:
            return version_in(conn)

    def dispose(self) -> None:
        self.engine.dispose()
