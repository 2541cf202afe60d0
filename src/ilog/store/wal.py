"""Switching an SQLite file to WAL mode, for the log (:mod:`ilog.store.database`) and the
spool (:mod:`ilog.store.spool`, which imports no SQLAlchemy): plain :mod:`sqlite3`."""

from __future__ import annotations

import sqlite3
import time


def enable_wal(conn: sqlite3.Connection | sqlite3.Cursor, timeout_s: float) -> None:
    """``PRAGMA journal_mode = WAL``. Several processes opening a brand-new file at once can
    get "database is locked" here without SQLite's busy handler being called, so this retries,
    backing off from 2 ms to 100 ms, for as long as ``timeout_s`` (the busy timeout) allows."""
    deadline = time.monotonic() + timeout_s
    delay = 0.002
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
