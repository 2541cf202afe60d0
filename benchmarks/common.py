"""What every benchmark shares: timing side by side with a floor, backends, result rows.

A *case* is what ilog does; its *floor* is the least any program could do for the same
result (``python -c pass``, a raw ``sqlite3`` insert, the same SQL through the driver).
Both are measured in the same run, alternating (case, floor, floor, case, ...), so that
a busy machine slows both alike; a row reports the median and min–max of each and the
ratio of the medians.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

CACHE = ROOT / "benchmarks" / ".cache"


# -- timing ------------------------------------------------------------------------------

def interleave(case: Callable[[], float], floor: Callable[[], float], repeat: int,
               warmup: int = 1) -> tuple[list[float], list[float]]:
    """Run case and floor ``repeat`` times each, alternating which goes first.

    Each callable does its own setup and returns the seconds of the part it measures.
    The first ``warmup`` rounds are run and thrown away (file caches, pyc files).
    """
    case_times: list[float] = []
    floor_times: list[float] = []
    for index in range(warmup + repeat):
        pair = ((case, case_times), (floor, floor_times))
        for fn, sink in (pair if index % 2 == 0 else pair[::-1]):
            elapsed = fn()
            if index >= warmup:
                sink.append(elapsed)
    return case_times, floor_times


def timed_run(cmd: list[str], *, env: dict[str, str] | None = None, stdin: Any = None,
              check: bool = True) -> float:
    """Wall-clock seconds of one process, output discarded; a failure is an error, not a time."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return elapsed


def ratio_row(case: str, floor: str, case_times: list[float], floor_times: list[float],
              target: float, **extra: Any) -> dict[str, Any]:
    """A result row: medians, min–max, ratio of the medians, target (at most) and pass/fail."""
    median = statistics.median(case_times)
    floor_median = statistics.median(floor_times)
    ratio = median / floor_median if floor_median > 0 else float("inf")
    return {
        "case": case, "floor": floor,
        "median_s": median, "min_s": min(case_times), "max_s": max(case_times),
        "floor_median_s": floor_median, "floor_min_s": min(floor_times), "floor_max_s": max(floor_times),
        "ratio": ratio, "target": target, "passed": ratio <= target, "repeat": len(case_times), **extra,
    }


# -- processes ---------------------------------------------------------------------------

def ilog_command() -> list[str]:
    """The installed ``ilog`` console script next to this Python (not a shell shim), else ``-m ilog``."""
    script = Path(sys.executable).parent / "ilog"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "ilog"]


def clean_env(home: Path) -> dict[str, str]:
    """The environment of a user with no ilog configuration, plugins found as installed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ILOG_")}
    env["ILOG_HOME"] = str(home)
    env["ILOG_USER"] = "bench"
    home.mkdir(parents=True, exist_ok=True)
    return env


def ilog(env: dict[str, str], url: str, *args: str) -> None:
    """Run an ilog command that must succeed (set-up steps)."""
    proc = subprocess.run([*ilog_command(), "--db", url, *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ilog {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")


# -- backends ----------------------------------------------------------------------------

class Backend:
    """SQLite files in a work directory, or databases on the PostgreSQL server of ``--db``."""

    def __init__(self, url: str | None, workdir: Path):
        self.workdir = workdir
        self.url = url
        self.kind = "postgresql" if url and url.startswith("postgres") else "sqlite"

    @property
    def label(self) -> str:
        if self.kind == "sqlite":
            return f"SQLite {sqlite3.sqlite_version}"
        with self.raw(self.url) as conn:
            return "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0].split()[0]

    # URLs
    def url_for(self, name: str) -> str:
        if self.kind == "sqlite":
            return str(self.workdir / f"{name}.db")
        from sqlalchemy.engine import make_url

        from ilog.db import normalise_url

        return make_url(normalise_url(self.url)).set(database=name).render_as_string(hide_password=False)

    def libpq(self, url: str) -> str:
        """A PostgreSQL URL psycopg understands (no SQLAlchemy driver suffix)."""
        return "postgresql://" + url.split("://", 1)[1]

    def raw(self, url: str):
        """A raw driver connection (sqlite3 or psycopg) to a database."""
        if self.kind == "sqlite":
            return _closing(sqlite3.connect(url, isolation_level=None))
        import psycopg

        return psycopg.connect(self.libpq(url), autocommit=True)

    def exists(self, name: str) -> bool:
        if self.kind == "sqlite":
            return Path(self.url_for(name)).exists()
        with self.raw(self.url) as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None

    def drop(self, name: str) -> None:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(self.url_for(name) + suffix).unlink(missing_ok=True)
            return
        with self.raw(self.url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def copy(self, source: str, name: str) -> str:
        """A fresh copy of database ``source`` named ``name``; returns its URL."""
        self.drop(name)
        if self.kind == "sqlite":
            src = self.url_for(source)
            with _closing(sqlite3.connect(src)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            shutil.copyfile(src, self.url_for(name))
        else:
            with self.raw(self.url) as conn:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        return self.url_for(name)

    def copy_file(self, path: Path, name: str) -> str:
        """(SQLite) a cached database file copied into the work directory."""
        self.drop(name)
        shutil.copyfile(path, self.url_for(name))
        return self.url_for(name)


class _closing:
    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        return self.conn

    def __exit__(self, *exc):
        self.conn.close()

    def __getattr__(self, name):
        return getattr(self.conn, name)


SQLITE_CONNECT = """
import sqlite3
def connect(path):
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn
BEGIN_WRITE = "BEGIN IMMEDIATE"
P = "?"
"""

PG_CONNECT = """
import psycopg
def connect(url):
    return psycopg.connect("postgresql://" + url.split("://", 1)[1], autocommit=True, prepare_threshold=None)
BEGIN_WRITE = "BEGIN"
P = "%s"
"""


def connect_source(backend: Backend) -> str:
    """Python source defining ``connect(url)``, ``BEGIN_WRITE`` and the placeholder ``P`` for floor scripts."""
    return SQLITE_CONNECT if backend.kind == "sqlite" else PG_CONNECT


def fmt_s(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"
