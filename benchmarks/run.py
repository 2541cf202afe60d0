"""ilog's benchmark suite: every case side by side with its floor, in one run.

    python benchmarks/run.py [--quick] [--db URL] [--size 1m|10m|50k] [--only NAME,...]
                             [--out FILE] [--force-verdict]

Cases (floor in brackets) and targets:

- ``ilog --help`` [``python -c pass``]: at most 7x;
- one-shot ``ilog event`` / ``ilog interact`` on an existing database [a Python script that
  opens the same database with the same pragmas, inserts one row, commits]: at most 20x;
- one-shot ``ilog event`` with ``delivery = "spool"`` (the quick print path: the event only
  reaches this host's spool) [the same script, with ``sqlite3`` on an SQLite file, on
  every backend: the spool is always a local SQLite file]: at most 3x;
- ``ilog event --input FILE`` with 10,000 events [raw driver inserting the same rows,
  one commit per 500]: at most 4x;
- ``segment log`` of 100,000 lines [raw ``executemany`` of the same rows]: at most 3x;
- ``segment cancel LSEG --yes`` and ``segment cancel LSEG --restore --yes`` of a
  100,000-entry logged segment [one raw ``UPDATE interaction SET cancelled = ... WHERE
  logged_segment_no = ?``]: at most 3x each (both in ``segment_log.py``);
- ``log CONTACT --limit 50`` and ``log COMPANY --rollup --limit 50`` on 1,000,000 entries
  [the same SQL through the driver]: at most 2x;
- ``stats --by month`` on 1,000,000 entries: under 300 ms (absolute; the same SQL through
  the driver is shown beside it), in UTC, in a zone whose offset is not whole hours
  (Asia/Kathmandu, +5:45) and by day over a range that cuts quarters (America/New_York);
- ``purge-cancelled`` of 100,000 cancelled among 1,000,000 while another process inserts
  a row every 10 ms: the writer's longest stall under 100 ms *and* the purge done in under
  5 s (writer and purge on different CPUs);
- contact import of 1,000,000 CSV rows: at least 60,000 rows/s *and* peak RSS under
  200 MB (``contact_import.py``).

From 10,000,000 entries on PostgreSQL (``--db URL --size 10m``) the history rows must be within
1.5x of psycopg *and* under 10 ms, ``stats`` under 1 s, and the purge takes every cancelled
entry (1,000,000) in under 60 s with the same stall bound. Every history row records the plan
of each statement it ran (``EXPLAIN QUERY PLAN`` / ``EXPLAIN (ANALYZE, BUFFERS)``), printed
under "Query plans" after the table.

Trust: the load average (1, 5, 15 min) and CPU count are recorded before and after the
run and shown in the header. Each case and its floor run pinned to one CPU (the idlest
one; ``os.sched_setaffinity``, inherited by child processes), strictly alternating case,
floor, case, floor. A row gets a verdict only if the load average was at most 1.0 at the
start and its floor's min–max spread is at most 50% of its median; otherwise it says
``noisy, rerun`` and the summary says the run is not publishable (``--force-verdict``
shows the verdict anyway, marked noisy, for debugging). Exit status: 0 all passed on a
quiet machine, 1 a case failed or broke, 2 not publishable.

``--quick`` shrinks every size so that the whole run takes a few minutes. ``--db URL``
(a PostgreSQL server URL) runs the same cases there, in scratch databases it creates
(``ilog_bench_*``), with psycopg floors. ``--size`` is the number of entries of the
history database (``50k``, ``1m``, ``10m``; default 1m, 100k with ``--quick``); it is
generated once into the schema ``ilog init`` creates (raw ``executemany`` on SQLite,
``COPY`` on PostgreSQL) and cached: as ``benchmarks/.cache/ilog_bench_history_<size>_*.db``
(SQLite) or as the database ``ilog_bench_history_<size>`` on the server, rebuilt when
ilog's schema changes. The table goes to stdout and to ``--out`` (default
``benchmarks/results.md``).

ilog is driven through its command line, its public API (``ilog.open``) and raw SQL on
the database; ``common.log_filter`` is the one place that still imports an ilog module.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import hashlib
import json
import pickle
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contact_import  # noqa: E402
import segment_log  # noqa: E402
from common import (  # noqa: E402
    CACHE,
    MAX_FLOOR_SPREAD,
    MAX_LOAD,
    ROOT,
    SQLITE_CONNECT,
    Backend,
    Machine,
    can_pin,
    connect_source,
    fmt_s,
    idlest_cpu,
    ilog,
    ilog_command,
    interleave,
    isolate,
    log_filter,
    open_logbook,
    parse_size,
    pin_child,
    pinned,
    ratio_row,
    size_label,
    timed_run,
    usable_cpus,
    value_row,
    verdict,
)

SIZES = {
    # name: (quick, full)
    "oneshot_repeat": (7, 21),
    "batch_events": (2_000, 10_000),
    "batch_repeat": (3, 5),
    "segment_lines": (10_000, 100_000),
    "segment_repeat": (3, 5),
    "history_entries": (100_000, 1_000_000),
    "history_repeat": (15, 31),
    "purge_cancelled": (10_000, 100_000),
}

#: bump when _history_rows changes what it generates: cached history databases are rebuilt
HISTORY_GENERATOR = 2


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path):
        self.quick = args.quick
        self.backend = Backend(args.db, workdir)
        self.workdir = workdir
        self.env = isolate(workdir / "home")
        self.history_entries = args.size or self.size("history_entries")
        self.rows: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self._segment: segment_log.Prepared | None = None

    def size(self, name: str) -> int:
        quick, full = SIZES[name]
        return quick if self.quick else full

    def script(self, name: str, body: str) -> Path:
        path = self.workdir / f"{name}.py"
        path.write_text(connect_source(self.backend) + body)
        return path

    def cleanup(self) -> None:
        segment_log.drop_all(self.backend)
        for name in ("ilog_bench_oneshot", "ilog_bench_batch_base", "ilog_bench_batch", "ilog_bench_purge",
                     "ilog_bench_purge_raw", "ilog_bench_import"):
            self.backend.drop(name)

    # -- start-up ------------------------------------------------------------------------

    def case_help(self) -> None:
        pair = interleave(lambda: timed_run([*ilog_command(), "--help"], env=self.env),
                          lambda: timed_run([sys.executable, "-c", "pass"], env=self.env),
                          self.size("oneshot_repeat"))
        self.rows.append(ratio_row("`ilog --help`", "`python -c pass`", pair, at_most=7))

    def _oneshot_base(self, persons: int = 0) -> str:
        """A database with a company, ``persons`` persons, templates INVOICE and CALL, sales.invoice mapped."""
        url = self.backend.create("ilog_bench_oneshot")
        ilog(self.env, url, "init")
        with open_logbook(url) as lb:
            lb.contacts.add("Rossi SpA", no="C1", type="company")
            for i in range(persons):
                lb.contacts.add(f"Person {i}", no=f"P{i}", company_no="C1")
            lb.templates.add("INVOICE", description="Sales invoice", kind="letter", flow="outbound",
                             correspondence="hard-copy")
            lb.templates.add("CALL", description="Phone call", kind="phone-call")
        ilog(self.env, url, "template", "setup", "sales.invoice", "INVOICE")
        return url

    def _oneshot_floor(self, name: str, connect_source_text: str) -> Path:
        """A script inserting one interaction row into an ilog database and committing: the floor
        of a one-shot command."""
        path = self.workdir / f"{name}.py"
        path.write_text(connect_source_text + """
