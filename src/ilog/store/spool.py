"""The spool: document events accepted on this host while the central database is away.

A local SQLite file (``<user data dir>/spool.db``, see :func:`ilog.config.default_spool_path`)
written with the standard library's :mod:`sqlite3` only: the print path that writes it
(``ilog event`` with ``delivery = "spool"``, :mod:`ilog.cli.quick`) imports no SQLAlchemy,
no pydantic, no Typer and no plugin. The file and its folder are made readable by their
owner only (0600, 0700); SQLite gives its ``-wal`` and ``-shm`` files the file's mode.

**Durable on return.** The file is in WAL mode with ``synchronous = FULL``: a commit
returns only after the WAL holds the row and has been fsynced, so an event ``put`` here
survives a crash or a power cut from the moment ``ilog event`` says "spooled". A new
spool's folder is fsynced too, so the file itself survives.

**Rows.** One row per spooled event: ``id`` (``AUTOINCREMENT``: ids only go up, the order
the events were printed in), ``target`` (the database it is for, its URL with the password
masked: no password is kept here, and a row never goes to another database), ``key`` (its
idempotency key: the one given, or a uuid4 made when it was spooled), ``event`` (the
:class:`~ilog.domain.records.DocumentEvent` fields as JSON, with the moment of the print
pinned), ``user_id``, an attached file's name and bytes (the file may be gone by the time
the event is delivered), why it was spooled, and its ``state``: ``pending`` (waiting) or
``failed`` (delivered and refused: unknown contact, a plugin's veto...; kept, with the
reason, until dropped or retried).

**Delivery: exactly once, in order.** :meth:`Spool.flushing` takes an exclusive lock on
``spool.db.lock`` (``flock``; the kernel releases it when its process exits, also on
``kill -9``), so at most one flush delivers at a time and the events of a document arrive
in the order they were printed. Holding it, a flush repeats:

1. read the oldest pending rows of its database (:meth:`Spool.next_pending`);
2. record them centrally, in that order, through the whole event path (template setup,
   hooks, checks), each with its row's idempotency key;
3. delete the rows recorded (:meth:`Spool.delivered`), mark those refused as failed with
   the reason (:meth:`Spool.failed`), and when the database is away again note the attempt
   and stop (:meth:`Spool.attempted`).

A flush killed between 2 and 3 leaves the rows pending; the next flush records them
again, and the central database, which already holds their keys, records nothing new and
answers with the entries it recorded the first time. So whatever is killed when, every spooled
event becomes exactly one entry. Writers never wait for a flush: the lock file is not the
spool, and each step above is its own short transaction. The lock needs a local file
system (as SQLite's WAL does): keep the data directory off NFS.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import IlogError
from .wal import enable_wal

#: bump with a new step in _SCHEMA when the table changes
SCHEMA_VERSION = 1

_SCHEMA = ("""
CREATE TABLE IF NOT EXISTS spooled (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    key TEXT NOT NULL,
    event TEXT NOT NULL,
    user_id TEXT NOT NULL,
    attachment_name TEXT,
    attachment BLOB,
    spooled_at TEXT NOT NULL,
    reason TEXT,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    failed_at TEXT
)""",
           "CREATE INDEX IF NOT EXISTS spooled_queue ON spooled (target, state, id)")

_COLUMNS = ("id", "target", "key", "event", "user_id", "attachment_name", "attachment", "spooled_at", "reason",
            "state", "attempts", "last_error", "failed_at")
_LIST_COLUMNS = ", ".join(c if c != "attachment" else "length(attachment)" for c in _COLUMNS)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass
class SpooledEvent:
    """One row of the spool. ``event`` holds the DocumentEvent fields; ``attachment`` the
    file's bytes (or, in listings, None and its size in ``attachment_size``)."""

    target: str
    key: str
    event: dict[str, Any]
    user_id: str
    attachment_name: str | None = None
    attachment: bytes | None = None
    reason: str | None = None
    id: int | None = None
    spooled_at: str | None = None
    state: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    failed_at: str | None = None
    attachment_size: int | None = field(default=None, repr=False)

    @classmethod
    def from_row(cls, row: tuple, *, listing: bool = False) -> "SpooledEvent":
        data = dict(zip(_COLUMNS, row))
        data["event"] = json.loads(data["event"])
        if listing:
            data["attachment_size"], data["attachment"] = data["attachment"], None
        return cls(**data)


