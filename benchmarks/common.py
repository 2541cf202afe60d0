"""What every benchmark shares: the machine's state, timing beside a floor, verdicts, backends.

A *case* is what ilog does; its *floor* is the least any program could do for the same
result (``python -c pass``, a raw ``sqlite3`` insert, the same SQL through the driver).
Both are measured in the same run, on one CPU, alternating run by run (case, floor, case,
floor, ...), so that a busy machine slows both alike; a row reports the median and min–max
of each and the ratio of the medians.

A verdict (pass or slower) is only given when the numbers can be trusted: the load average
was at most 1.0 when the run started and no floor spread (max − min) over half its median.
Otherwise the row says ``noisy, rerun`` and the run is not publishable.

ilog is used only through its public API (``ilog.open`` and the Logbook it returns), its
command line, or raw SQL on the database; the one exception is :func:`log_filter`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import itertools
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

CACHE = ROOT / "benchmarks" / ".cache"

#: a verdict needs the 1-minute load average at most this when the run starts
MAX_LOAD = 1.0
#: ... and every floor's (max - min) / median at most this
MAX_FLOOR_SPREAD = 0.5


# -- ilog -------------------------------------------------------------------------------

def open_logbook(url: str):
    """The public API: ``ilog.open`` without plugins, as the benchmark user."""
    import ilog

    return ilog.open(url, user="bench", load_plugins=False)


def log_filter(**fields: Any) -> Any:
    """An ``ilog.LogFilter``. THE ONE PLACE that reaches into ilog's modules: port it here.

    ``ilog.LogFilter`` is to be public; until it is, it lives in ``ilog.records``.
    """
    import ilog

    cls = getattr(ilog, "LogFilter", None) or importlib.import_module("ilog.records").LogFilter
    return cls(**fields)


# -- the machine ---------------------------------------------------------------------------

@dataclass
class Machine:
    """Load average (1, 5, 15 minutes) and CPUs at one moment."""

    load: tuple[float, float, float]
    cpus: int
    usable: int

    @classmethod
    def now(cls) -> Machine:
        load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
        return cls(tuple(load), os.cpu_count() or 1, len(usable_cpus()))  # type: ignore[arg-type]

    def describe(self) -> str:
        return (f"load average {' / '.join(f'{x:.2f}' for x in self.load)} (1, 5, 15 min), "
                f"{self.cpus} CPUs ({self.usable} usable)")

    @property
    def quiet(self) -> bool:
        return self.load[0] <= MAX_LOAD  # NaN (no getloadavg) is not quiet


def can_pin() -> bool:
    return hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity")


def usable_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if can_pin() else list(range(os.cpu_count() or 1))


def _cpu_idle() -> dict[int, int]:
    """Idle + iowait ticks per CPU since boot (Linux ``/proc/stat``), or {}."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return {}
    idle = {}
    for line in lines:
        name, *ticks = line.split()
        if name.startswith("cpu") and name[3:].isdigit():
            idle[int(name[3:])] = int(ticks[3]) + int(ticks[4])
    return idle


def idlest_cpu(sample_s: float = 0.2) -> int | None:
    """The usable CPU that was idle longest over ``sample_s``; None where pinning is unavailable."""
    if not can_pin():
        return None
    cpus = usable_cpus()
    before = _cpu_idle()
    time.sleep(sample_s)
    after = _cpu_idle()
    if not before or not after:
        return cpus[-1]
    return max(cpus, key=lambda c: (after.get(c, 0) - before.get(c, 0), c))


@contextlib.contextmanager
def pinned(cpu: int | None) -> Iterator[int | None]:
    """Run this process (and every child it starts: Linux children inherit the mask) on ``cpu``.

    Quietly does nothing where affinity cannot be set; the old mask comes back afterwards.
    """
    if cpu is None or not can_pin():
        yield None
        return
    old = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        yield None
        return
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, old)