import sys, datetime
url, entry_no = sys.argv[1], int(sys.argv[2])
now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
conn = connect(url)
conn.execute(BEGIN_WRITE)
conn.execute("INSERT INTO interaction (entry_no, contact_no, company_no, occurred_at, subject, template_code, kind,"
             " flow, initiated_by, attempt_failed, cost, duration_min, user_id, evaluation, cancelled, postponed,"
             " state, correspondence, source, document_type, document_no, occurrence, created_at) VALUES"
             " (" + ", ".join([P] * 23) + ")",
             (entry_no, "C1", "C1", now, "Sales invoice", "INVOICE", "letter", "outbound", "none", False, 0.0, 0.0,
              "bench", "none", False, False, "done", "hard-copy", "event", "sales.invoice", "F%d" % entry_no, 1, now))
conn.execute("COMMIT")
conn.close()
""")
        return path

    def case_oneshot(self) -> None:
        url = self._oneshot_base()
        floor_script = self._oneshot_floor("floor_oneshot", connect_source(self.backend))
        counter = iter(range(10**9, 2 * 10**9))

        def floor() -> float:
            return timed_run([sys.executable, str(floor_script), url, str(next(counter))], env=self.env)

        def event() -> float:
            n = next(counter)
            return timed_run([*ilog_command(), "--db", url, "event", "sales.invoice", "--document-no", f"INV-{n}",
                              "--contact", "C1", "--key", f"print-{n}", "-q"], env=self.env)

        def interact() -> float:
            return timed_run([*ilog_command(), "--db", url, "interact", "C1", "-t", "CALL", "-q"], env=self.env)

        floor_label = (f"Python script: open, same pragmas, insert one row, commit ({self.backend.driver})")
        repeat = self.size("oneshot_repeat")
        self.rows.append(ratio_row("one-shot `ilog event sales.invoice --document-no N --contact C1 --key K`",
                                   floor_label, interleave(event, floor, repeat), at_most=20))
        self.rows.append(ratio_row("one-shot `ilog interact C1 -t CALL`", floor_label,
                                   interleave(interact, floor, repeat), at_most=20))

    def case_spool(self) -> None:
        """The quick print path: ``ilog event`` in spool mode writes this host's SQLite spool,
        whatever the backend; the floor is the raw ``sqlite3`` one-shot insert of case_oneshot."""
        url = self._oneshot_base()
        floor_db = self.workdir / "floor_spool.db"
        ilog(self.env, str(floor_db), "init")
        ilog(self.env, str(floor_db), "contact", "add", "Rossi SpA", "--no", "C1", "--type", "company")
        ilog(self.env, str(floor_db), "template", "add", "INVOICE", "--kind", "letter")
        floor_script = self._oneshot_floor("floor_spool", SQLITE_CONNECT)
        # a home of its own: the events it spools must not wait for the other cases' events to deliver them
        home = self.workdir / "spool-home"
        home.mkdir()
        env = {**self.env, "ILOG_DELIVERY": "spool", "ILOG_HOME": str(home)}
        counter = iter(range(10**9, 2 * 10**9))

        def floor() -> float:
            return timed_run([sys.executable, str(floor_script), str(floor_db), str(next(counter))], env=self.env)

        def event() -> float:
            n = next(counter)
            return timed_run([*ilog_command(), "--db", url, "event", "sales.invoice", "--document-no", f"INV-{n}",
                              "--contact", "C1", "--key", f"print-{n}", "-q"], env=env)

        self.rows.append(ratio_row("one-shot `ilog event ... --key K` with `ILOG_DELIVERY=spool` (to the spool)",
                                   "Python script: open, same pragmas, insert one row, commit (sqlite3)",
                                   interleave(event, floor, self.size("oneshot_repeat")), at_most=3))

    # -- batch mode ----------------------------------------------------------------------

    def case_batch(self) -> None:
        b = self.backend
        contacts = 100
        self._oneshot_base(persons=contacts)
        n = self.size("batch_events")
        events = self.workdir / "events.jsonl"
        with events.open("w") as f:
            for i in range(n):
                f.write(json.dumps({"event": "sales.invoice", "document_no": f"INV-{i // 2}",  # half reprints
                                    "contact": f"P{i % contacts}", "key": f"print-{i}"}) + "\n")
        base = "ilog_bench_batch_base"
        b.copy("ilog_bench_oneshot", base)

        # the first run gives the exact rows the floor inserts
        warm = b.copy(base, "ilog_bench_batch")
        timed_run([*ilog_command(), "--db", warm, "event", "--input", str(events), "-q"], env=self.env)
        dump = self.workdir / "batch_rows.pickle"
        tables = {}
        with b.raw(warm) as conn:
            for table, order in (("interaction", "entry_no"), ("idempotency_key", "key"),
                                 ("document_occurrence", "document_type, document_no")):
                cur = conn.execute(f"SELECT * FROM {table} ORDER BY {order}")
                tables[table] = ([d[0] for d in cur.description], cur.fetchall())
        dump.write_bytes(pickle.dumps(tables))
        assert len(tables["interaction"][1]) == n, f"batch recorded {len(tables['interaction'][1])} of {n}"
        floor_script = self.script("floor_batch", """
