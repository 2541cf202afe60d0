"""Benchmark: ``segment log`` of a 100,000-line segment, then ``segment cancel`` and
``segment cancel --restore`` of the logged segment, each against its raw floor.

Builds a database (SQLite file, or a database on the PostgreSQL server of ``--db``) with
100,000 contacts (10,000 companies and their persons) and an open segment holding all of
them (1% of the lines personalised): ``ilog init``, templates and the segment through the
public API (``ilog.open``), contacts and the personalisation as raw SQL. Each repetition
works on a fresh copy of it:

- **segment log** (target at most 3x): ``lb.segments.log(segment)`` in this process,
  everything the command does after start-up (read lines, contacts and templates, build
  and check one draft per line, number and insert the entries, record the logged segment,
  close the segment, commit); floor: a raw connection with the same pragmas inserting *the
  same rows* (read back from a first, untimed ilog run, stored values byte for byte) with
  one ``executemany`` in one write transaction.
- **segment cancel** / **segment cancel --restore** (target at most 3x each): the command
  ``ilog segment cancel LSEG --yes`` (``--restore --yes`` on a copy where the segment is
  cancelled) in a child process; floor: a Python script that connects with the same
  pragmas and runs the one ``UPDATE interaction SET cancelled = ..., cancelled_at = ...
  WHERE logged_segment_no = ?``, then commits.

Case and floor alternate on one CPU (``common.interleave``). ``--quick`` uses 10,000 lines
and 3 repetitions.

    python benchmarks/segment_log.py [--quick] [--lines N] [--repeat N] [--db URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    Backend,
    connect_source,
    ilog,
    ilog_command,
    interleave,
    isolate,
    open_logbook,
    ratio_row,
    timed_run,
)

SEGMENT = "BENCH"
TARGET = 3.0
SIZES = {"lines": (10_000, 100_000), "repeat": (3, 5)}  # (quick, full)

BASE, LOGGED, CANCELLED, RUN = ("ilog_bench_segment_base", "ilog_bench_segment_logged",
                                "ilog_bench_segment_cancelled", "ilog_bench_segment_run")


@dataclass
class Prepared:
    """The databases the cases copy, and what the first (untimed) ``segment log`` wrote."""

    backend: Backend
    env: dict[str, str]
    lines: int
    logged_no: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)

    def fresh(self, source: str) -> str:
        return self.backend.copy(source, RUN)


def drop_all(backend: Backend) -> None:
    """Remove every database this benchmark makes."""
    for name in (BASE, LOGGED, CANCELLED, RUN):
        backend.drop(name)


def build_base(backend: Backend, env: dict[str, str], lines: int) -> str:
    """A database with ``lines`` contacts and an open segment holding them all; returns its URL."""
    url = backend.create(BASE)
    ilog(env, url, "init")
    with open_logbook(url) as lb:
        lb.templates.add("MAIL", description="Spring mailing", kind="email", flow="outbound", initiated_by="us",
                         correspondence="email", unit_cost=0.8)
        lb.templates.add("CALL", description="Follow-up call", kind="phone-call", flow="outbound",
                         initiated_by="us", unit_duration_min=5)
    now = backend.stamp(dt.datetime.now(dt.UTC).replace(tzinfo=None))
    companies = max(1, lines // 10)

    def contacts():
        for n in range(lines):
            if n < companies:
                yield (f"K{n:07d}", "company", f"Company {n}", None, None, f"SP{n % 7}", now, now)
            else:
                yield (f"K{n:07d}", "person", f"Person {n}", f"K{n % companies:07d}", f"p{n}@example.com", None,
                       now, now)

    with backend.raw(url) as conn:
        conn.execute(backend.begin_write())
        backend.insert_rows(conn, "contact", ["no", "type", "name", "company_no", "email", "salesperson_code",
                                              "created_at", "updated_at"], contacts())
        conn.execute("COMMIT")
    with open_logbook(url) as lb:
        lb.segments.create("Spring mailing 2026", no=SEGMENT, template_code="MAIL", salesperson_code="ANNA")
        lb.segments.add(SEGMENT, [f"K{n:07d}" for n in range(lines)])
    p, mod = backend.placeholder, "%" if backend.kind == "sqlite" else "%%"
    with backend.raw(url) as conn:  # personalise 1% of the lines
        conn.execute(f"UPDATE segment_line SET template_code = {p}, description = {p} "
                     f"WHERE segment_no = {p} AND line_no {mod} 100 = 0", ("CALL", "Call: no email address", SEGMENT))
    return url


def log_segment(url: str) -> tuple[float, Any]:
    """Seconds of ``lb.segments.log`` (after opening, before closing), and its result."""
    with open_logbook(url) as lb:
        gc.collect()
        start = time.perf_counter()
        result = lb.segments.log(SEGMENT)
        elapsed = time.perf_counter() - start
    assert result.entry_count > 0
    return elapsed, result


def prepare(backend: Backend, env: dict[str, str], lines: int) -> Prepared:
    """The open segment (BASE), the same once logged (LOGGED) and once its log cancelled (CANCELLED)."""
    prepared = Prepared(backend, env, lines)
    build_base(backend, env, lines)
    logged = backend.copy(BASE, LOGGED)
    _, result = log_segment(logged)  # gives the exact rows the floor inserts
    prepared.logged_no = result.logged_segment_no
    with backend.raw(logged) as conn:
        cursor = conn.execute("SELECT * FROM interaction ORDER BY entry_no")
        prepared.columns = [d[0] for d in cursor.description]
        prepared.rows = cursor.fetchall()
    assert len(prepared.rows) == lines, f"segment log wrote {len(prepared.rows)} of {lines} entries"
    cancelled = backend.copy(LOGGED, CANCELLED)
    ilog(env, cancelled, "segment", "cancel", prepared.logged_no, "--yes")
    return prepared


def measure_log(prepared: Prepared, repeat: int) -> dict[str, Any]:
    backend = prepared.backend
    columns, rows = prepared.columns, prepared.rows
    sql = (f"INSERT INTO interaction ({', '.join(columns)}) "
           f"VALUES ({', '.join([backend.placeholder] * len(columns))})")

    def case() -> float:
        return log_segment(prepared.fresh(BASE))[0]

    def floor() -> float:
        conn = backend.floor_connect(prepared.fresh(BASE))
        gc.collect()
        start = time.perf_counter()
        conn.execute(backend.begin_write())
        if backend.kind == "sqlite":
            conn.cursor().executemany(sql, rows)
        else:  # the fastest way in: one COPY (an executemany is a statement, and a trigger run, per row)
            backend.insert_rows(conn, "interaction", columns, rows)
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        conn.close()
        return elapsed

    pair = interleave(case, floor, repeat, warmup=0)
    way = "executemany" if backend.kind == "sqlite" else "COPY"
    target = {"at_most": TARGET}
    if backend.kind == "postgresql":
        target["under_s"] = 10.0  # point 3 of issue 20 (at 10M entries; the segment's own size decides)
    return ratio_row(f"segment log, {prepared.lines:,} lines", f"raw {backend.driver} {way} of the same rows",
                     pair, **target)


FLOOR_UPDATE = """
import sys, datetime
url, logged_no, restore = sys.argv[1], sys.argv[2], sys.argv[3] == "restore"
now = None if restore else datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
conn = connect(url)
conn.execute(BEGIN_WRITE)
conn.execute("UPDATE interaction SET cancelled = %s, cancelled_at = %s WHERE logged_segment_no = %s" % (P, P, P),
             (not restore, now, logged_no))
