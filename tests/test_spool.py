"""Store-and-forward: ``delivery`` modes, the spool, ``ilog spool`` and the quick print path.

On the backend under test: the spool is always a local SQLite file (``$ILOG_HOME/spool.db``),
the database the events go to is SQLite or PostgreSQL. A server that cannot be reached is
a real refused TCP port; a SQLite database held locked is a real lock from this process.
The real server stopped and started under load is tests/test_spool_faults.py.
"""

from __future__ import annotations

import json
import random
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BACKEND
from helpers.proc import env, ilog
from ilog import hookimpl

DOWN = "postgresql+psycopg://ilog:s3cret@127.0.0.1:1/ilog"  # nothing listens on port 1: refused at once


@pytest.fixture
def mapped(sample):
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    return sample


@pytest.fixture
def spool_file(isolated_env) -> Path:
    return isolated_env / "spool.db"


def spooled(cli, *more: str) -> list[dict]:
    return cli.ok("spool", "list", "--all", "-f", "json", *more).json()


def entries(cli) -> list[dict]:
    return sorted(cli.ok("log", "-f", "json").json(), key=lambda e: e["entry_no"])


def invoice(*more: str) -> list[str]:
    return ["event", "sales.invoice", *more]


# -- the modes ------------------------------------------------------------------------------------


def test_spool_mode_spools_without_touching_the_database_and_exits_0(mapped, snapshot, monkeypatch, spool_file):
    monkeypatch.setenv("ILOG_DELIVERY", "spool")
    before = snapshot()
    run = mapped(*invoice("--document-no", "INV-1", "--contact", "P1"))
    assert (run.exit_code, run.stdout) == (0, "")
    assert run.stderr == "ilog: spooled as 1 (delivery is spool); `ilog spool flush` delivers it\n"
    assert snapshot() == before
    [row] = spooled(mapped)
    assert (row["id"], row["state"], row["event"], row["document_no"], row["contact_no"]) == (
        1, "pending", "sales.invoice", "INV-1", "P1")
    assert len(row["key"]) == 36 and row["key"].count("-") == 4  # a generated uuid4
    assert row["user_id"] == "tester" and row["reason"] == "delivery is spool"
    # the API says so too: no entry, a spool id, the key it will be recorded with
    import ilog

    result = ilog.record_event("sales.invoice", "INV-2", url=mapped.db_url, contact_no="P1", key="print-2")
    assert (result.entry_no, result.spooled, result.spool_id, result.key) == (None, True, 2, "print-2")
    assert snapshot() == before


@pytest.mark.parametrize("how", ["cli", "api"])
def test_auto_mode_spools_an_event_when_the_server_cannot_be_reached(cli, spool_file, how):
    pytest.importorskip("psycopg")
    if how == "cli":
        run = cli("--db", DOWN, *invoice("--document-no", "INV-1", "--contact", "P1", "--key", "k-1"), db=False)
        assert (run.exit_code, run.stdout) == (0, "")
        [line] = run.stderr.splitlines()
    else:
        import ilog

        result = ilog.record_event("sales.invoice", "INV-1", url=DOWN, contact_no="P1", key="k-1")
        assert (result.entry_no, result.spool_id, result.key) == (None, 1, "k-1")
        line = "ilog: " + result.message
    assert line.startswith("ilog: spooled as 1 (the database is away: cannot open database "
                           "postgresql+psycopg://ilog:***@127.0.0.1:1/ilog: ")
    assert "refused" in line.lower() and line.endswith("; `ilog spool flush` delivers it")
    assert "s3cret" not in line and b"s3cret" not in spool_file.read_bytes()
    [row] = spooled(cli)
    assert (row["target"], row["key"], row["state"]) == ("postgresql+psycopg://ilog:***@127.0.0.1:1/ilog", "k-1",
                                                         "pending")
    # the configured database has nothing waiting; that one is still away
    run = cli("--db", DOWN, "spool", "flush", db=False)
    assert run.exit_code == 1 and "cannot open database" in run.stderr and "1 event still waiting" in run.stderr
    assert spooled(cli)[0]["attempts"] == 1