import sys, pickle
url, dump = sys.argv[1], sys.argv[2]
tables = pickle.loads(open(dump, "rb").read())
conn = connect(url)
sql = {t: "INSERT INTO %s (%s) VALUES (%s)" % (t, ", ".join(cols), ", ".join([P] * len(cols)))
       for t, (cols, rows) in tables.items()}
n = len(tables["interaction"][1])
for start in range(0, n, 500):
    conn.execute(BEGIN_WRITE)
    cur = conn.cursor()
    for t, (cols, rows) in tables.items():
        if t == "document_occurrence":
            continue
        cur.executemany(sql[t], rows[start:start + 500])
    conn.execute("COMMIT")
conn.execute(BEGIN_WRITE)
conn.cursor().executemany(sql["document_occurrence"], tables["document_occurrence"][1])
conn.execute("COMMIT")
conn.close()
""")

        def case() -> float:
            url = b.copy(base, "ilog_bench_batch")
            return timed_run([*ilog_command(), "--db", url, "event", "--input", str(events), "-q"], env=self.env)

        def floor() -> float:
            url = b.copy(base, "ilog_bench_batch")
            return timed_run([sys.executable, str(floor_script), url, str(dump)], env=self.env)

        pair = interleave(case, floor, self.size("batch_repeat"), warmup=0)
        self.rows.append(ratio_row(
            f"batch `ilog event --input FILE`, {n:,} events (half of them reprints)",
            f"{b.driver} inserting the same rows (entries, keys, occurrences), one commit per 500",
            pair, at_most=4))

    # -- segments (segment_log.py) ---------------------------------------------------------

    def segment(self) -> segment_log.Prepared:
        """The segment databases, built once for both segment cases."""
        if self._segment is None:
            self._segment = segment_log.prepare(self.backend, self.env, self.size("segment_lines"))
        return self._segment

    def case_segment(self) -> None:
        self.rows.append(segment_log.measure_log(self.segment(), self.size("segment_repeat")))

    def case_cancel(self) -> None:
        self.rows.extend(segment_log.measure_cancel(self.segment(), self.size("segment_repeat")))

    # -- the 1,000,000-entry database ----------------------------------------------------

    def history_db(self) -> tuple[str, dict[str, Any]]:
        """The big database (cached), as a name of the backend; and facts about it."""
        b = self.backend
        n = self.history_entries
        version = f"{self._schema_fingerprint()}-g{HISTORY_GENERATOR}"
        if b.kind == "sqlite":
            stem = CACHE / f"ilog_bench_history_{size_label(n)}_{version}"
            cached, facts_path = stem.with_suffix(".db"), stem.with_suffix(".json")
            if not (cached.exists() and facts_path.exists()):
                print(f"   building the {n:,}-entry history database (cached in {CACHE})", file=sys.stderr)
                CACHE.mkdir(parents=True, exist_ok=True)
                url = b.create("history_build")
                facts = self._build_history(url, n)
                with sqlite3.connect(url) as conn:
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                shutil.move(url, cached)
                facts_path.write_text(json.dumps(facts))
            b.copy_file(cached, "ilog_bench_history")
            return "ilog_bench_history", json.loads(facts_path.read_text())
        name = f"ilog_bench_history_{size_label(n)}"
        facts = self._pg_cached_facts(name, version)
        if facts is None:
            print(f"   building the {n:,}-entry history database {name}", file=sys.stderr)
            facts = self._build_history(b.create(name), n)
            self._pg_set_comment(name, {"version": version, "facts": facts})
        return name, facts

    def _pg_cached_facts(self, name: str, version: str) -> dict[str, Any] | None:
        """The facts stored (as the database's comment) with a complete cached database of this schema."""
        with self.backend.raw(self.backend.url) as conn:
            row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                               (name,)).fetchone()
        with contextlib.suppress(TypeError, ValueError):
            stored = json.loads(row[0])
            if stored["version"] == version:
                return stored["facts"]
        return None

    def _pg_set_comment(self, name: str, value: dict[str, Any]) -> None:
        from psycopg import sql

        with self.backend.raw(self.backend.url) as conn:
            conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name),
                                                                        sql.Literal(json.dumps(value))))

    def _schema_fingerprint(self) -> str:
        """A short hash of the schema ``ilog init`` creates (a cached database must match it)."""
        url = str(self.workdir / "fingerprint.db")
        Path(url).unlink(missing_ok=True)
        ilog(self.env, url, "init")
        with sqlite3.connect(url) as conn:
            ddl = sorted(r[0] or "" for r in conn.execute("SELECT sql FROM sqlite_master"))
        return hashlib.sha256("\n".join(ddl).encode()).hexdigest()[:10]

    def _build_history(self, url: str, n: int) -> dict[str, Any]:
        """``ilog init``, 3 templates through the API, then contacts (10% companies) and n entries
        over 3 years as raw rows (columns checked against the database)."""
        b = self.backend
        ilog(self.env, url, "init")
        templates = [("CALL", "Phone call", "phone-call", "outbound", "us", 1.5, 10.0),
                     ("MAIL", "Mailing", "email", "outbound", "us", 0.2, 0.0),
                     ("INVOICE", "Sales invoice", "letter", "outbound", "us", 0.0, 0.0)]
        with open_logbook(url) as lb:
            for code, description, kind, flow, initiated, cost, duration in templates:
                lb.templates.add(code, description=description, kind=kind, flow=flow, initiated_by=initiated,
                                 unit_cost=cost, unit_duration_min=duration)
        now = dt.datetime(2026, 6, 30, 12, 0, 0)
        contacts = max(100, n // 100)
        companies = contacts // 10
        contact_rows = [(f"K{i:07d}", "company" if i < companies else "person", f"Contact {i}",
                         None if i < companies else f"K{i % companies:07d}", b.stamp(now), b.stamp(now))
                        for i in range(contacts)]
        cancelled_every = 10
        with b.raw(url) as conn:
            if b.kind == "sqlite":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(b.begin_write())
            b.insert_rows(conn, "contact", ["no", "type", "name", "company_no", "created_at", "updated_at"],
                          contact_rows)
            # PostgreSQL: the log's indexes are made again after the load, each by one sort,
            # instead of kept up to date row by row (an hour at 10M on a small server)
            indexes = conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND "
                "tablename = 'interaction' AND indexname <> 'pk_interaction'").fetchall() \
                if b.kind == "postgresql" else []
            for index_name, _ in indexes:
                conn.execute(f'DROP INDEX "{index_name}"')
            b.insert_rows(conn, "interaction", HISTORY_COLUMNS,
                          self._history_rows(n, contact_rows, templates, now, cancelled_every))
            if indexes:
                conn.execute("SET maintenance_work_mem = '256MB'")
            for _, definition in indexes:
                conn.execute(definition)
            conn.execute(f"UPDATE number_series SET last_no = {b.placeholder} WHERE code = 'entry'", (n,))
            conn.execute("COMMIT")
            if b.kind == "postgresql":
                conn.execute("VACUUM ANALYZE")  # what autovacuum would have done by now
        # every contact has about 100 entries: the first person's history fills --limit 50
        return {"entries": n, "contacts": contacts, "person": contact_rows[companies][0],
                "company": contact_rows[0][0], "cancelled": n // cancelled_every, "newest": now.isoformat()}

    def _history_rows(self, n: int, contact_rows: list[tuple], templates: list[tuple], now: dt.datetime,
                      cancelled_every: int) -> Iterator[tuple]:
        """The entries, one tuple per row in :data:`HISTORY_COLUMNS` order, generated as they are written."""
        b = self.backend
        rng = random.Random(8)
        span = 3 * 365 * 24 * 3600
        true, false, created = b.boolean(True), b.boolean(False), b.stamp(now)
        for entry_no in range(1, n + 1):
            no, _, _, company_no, _, _ = contact_rows[rng.randrange(len(contact_rows))]
            code, subject, kind, flow, initiated, cost, duration = templates[entry_no % 3]
            at = b.stamp(now - dt.timedelta(seconds=rng.randrange(span)))
            cancelled = entry_no % cancelled_every == 0
            yield (entry_no, no, company_no or no, at, subject, code, kind, flow, initiated, false, cost, duration,
                   f"user{entry_no % 20}", "none", true if cancelled else false, at if cancelled else None, false,
                   "done", "none", "manual", created)

    def history_targets(self, n: int) -> dict[str, dict[str, float]]:
        """The targets of the history rows: point 2 of issue 20 up to 1M entries, point 3 (PostgreSQL
        at 10M) above."""
        if self.backend.kind == "postgresql" and n >= 10_000_000:
            return {"history": {"at_most": 1.5, "under_s": 0.010}, "stats": {"under_s": 1.0}}
        return {"history": {"at_most": 2}, "stats": {"under_s": 0.300}}

    def case_history(self) -> None:
        name, facts = self.history_db()
        url = self.backend.url_for(name)
        n = facts["entries"]
        target = self.history_targets(n)
        cases: list[tuple[str, Callable[[Any], list], dict[str, float], str | None]] = [
            (f"`ilog log {facts['person']} --limit 50` ({n:,} entries)",
             lambda lb: lb.find(log_filter(contact_no=facts["person"], limit=50)), target["history"], None),
            (f"`ilog log {facts['company']} --rollup --limit 50` ({n:,} entries)",
             lambda lb: lb.find(log_filter(contact_no=facts["company"], rollup=True, limit=50)), target["history"],
             None),
            (f"`ilog stats --by month` ({n:,} entries, zone UTC)", lambda lb: lb.stats("month"), target["stats"],
             "UTC"),
            # a zone whose offset is not whole hours, and a period that cuts quarters: the edges
            # come from the log itself
            (f"`ilog stats --by month` ({n:,} entries, zone Asia/Kathmandu, +5:45)", lambda lb: lb.stats("month"),
             target["stats"], "Asia/Kathmandu"),
            (f"`ilog stats --by day --from 2025-01-01T09:10 --to 2025-12-31T17:20` ({n:,} entries, "
             f"zone America/New_York)",
             lambda lb: lb.stats("day", date_from="2025-01-01T09:10", date_to="2025-12-31T17:20"), target["stats"],
             "America/New_York"),
        ]
        for label, call, goal, zone in cases:
            with zone_of_user(zone):
                self.rows.append(self._history_row(url, label, call, goal))

    def _history_row(self, url: str, label: str, call: Callable[[Any], list],
                     target: dict[str, float]) -> dict[str, Any]:
        """One query of the service beside the SQL it ran, sent straight through the driver."""
        with open_logbook(url) as lb, captured_sql() as statements:
            first = time.perf_counter()
            expected = len(call(lb))
            first = time.perf_counter() - first
        if not statements:
            raise RuntimeError("no SQL statement on the interaction table was seen: nothing to compare with")
        # a few seconds of repetitions per case: a full-table statistic gets fewer
        repeat = max(5, min(self.size("history_repeat"), int(15 / max(first, 1e-3))))
        plans, explained = self._plans(url, statements)

        # the service once its statements are compiled (compiling is the per-process part,
        # reported in the note), on the connection its logbook's pool keeps; the floor keeps
        # one connection open too (connecting is a PostgreSQL backend's start: milliseconds)
        with open_logbook(url) as warm, contextlib.closing(self.backend.floor_connect(url)) as conn:
            call(warm)

            def case() -> float:
                gc.collect()
                start = time.perf_counter()
                rows = call(warm)
                elapsed = time.perf_counter() - start
                assert len(rows) == expected
                return elapsed

            def floor() -> float:
                gc.collect()
                start = time.perf_counter()
                for statement, parameters in statements:
                    conn.execute(statement, parameters).fetchall()
                return time.perf_counter() - start

            pair = interleave(case, floor, repeat)
        row = ratio_row(label, f"the same SQL through {self.backend.driver} on an open connection (query, fetch)",
                        pair,
                        note="; ".join([*plans, f"first call in a fresh process {fmt_s(first)}"]), **target)
        row["plans"] = explained
        return row

    def _plans(self, url: str, statements: list[tuple[str, Any]]) -> tuple[list[str], list[tuple[str, list[str]]]]:
        """Which index each query uses, and each query's whole plan (EXPLAIN QUERY PLAN on
        SQLite, EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL), to show the queries are sub-linear."""
        notes, explained = [], []
        conn = self.backend.floor_connect(url)
        try:
            for statement, parameters in statements:
                if self.backend.kind == "sqlite":
                    plan = [r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + statement, parameters)]
                else:
                    plan = [r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)]
                notes.append(plan_summary(plan, self.backend.kind))
                explained.append((" ".join(statement.split()), plan))
        finally:
            conn.close()
        return notes, explained

    # -- purge while a writer writes ------------------------------------------------------

    def case_purge(self) -> None:
        b = self.backend
        name, facts = self.history_db()
        target = b.copy(name, "ilog_bench_purge")
        # point 3 of issue 20: at 10M entries every cancelled entry (1,000,000) goes, within 60 s
        large = facts["entries"] >= 10_000_000
        wanted = facts["cancelled"] if large else min(self.size("purge_cancelled"), facts["cancelled"])
        within_s = 60.0 if large else 5.0
        before = self._purge_cut(target, wanted)
        writer = self.script("purge_writer", PURGE_WRITER)
        # writer and purge on different CPUs where there are two: the stall measured is the
        # lock's, not the scheduler's
        purge_cpu = idlest_cpu()
        others = [c for c in usable_cpus() if c != purge_cpu]
        writer_cpu = others[0] if others and purge_cpu is not None else None
        purge_cpu = purge_cpu if writer_cpu is not None else None
        stop, go, ready = (self.workdir / f"{word}-writer" for word in ("stop", "go", "ready"))
        for flag in (stop, go, ready):
            flag.unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, str(writer), target, str(stop), facts["company"], str(go), str(ready)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env, text=True,
                                preexec_fn=pin_child(writer_cpu))
        time.sleep(2.0)  # the writer alone first, without checkpoints: its stalls on this machine
        alone_until = time.time()
        go.touch()
        while not ready.exists():  # it wrote the WAL back and commits as ilog's connections do
            if proc.poll() is not None:
                raise RuntimeError(f"the writer stopped: {proc.stderr.read()[-500:] if proc.stderr else ''}")
            time.sleep(0.01)
        started = time.time()
        purge = subprocess.run([*ilog_command(), "--db", target, "purge-cancelled", "--before", before, "--yes"],
                               env=self.env, capture_output=True, text=True, preexec_fn=pin_child(purge_cpu))
        ended = time.time()
        time.sleep(0.5)
        stop.touch()
        out, err = proc.communicate(timeout=60)
        if purge.returncode != 0 or proc.returncode != 0:
            raise RuntimeError(f"purge exited {purge.returncode}: {purge.stderr.strip()} / writer: {err[-500:]}")
        samples = json.loads(out)
        during = sorted(s for t, s, _ in samples if started <= t <= ended)
        waits = sorted(w for t, _, w in samples if started <= t <= ended)
        alone = sorted(s for t, s, _ in samples if t < alone_until)
        purge_s = ended - started
        with b.raw(target) as conn:
            left = conn.execute(f"SELECT count(*) FROM interaction WHERE cancelled = {b.placeholder}",
                                (b.boolean(True),)).fetchone()[0]
        purged = facts["cancelled"] - left
        if purged != wanted:
            raise RuntimeError(f"purge-cancelled deleted {purged:,} entries, {wanted:,} expected")
        b.drop("ilog_bench_purge")
        one_pass = self._raw_purge(name, before, wanted)
        longest = during[-1] if during else float("nan")
        p99 = during[max(0, int(len(during) * 0.99) - 1)] if during else float("nan")
        alone_longest = alone[-1] if alone else float("nan")
        pinning = (f"writer on CPU {writer_cpu}, purge on CPU {purge_cpu}" if writer_cpu is not None
                   else "not pinned")
        self.rows.append(value_row(
            f"`ilog purge-cancelled` of {purged:,} cancelled among {facts['entries']:,}, "
            f"another process inserting a row every 10 ms",
            f"the same writer alone (nothing written back): longest stall {fmt_s(alone_longest)}; one raw DELETE of "
            f"the same entries in one transaction, no writer: {fmt_s(one_pass)}",
            f"longest writer stall {fmt_s(longest)} (p99 {fmt_s(p99)}; longest wait for the lock "
            f"{fmt_s(waits[-1]) if waits else '?'}; {len(during)} inserts during the purge); "
            f"purge took {fmt_s(purge_s)}",
            f"stall < 100 ms and purge < {within_s:g} s", longest < 0.100 and purge_s < within_s,
            noise=[f"the writer alone stalled {fmt_s(alone_longest)} (not under the 100 ms target)"]
            if not alone_longest < 0.100 else [], note=pinning))

    def _raw_purge(self, name: str, before: str, wanted: int) -> float:
        """Seconds one raw ``DELETE`` of the same cancelled entries takes in one transaction on
        a fresh copy, with nobody else writing: what the disk and the log's indexes cost here
        (the purge does the same work in short transactions, and cascades comments)."""
        b = self.backend
        p = b.placeholder
        url = b.copy(name, "ilog_bench_purge_raw")
        try:
            with b.raw(url) as conn:
                started = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE" if b.kind == "sqlite" else "BEGIN")
                deleted = conn.execute(f"DELETE FROM interaction WHERE cancelled = {p} AND occurred_at < {p}",
                                       (b.boolean(True), before.replace("T", " "))).rowcount
                conn.execute("COMMIT")
                seconds = time.perf_counter() - started
        finally:
            b.drop("ilog_bench_purge_raw")
        if deleted != wanted:
            raise RuntimeError(f"the raw DELETE deleted {deleted:,} entries, {wanted:,} expected")
        return seconds

    def _purge_cut(self, url: str, wanted: int) -> str:
        """The ``--before`` date that takes exactly ``wanted`` cancelled entries, the oldest first."""
        b = self.backend
        p = b.placeholder
        with b.raw(url) as conn:
            cut = conn.execute(f"SELECT occurred_at FROM interaction WHERE cancelled = {p} ORDER BY occurred_at "
                               f"LIMIT 1 OFFSET {p}", (b.boolean(True), wanted - 1)).fetchone()[0]
        return (dt.datetime.fromisoformat(str(cut)) + dt.timedelta(microseconds=1)).isoformat()

    # -- contact import (contact_import.py) -----------------------------------------------

    def case_import(self) -> None:
        db = self.backend.create("ilog_bench_import") if self.backend.kind == "postgresql" else None
        with pinned(idlest_cpu()) as cpu:
            rows = contact_import.run(self.quick, db=db)
        for row in rows:
            self.rows.append(value_row(
                row["case"], "(none: throughput and memory)",
                f"{row['rows_per_s']:,.0f} rows/s, peak RSS {row['peak_rss_mb']:.0f} MB",
                f"≥ {row['target_rows_per_s']:,.0f} rows/s and peak RSS < {row['target_mb']:g} MB", row["ok"],
                note=f"CPU {cpu}" if cpu is not None else "not pinned"))