conn.execute("COMMIT")
conn.close()
"""


def measure_cancel(prepared: Prepared, repeat: int) -> list[dict[str, Any]]:
    backend, env = prepared.backend, prepared.env
    script = backend.workdir / "floor_segment_cancel.py"
    script.write_text(connect_source(backend) + FLOOR_UPDATE)
    rows = []
    for source, flags, action in ((LOGGED, [], "cancel"), (CANCELLED, ["--restore"], "restore")):

        def case(source=source, flags=flags) -> float:
            url = prepared.fresh(source)
            return timed_run([*ilog_command(), "--db", url, "segment", "cancel", prepared.logged_no, *flags,
                              "--yes"], env=env)

        def floor(source=source, action=action) -> float:
            url = prepared.fresh(source)
            return timed_run([sys.executable, str(script), url, prepared.logged_no, action], env=env)

        pair = interleave(case, floor, repeat, warmup=0)
        command = " ".join(["ilog segment cancel LSEG", *flags, "--yes"])
        rows.append(ratio_row(
            f"`{command}`, logged segment of {prepared.lines:,} entries",
            f"Python script: connect, one `UPDATE interaction SET cancelled = ... WHERE logged_segment_no = ?`, "
            f"commit ({backend.driver})", pair, at_most=TARGET))
    return rows


def run(quick: bool, lines: int | None = None, repeat: int | None = None, db: str | None = None,
        cases: tuple[str, ...] = ("log", "cancel")) -> list[dict]:
    """Measure on a fresh work directory (and ``db``'s server); returns the result rows."""
    lines = lines or SIZES["lines"][not quick]
    repeat = repeat or SIZES["repeat"][not quick]
    with tempfile.TemporaryDirectory(prefix="ilog-bench-segment-") as tmp:
        env = isolate(Path(tmp) / "home")
        backend = Backend(db, Path(tmp))
        try:
            prepared = prepare(backend, env, lines)
            rows = [measure_log(prepared, repeat)] if "log" in cases else []
            if "cancel" in cases:
                rows += measure_cancel(prepared, repeat)
        finally:
            drop_all(backend)
    return rows


def main(argv: list[str] | None = None) -> int:
    from common import fmt_s

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 lines, 3 repetitions")
    parser.add_argument("--lines", type=int, help="lines in the segment (default 100,000)")
    parser.add_argument("--repeat", type=int, help="repetitions of each case (default 5)")
    parser.add_argument("--db", help="a PostgreSQL server URL (default: SQLite files)")
    args = parser.parse_args(argv)
    for row in run(args.quick, args.lines, args.repeat, args.db):
        print(f"{row['case']}: median {fmt_s(row['median_s'])} ({fmt_s(row['min_s'])}–{fmt_s(row['max_s'])}); "
              f"floor {fmt_s(row['floor_median_s'])} ({fmt_s(row['floor_min_s'])}–{fmt_s(row['floor_max_s'])}); "
              f"ratio {row['ratio']:.2f}x (target {row['target_text']}); {row['note']}"
              + (f"; noisy: {', '.join(row['noise'])}" if row["noise"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