@pytest.mark.skipif(BACKEND != "sqlite", reason="an SQLite lock held for the whole busy timeout")
def test_auto_mode_spools_while_sqlite_stays_locked_and_the_next_event_delivers_it_first(mapped, monkeypatch, db_url):
    monkeypatch.setenv("ILOG_BUSY_TIMEOUT", "0.3")
    mapped.ok(*invoice("--document-no", "INV-1", "--contact", "P1", "-q"))
    holder = sqlite3.connect(db_url, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        run = mapped(*invoice("--document-no", "INV-1", "--contact", "P1", "--key", "second"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert run.exit_code == 0 and "spooled as 1 (the database is away:" in run.stderr, run.stderr
    assert "locked" in run.stderr
    third = mapped.ok(*invoice("--document-no", "INV-1", "--contact", "P1", "--key", "third", "-q"))
    assert third.stdout == "3\n"  # the spooled 2nd print went first
    assert [(e["idempotency_key"], e["occurrence"]) for e in entries(mapped)][1:] == [("second", 2), ("third", 3)]
    assert spooled(mapped) == []


def test_direct_mode_fails_as_before_and_spools_nothing(cli, monkeypatch, spool_file):
    pytest.importorskip("psycopg")
    monkeypatch.setenv("ILOG_DELIVERY", "direct")
    run = cli("--db", DOWN, *invoice("--document-no", "INV-1", "--contact", "P1"), db=False)
    assert run.exit_code == 1
    assert run.stderr.startswith("ilog: error: cannot open database postgresql+psycopg://ilog:***@127.0.0.1:1/")
    assert not spool_file.exists()


BAD_EVENTS = {
    "bad date": (["--document-no", "INV-1", "--contact", "P1", "--date", "31/12/2026"], "invalid date"),
    "too long": (["--document-no", "X" * 51, "--contact", "P1"], "document number is too long"),
    "bad version": (["--document-no", "INV-1", "--contact", "P1", "--version", "two"], "invalid version"),
    "no contact": (["--document-no", "INV-1"], "an event needs a contact (--contact, contact_no) or a reference (--ref, ref)"),
    "both": (["--document-no", "INV-1", "--contact", "P1", "--ref", "R"], "not both"),
    "missing file": (["--document-no", "INV-1", "--contact", "P1", "--attach", "/nonexistent.pdf"],
                     "cannot read attachment"),
}


@pytest.mark.parametrize("mode", ["spool", "auto"])
@pytest.mark.parametrize("args, message", BAD_EVENTS.values(), ids=BAD_EVENTS.keys())
def test_a_bad_value_is_refused_and_never_spooled(cli, monkeypatch, spool_file, mode, args, message):
    """In spool mode, and in auto mode with the database away: a bad value exits 2, as always."""
    monkeypatch.setenv("ILOG_DELIVERY", mode)
    run = cli("--db", DOWN, "event", "sales.invoice", *args, db=False)
    assert run.exit_code == 2, run.stderr
    assert run.stderr.startswith("ilog: error: ") and message in run.stderr
    assert spooled(cli) == []
    unknown = cli("--db", DOWN, "event", "sales.invoicce", "--document-no", "INV-1", "--contact", "P1", db=False)
    assert unknown.exit_code == 2 and "unknown event 'sales.invoicce'" in unknown.stderr
    assert spooled(cli) == []


def test_a_bad_user_name_is_refused_and_never_spooled(mapped, monkeypatch, spool_file):
    monkeypatch.setenv("ILOG_DELIVERY", "spool")
    run = ilog("--user", b"\xff\xfe", *invoice("--document-no", "INV-1", "--contact", "P1"), db=mapped.db_url)
    err = run.stderr.decode("utf-8", "replace")
    assert run.returncode == 2 and err.startswith("ilog: error: ") and "user id" in err, err
    assert not spool_file.exists()


@pytest.mark.parametrize("value", ["sometimes", "1"])
def test_a_wrong_delivery_setting_is_a_bad_value_naming_it(mapped, monkeypatch, value):
    monkeypatch.setenv("ILOG_DELIVERY", value)
    for run in (mapped(*invoice("--document-no", "INV-1", "--contact", "P1")),
                ilog(*invoice("--document-no", "INV-1", "--contact", "P1"), db=mapped.db_url)):
        code = getattr(run, "exit_code", getattr(run, "returncode", None))
        stderr = run.stderr if isinstance(run.stderr, str) else run.stderr.decode()
        assert code == 2
        assert stderr == (f"ilog: error: environment variable ILOG_DELIVERY: delivery must be one of direct, auto, "
                          f"spool, not '{value}'\n")
    monkeypatch.setenv("ILOG_DELIVERY", " Spool ")
    assert "spooled as 1" in mapped.ok(*invoice("--document-no", "INV-1", "--contact", "P1")).stderr


# -- the flush ------------------------------------------------------------------------------------


class Recorder:
    def __init__(self):
        self.__name__ = "recorder"
        self.calls: list[tuple] = []

    @hookimpl
    def enrich_interaction(self, interaction):
        interaction.subject = f"{interaction.subject} {interaction.document_no}"
        self.calls.append(("enrich", interaction.document_no))

    @hookimpl
    def validate_interaction(self, interaction):
        self.calls.append(("validate", interaction.document_no))
        return "blocked document" if interaction.document_no == "BAD-1" else None

    @hookimpl
    def interaction_saved(self, interaction, created):
        self.calls.append(("saved", interaction.document_no, interaction.entry_no, created))


def test_flush_delivers_in_print_order_through_the_template_setup_and_the_hooks(mapped, plugins, monkeypatch):
    recorder = Recorder()
    plugins.append(recorder)
    monkeypatch.setenv("ILOG_DELIVERY", "spool")
    for no, contact in (("INV-1", "P1"), ("INV-2", "P2"), ("INV-1", "P1"), ("INV-1", "P1")):
        mapped.ok(*invoice("--document-no", no, "--contact", contact))
    assert recorder.calls == []  # nothing ran at print time: only the spool was written
    run = mapped.ok("spool", "flush")
    assert run.stdout == "1\n2\n3\n4\n"
    assert run.stderr == ("ilog: delivered 4 events (0 already recorded, 0 with no template set up), 0 failed, "
                          "0 waiting\n")
    rows = entries(mapped)
    assert [(e["document_no"], e["occurrence"], e["contact_no"], e["template_code"], e["source"], e["subject"])
            for e in rows] == [("INV-1", 1, "P1", "INVOICE", "event", "Sales invoice INV-1"),
                               ("INV-2", 1, "P2", "INVOICE", "event", "Sales invoice INV-2"),
                               ("INV-1", 2, "P1", "INVOICE", "event", "Sales invoice INV-1"),
                               ("INV-1", 3, "P1", "INVOICE", "event", "Sales invoice INV-1")]
    assert recorder.calls == [("enrich", "INV-1"), ("validate", "INV-1"), ("enrich", "INV-2"), ("validate", "INV-2"),
                              ("enrich", "INV-1"), ("validate", "INV-1"), ("enrich", "INV-1"), ("validate", "INV-1"),
                              ("saved", "INV-1", 1, True), ("saved", "INV-2", 2, True), ("saved", "INV-1", 3, True),
                              ("saved", "INV-1", 4, True)]  # as in a batch: saved once the batch is committed
    assert spooled(mapped) == []
    again = mapped.ok("spool", "flush")
    assert again.stdout == "" and "delivered 0 events" in again.stderr


def test_a_spooled_event_keeps_the_moment_and_the_user_of_the_print(mapped, monkeypatch):
    monkeypatch.setenv("ILOG_DELIVERY", "spool")
    monkeypatch.setenv("ILOG_TIMEZONE", "Europe/Rome")
    mapped.ok("--user", "printer", *invoice("--document-no", "INV-1", "--contact", "P1", "--date", "2026-11-24T09:30"))
    mapped.ok(*invoice("--document-no", "INV-2", "--contact", "P1", "--date", "-3d"))
    printed = time.time()
    monkeypatch.setenv("ILOG_TIMEZONE", "America/New_York")  # the flusher's zone is not the printer's
    monkeypatch.setenv("ILOG_USER", "cron")
    time.sleep(1.1)
    mapped.ok("spool", "flush")
    first, second = entries(mapped)
    from datetime import datetime

    assert datetime.fromisoformat(first["occurred_at"]).isoformat() == "2026-11-24T03:30:00-05:00"
    assert abs(datetime.fromisoformat(second["occurred_at"]).timestamp() - (printed - 3 * 86400)) < 1.05
    assert (first["user_id"], first["owner"], second["user_id"]) == ("printer", "printer", "tester")


def test_a_spooled_attachment_is_delivered_even_when_the_file_is_gone(mapped, monkeypatch, tmp_path):
    monkeypatch.setenv("ILOG_DELIVERY", "spool")
    pdf = tmp_path / "INV-1.pdf"
    pdf.write_bytes(b"%PDF-1.4 the invoice")
    mapped.ok(*invoice("--document-no", "INV-1", "--contact", "P1", "--attach", pdf))
    pdf.unlink()  # the ERP cleans up its print folder
    assert mapped.ok("spool", "flush").stdout == "1\n"
    from ilog.testing import open_logbook

    with open_logbook(mapped.db_url) as logbook:
        attachment = logbook.attachment(1)
    assert (attachment["name"], attachment["content"]) == ("INV-1.pdf", b"%PDF-1.4 the invoice")


def test_an_event_refused_on_delivery_waits_in_the_failed_list_until_retried_or_dropped(mapped, plugins, monkeypatch):
    plugins.append(Recorder())
    monkeypatch.setenv("ILOG_DELIVERY", "spool")
    mapped.ok(*invoice("--document-no", "INV-1", "--contact", "P9"))  # no such contact (yet)
    mapped.ok(*invoice("--document-no", "BAD-1", "--contact", "P1"))  # the plugin vetoes it
    mapped.ok(*invoice("--document-no", "INV-2", "--contact", "P1"))
    run = mapped("spool", "flush")
    assert run.exit_code == 1 and run.stdout == "1\n"
    assert run.stderr.splitlines() == [
        "ilog: spooled event 1 failed: unknown contact 'P9'",
        "ilog: spooled event 2 failed: plugin recorder: blocked document",
        "ilog: delivered 1 event (0 already recorded, 0 with no template set up), 2 failed, 0 waiting"]
    failed = mapped.ok("spool", "list", "--failed", "-f", "json").json()
    assert [(r["id"], r["state"], r["last_error"]) for r in failed] == [
        (1, "failed", "unknown contact 'P9'"), (2, "failed", "plugin recorder: blocked document")]
    assert mapped.ok("spool", "flush").stdout == ""  # a failed event is not tried again by itself
    mapped.ok("contact", "add", "Late Customer", "--no", "P9")
    assert mapped("spool", "retry", "3").exit_code == 1  # delivered: not there any more
    mapped.ok("spool", "retry", "1")
    assert mapped.ok("spool", "flush").stdout == "2\n"
    assert mapped("spool", "drop", "2").exit_code == 1  # no terminal, no --yes: refused
    mapped.ok("spool", "drop", "2", "--yes")
    assert spooled(mapped) == []
    assert [(e["entry_no"], e["document_no"], e["contact_no"]) for e in entries(mapped)] == [
        (1, "INV-2", "P1"), (2, "INV-1", "P9")]
    assert mapped("spool", "drop", "2", "--yes").exit_code == 1


def test_an_event_delivered_twice_is_recorded_once(mapped, monkeypatch, spool_file):
    """What a flush killed between the central commit and the spool's delete leaves behind."""
    monkeypatch.setenv("ILOG_DELIVERY", "spool")
    mapped.ok(*invoice("--document-no", "INV-1", "--contact", "P1", "--key", "print-1"))
    with sqlite3.connect(spool_file) as conn:  # the same row again, as if its delete never happened
        conn.execute("INSERT INTO spooled (target, key, event, user_id, spooled_at, reason) SELECT target, key, "
                     "event, user_id, spooled_at, reason FROM spooled WHERE id = 1")
    run = mapped.ok("spool", "flush")
    assert run.stdout == "1\n1\n" and "(1 already recorded," in run.stderr
    assert [(e["entry_no"], e["idempotency_key"], e["occurrence"]) for e in entries(mapped)] == [(1, "print-1", 1)]


def test_while_events_wait_a_new_event_joins_them_instead_of_overtaking(mapped, monkeypatch, spool_file):
    from ilog.store.spool import Spool

    monkeypatch.setenv("ILOG_DELIVERY", "spool")
    mapped.ok(*invoice("--document-no", "INV-1", "--contact", "P1"))
    monkeypatch.setenv("ILOG_DELIVERY", "auto")
    with Spool(spool_file) as spool, spool.flushing() as mine:  # another flush is delivering
        assert mine
        run = mapped.ok(*invoice("--document-no", "INV-1", "--contact", "P1"))
        assert "spooled as 2 (earlier events wait in the spool)" in run.stderr
        busy = mapped.ok("spool", "flush")
        assert busy.stderr == "ilog: another flush is delivering the spool; nothing done\n"
    assert entries(mapped) == []
    assert mapped.ok(*invoice("--document-no", "INV-1", "--contact", "P1", "-q")).stdout == "3\n"
    assert [e["occurrence"] for e in entries(mapped)] == [1, 2, 3]


def test_events_for_another_database_wait_for_that_database(mapped, new_db_url, monkeypatch):
    other = new_db_url()
    monkeypatch.setenv("ILOG_DELIVERY", "spool")
    mapped.ok(*invoice("--document-no", "INV-1", "--contact", "P1"))
    assert mapped("--db", other, *invoice("--document-no", "INV-9", "--contact", "P1"), db=False).exit_code == 0
    status = mapped.ok("spool", "status", "-f", "json").json()
    assert [(r["pending"], r["failed"]) for r in status] == [(1, 0), (1, 0)]
    from ilog.store.urls import mask_url, normalise_url

    assert status[0]["target"] == mask_url(normalise_url(mapped.db_url))  # this database first
    run = mapped.ok("spool", "flush")
    assert run.stdout == "1\n" and "(1 event for other databases: flush them with --db URL)" in run.stderr
    assert [r["document_no"] for r in spooled(mapped)] == ["INV-9"]
    assert mapped.ok("spool", "list", "-f", "json").json() == []  # this database's: none left


def _fill(db_url: str, count: int, documents: int = 10) -> list[str]:
    """``count`` spooled prints of ``documents`` invoices, in print order; their keys."""
    from ilog.testing import open_logbook

    keys = [f"print-{i}" for i in range(count)]
    with open_logbook(db_url) as logbook:
        for i, key in enumerate(keys):
            result = logbook.record_event("sales.invoice", f"INV-{i % documents}", contact_no="P1", key=key,
                                          delivery="spool")
            assert result.spool_id == i + 1
    return keys


def _check_delivered_once(cli, keys: list[str], documents: int = 10) -> None:
    rows = entries(cli)
    assert sorted(e["idempotency_key"] for e in rows) == sorted(keys)  # every print, none twice
    assert [e["entry_no"] for e in rows] == list(range(1, len(keys) + 1))
    for entry in rows:  # the n-th print of a document is its occurrence n
        assert entry["occurrence"] == int(entry["idempotency_key"].split("-")[1]) // documents + 1, entry
    assert spooled(cli) == []


def test_two_flushes_at_once_deliver_every_event_exactly_once(mapped, db_url):
    keys = _fill(db_url, 60)
    procs = [subprocess.Popen([sys.executable, "-m", "ilog", "--db", db_url, "spool", "flush"], env=env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    told = [int(n) for out, _ in outs for n in out.split()]
    assert sorted(told) == list(range(1, 61))  # each entry number printed by exactly one of them
    _check_delivered_once(mapped, keys)


def test_kill_9_during_a_flush_loses_and_duplicates_nothing(mapped, db_url, spool_file):
    keys = _fill(db_url, 150)
    rng = random.Random(19)
    halfway = 0  # kills that left some events delivered and some still waiting
    for _ in range(4):
        waiting = _pending(spool_file)
        proc = subprocess.Popen([sys.executable, "-m", "ilog", "--db", db_url, "spool", "flush", "--batch-size", "2"],
                                env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while _pending(spool_file) == waiting and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)  # until it has delivered something: killed half-way, not before it began
        time.sleep(rng.uniform(0, 0.05))
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        halfway += 0 < _pending(spool_file) < waiting
    assert halfway >= 2
    mapped.ok("spool", "flush")
    _check_delivered_once(mapped, keys)


def _pending(spool_file: Path) -> int:
    with sqlite3.connect(spool_file, timeout=30) as conn:
        return conn.execute("SELECT count(*) FROM spooled WHERE state = 'pending'").fetchone()[0]


def test_a_spool_made_by_a_newer_ilog_is_left_alone_and_prints_still_get_through(mapped, monkeypatch, spool_file):
    monkeypatch.setenv("ILOG_DELIVERY", "spool")
    mapped.ok(*invoice("--document-no", "INV-1", "--contact", "P1"))
    with sqlite3.connect(spool_file) as conn:
        conn.execute("PRAGMA user_version = 99")
    run = mapped(*invoice("--document-no", "INV-2", "--contact", "P1"))  # nowhere to keep it: it fails
    assert run.exit_code == 1 and "was made by a newer ilog (spool version 99)" in run.stderr
    monkeypatch.setenv("ILOG_DELIVERY", "auto")  # the database is there: the print is recorded
    run = mapped.ok(*invoice("--document-no", "INV-3", "--contact", "P1", "-q"))
    assert run.stdout == "1\n" and "ilog: warning: the spool" in run.stderr
    with sqlite3.connect(spool_file) as conn:
        assert conn.execute("SELECT count(*) FROM spooled").fetchone()[0] == 1


# -- the quick print path and the spool file --------------------------------------------------------


def _typer_event_options() -> set[str]:
    from ilog.cli import build_app

    import typer.main

    command = typer.main.get_command(build_app()).commands["event"]
    return {opt for param in command.params for opt in (*param.opts, *param.secondary_opts) if opt.startswith("-")}


def test_the_quick_path_and_typer_take_the_same_options():
    """Every option of ``ilog event`` is either taken by the quick path (the same way) or left to Typer."""
    from ilog.cli import quick

    assert set(quick.VALUES) | quick.FLAGS | quick.FULL_PATH == _typer_event_options() | {"--help", "-h"}
    assert not set(quick.VALUES) & quick.FLAGS and not (set(quick.VALUES) | quick.FLAGS) & quick.FULL_PATH
    from ilog.cli import build_app

    import typer.main

    root = typer.main.get_command(build_app())
    root_options = {opt for param in root.params for opt in param.opts}
    assert set(quick.ROOT_VALUES) <= root_options


def test_the_quick_path_takes_values_within_the_record_models_limits():
    from ilog.cli import quick
    from ilog.domain.records import DocumentEvent

    for option, (name, limit) in quick.VALUES.items():
        info = DocumentEvent.model_fields[name]
        lengths = [m.max_length for m in info.metadata if getattr(m, "max_length", None)]
        if name == "version_no":
            assert limit <= len(str(2**31 - 1)), option
        elif name == "occurred_at":
            assert limit == 100  # what the Moment rule reads (values.moment)
        else:
            assert lengths and limit <= min(lengths), (option, lengths)


QUICK_CASES = [
    ["--document-no", "INV-1", "--contact", "p1", "--key", "k-1"],
    ["--ref", "10000", "--document-no", "INV-2", "--version", "2", "--date", "2026-11-24", "-q"],
    ["--document-no", "INV-3", "--contact", "P1", "--subject", "Fattura n. 3 — Müller", "--document-type", "inv"],
]


@pytest.mark.parametrize("args", QUICK_CASES)
def test_the_quick_path_and_the_full_path_spool_the_same_event(mapped, monkeypatch, spool_file, args):
    monkeypatch.setenv("ILOG_DELIVERY", "spool")
    monkeypatch.setenv("ILOG_TIMEZONE", "Europe/Rome")
    quick = ilog(*invoice(*args), db=mapped.db_url)  # a real process: main() takes the quick path
    full = mapped(*invoice(*args))  # CliRunner: always the Typer command
    assert (quick.returncode, quick.stdout, full.exit_code, full.stdout) == (0, b"", 0, "")
    said = quick.stderr.decode().replace("spooled as 1", "spooled as N")
    assert said == full.stderr.replace("spooled as 2", "spooled as N") and "spooled as N" in said
    first, second = spooled(mapped)
    for row in (first, second):
        row.pop("id"), row.pop("spooled_at")
        if "--key" not in args:
            assert len(row.pop("key")) == 36
    from ilog.services.events import event_from

    def delivered_as(row):  # the same DocumentEvent once validated, as a flush will see it
        fields = {k: row[k] for k in ("event", "document_no", "contact_no", "ref", "document_type", "version_no",
                                      "subject") if row.get(k) is not None}
        return event_from(fields).model_dump()

    assert delivered_as(first) == delivered_as(second)
    assert {k: v for k, v in first.items() if k not in ("contact_no",)} == {
        k: v for k, v in second.items() if k not in ("contact_no",)}
    with sqlite3.connect(spool_file) as conn:
        moments = [json.loads(e)["occurred_at"] for (e,) in conn.execute("SELECT event FROM spooled ORDER BY id")]
    if "--date" in args:
        assert moments == ["2026-11-23T23:00:00+00:00"] * 2  # the printer's zone, pinned
    else:
        from datetime import datetime

        assert abs(datetime.fromisoformat(moments[0]) - datetime.fromisoformat(moments[1])).total_seconds() < 30


@pytest.mark.parametrize("args", [
    ["--document-no", "INV-1", "--contact", "P1", "--format", "json"],  # an option the quick path leaves to Typer
    ["--document-no", " INV-1 ", "--contact", "P1"],  # a value it does not call plainly fine
    ["--document-no", "INV-1", "--contact", "P1", "--date", "yesterday"],
])
def test_what_the_quick_path_leaves_to_typer_is_spooled_all_the_same(mapped, monkeypatch, args):
    monkeypatch.setenv("ILOG_DELIVERY", "spool")
    run = ilog(*invoice(*args), db=mapped.db_url)
    assert run.returncode == 0 and b"spooled as 1" in run.stderr, run.stderr
    [row] = spooled(mapped)
    assert (row["document_no"].strip(), row["contact_no"]) == ("INV-1", "P1")


def test_the_quick_path_refuses_through_typer_what_typer_refuses(mapped, monkeypatch, spool_file):
    monkeypatch.setenv("ILOG_DELIVERY", "spool")
    run = ilog(*invoice("--document-no", "INV-1", "--contact", "P1", "--date", "31/12/2026"), db=mapped.db_url)
    assert run.returncode == 2 and run.stderr.decode().startswith("ilog: error: invalid date '31/12/2026'")
    assert not spool_file.exists()


def test_the_spool_file_is_private_durable_and_in_wal_mode(mapped, monkeypatch, spool_file):
    monkeypatch.setenv("ILOG_DELIVERY", "spool")
    assert ilog(*invoice("--document-no", "INV-1", "--contact", "P1"), db=mapped.db_url).returncode == 0
    assert stat.S_IMODE(spool_file.stat().st_mode) == 0o600
    with sqlite3.connect(spool_file) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM spooled").fetchone()[0] == 1
    nested = spool_file.parent / "deep" / "er" / "spool.db"
    from ilog.store.spool import Spool, SpooledEvent

    with Spool(nested) as spool:
        spool.put(SpooledEvent(target="t", key="k", event={}, user_id="u"))
    assert stat.S_IMODE(nested.stat().st_mode) == 0o600
    assert stat.S_IMODE(nested.parent.stat().st_mode) == 0o700
    with Spool(spool_file) as spool:  # what every writer's connection commits with: fsync of the WAL
        assert spool._connection(create=False).execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