PURGE_WRITER = """
import sys, time, json, datetime
url, stop_file, contact, go_file, ready_file = sys.argv[1:6]
conn = connect(url)
# alone, nothing is written back into the file (the WAL's 1,000 pages fill in about 60 inserts,
# and that write-back costs this machine's disk some 200 ms, every time): what stalls then is
# the machine; once told the purge starts, it writes back what is there and commits as ilog does
checkpoints(conn, False)
purging = False
stalls = []
entry_no = 2_000_000_000
import os
while not os.path.exists(stop_file):
    if not purging and os.path.exists(go_file):
        checkpoints(conn, True)
        open(ready_file, "w").close()
        purging = True
    entry_no += 1
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    start = time.perf_counter()
    conn.execute(BEGIN_WRITE)
    locked = time.perf_counter() - start
    conn.execute("INSERT INTO interaction (entry_no, contact_no, company_no, occurred_at, kind, flow, initiated_by,"
                 " attempt_failed, cost, duration_min, evaluation, cancelled, postponed, state, correspondence,"
                 " source, created_at) VALUES (" + ", ".join([P] * 17) + ")",
                 (entry_no, contact, contact, now, "note", "none", "none", False, 0.0, 0.0, "none", False, False,
                  "done", "none", "manual", now))
    conn.execute("COMMIT")
    stalls.append((time.time(), time.perf_counter() - start, locked))
    time.sleep(max(0.0, 0.010 - (time.perf_counter() - start)))
conn.close()
print(json.dumps(stalls))
"""

