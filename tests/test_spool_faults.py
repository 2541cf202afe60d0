"""Never lose a print, with a real PostgreSQL server that stops and starts under load.

Eight print hooks (six long-running ``ilog.open()`` scripts, two that open the log for
each event with ``ilog.record_event``) record 250 keyed events each, paced, with the default ``delivery = "auto"``,
while the server is stopped for several seconds in the middle and started again (and,
from then until they are done, a flush holds the spool: their prints must queue behind
the spooled ones rather than overtake them). Then
``ilog spool flush`` is killed with ``kill -9`` ten times at random moments while it
delivers, and run to the end once more. The central log must then hold exactly the 2,000
prints: none lost, none twice, and the n-th print of each document as its occurrence n.

Needs the server of ``.ci/pg.sh`` (``ILOG_TEST_PG_CTL``: how to stop and start it); skips
everywhere else. The SQLite side of the same guarantees is tests/test_spool.py.
"""

from __future__ import annotations

import contextlib
import os
import random
import shlex
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from conftest import BACKEND
from helpers.proc import env, script

PG_CTL = os.environ.get("ILOG_TEST_PG_CTL")  # read at import: the isolated environment hides ILOG_*
PRINTERS = 8
PER_PRINTER = 250
DOCUMENTS = 50  # per printer: each document printed 5 times
PACE = 0.03  # seconds between one printer's events, at least
OUTAGE = 5.0  # seconds the server is down
ONESHOT = (1, 5)  # these printers open the log for each event (ilog.record_event); the others keep it open

needs_server = pytest.mark.skipif(not (PG_CTL and BACKEND == "postgresql"),
                                  reason="needs a PostgreSQL server a test may stop and start (.ci/pg.sh)")


def pg_ctl(*args: str) -> None:
    subprocess.run([*shlex.split(PG_CTL or ""), *args], check=True, stdout=subprocess.DEVNULL, timeout=120)


def central(db_url: str) -> list[dict]:
    """Every entry of the central log, read with a connection of its own."""
    import sqlalchemy as sa

    from ilog.store import tables
    from ilog.store.urls import normalise_url

    engine = sa.create_engine(normalise_url(db_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(tables.interaction)).mappings()]
    finally:
        engine.dispose()


def wait_for_entries(db_url: str, count: int, timeout: float = 120) -> None:
    """Until the central log holds ``count`` entries (one connection, polled)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from ilog.store.urls import normalise_url

    url = make_url(normalise_url(db_url))
    deadline = time.monotonic() + timeout
    with psycopg.connect(dbname=url.database, user=url.username, autocommit=True, **url.query) as conn:
        while conn.execute("SELECT count(*) FROM interaction").fetchone()[0] < count:
            assert time.monotonic() < deadline, "the printers recorded too little"
            time.sleep(0.05)


@contextlib.contextmanager
def hold_the_spool(spool_file) -> Iterator[None]:
    """The spool's flush lock, as a flush holds it (printers take it for a moment at most)."""
    from ilog.store.spool import Spool

    deadline = time.monotonic() + 30
    with Spool(spool_file) as spool:
        while True:
            with spool.flushing() as mine:
                if mine:
                    yield
                    return
            assert time.monotonic() < deadline, "the spool's lock was never free"
            time.sleep(0.01)


def pending(spool_file) -> int:
    with sqlite3.connect(spool_file, timeout=30) as conn:
        return conn.execute("SELECT count(*) FROM spooled WHERE state = 'pending'").fetchone()[0]


@needs_server
@pytest.mark.slow
def test_eight_printers_lose_nothing_while_the_server_is_stopped_and_killed_flushes_change_nothing(
        logbook, db_url, tmp_path, isolated_env):
    logbook.contacts.add("Rossi SpA", no="C1", type="company")
    logbook.templates.add("INVOICE", description="Sales invoice", kind="letter")
    logbook.templates.set_event("sales.invoice", "INVOICE")
    logbook.close()
    spool_file = isolated_env / "spool.db"
    start = tmp_path / "go"
    printers = [subprocess.Popen(script("printer.py", db_url, w, PER_PRINTER, DOCUMENTS, PACE, start,
                                        *(["oneshot"] if w in ONESHOT else [])),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(), text=True)
                for w in range(PRINTERS)]
    time.sleep(1.0)  # every printer imported ilog and is waiting
    start.touch()
    stopped = False
    with contextlib.ExitStack() as held:
        try:
            wait_for_entries(db_url, PRINTERS * PER_PRINTER // 10)
            pg_ctl("-m", "fast", "-w", "stop")
            stopped = True
            time.sleep(OUTAGE)
            # From here until the printers are done, another flush (this test) holds the spool:
            # every print after the restart must join the queue rather than overtake it.
            held.enter_context(hold_the_spool(spool_file))
        finally:
            if stopped:
                pg_ctl("-w", "start")
        outputs = [p.communicate(timeout=600) for p in printers]
    for proc, (out, err) in zip(printers, outputs):
        assert proc.returncode == 0, err[-3000:]
        assert "error" not in err.lower(), err[-3000:]
    told = [line.split()[0] for out, _ in outputs for line in out.splitlines()]
    assert len(told) == PRINTERS * PER_PRINTER  # every print was answered with success
    assert told.count("spooled") > PRINTERS * 10 and told.count("entry") > PRINTERS * 10, told.count("spooled")
    for out, _ in outputs:  # each printer had prints recorded before the outage, then only spooled ones
        lines = [line.split()[0] for line in out.splitlines()]
        first = lines.index("spooled")
        assert first > 0 and set(lines[first:]) == {"spooled"}, lines

    # kill -9 of a flush, ten times, each time while it delivers
    rng = random.Random(1919)
    kills = 0
    for _ in range(10):
        waiting = pending(spool_file)
        if waiting == 0:
            break
        proc = subprocess.Popen([sys.executable, "-m", "ilog", "--db", db_url, "spool", "flush", "--batch-size", "5"],
                                env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while pending(spool_file) == waiting and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.2))
        if proc.poll() is None:
            proc.kill()
            kills += 1
        proc.wait()
    assert kills == 10, f"only {kills} flushes were killed: the spool ran dry ({pending(spool_file)} left)"
    run = subprocess.run([sys.executable, "-m", "ilog", "--db", db_url, "spool", "flush", "-q"], env=env(),
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert pending(spool_file) == 0

    entries = central(db_url)
    keys = sorted(e["idempotency_key"] for e in entries)
    assert len(entries) == PRINTERS * PER_PRINTER
    assert keys == sorted(f"w{w}-{i}" for w in range(PRINTERS) for i in range(PER_PRINTER))  # none lost, none twice
    assert len({e["entry_no"] for e in entries}) == len(entries)
    for entry in entries:  # the n-th print of a document is its occurrence n
        worker, i = entry["idempotency_key"][1:].split("-")
        assert entry["document_no"] == f"D{worker}-{int(i) % DOCUMENTS}"
        assert entry["occurrence"] == int(i) // DOCUMENTS + 1, entry
