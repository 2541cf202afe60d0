"""PostgreSQL as a first-class backend: URLs, the same results as SQLite for the same
commands, race-free numbering, one-shot connections (no pool, a connect timeout, nothing
session-level for PgBouncer), and `ilog db copy` from SQLite. Tests that need a server
use ILOG_TEST_DATABASE_URL (`.ci/pg.sh` starts one) and skip without it; the rest run on
both backends."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import BACKEND

needs_pg = pytest.mark.skipif(BACKEND != "postgresql", reason="needs ILOG_TEST_DATABASE_URL (a PostgreSQL server)")
#: behind PgBouncer (.ci/pgbouncer.sh) a client's connection is not a server backend: read at
#: import, the isolated environment hides ILOG_*
BEHIND_PGBOUNCER = bool(os.environ.get("ILOG_TEST_PGBOUNCER_ADMIN_URL"))


# -- URLs and connections ----------------------------------------------------------------------


@needs_pg
@pytest.mark.parametrize("scheme", ["postgresql://", "postgresql+psycopg://", "postgres://"])
def test_plain_and_psycopg_urls_work(cli, db_url, scheme):
    url = scheme + db_url.split("://", 1)[1]
    run = cli("--db", url, "init", db=False)
    assert run.exit_code == 0 and "created database postgresql+psycopg://" in run.stderr
    assert cli("--db", url, "contact", "add", "Rossi SpA", "--no", "C1", db=False).exit_code == 0
    status = cli("--db", url, "db", "status", "-f", "json", db=False).json()
    assert (status["backend"], status["status"]) == ("postgresql", "up to date")


def test_a_logbook_keeps_its_connections_in_a_small_pool(logbook):
    """Every unit of work checks a connection out of the logbook's pool and gives it back:
    many operations, one connection opened."""
    import sqlalchemy as sa
    from sqlalchemy.pool import QueuePool

    assert isinstance(logbook.db.engine.pool, QueuePool)
    opened: list[object] = []
    sa.event.listen(logbook.db.engine, "connect", lambda dbapi, record: opened.append(dbapi))
    logbook.contacts.add("X", no="X")
    for _ in range(5):
        logbook.contacts.get("X")
    assert len(opened) <= 1 and logbook.db.engine.pool.checkedout() == 0


@needs_pg
def test_psycopg_never_prepares_and_waits_at_most_the_connect_timeout(logbook):
    with logbook.db.transaction(write=False) as conn:
        raw = conn.connection.dbapi_connection
        assert raw.prepare_threshold is None
        assert raw.info.get_parameters().get("connect_timeout") == "5"


class Blackhole:
    """A TCP port that accepts connections and never answers (a hung server, a dropped route)."""

    def __enter__(self) -> int:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        return self.sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.sock.close()


@pytest.mark.parametrize("down", ["refused", "hung"])
def test_a_down_server_fails_fast_with_a_clear_error_and_no_password(cli, monkeypatch, down):
    pytest.importorskip("psycopg")
    monkeypatch.setenv("ILOG_CONNECT_TIMEOUT", "2")
    with Blackhole() as port:
        if down == "refused":
            port = 1
        url = f"postgresql+psycopg://ilog:s3cret@127.0.0.1:{port}/ilog"
        start = time.monotonic()
        run = cli("--db", url, "log", db=False)
        elapsed = time.monotonic() - start
    assert run.exit_code == 1
    assert run.stderr.startswith("ilog: error: cannot open database postgresql+psycopg://ilog:***@127.0.0.1:")
    assert len(run.stderr.splitlines()) == 1 and "s3cret" not in run.stderr
    assert elapsed < 5, elapsed


@needs_pg
def test_nothing_session_level_reaches_the_server(logbook, tmp_path):
    """What PgBouncer in transaction mode cannot pool: SET, PREPARE, LISTEN, session advisory locks, WITH HOLD.

    libpq's protocol trace shows every message ilog's connections send, whatever layer sent it.
    """
    from sqlalchemy import event

    from ilog.domain.dates import now
    from ilog import LogFilter

    trace = open(tmp_path / "trace.txt", "w")
    event.listen(logbook.db.engine, "connect", lambda dbapi, _record: dbapi.pgconn.trace(trace.fileno()))
    logbook.contacts.add("Rossi SpA", no="C1", type="company")
    logbook.templates.add("CALL", kind="phone-call", flow="outbound")
    logbook.templates.add("INVOICE", kind="letter", flow="outbound")
    logbook.templates.set_event("sales.invoice", "INVOICE")
    for i in range(7):  # psycopg would prepare a statement run 5 times on one connection
        logbook.interact("C1", "CALL", subject=f"call {i}")
    logbook.record_event("sales.invoice", "INV-1", contact_no="C1", key="print-1")
    logbook.record_event("sales.invoice", "INV-1", contact_no="C1", key="print-1")
    logbook.cancel([1, 2])
    logbook.purge_cancelled(now())
    assert len(logbook.find(LogFilter(text="CALL"))) == 5
    with logbook.db.transaction(write=True) as conn:  # many statements on one connection
        for i in range(8):
            conn.execute(sa.text("SELECT :x"), {"x": i})
    trace.close()
    statements = []
    for line in (tmp_path / "trace.txt").read_text().splitlines():
        parts = line.split("\t", 4)  # time, F(rontend)/B(ackend), length, message, contents
        if len(parts) == 5 and parts[1] == "F" and parts[3] in ("Query", "Parse"):
            text = parts[4].strip()
            if parts[3] == "Parse":
                name, _, text = text.partition(" ")
                assert name == '""', f"a named (prepared) statement: {line}"
            statements.append(text.strip('"').strip().upper())
    assert len(statements) > 40
    assert any("PG_ADVISORY_XACT_LOCK" in sql for sql in statements)  # creating the schema: transaction-level
    for sql in statements:
        assert not re.match(r"(SET|RESET|PREPARE|DEALLOCATE|LISTEN|DISCARD|DECLARE)\b", sql), sql
        assert not re.search(r"PG_(TRY_)?ADVISORY_LOCK|WITH HOLD", sql), sql


def traced(logbook, path: Path) -> Callable[[], list[str]]:
    """Trace every message ilog's connections send from now on; the returned function gives the
    statements sent since its previous call (SQL text, upper case; BEGIN and COMMIT included)."""
    from sqlalchemy import event

    trace = open(path, "w")
    logbook.db.engine.dispose()  # new connections, each traced from its first message
    event.listen(logbook.db.engine, "connect", lambda dbapi, _record: dbapi.pgconn.trace(trace.fileno()))
    seen = 0

    def since() -> list[str]:
        nonlocal seen
        trace.flush()
        statements = []
        for line in path.read_text().splitlines():
            parts = line.split("\t", 4)
            if len(parts) == 5 and parts[1] == "F" and parts[3] in ("Query", "Parse"):
                text = parts[4].strip()
                if parts[3] == "Parse":
                    text = text.partition(" ")[2]
                statements.append(text.strip('"').strip().upper())
        new, seen = statements[seen:], len(statements)
        return new

    return since


@needs_pg
def test_a_read_is_one_round_trip_and_a_write_one_transaction(logbook, tmp_path):
    """No ping before each use, no BEGIN and COMMIT around a read: a contact's history is one
    statement on the wire (over a network each round trip costs what the query does)."""
    from ilog import LogFilter

    logbook.contacts.add("Rossi SpA", no="C1", type="company")
    logbook.templates.add("CALL", kind="phone-call", flow="outbound")
    logbook.interact("C1", "CALL", subject="first")
    since = traced(logbook, tmp_path / "trace.txt")
    logbook.find(LogFilter(contact_no="C1"))  # the first use of the new connection
    since()
    for _ in range(3):
        assert len(logbook.find(LogFilter(contact_no="C1"))) == 1
        sent = since()
        assert len(sent) == 1 and sent[0].startswith("SELECT INTERACTION.ENTRY_NO"), sent
    logbook.interact("C1", "CALL", subject="second")
    sent = since()  # its checks read alone, then one transaction writes
    begin = [i for i, sql in enumerate(sent) if sql.startswith("BEGIN")]
    assert len(begin) == 1 and sent[-1] == "COMMIT", sent
    assert any(sql.startswith(("COPY INTERACTION", "INSERT INTO INTERACTION")) for sql in sent[begin[0]:]), sent
    exported = list(logbook.iter_find(LogFilter(contact_no="C1")))  # a server-side cursor: in a transaction
    assert [e.subject for e in exported] == ["second", "first"]
    sent = since()
    assert sent[0].startswith("BEGIN") and any(sql.startswith("DECLARE") for sql in sent), sent


def terminate_backends(db_url: str) -> int:
    """Disconnect every other session on the test database, as a server restart would."""
    from ilog.store.urls import normalise_url

    engine = sa.create_engine(normalise_url(db_url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        killed = conn.exec_driver_sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()").scalar()
    engine.dispose()
    return killed


@needs_pg
@pytest.mark.skipif(BEHIND_PGBOUNCER, reason="PgBouncer replaces the server connections it loses itself: the "
                                              "client's connection to PgBouncer stays up")
def test_a_connection_idle_for_a_while_is_pinged_and_replaced_if_the_server_dropped_it(logbook, db_url,
                                                                                        monkeypatch):
    from ilog import DatabaseUnavailable, LogFilter
    from ilog.store import database

    logbook.contacts.add("Rossi SpA", no="C1", type="company")
    assert logbook.find(LogFilter(contact_no="C1")) == []
    # idle for longer than the bound: pinged, found dead, replaced; the caller sees nothing
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.0)
    assert terminate_backends(db_url) >= 1
    time.sleep(0.01)
    assert logbook.find(LogFilter(contact_no="C1")) == []
    # in use a moment ago: trusted, so the statement meets the dropped connection, said as a
    # retryable error (what `ilog event` spools on); the pool has reconnected for the next call
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 3600.0)
    assert terminate_backends(db_url) >= 1
    with pytest.raises(DatabaseUnavailable):
        logbook.find(LogFilter(contact_no="C1"))
    assert logbook.find(LogFilter(contact_no="C1")) == []


# -- same results on both backends ----------------------------------------------------------------


def raw_value(db_url: str, sql: str):
    from ilog.store.urls import normalise_url

    engine = sa.create_engine(normalise_url(db_url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        result = conn.exec_driver_sql(sql)
        value = result.scalar() if result.returns_rows else None
    engine.dispose()
    return value


def test_times_are_stored_in_utc_and_shown_in_the_users_zone(sample, db_url, monkeypatch):
    sample.ok("interact", "P1", "-t", "CALL", "--date", "2026-03-01T10:00:00+01:00")
    assert str(raw_value(db_url, "SELECT occurred_at FROM interaction"))[:19] == "2026-03-01 09:00:00"
    if BACKEND == "postgresql":  # a server in another zone changes nothing (the column has no zone)
        name = db_url.split("/")[-1].split("?")[0]
        raw_value(db_url, f"ALTER DATABASE \"{name}\" SET timezone TO 'Asia/Tokyo'")
        assert raw_value(db_url, "SHOW timezone") == "Asia/Tokyo"
    monkeypatch.setenv("ILOG_TIMEZONE", "America/New_York")
    assert sample.ok("log", "-f", "json").json()[0]["occurred_at"] == "2026-03-01T04:00:00-05:00"
    monkeypatch.setenv("ILOG_TIMEZONE", "Europe/Rome")
    sample.ok("interact", "P1", "-t", "CALL", "--date", "2026-07-01 12:00")  # no offset: the user's zone (CEST)
    assert str(raw_value(db_url, "SELECT MAX(occurred_at) FROM interaction"))[:19] == "2026-07-01 10:00:00"
    assert [e["occurred_at"] for e in sample.ok("log", "--from", "2026-07-01", "-f", "json").json()] == [
        "2026-07-01T12:00:00+02:00"]


def test_text_search_ignores_case_the_same_way_on_both(sample):
    for subject in ("Quote for MÜLLER GmbH", "quote SENT", "Ærøskøbing visit", "100% done", "Other"):
        sample.ok("interact", "P1", "-t", "CALL", "--subject", subject)

    def found(text: str) -> list[str]:
        return sorted(e["subject"] for e in sample.ok("log", "--search", text, "-f", "json").json())

    assert found("QUOTE") == ["Quote for MÜLLER GmbH", "quote SENT"]
    assert found("müller") == ["Quote for MÜLLER GmbH"]
    assert found("ÆRØSKØBING") == ["Ærøskøbing visit"]
    assert found("100%") == ["100% done"] and found("0_") == []
    assert [c["no"] for c in sample.ok("contact", "list", "--search", "ROSSI", "-f", "json").json()] == [
        "C1", "P1", "P2"]


BAD_TEXT = {"NUL byte": "a\x00b", "lone surrogate": "x\udcffy"}


@pytest.mark.parametrize("bad", BAD_TEXT.values(), ids=BAD_TEXT.keys())
def test_nul_bytes_and_invalid_text_are_refused_at_the_input(sample, snapshot, bad):
    before = snapshot()
    expected = "contains a NUL byte" if "\x00" in bad else "is not valid UTF-8 text"
    for args, what in (
        (("contact", "add", bad), "name"),
        (("contact", "edit", "P1", "--name", bad), "name"),
        (("interact", "P1", "-t", "CALL", "--subject", bad), "subject"),
        (("template", "add", "NEW", "-d", bad, "--kind", "email", "--flow", "outbound"), "description"),
        (("template", "edit", "CALL", "-d", bad), "description"),
    ):
        run = sample(*args)
        assert (run.exit_code, run.stderr.splitlines()) == (2, [f"ilog: error: {what} {expected}"]), args
    assert snapshot() == before


def test_a_non_utf8_argument_from_a_real_process_exits_2(sample, db_url, snapshot):
    """An ERP passing Latin-1 bytes: Python decodes argv with surrogateescape."""
    before = snapshot()
    run = subprocess.run([sys.executable, "-m", "ilog", "--db", db_url, "contact", "add", b"M\xfcller"],
                         capture_output=True, env=os.environ)
    assert run.returncode == 2
    assert run.stderr.decode() == "ilog: error: name is not valid UTF-8 text\n"
    assert snapshot() == before


def test_numbers_and_occurrences_are_race_free(sample, db_url):
    """Several print hooks at once, each its own process-like Logbook: no duplicates, no errors."""
    from ilog.testing import open_logbook
    from ilog import LogFilter

    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    workers, rounds = 6, 8
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []
    keyed: list[int] = []

    def hook(i: int) -> None:
        try:
            with open_logbook(db_url, user=f"host{i}") as logbook:
                barrier.wait()
                for r in range(rounds):
                    logbook.interact("P1", "CALL", subject=f"call {i}.{r}")
                    logbook.record_event("sales.invoice", "INV-7", contact_no="P1")
                    keyed.append(logbook.record_event("sales.invoice", "INV-8", contact_no="P1", key="print-8").entry_no)
                    logbook.contacts.add(f"Lead {i}.{r}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hook, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with open_logbook(db_url) as logbook:
        entries = logbook.find(LogFilter())
        numbers = [e.entry_no for e in entries]
        assert len(numbers) == len(set(numbers)) == workers * rounds * 2 + 1
        occurrences = sorted(e.occurrence for e in entries if e.document_no == "INV-7")
        assert occurrences == list(range(1, workers * rounds + 1))
        assert len(set(keyed)) == 1 and [e.entry_no for e in entries if e.document_no == "INV-8"] == keyed[:1]
        leads = [c.no for c in logbook.contacts.find() if c.name.startswith("Lead")]
        assert len(leads) == len(set(leads)) == workers * rounds


# -- moving from SQLite: ilog db copy ------------------------------------------------------------


def table_rows(url: str) -> dict[str, list[tuple]]:
    from ilog.store import tables as models
    from ilog.store.urls import normalise_url

    engine = sa.create_engine(normalise_url(url), poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows = {t.name: [tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]
                for t in models.metadata.sorted_tables if t.name != "ilog_migration"}
    engine.dispose()
    return rows


@pytest.fixture
def sqlite_log(tmp_path, plugins):
    """An SQLite log with a little of everything, always SQLite (the source of a move)."""
    from conftest import CLI

    url = str(tmp_path / "old.db")
    cli = CLI(url, plugins)
    cli.ok("init")
    cli.ok("contact", "add", "Rossi SpA", "--no", "RS1", "--type", "company")  # sorts after its persons
    cli.ok("contact", "add", "Mario Rossi", "--company", "RS1")  # CT000001
    cli.ok("contact", "add", "Ada Bianchi")  # CT000002...
    cli.ok("contact", "edit", "CT000002", "--company", "RS1")  # ...linked later
    cli.ok("group", "add", "SALES")
    cli.ok("template", "add", "CALL", "--kind", "phone-call", "--flow", "outbound", "--group", "SALES")
    cli.ok("template", "add", "INVOICE", "--kind", "letter", "--flow", "outbound")
    cli.ok("template", "setup", "sales.invoice", "INVOICE")
    pdf = tmp_path / "inv.pdf"
    pdf.write_bytes(b"%PDF-1.4 invoice\x00\xff")
    cli.ok("event", "sales.invoice", "--document-no", "INV-1", "--contact", "CT000001", "--key", "p-1",
           "--attach", str(pdf))
    cli.ok("event", "sales.invoice", "--document-no", "INV-1", "--contact", "CT000001", "--key", "p-2")
    cli.ok("interact", "CT000002", "-t", "CALL", "--subject", "Called Ada", "--date", "2026-01-05T09:30+01:00")
    cli.ok("interact", "RS1", "-t", "CALL", "--subject", "to purge", "--key", "gone")
    cli.ok("comment", "3", "she will call back")
    cli.ok("cancel", "4", "--yes")
    cli.ok("purge-cancelled", "--before", "tomorrow", "--yes")  # entry 4 gone, its key "gone" stays
    return cli


def test_db_copy_moves_everything_and_numbering_goes_on(sqlite_log, db_url, cli):
    source = sqlite_log.db_url
    run = cli("db", "copy", source, db_url, "-f", "json", db=False)
    assert run.exit_code == 0, run.stderr
    counts = {r["table"]: r["rows"] for r in run.json()}
    assert (counts["interaction"], counts["contact"], counts["attachment"], counts["idempotency_key"]) == (3, 3, 1, 3)
    assert "ilog: copied" in run.stderr
    assert table_rows(db_url) == table_rows(source)
    back = str(Path(source).parent / "back.db")  # and back again (PostgreSQL to SQLite on that backend)
    assert cli("db", "copy", db_url, back, db=False).exit_code == 0
    assert table_rows(back) == table_rows(source)
    # the summary is not copied: the destination's triggers derive the same from the entries
    assert "interaction_summary" not in counts
    from_source = cli("--db", source, "stats", "--by", "day", "-f", "json", db=False)
    assert from_source.exit_code == 0 and from_source.json()
    assert cli.ok("stats", "--by", "day", "-f", "json").json() == from_source.json()

    # the copy goes on where the source stopped
    assert cli.ok("interact", "RS1", "-t", "CALL", "-q").stdout.strip() == "5"
    assert cli.ok("contact", "add", "New Person").stdout.strip() == "CT000003"
    again = ("event", "sales.invoice", "--document-no", "INV-1", "--contact", "CT000001")
    assert cli.ok(*again, "--key", "p-2").stdout.strip() == "2"
    # a purged entry's key still holds: its retry records nothing; the key on another document is refused
    assert cli.ok("interact", "RS1", "-t", "CALL", "--key", "gone").stdout.strip() == "4"
    assert cli(*again, "--key", "gone").exit_code == 1
    assert cli.ok(*again, "-q").stdout.strip() == "6"
    assert cli.ok("show", "6", "-f", "json").json()["occurrence"] == 3
    other = Path(sqlite_log.db_url).parent / "other.pdf"
    other.write_bytes(b"another file")
    cli.ok("interact", "RS1", "-t", "CALL", "--attach", str(other))  # a fresh attachment id (PostgreSQL sequence)
    shown = cli.ok("show", "3", "-f", "json").json()
    assert (shown["contact_no"], shown["company_no"]) == ("CT000002", "RS1")


def test_db_copy_refuses_a_destination_with_data_and_changes_nothing(sqlite_log, db_url, cli, snapshot):
    cli.ok("contact", "add", "Already here", "--no", "X1")
    before = snapshot()
    run = cli("db", "copy", sqlite_log.db_url, db_url, db=False)
    assert run.exit_code == 1
    assert re.fullmatch(r"ilog: error: the destination .* is not empty \(table contact has rows\): "
                        r"copy into a new database\n", run.stderr)
    assert snapshot() == before
    assert cli("db", "copy", db_url, db_url, db=False).exit_code == 1
    missing = Path(sqlite_log.db_url).parent / "typo.db"
    run = cli("db", "copy", str(missing), db_url, db=False)
    assert (run.exit_code, run.stderr) == (1, f"ilog: error: no database file {missing}\n")
    assert not missing.exists() and snapshot() == before


def test_db_copy_refuses_an_older_source(sqlite_log, db_url, cli):
    from ilog.store import tables as models
    from ilog.store.urls import normalise_url

    engine = sa.create_engine(normalise_url(sqlite_log.db_url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(models.meta.update().where(models.meta.c.key == "schema_version").values(value="1"))
    engine.dispose()
    run = cli("db", "copy", sqlite_log.db_url, db_url, db=False)
    assert run.exit_code == 1 and "is at schema version 1" in run.stderr and "run `ilog init` on it first" in run.stderr