def pin_child(cpu: int | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` putting one child process on ``cpu`` (None: leave it alone)."""
    if cpu is None or not can_pin():
        return None

    def pin() -> None:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {cpu})

    return pin


# -- timing ------------------------------------------------------------------------------

@dataclass
class Pair:
    """Seconds of each case run and each floor run, and the CPU both ran on (None: not pinned)."""

    case: list[float]
    floor: list[float]
    cpu: int | None


def interleave(case: Callable[[], float], floor: Callable[[], float], repeat: int,
               warmup: int = 1) -> Pair:
    """Run case and floor ``repeat`` times each, strictly alternating: A, B, A, B, ...

    Both are pinned to the idlest usable CPU, so that each run is preceded by a run of the
    other and both see the same CPU. Each callable does its own setup and returns the
    seconds of the part it measures. The first ``warmup`` rounds (A, B) are run and thrown
    away (file caches, pyc files).
    """
    case_times: list[float] = []
    floor_times: list[float] = []
    with pinned(idlest_cpu()) as cpu:
        for index in range(warmup + repeat):
            for fn, sink in ((case, case_times), (floor, floor_times)):
                elapsed = fn()
                if index >= warmup:
                    sink.append(elapsed)
    return Pair(case_times, floor_times, cpu)


def timed_run(cmd: list[str], *, env: dict[str, str] | None = None, stdin: Any = None,
              check: bool = True) -> float:
    """Wall-clock seconds of one process, output discarded; a failure is an error, not a time."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return elapsed


def spread(times: list[float]) -> float:
    """(max − min) / median."""
    median = statistics.median(times)
    return (max(times) - min(times)) / median if median > 0 else float("inf")


def floor_noise(times: list[float]) -> list[str]:
    """Why a floor's times cannot back a verdict ([] when they can)."""
    if len(times) > 1 and spread(times) > MAX_FLOOR_SPREAD:
        return [f"floor min–max spread {spread(times):.0%} of its median (over {MAX_FLOOR_SPREAD:.0%})"]
    return []


def ratio_row(case: str, floor: str, pair: Pair, *, at_most: float | None = None,
              under_s: float | None = None, note: str = "") -> dict[str, Any]:
    """A result row: medians, min–max, ratio of the medians; the target is ``at_most`` times
    the floor, and/or (``under_s``) an absolute time for the case's median."""
    median = statistics.median(pair.case)
    floor_median = statistics.median(pair.floor)
    ratio = median / floor_median if floor_median > 0 else float("inf")
    assert at_most is not None or under_s is not None
    targets, passed = [], True
    if at_most is not None:
        targets.append(f"≤ {at_most:g}x")
        passed = passed and ratio <= at_most
    if under_s is not None:
        targets.append(f"< {under_s * 1000:g} ms" if under_s < 1 else f"< {under_s:g} s")
        passed = passed and median < under_s
    target_text = " and ".join(targets)
    notes = [note] if note else []
    notes.append(f"CPU {pair.cpu}" if pair.cpu is not None else "not pinned")
    return {
        "case": case, "floor": floor,
        "median_s": median, "min_s": min(pair.case), "max_s": max(pair.case),
        "floor_median_s": floor_median, "floor_min_s": min(pair.floor), "floor_max_s": max(pair.floor),
        "ratio": ratio, "target_text": target_text, "passed": passed, "repeat": len(pair.case),
        "note": "; ".join(notes), "noise": floor_noise(pair.floor),
    }


def value_row(case: str, floor: str, value: str, target_text: str, passed: bool, *,
              noise: list[str] | None = None, note: str = "") -> dict[str, Any]:
    """A result row that is not a ratio (throughput, memory, stalls)."""
    return {"case": case, "floor": floor, "value": value, "target_text": target_text, "passed": passed,
            "noise": noise or [], "note": note}


def verdict(row: dict[str, Any], machine_quiet: bool, force: bool = False) -> str:
    """The result column: pass / slower, or ``noisy, rerun`` when the numbers cannot back it."""
    if "error" in row:
        return "**not measured**"
    said = "pass" if row["passed"] else "**SLOWER than target**"
    if machine_quiet and not row["noise"]:
        return said
    return f"{said} (noisy)" if force else "noisy, rerun"


# -- processes ---------------------------------------------------------------------------

def ilog_command() -> list[str]:
    """The installed ``ilog`` console script next to this Python (not a shell shim), else ``-m ilog``."""
    script = Path(sys.executable).parent / "ilog"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "ilog"]


def isolate(home: Path) -> dict[str, str]:
    """Make this process (and so its children) a user with no ilog configuration; returns the env.

    No ``ILOG_*`` variable but the home, the user and a system config file that does not
    exist; plugins are found as installed. ``PYTHONDONTWRITEBYTECODE`` goes too: an
    installed ilog has its bytecode, so the warm-up run compiles an editable checkout's.
    """
    for key in [k for k in os.environ if k.startswith("ILOG_") or k == "PYTHONDONTWRITEBYTECODE"]:
        del os.environ[key]
    home.mkdir(parents=True, exist_ok=True)
    os.environ.update(ILOG_HOME=str(home), ILOG_USER="bench", ILOG_SYSTEM_CONFIG=str(home / "no-system.toml"))
    return dict(os.environ)


def ilog(env: dict[str, str], url: str, *args: str) -> str:
    """Run an ilog command that must succeed (set-up steps); returns its output."""
    proc = subprocess.run([*ilog_command(), "--db", url, *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ilog {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


# -- sizes ---------------------------------------------------------------------------------

def parse_size(text: str) -> int:
    """``50k`` -> 50,000; ``1m`` -> 1,000,000; ``2500`` -> 2,500."""
    match = re.fullmatch(r"\s*(\d+)\s*([km]?)\s*", text.lower())
    if not match or int(match[1]) == 0:
        raise ValueError(f"not a size: {text!r} (say e.g. 50k, 1m, 10m)")
    return int(match[1]) * {"": 1, "k": 1_000, "m": 1_000_000}[match[2]]


def size_label(n: int) -> str:
    """The short name of a size, for cache names: 50k, 1m, 10m, 2500."""
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


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

    @property
    def driver(self) -> str:
        return "sqlite3" if self.kind == "sqlite" else "psycopg"

    @property
    def placeholder(self) -> str:
        return "?" if self.kind == "sqlite" else "%s"

    # URLs
    def url_for(self, name: str) -> str:
        if self.kind == "sqlite":
            return str(self.workdir / f"{name}.db")
        return urlsplit(self.url)._replace(path="/" + name).geturl()

    def libpq(self, url: str) -> str:
        """A PostgreSQL URL psycopg understands (no SQLAlchemy driver suffix)."""
        return "postgresql://" + url.split("://", 1)[1]

    def raw(self, url: str):
        """A raw driver connection (sqlite3 or psycopg, autocommit) to a database."""
        if self.kind == "sqlite":
            return _closing(sqlite3.connect(url, isolation_level=None))
        import psycopg

        return psycopg.connect(self.libpq(url), autocommit=True)

    def floor_connect(self, url: str):
        """A connection as the floor scripts open it (:data:`SQLITE_CONNECT`, :data:`PG_CONNECT`)."""
        namespace: dict[str, Any] = {}
        exec(connect_source(self), namespace)  # noqa: S102 - our own source, shared with the scripts
        return namespace["connect"](url)

    def begin_write(self) -> str:
        return "BEGIN IMMEDIATE" if self.kind == "sqlite" else "BEGIN"

    # databases
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

    def create(self, name: str) -> str:
        """A new, empty database ``name`` (dropped first); returns its URL. Run ``ilog init`` on it."""
        self.drop(name)
        if self.kind == "postgresql":
            with self.raw(self.url) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

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

    # raw rows
    def columns(self, conn: Any, table: str) -> dict[str, bool]:
        """The columns of ``table`` as the database has them: name -> must be given (NOT NULL, no default)."""
        if self.kind == "sqlite":
            rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
            return {name: bool(notnull) and default is None and not pk for _, name, _, notnull, default, pk in rows}
        rows = conn.execute("SELECT column_name, is_nullable, column_default FROM information_schema.columns "
                            "WHERE table_schema = current_schema() AND table_name = %s", (table,)).fetchall()
        return {name: nullable == "NO" and default is None for name, nullable, default in rows}

    def insert_rows(self, conn: Any, table: str, columns: list[str], rows: Iterable[tuple]) -> None:
        """Bulk insert (``executemany`` on SQLite, ``COPY`` on PostgreSQL) into a table whose
        columns are checked against the database first, inside the caller's transaction."""
        have = self.columns(conn, table)
        unknown = [c for c in columns if c not in have]
        required = [c for c, needed in have.items() if needed and c not in columns]
        if unknown or required:
            raise RuntimeError(f"the benchmark's rows for table {table} no longer fit ilog's schema: "
                               f"unknown columns {unknown}, required columns not given {required}")
        names = ", ".join(columns)
        if self.kind == "sqlite":
            conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", rows)
            return
        # one COPY per 200,000 rows: a statement trigger (ilog keeps its summary with one) then
        # sees a transition table of that many rows, not of ten million at once
        iterator = iter(rows)
        while True:
            chunk = list(itertools.islice(iterator, 200_000))
            if not chunk:
                return
            with conn.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row(row)

    def stamp(self, at: dt.datetime) -> Any:
        """A naive UTC datetime as a raw row stores it (SQLAlchemy's SQLite text format)."""
        return at.strftime("%Y-%m-%d %H:%M:%S.%f") if self.kind == "sqlite" else at

    def boolean(self, value: bool) -> Any:
        return int(value) if self.kind == "sqlite" else value


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
def checkpoints(conn, on):
    # whether this connection's commits write the WAL back into the file once it passes 1,000
    # pages (SQLite's default, ilog's too); turning them on writes back what is there first
    conn.execute("PRAGMA wal_autocheckpoint = %d" % (1000 if on else 0))
    if on:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
BEGIN_WRITE = "BEGIN IMMEDIATE"
P = "?"
"""

PG_CONNECT = """
import psycopg
def connect(url):
    return psycopg.connect("postgresql://" + url.split("://", 1)[1], autocommit=True, prepare_threshold=None)
def checkpoints(conn, on):
    pass  # PostgreSQL's checkpoints are the server's, not a client's commit
BEGIN_WRITE = "BEGIN"
P = "%s"
"""


def connect_source(backend: Backend) -> str:
    """Python source defining ``connect(url)``, ``checkpoints(conn, on)``, ``BEGIN_WRITE`` and the
    placeholder ``P`` for floor scripts."""
    return SQLITE_CONNECT if backend.kind == "sqlite" else PG_CONNECT


def fmt_s(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"