HISTORY_COLUMNS = ["entry_no", "contact_no", "company_no", "occurred_at", "subject", "template_code", "kind", "flow",
                   "initiated_by", "attempt_failed", "cost", "duration_min", "user_id", "evaluation", "cancelled",
                   "cancelled_at", "postponed", "state", "correspondence", "source", "created_at"]


@contextlib.contextmanager
def zone_of_user(zone: str | None) -> Iterator[None]:
    """``ILOG_TIMEZONE`` set to ``zone`` meanwhile (None: left as it is)."""
    import os

    if zone is None:
        yield
        return
    old = os.environ.get("ILOG_TIMEZONE")
    os.environ["ILOG_TIMEZONE"] = zone
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("ILOG_TIMEZONE", None)
        else:
            os.environ["ILOG_TIMEZONE"] = old


@contextlib.contextmanager
def captured_sql() -> Iterator[list[tuple[str, Any]]]:
    """The reads of the interaction table sent by any SQLAlchemy engine meanwhile (statement, parameters)."""
    import sqlalchemy as sa
    from sqlalchemy.engine import Engine

    captured: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "interaction" in statement and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            captured.append((statement, parameters))

    sa.event.listen(Engine, "before_cursor_execute", capture)
    try:
        yield captured
    finally:
        sa.event.remove(Engine, "before_cursor_execute", capture)


