"""Benchmark: ``segment log`` of a 100,000-line segment against raw sqlite3 ``executemany``.

Builds, in a temporary directory, an SQLite database with 100,000 contacts (10,000
companies and their persons) and an open segment holding all of them (1% of the lines
personalised). Each repetition then works on a fresh copy of that file:

- **ilog**: ``Logbook.segments.log(segment)``, everything the command does after start-up:
  read the lines, contacts and templates, build and check one draft per line, number
  the entries, insert them, record the logged segment and close the segment, commit;
- **floor**: a plain ``sqlite3`` connection with the same pragmas (WAL,
  ``synchronous=NORMAL``, foreign keys on) inserting *the same rows* (read back from
  the first ilog run, stored values byte for byte) with one ``executemany`` in one
  ``BEGIN IMMEDIATE`` transaction, then commit.

The two alternate (interleaved repetitions), and the median, min and max of each and
the ratio of the medians are printed. ``--quick`` uses 10,000 lines and 3 repetitions.

    python benchmarks/segment_log.py [--quick] [--lines N] [--repeat N]
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

SEGMENT = "BENCH"


def build_base(path: Path, lines: int) -> None:
    """An ilog database with ``lines`` contacts and an open segment holding them all."""
    import sqlalchemy as sa

    from ilog import dates, models
    from ilog.logbook import Logbook
    from ilog.plugins import make_plugin_host

    lb = Logbook(str(path), user="bench", plugins=make_plugin_host(entrypoints=False, plugins=()))
    lb.templates.add("MAIL", description="Spring mailing", kind="email", flow="outbound", initiated_by="us",
                     correspondence="email", unit_cost=0.8)
    lb.templates.add("CALL", description="Follow-up call", kind="phone-call", flow="outbound", initiated_by="us",
                     unit_duration_min=5)
    now = dates.now()
    companies = max(1, lines // 10)
    rows = []
    for n in range(lines):
        no = f"K{n:07d}"
        if n < companies:
            rows.append({"no": no, "type": "company", "name": f"Company {n}", "company_no": None, "email": None,
                         "salesperson_code": f"SP{n % 7}", "created_at": now, "updated_at": now})
        else:
            rows.append({"no": no, "type": "person", "name": f"Person {n}", "company_no": f"K{n % companies:07d}",
                         "email": f"p{n}@example.com", "salesperson_code": None, "created_at": now,
                         "updated_at": now})
    with lb.db.write() as conn:
        conn.execute(models.contact.insert(), rows)
    lb.segments.create("Spring mailing 2026", no=SEGMENT, template_code="MAIL", salesperson_code="ANNA")
    lb.segments.add(SEGMENT, [r["no"] for r in rows])
    with lb.db.write() as conn:  # personalise 1% of the lines
        line = models.segment_line
        conn.execute(sa.update(line).where(line.c.segment_no == SEGMENT, line.c.line_no % 100 == 0)
                     .values(template_code="CALL", description="Call: no email address"))
    lb.close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()


def time_ilog(path: Path) -> float:
    from ilog.logbook import Logbook
    from ilog.plugins import make_plugin_host

    lb = Logbook(str(path), user="bench", plugins=make_plugin_host(entrypoints=False, plugins=()))
    gc.collect()
    start = time.perf_counter()
    result = lb.segments.log(SEGMENT)
    elapsed = time.perf_counter() - start
    lb.close()
    assert result.entry_count > 0
    return elapsed


def stored_rows(path: Path) -> tuple[list[str], list[tuple]]:
    conn = sqlite3.connect(path)
    cursor = conn.execute("SELECT * FROM interaction ORDER BY entry_no")
    columns = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    conn.close()
    return columns, rows


def time_raw(path: Path, columns: list[str], rows: list[tuple]) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    sql = f"INSERT INTO interaction ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    gc.collect()
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(sql, rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def run(quick: bool, lines: int | None = None, repeat: int | None = None) -> list[dict]:
    """Measure; returns one row: case, floor, median_s, min_s, max_s, floor_median_s, ratio."""
    lines = lines or (10_000 if quick else 100_000)
    repeat = repeat or (3 if quick else 5)
    with tempfile.TemporaryDirectory(prefix="ilog-bench-segment-") as tmp:
        tmpdir = Path(tmp)
        base = tmpdir / "base.db"
        build_base(base, lines)

        def fresh(name: str) -> Path:
            target = tmpdir / f"{name}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(str(target) + suffix).unlink(missing_ok=True)
            shutil.copyfile(base, target)
            return target

        warm = fresh("warm")  # a first, untimed run gives the exact rows the floor inserts
        time_ilog(warm)
        columns, rows = stored_rows(warm)
        ilog_times: list[float] = []
        raw_times: list[float] = []
        for index in range(repeat):
            order = (("raw", "ilog") if index % 2 == 0 else ("ilog", "raw"))
            for case in order:
                target = fresh(case)
                if case == "ilog":
                    ilog_times.append(time_ilog(target))
                else:
                    raw_times.append(time_raw(target, columns, rows))
    median = statistics.median(ilog_times)
    floor = statistics.median(raw_times)
    return [{
        "case": f"segment log, {lines:,} lines",
        "floor": "raw sqlite3 executemany of the same rows",
        "median_s": round(median, 4),
        "min_s": round(min(ilog_times), 4),
        "max_s": round(max(ilog_times), 4),
        "floor_median_s": round(floor, 4),
        "floor_min_s": round(min(raw_times), 4),
        "floor_max_s": round(max(raw_times), 4),
        "ratio": round(median / floor, 2),
        "target": 4.0,
    }]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 lines, 3 repetitions")
    parser.add_argument("--lines", type=int, help="lines in the segment (default 100,000)")
    parser.add_argument("--repeat", type=int, help="repetitions of each case (default 5)")
    args = parser.parse_args(argv)
    for row in run(args.quick, args.lines, args.repeat):
        print(f"{row['case']}: median {row['median_s']:.3f} s (min {row['min_s']:.3f}, max {row['max_s']:.3f})")
        print(f"{row['floor']}: median {row['floor_median_s']:.3f} s "
              f"(min {row['floor_min_s']:.3f}, max {row['floor_max_s']:.3f})")
        print(f"ratio {row['ratio']:.2f}x (target at most {row['target']:.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
