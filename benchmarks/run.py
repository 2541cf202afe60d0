"""ilog's benchmark suite: every case side by side with its floor, in one run.

    python benchmarks/run.py [--quick] [--db URL] [--out FILE] [--only NAME,...]

Cases (floor in brackets, target ratio of the medians):

- ``ilog --help`` [``python -c pass``]: at most 7x;
- one-shot ``ilog event`` / ``ilog interact`` on an existing database [a Python script that
  opens the same database with the same pragmas, inserts one row, commits]: at most 20x;
- ``ilog event --input FILE`` with 10,000 events [raw driver inserting the same rows,
  one commit per 500]: at most 5x;
- ``segment log`` of 100,000 lines [raw ``executemany``]: at most 4x (``segment_log.py``);
- ``log CONTACT --limit 50``, ``log COMPANY --rollup --limit 50`` and ``stats --by month``
  on 1,000,000 entries [the same SQL through the driver]: at most 3x;
- ``purge-cancelled`` of 100,000 cancelled among 1,000,000 while another process inserts
  a row every 10 ms: the writer's longest stall under 100 ms;
- contact import of 1,000,000 CSV rows: rows/s and peak RSS under 200 MB
  (``contact_import.py``).

``--quick`` shrinks every size so that the whole run takes a few minutes. ``--db URL``
(a PostgreSQL server URL) runs the same cases there, in scratch databases it creates
(``ilog_bench_*``), with psycopg floors. The table goes to stdout and to ``--out``
(default ``benchmarks/results.md``). The 1,000,000-entry database is generated once with
raw ``executemany`` into the schema ``ilog init`` creates, and cached in
``benchmarks/.cache/`` (SQLite) or kept as ``ilog_bench_history_N`` (PostgreSQL).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import importlib
import inspect
import json
import os
import pickle
import platform
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    CACHE,
    ROOT,
    Backend,
    clean_env,
    connect_source,
    fmt_s,
    ilog,
    ilog_command,
    interleave,
    ratio_row,
    timed_run,
)

SIZES = {
    # name: (quick, full)
    "oneshot_repeat": (7, 21),
    "batch_events": (2_000, 10_000),
    "batch_repeat": (3, 5),
    "history_entries": (100_000, 1_000_000),
    "history_repeat": (15, 31),
    "purge_cancelled": (10_000, 100_000),
}


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path):
        self.quick = args.quick
        self.backend = Backend(args.db, workdir)
        self.workdir = workdir
        self.env = clean_env(workdir / "home")
        self.rows: list[dict[str, Any]] = []
        self.notes: list[str] = []

    def size(self, name: str) -> int:
        quick, full = SIZES[name]
        return quick if self.quick else full

    def script(self, name: str, body: str) -> Path:
        path = self.workdir / f"{name}.py"
        path.write_text(connect_source(self.backend) + body)
        return path

    # -- start-up ------------------------------------------------------------------------

    def case_help(self) -> None:
        repeat = self.size("oneshot_repeat")
        case, floor = interleave(lambda: timed_run([*ilog_command(), "--help"], env=self.env),
                                 lambda: timed_run([sys.executable, "-c", "pass"], env=self.env), repeat)
        self.rows.append(ratio_row("`ilog --help`", "`python -c pass`", case, floor, 7))

    def _oneshot_base(self, persons: int = 0) -> str:
        """A database with a company, ``persons`` persons, templates INVOICE and CALL, sales.invoice mapped."""
        from ilog.logbook import Logbook
        from ilog.plugins import make_plugin_host

        b = self.backend
        b.drop("ilog_bench_oneshot")
        url = b.url_for("ilog_bench_oneshot")
        if b.kind == "postgresql":
            with b.raw(b.url) as conn:
                conn.execute('CREATE DATABASE "ilog_bench_oneshot"')
        ilog(self.env, url, "init")
        with Logbook(url, user="bench", plugins=make_plugin_host(entrypoints=False)) as lb:
            lb.contacts.add("Rossi SpA", no="C1", type="company")
            for i in range(persons):
                lb.contacts.add(f"Person {i}", no=f"P{i}", company_no="C1")
            lb.templates.add("INVOICE", description="Sales invoice", kind="letter", flow="outbound",
                             correspondence="hard-copy")
            lb.templates.add("CALL", description="Phone call", kind="phone-call")
            lb.templates.set_event("sales.invoice", "INVOICE")
        return url

    def case_oneshot(self) -> None:
        b = self.backend
        url = self._oneshot_base()
        floor_script = self.script("floor_oneshot", """
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
        counter = iter(range(10**9, 2 * 10**9))

        def floor() -> float:
            return timed_run([sys.executable, str(floor_script), url, str(next(counter))], env=self.env)

        def event() -> float:
            n = next(counter)
            return timed_run([*ilog_command(), "--db", url, "event", "sales.invoice", "--document-no", f"INV-{n}",
                              "--contact", "C1", "--key", f"print-{n}", "-q"], env=self.env)

        def interact() -> float:
            return timed_run([*ilog_command(), "--db", url, "interact", "C1", "-t", "CALL", "-q"], env=self.env)

        floor_label = ("Python script: open, same pragmas, insert one row, commit (sqlite3)" if b.kind == "sqlite"
                       else "Python script: connect, insert one row, commit (psycopg)")
        repeat = self.size("oneshot_repeat")
        case, fl = interleave(event, floor, repeat)
        self.rows.append(ratio_row("one-shot `ilog event sales.invoice --document-no N --contact C1 --key K`",
                                   floor_label, case, fl, 20))
        case, fl = interleave(interact, floor, repeat)
        self.rows.append(ratio_row("one-shot `ilog interact C1 -t CALL`", floor_label, case, fl, 20))

    @property
    def driver(self) -> str:
        return "sqlite3" if self.backend.kind == "sqlite" else "psycopg"

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
        warm = b.copy(base, "ilog_bench_batch_warm")
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

        case_t, floor_t = interleave(case, floor, self.size("batch_repeat"), warmup=0)
        self.rows.append(ratio_row(
            f"batch `ilog event --input FILE`, {n:,} events (half of them reprints)",
            f"{self.driver} inserting the same rows (entries, keys, occurrences), one commit per 500",
            case_t, floor_t, 5))
        for name in (base, "ilog_bench_batch_warm", "ilog_bench_batch"):
            b.drop(name)

    # -- the 1,000,000-entry database ----------------------------------------------------

    def history_db(self) -> tuple[str, dict[str, Any]]:
        """The big database (cached), as a name of the backend; and facts about it."""
        b = self.backend
        n = self.size("history_entries")
        schema = self._schema_fingerprint()
        name = f"ilog_bench_history_{n}_{schema}"
        facts_path = CACHE / f"{name}.json"
        if b.kind == "sqlite":
            cached = CACHE / f"{name}.db"
            if not (cached.exists() and facts_path.exists()):
                CACHE.mkdir(parents=True, exist_ok=True)
                tmp = b.url_for("history_build")
                b.drop("history_build")
                facts = self._build_history(tmp, n)
                with sqlite3.connect(tmp) as conn:
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                os.replace(tmp, cached)
                facts_path.write_text(json.dumps(facts))
            b.copy_file(cached, "ilog_bench_history")
            return "ilog_bench_history", json.loads(facts_path.read_text())
        if not (b.exists(name) and facts_path.exists()):
            CACHE.mkdir(parents=True, exist_ok=True)
            b.drop(name)
            with b.raw(b.url) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            facts = self._build_history(b.url_for(name), n)
            facts_path.write_text(json.dumps(facts))
        return name, json.loads(facts_path.read_text())

    def _schema_fingerprint(self) -> str:
        """A short hash of the schema ``ilog init`` creates (a cached database must match it)."""
        url = str(self.workdir / "fingerprint.db")
        ilog(self.env, url, "init")
        with sqlite3.connect(url) as conn:
            ddl = sorted(r[0] or "" for r in conn.execute("SELECT sql FROM sqlite_master"))
        return hashlib.sha256("\n".join(ddl).encode()).hexdigest()[:10]

    def _build_history(self, url: str, n: int) -> dict[str, Any]:
        """``ilog init``, then raw executemany: contacts (10% companies), 3 templates, n entries over 3 years."""
        b = self.backend
        ilog(self.env, url, "init")
        rng = random.Random(8)
        contacts = max(100, n // 100)
        companies = contacts // 10
        now = dt.datetime(2026, 6, 30, 12, 0, 0)
        span = 3 * 365 * 24 * 3600
        if b.kind == "sqlite":
            stamp = lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")  # noqa: E731 - SQLAlchemy's SQLite format
            true, false = 1, 0
        else:
            stamp = lambda t: t  # noqa: E731
            true, false = True, False
        contact_rows = []
        for i in range(contacts):
            company = i < companies
            contact_rows.append((f"K{i:07d}", "company" if company else "person", f"Contact {i}",
                                 None if company else f"K{i % companies:07d}", stamp(now), stamp(now)))
        templates = [("CALL", "Phone call", "phone-call", "outbound", "us", 1.5, 10.0),
                     ("MAIL", "Mailing", "email", "outbound", "us", 0.2, 0.0),
                     ("INVOICE", "Sales invoice", "letter", "outbound", "us", 0.0, 0.0)]
        cancelled_every = 10
        entries = []
        for entry_no in range(1, n + 1):
            c = rng.randrange(contacts)
            no, ctype, _, company_no, _, _ = contact_rows[c]
            code, subject, kind, flow, initiated, cost, duration = templates[entry_no % 3]
            at = now - dt.timedelta(seconds=rng.randrange(span))
            cancelled = entry_no % cancelled_every == 0
            entries.append((entry_no, no, company_no or no, stamp(at), subject, code, kind, flow, initiated, false,
                            cost, duration, f"user{entry_no % 20}", "none", true if cancelled else false,
                            stamp(at) if cancelled else None, false, "done", "none", "manual", stamp(now)))
        columns = ("entry_no, contact_no, company_no, occurred_at, subject, template_code, kind, flow, initiated_by, "
                   "attempt_failed, cost, duration_min, user_id, evaluation, cancelled, cancelled_at, postponed, "
                   "state, correspondence, source, created_at")
        from ilog.logbook import Logbook
        from ilog.plugins import make_plugin_host

        with Logbook(url, user="bench", plugins=make_plugin_host(entrypoints=False)) as lb:
            for code, description, kind, flow, initiated, cost, duration in templates:
                lb.templates.add(code, description=description, kind=kind, flow=flow, initiated_by=initiated,
                                 unit_cost=cost, unit_duration_min=duration)
        p = "?" if b.kind == "sqlite" else "%s"
        with b.raw(url) as conn:
            if b.kind == "sqlite":
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("BEGIN IMMEDIATE")
            else:
                conn.execute("BEGIN")
            cur = conn.cursor()
            cur.executemany(f"INSERT INTO contact (no, type, name, company_no, created_at, updated_at) "
                            f"VALUES ({', '.join([p] * 6)})", contact_rows)
            for start in range(0, n, 50_000):
                cur.executemany(f"INSERT INTO interaction ({columns}) VALUES ({', '.join([p] * 21)})",
                                entries[start:start + 50_000])
            cur.execute(f"UPDATE number_series SET last_no = {p} WHERE code = 'entry'", (n,))
            conn.execute("COMMIT")
        # every contact has about 100 entries: the first person's history fills --limit 50
        return {"entries": n, "contacts": contacts, "person": contact_rows[companies][0],
                "company": contact_rows[0][0], "cancelled": n // cancelled_every,
                "newest": now.isoformat()}

    def case_history(self) -> None:
        from ilog import models
        from ilog.logbook import Logbook
        from ilog.plugins import make_plugin_host
        from ilog.records import LogFilter

        b = self.backend
        name, facts = self.history_db()
        url = b.url_for(name)
        n = facts["entries"]

        def service_filter(**kw: Any) -> LogFilter:
            flt = LogFilter(**kw)
            flt.cancelled, flt.postponed = "exclude", "exclude"  # what `ilog log` asks for
            return flt

        cases = [
            (f"`ilog log {facts['person']} --limit 50` ({n:,} entries)",
             lambda lb: lb.find(service_filter(contact_no=facts["person"], limit=50))),
            (f"`ilog log {facts['company']} --rollup --limit 50` ({n:,} entries)",
             lambda lb: lb.find(service_filter(contact_no=facts["company"], rollup=True, limit=50))),
        ]
        if hasattr(Logbook, "stats"):
            cases.append((f"`ilog stats --by month` ({n:,} entries)", lambda lb: lb.stats("month")))
        else:
            self.notes.append("`ilog stats` does not exist yet: not measured")

        import sqlalchemy as sa

        for label, call in cases:
            captured: list[tuple[str, Any]] = []

            def capture(conn, cursor, statement, parameters, context, executemany):
                if "interaction" in statement and statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    captured.append((statement, parameters))

            lb = Logbook(url, user="bench", plugins=make_plugin_host(entrypoints=False))
            sa.event.listen(lb.db.engine, "before_cursor_execute", capture)
            first = time.perf_counter()
            expected = len(call(lb))
            first = time.perf_counter() - first
            lb.close()
            # a few seconds of repetitions per case: a full-table statistic gets fewer
            repeat = max(5, min(self.size("history_repeat"), int(15 / max(first, 1e-3))))
            statements = list(captured)
            plans = self._plans(url, statements)

            # the service as a command runs it, once its statements are compiled (compiling is
            # the per-process part, reported in the note): a connection per call, as the floor
            warm = Logbook(url, user="bench", plugins=make_plugin_host(entrypoints=False))
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
                conn = self._raw_pragma_connect(url)
                got = 0
                for statement, parameters in statements:
                    got += len(conn.execute(statement, parameters).fetchall())
                conn.close()
                elapsed = time.perf_counter() - start
                return elapsed

            case_t, floor_t = interleave(case, floor, repeat)
            warm.close()
            self.rows.append(ratio_row(label, f"the same SQL through {self.driver} (connect, query, fetch)",
                                       case_t, floor_t, 3, note="; ".join(
                                           [*plans, f"first call in a fresh process {fmt_s(first)}"])))

    def _raw_pragma_connect(self, url: str):
        if self.backend.kind == "sqlite":
            conn = sqlite3.connect(url, timeout=30, isolation_level=None)
            for pragma in ("busy_timeout = 30000", "journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"):
                conn.execute(f"PRAGMA {pragma}")
            return conn
        import psycopg

        return psycopg.connect(self.backend.libpq(url), autocommit=True, prepare_threshold=None)

    def _plans(self, url: str, statements: list[tuple[str, Any]]) -> list[str]:
        """Which index each query uses (EXPLAIN), to show the queries are sub-linear."""
        notes = []
        conn = self._raw_pragma_connect(url)
        try:
            for statement, parameters in statements:
                if self.backend.kind == "sqlite":
                    plan = [r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + statement, parameters)]
                else:
                    plan = [r[0] for r in conn.execute("EXPLAIN " + statement, parameters)]
                used = sorted({w for line in plan for w in line.replace("(", " ").split() if w.startswith("ix_")})
                notes.append(("uses " + ", ".join(used)) if used else "full scan")
        finally:
            conn.close()
        return notes

    # -- purge while a writer writes ------------------------------------------------------

    def case_purge(self) -> None:
        b = self.backend
        name, facts = self.history_db()
        target = b.copy(name, "ilog_bench_purge") if b.kind == "postgresql" else b.url_for("ilog_bench_purge")
        if b.kind == "sqlite":
            b.copy_file(Path(b.url_for(name)), "ilog_bench_purge")
        wanted = self.size("purge_cancelled")
        # cancel exactly `wanted` entries: those already cancelled, the oldest first
        with b.raw(target) as conn:
            p = "?" if b.kind == "sqlite" else "%s"
            cut = conn.execute(
                f"SELECT occurred_at FROM interaction WHERE cancelled = {p} ORDER BY occurred_at "
                f"LIMIT 1 OFFSET {p}", (True if b.kind != "sqlite" else 1, wanted - 1)).fetchone()[0]
        before = (dt.datetime.fromisoformat(str(cut)) + dt.timedelta(microseconds=1)).isoformat()
        writer = self.script("purge_writer", """
import sys, time, json, datetime
url, stop_file, contact = sys.argv[1], sys.argv[2], sys.argv[3]
conn = connect(url)
stalls = []
entry_no = 2_000_000_000
import os
while not os.path.exists(stop_file):
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
""")
        stop = self.workdir / "stop-writer"
        stop.unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, str(writer), target, str(stop), facts["company"]],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env, text=True)
        time.sleep(2.0)  # the writer alone first: its stalls on this machine without a purge
        started = time.time()
        purge = subprocess.run([*ilog_command(), "--db", target, "purge-cancelled", "--before", before, "--yes"],
                               env=self.env, capture_output=True, text=True)
        ended = time.time()
        time.sleep(0.5)
        stop.touch()
        out, err = proc.communicate(timeout=60)
        if purge.returncode != 0 or proc.returncode != 0:
            raise RuntimeError(f"purge exited {purge.returncode}: {purge.stderr.strip()} / writer: {err[-500:]}")
        samples = json.loads(out)
        during = sorted(s for t, s, _ in samples if started <= t <= ended)
        waits = sorted(w for t, _, w in samples if started <= t <= ended)
        alone = sorted(s for t, s, _ in samples if t < started - 0.2)
        purge_s = ended - started
        with b.raw(target) as conn:
            left = conn.execute("SELECT count(*) FROM interaction WHERE cancelled = "
                                + ("1" if b.kind == "sqlite" else "true")).fetchone()[0]
        purged = facts["cancelled"] - left
        longest = during[-1] if during else float("nan")
        p99 = during[max(0, int(len(during) * 0.99) - 1)] if during else float("nan")
        self.rows.append({
            "case": f"`ilog purge-cancelled` of {purged:,} cancelled among {facts['entries']:,}, "
                    f"another process inserting a row every 10 ms",
            "floor": f"the same writer without a purge: longest stall {fmt_s(alone[-1]) if alone else '?'}",
            "value": f"longest writer stall {fmt_s(longest)} (p99 {fmt_s(p99)}; longest wait for the lock "
                     f"{fmt_s(waits[-1]) if waits else '?'}; {len(during)} inserts during the purge); "
                     f"purge took {fmt_s(purge_s)}",
            "target_text": "stall < 100 ms", "passed": longest < 0.100 and purged == wanted,
        })
        b.drop("ilog_bench_purge")

    # -- the other helpers' modules ------------------------------------------------------

    def case_module(self, module_name: str) -> None:
        path = Path(__file__).resolve().parent / f"{module_name}.py"
        if not path.exists():
            self.notes.append(f"`benchmarks/{module_name}.py` is not there: not measured")
            return
        module = importlib.import_module(module_name)
        kwargs: dict[str, Any] = {}
        params = inspect.signature(module.run).parameters
        if self.backend.kind == "postgresql":
            if "db" in params:  # a fresh, empty database on the server
                b = self.backend
                name = f"ilog_bench_{module_name}"
                b.drop(name)
                with b.raw(b.url) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
                kwargs["db"] = b.url_for(name)
            else:
                self.notes.append(f"`benchmarks/{module_name}.py` measures SQLite only")
                return
        for row in module.run(self.quick, **kwargs):
            if "rows_per_s" in row:  # the import benchmark reports throughput and memory
                rss = row.get("peak_rss_mb")
                self.rows.append({
                    "case": row["case"], "floor": row.get("floor", "(none: throughput and memory)"),
                    "value": f"{row['rows_per_s']:,.0f} rows/s, peak RSS {rss:.0f} MB" if rss is not None
                             else f"{row['rows_per_s']:,.0f} rows/s",
                    "target_text": f"peak RSS < {row.get('target_mb', 200):g} MB",
                    "passed": rss is not None and rss < row.get("target_mb", 200),
                })
            else:
                row.setdefault("target", 4.0)
                row.setdefault("passed", row["ratio"] <= row["target"])
                row.setdefault("floor_min_s", row.get("floor_median_s"))
                row.setdefault("floor_max_s", row.get("floor_median_s"))
                self.rows.append(row)