CASES = {
    "help": Bench.case_help,
    "oneshot": Bench.case_oneshot,
    "spool": Bench.case_spool,
    "batch": Bench.case_batch,
    "segment": Bench.case_segment,
    "cancel": Bench.case_cancel,
    "history": Bench.case_history,
    "purge": Bench.case_purge,
    "import": Bench.case_import,
}


# -- the report ------------------------------------------------------------------------------

def table(rows: list[dict[str, Any]], quiet: bool, force: bool) -> str:
    lines = ["| case | ilog: median (min–max) | floor | floor: median (min–max) | ratio | target | result |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        result = verdict(r, quiet, force)
        case = r["case"] + (f"<br>{r['note']}" if r.get("note") else "")
        if "error" in r:
            lines.append(f"| {case} | error: {r['error']} | | | | | {result} |")
        elif "value" in r:
            lines.append(f"| {case} | {r['value']} | {r['floor']} | | | {r['target_text']} | {result} |")
        else:
            lines.append(
                f"| {case} | {fmt_s(r['median_s'])} ({fmt_s(r['min_s'])}–{fmt_s(r['max_s'])}) "
                f"| {r['floor']} | {fmt_s(r['floor_median_s'])} ({fmt_s(r['floor_min_s'])}–{fmt_s(r['floor_max_s'])}) "
                f"| {r['ratio']:.1f}x | {r['target_text']} | {result} |")
    return "\n".join(lines)


def plan_summary(plan: list[str], kind: str) -> str:
    """What a plan reads, in a few words: the indexes it searches, and any table it scans whole."""
    import re

    used, scanned = [], []
    for line in plan:
        if kind == "sqlite":  # SEARCH: a range of an index; SCAN: all of a table (or of an index)
            line = line.strip()
            index = re.search(r"USING (?:COVERING )?INDEX (\w+)|USING (?:INTEGER )?PRIMARY KEY", line)
            whole = re.match(r"SCAN (\w+)", line)
            if whole and whole.group(1) not in ("p", "CONSTANT"):  # p: the VALUES list of periods
                scanned.append(whole.group(1) + (f" (via {index.group(1)})" if index and index.group(1) else ""))
            elif line.startswith("SEARCH") and index:
                used.append(index.group(1) or f"the primary key of {line.split()[1]}")
        else:
            index = re.search(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)",
                              line)
            whole = re.search(r"Seq Scan on (\w+)", line)
            if index:
                used.append(index.group(1))
            elif whole:
                scanned.append(whole.group(1))
    parts = [f"uses {', '.join(sorted(set(used)))}"] if used else []
    parts += [f"scans all of {', '.join(sorted(set(scanned)))}"] if scanned else []
    return "; ".join(parts) or "no table read"