class Spool:
    """The spool file of this OS user. A context manager: one connection per ``with`` block."""

    def __init__(self, path: Path, *, busy_timeout: float = 30):
        self.path = Path(path)
        self.busy_timeout = float(busy_timeout)
        self._conn: sqlite3.Connection | None = None

    # -- the file --------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.path.is_file()

    def __enter__(self) -> "Spool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _create(self) -> None:
        """A new spool file, private to its owner, its name made durable in its folder."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return
        os.close(fd)
        try:
            folder = os.open(self.path.parent, os.O_RDONLY)
        except OSError:  # a platform without directory handles
            return
        try:
            os.fsync(folder)
        except OSError:
            pass
        finally:
            os.close(folder)

    def _connection(self, *, create: bool) -> sqlite3.Connection | None:
        if self._conn is not None:
            return self._conn
        if not self.exists():
            if not create:
                return None
            try:
                self._create()
            except OSError as exc:
                raise IlogError(f"cannot create the spool {self.path}: {exc.strerror or exc}") from None
        try:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise IlogError(f"cannot open the spool {self.path}: {exc}") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                enable_wal(conn, self.busy_timeout)
            conn.execute("PRAGMA synchronous = FULL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise IlogError(f"the spool {self.path} was made by a newer ilog (spool version {version}): "
                                "upgrade ilog on this host")
            if version != SCHEMA_VERSION:
                with self._write(conn):
                    for statement in _SCHEMA:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except (sqlite3.Error, IlogError) as exc:
            conn.close()
            if isinstance(exc, IlogError):
                raise
            raise IlogError(f"cannot open the spool {self.path}: {exc}") from None
        self._conn = conn
        return conn

    @contextmanager
    def _write(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _run_write(self, sql: str, params: tuple = ()) -> int:
        conn = self._connection(create=False)
        if conn is None:
            return 0
        try:
            with self._write(conn):
                return conn.execute(sql, params).rowcount
        except sqlite3.Error as exc:
            raise IlogError(f"cannot write the spool {self.path}: {exc}") from None

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        conn = self._connection(create=False)
        if conn is None:
            return []
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise IlogError(f"cannot read the spool {self.path}: {exc}") from None

    # -- writing -----------------------------------------------------------------------------

    def put(self, item: SpooledEvent) -> int:
        """Spool one event; returns its id once the row is on disk (fsynced)."""
        conn = self._connection(create=True)
        assert conn is not None
        try:
            with self._write(conn):
                cursor = conn.execute(
                    "INSERT INTO spooled (target, key, event, user_id, attachment_name, attachment, spooled_at,"
                    " reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (item.target, item.key, json.dumps(item.event, ensure_ascii=False), item.user_id,
                     item.attachment_name, item.attachment, _now(), item.reason))
        except sqlite3.Error as exc:
            raise IlogError(f"cannot write the spool {self.path}: {exc}") from None
        return int(cursor.lastrowid)  # type: ignore[arg-type]

    def delivered(self, spool_ids: list[int]) -> None:
        """Delivered events out of the spool. Not fsynced: a delete lost with a power cut only
        means a harmless second delivery (the key is already recorded)."""
        if not spool_ids:
            return
        conn = self._connection(create=False)
        if conn is None:
            return
        conn.execute("PRAGMA synchronous = NORMAL")
        try:
            with self._write(conn):
                conn.executemany("DELETE FROM spooled WHERE id = ?", [(i,) for i in spool_ids])
        except sqlite3.Error as exc:
            raise IlogError(f"cannot write the spool {self.path}: {exc}") from None
        finally:
            conn.execute("PRAGMA synchronous = FULL")

    def failed(self, spool_id: int, reason: str) -> None:
        self._run_write("UPDATE spooled SET state = 'failed', attempts = attempts + 1, last_error = ?, "
                        "failed_at = ? WHERE id = ?", (reason, _now(), spool_id))

    def attempted(self, spool_id: int, error: str) -> None:
        """A delivery that did not get through (the database is away): the row stays pending."""
        self._run_write("UPDATE spooled SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                        (error, spool_id))

    def drop(self, spool_id: int) -> bool:
        return self._run_write("DELETE FROM spooled WHERE id = ?", (spool_id,)) == 1

    def retry(self, spool_id: int) -> bool:
        """A failed event back in the queue (at its own place: its id is its print order)."""
        return self._run_write("UPDATE spooled SET state = 'pending', failed_at = NULL WHERE id = ? "
                               "AND state = 'failed'", (spool_id,)) == 1

    # -- reading -----------------------------------------------------------------------------

    def pending(self, target: str | None = None) -> int:
        """How many events wait for ``target`` (for any database when None); 0 without a spool file."""
        if not self.exists():
            return 0
        if target is None:
            rows = self._read("SELECT count(*) FROM spooled WHERE state = 'pending'")
        else:
            rows = self._read("SELECT count(*) FROM spooled WHERE target = ? AND state = 'pending'", (target,))
        return int(rows[0][0]) if rows else 0

    def next_pending(self, target: str, limit: int = 1) -> list[SpooledEvent]:
        """The oldest events waiting for ``target`` (at most ``limit``), with their attachments."""
        rows = self._read(f"SELECT {', '.join(_COLUMNS)} FROM spooled WHERE target = ? AND state = 'pending' "
                          "ORDER BY id LIMIT ?", (target, limit))
        return [SpooledEvent.from_row(row) for row in rows]

    def get(self, spool_id: int) -> SpooledEvent | None:
        rows = self._read(f"SELECT {_LIST_COLUMNS} FROM spooled WHERE id = ?", (spool_id,))
        return SpooledEvent.from_row(rows[0], listing=True) if rows else None

    def items(self, *, state: str | None = None, target: str | None = None) -> list[SpooledEvent]:
        """The spooled events (without their attachments' bytes), oldest first."""
        where, params = [], []
        if state is not None:
            where.append("state = ?")
            params.append(state)
        if target is not None:
            where.append("target = ?")
            params.append(target)
        sql = f"SELECT {_LIST_COLUMNS} FROM spooled"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [SpooledEvent.from_row(r, listing=True) for r in self._read(sql + " ORDER BY id", tuple(params))]

    def counts(self) -> list[dict[str, Any]]:
        """Per database: events pending and failed, the oldest one's time, the last error seen."""
        rows = self._read(
            "SELECT target, sum(state = 'pending'), sum(state = 'failed'), min(spooled_at), "
            "(SELECT last_error FROM spooled AS s WHERE s.target = spooled.target AND s.state = 'pending' "
            " ORDER BY id LIMIT 1) FROM spooled GROUP BY target ORDER BY min(id)")
        return [{"target": t, "pending": int(p or 0), "failed": int(f or 0), "oldest": o, "last_error": e}
                for t, p, f, o, e in rows]

    # -- the flush lock ------------------------------------------------------------------------

    @contextmanager
    def flushing(self) -> Iterator[bool]:
        """The exclusive right to deliver: True when this process holds it for the block,
        False when another flush holds it (nothing is waited for)."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        except OSError as exc:
            raise IlogError(f"cannot open the spool's lock {lock_path}: {exc.strerror or exc}") from None
        try:
            held = _lock(fd)
            yield held
        finally:
            os.close(fd)  # closing the file releases the lock


def _lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