CASES = {
    "help": Bench.case_help,
    "oneshot": Bench.case_oneshot,
    "batch": Bench.case_batch,
    "segment": lambda self: self.case_module("segment_log"),
    "history": Bench.case_history,
    "purge": Bench.case_purge,
    "import": lambda self: self.case_module("contact_import"),
}


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| case | ilog: median (min–max) | floor | floor: median (min–max) | ratio | target | result |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['case']} | error: {r['error']} | | | | | **not measured** |")
        elif "value" in r:
            lines.append(f"| {r['case']} | {r['value']} | {r['floor']} | | | {r['target_text']} | "
                         f"{'pass' if r['passed'] else '**SLOWER than target**'} |")
        else:
            note = f"<br>{r['note']}" if r.get("note") else ""
            lines.append(
                f"| {r['case']}{note} | {fmt_s(r['median_s'])} ({fmt_s(r['min_s'])}–{fmt_s(r['max_s'])}) "
                f"| {r['floor']} | {fmt_s(r['floor_median_s'])} ({fmt_s(r['floor_min_s'])}–{fmt_s(r['floor_max_s'])}) "
                f"| {r['ratio']:.1f}x | ≤ {r['target']:g}x | {'pass' if r['passed'] else '**SLOWER than target**'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ilog's benchmarks, each side by side with its floor.")
    parser.add_argument("--quick", action="store_true", help="small sizes: the whole run in a few minutes")
    parser.add_argument("--db", help="a PostgreSQL server URL to run on (default: SQLite files)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.md",
                        help="where to write the markdown table (default benchmarks/results.md)")
    parser.add_argument("--only", help=f"comma-separated cases: {', '.join(CASES)}")
    args = parser.parse_args(argv)
    only = [c.strip() for c in args.only.split(",")] if args.only else list(CASES)
    unknown = [c for c in only if c not in CASES]
    if unknown:
        parser.error(f"unknown case {unknown[0]!r}: choose from {', '.join(CASES)}")
    started = time.time()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
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
        backend = bench.backend.label
    header = (f"ilog benchmarks, {'--quick' if args.quick else 'full sizes'}, {backend}, "
              f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load:.1f} at start, "
              f"{dt.datetime.now().strftime('%Y-%m-%d %H:%M')}, {time.time() - started:.0f} s")
    text = f"{header}\n\n{table(bench.rows)}\n"
    if bench.notes:
        text += "\n" + "\n".join(f"- {n}" for n in bench.notes) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0 if all(r.get("passed") for r in bench.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