def plans_section(rows: list[dict[str, Any]]) -> str:
    """Every query the history rows ran, with its plan as the database gave it."""
    parts = []
    for row in rows:
        for statement, plan in row.get("plans", ()):
            parts.append(f"{row['case']}\n\n```sql\n{statement}\n```\n\n```\n" + "\n".join(plan) + "\n```\n")
    return ("\n## Query plans\n\n" + "\n".join(parts)) if parts else ""


def summary(rows: list[dict[str, Any]], before: Machine) -> tuple[str, bool]:
    """The closing line, and whether the run is publishable."""
    measured = [r for r in rows if "error" not in r]
    noisy = [r for r in measured if r["noise"]]
    broken = len(rows) - len(measured)
    reasons = []
    if not before.quiet:
        reasons.append(f"the load average was {before.load[0]:.2f} at the start (over {MAX_LOAD:.1f})")
    if noisy:
        reasons.append(f"{len(noisy)} of {len(rows)} rows are noisy (see the notes)")
    if broken:
        reasons.append(f"{broken} case(s) not measured")
    if reasons:
        return f"**Not publishable**: {'; '.join(reasons)}. Rerun on a quiet machine.", False
    passed = sum(1 for r in measured if r["passed"])
    return (f"Publishable: load average {before.load[0]:.2f} at the start, every floor within "
            f"{MAX_FLOOR_SPREAD:.0%} of its median; {passed} of {len(rows)} rows pass, "
            f"{len(rows) - passed} slower than target."), True


def report(args: argparse.Namespace, bench: Bench, backend: str, before: Machine, after: Machine,
           seconds: float) -> tuple[str, int]:
    """The markdown text, and the exit status."""
    rows = bench.rows
    pinning = ("each case and its floor pinned to one CPU (the idlest; `sched_setaffinity`, inherited by "
               "child processes)" if can_pin() else "not pinned (no `sched_setaffinity` here)")
    header = "\n".join([
        (f"ilog benchmarks, {'--quick' if args.quick else 'full sizes'}, history {bench.history_entries:,} entries, "
         f"{backend}, Python {platform.python_version()}, {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}, "
         f"{seconds:.0f} s"),
        "",
        f"- before: {before.describe()}",
        f"- after: {after.describe()}",
        (f"- {pinning}; runs alternate case, floor, case, floor; a verdict needs the load average at most "
         f"{MAX_LOAD:.1f} at the start and the floor's min–max spread at most {MAX_FLOOR_SPREAD:.0%} of its median"
         + ("; `--force-verdict`: verdicts shown on noisy rows too" if args.force_verdict else "")),
    ])
    notes = list(bench.notes)
    notes += [f"noisy: {r['case']}: {'; '.join(r['noise'])}" for r in rows if r.get("noise")]
    closing, publishable = summary(rows, before)
    text = f"{header}\n\n{table(rows, before.quiet, args.force_verdict)}\n"
    if notes:
        text += "\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    text += f"\n{closing}\n"
    text += plans_section(rows)
    judged = [r for r in rows if "error" in r or args.force_verdict or (before.quiet and not r["noise"])]
    failed = any("error" in r or not r["passed"] for r in judged)
    return text, 1 if failed else (0 if publishable else 2)


def size_arg(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ilog's benchmarks, each side by side with its floor.")
    parser.add_argument("--quick", action="store_true", help="small sizes: the whole run in a few minutes")
    parser.add_argument("--db", help="a PostgreSQL server URL to run on (default: SQLite files)")
    parser.add_argument("--size", type=size_arg, metavar="N",
                        help="entries in the history database: 50k, 1m (default; 100k with --quick), 10m")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.md",
                        help="where to write the markdown table (default benchmarks/results.md)")
    parser.add_argument("--only", help=f"comma-separated cases: {', '.join(CASES)}")
    parser.add_argument("--force-verdict", action="store_true",
                        help="(debugging) show pass/fail on noisy rows too; the run stays not publishable")
    args = parser.parse_args(argv)
    only = [c.strip() for c in args.only.split(",")] if args.only else list(CASES)
    unknown = [c for c in only if c not in CASES]
    if unknown:
        parser.error(f"unknown case {unknown[0]!r}: choose from {', '.join(CASES)}")
    before = Machine.now()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="ilog-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        for name in only:
            print(f"-- {name}", file=sys.stderr, flush=True)
            count = len(bench.rows)
            try:
                CASES[name](bench)
            except Exception as exc:  # one broken case must not hide the others
                traceback.print_exc()
                bench.rows.append({"case": name, "error": f"{type(exc).__name__}: {str(exc)[:200]}"})
            for row in bench.rows[count:]:
                print(f"   {row['case']}: " + (f"{row['ratio']:.1f}x" if "ratio" in row else
                                                row.get("value", row.get("error", ""))), file=sys.stderr)
        bench.cleanup()
        backend = bench.backend.label
    text, status = report(args, bench, backend, before, Machine.now(), time.time() - started)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
