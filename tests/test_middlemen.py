"""What stands between ilog and a central PostgreSQL: TLS and PgBouncer, both real.

- TLS: ``.ci/pg.sh`` makes a self-signed CA, a server certificate for ``localhost`` and an
  unrelated CA, and its server takes TCP connections with TLS and a password only. Through
  the real ``ilog`` (a child process), ``sslmode=verify-full`` with the right CA works; a
  wrong CA, a host name the certificate does not name and a wrong password are refused
  with one ``ilog: error:`` line naming the cause, and the password appears nowhere.
  Needs ``ILOG_TEST_TLS_URL``, ``ILOG_TEST_TLS_CA`` and ``ILOG_TEST_TLS_WRONG_CA``.
- PgBouncer: ``.ci/pgbouncer.sh`` puts one in transaction pooling mode (5 server
  connections per database) in front of that server and points ``ILOG_TEST_DATABASE_URL``
  at it. Concurrent ``ilog event`` processes with shared keys record each key once and all
  exit 0: nothing ilog does needs a session (no SET, no prepared statements). A database
  dropped on the server leaves nothing behind in PgBouncer. Needs
  ``ILOG_TEST_PGBOUNCER_ADMIN_URL`` (PgBouncer's admin console).

Everything here skips without those variables (SQLite runs, a developer's own server).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from urllib.parse import quote, unquote

import pytest

from conftest import BACKEND, PG_ADMIN, PG_BASE
from helpers.proc import env

# read at import: the autouse isolated_env fixture hides ILOG_* variables from the tests
TLS_URL = os.environ.get("ILOG_TEST_TLS_URL")
TLS_CA = os.environ.get("ILOG_TEST_TLS_CA")
TLS_WRONG_CA = os.environ.get("ILOG_TEST_TLS_WRONG_CA")
PGBOUNCER_ADMIN = os.environ.get("ILOG_TEST_PGBOUNCER_ADMIN_URL")

needs_tls = pytest.mark.skipif(
    not (TLS_URL and TLS_CA and TLS_WRONG_CA and BACKEND == "postgresql"),
    reason="needs ILOG_TEST_TLS_URL, ILOG_TEST_TLS_CA, ILOG_TEST_TLS_WRONG_CA (.ci/pg.sh sets them)")
needs_pgbouncer = pytest.mark.skipif(
    not (PGBOUNCER_ADMIN and BACKEND == "postgresql"),
    reason="needs ILOG_TEST_PGBOUNCER_ADMIN_URL and ILOG_TEST_DATABASE_URL through it (.ci/pgbouncer.sh)")


def run_ilog(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """The real ``ilog`` in a child process: real exit status, real stderr (text)."""
    return subprocess.run([sys.executable, "-m", "ilog", *args], capture_output=True, text=True, env=env(),
                          timeout=timeout)


# -- TLS ----------------------------------------------------------------------------------------


def _password(url: str) -> str:
    return unquote(url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1])


def _tls_url(database: str, *, host: str = "localhost", ca: str | None = None, password: str | None = None) -> str:
    """ILOG_TEST_TLS_URL, as a user would type it, on another database, host, CA or password."""
    assert TLS_URL and TLS_CA
    url = TLS_URL.replace("@localhost:", f"@{host}:")
    base, _, query = url.partition("?")
    url = f"{base.rsplit('/', 1)[0]}/{database}?{query}"
    if ca is not None:
        url = url.replace(f"sslrootcert={TLS_CA}", f"sslrootcert={ca}")
    if password is not None:
        url = url.replace(f":{quote(_password(TLS_URL), safe='')}@", f":{quote(password, safe='')}@")
    return url


@pytest.fixture
def tls_db(db_url) -> str:
    """The name of a fresh database on the TLS server (created and dropped by ``db_url``)."""
    from sqlalchemy.engine import make_url

    return make_url(db_url).database


def _assert_no_password(run: subprocess.CompletedProcess) -> None:
    secret = _password(TLS_URL)
    for form in {secret, quote(secret, safe=""), secret[:4], "s3cr@t", "s3cr%40t", "s3cr"}:
        assert form not in run.stdout and form not in run.stderr, f"{form!r} shown:\n{run.stderr}{run.stdout}"


def _assert_one_error_line(run: subprocess.CompletedProcess, cause: str) -> None:
    assert run.returncode == 1, run
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and run.stderr.endswith("\n"), run.stderr
    assert lines[0].startswith("ilog: error: cannot open database postgresql+psycopg://postgres:***@"), lines[0]
    assert re.search(cause, lines[0]), lines[0]


@needs_tls
def test_tls_script_gives_a_url_with_a_password_and_two_different_cas():
    assert TLS_URL.startswith("postgresql://postgres:") and "@localhost:" in TLS_URL
    assert "sslmode=verify-full" in TLS_URL and f"sslrootcert={TLS_CA}" in TLS_URL
    assert _password(TLS_URL) and _password(TLS_URL) != quote(_password(TLS_URL), safe="")  # percent-encoded
    with open(TLS_CA) as ca, open(TLS_WRONG_CA) as wrong:
        assert ca.read() != wrong.read()


@needs_tls
def test_verify_full_with_the_right_ca_works_through_the_real_cli(tls_db):
    url = _tls_url(tls_db)
    steps = [
        ("init",),
        ("contact", "add", "Rossi SpA", "--no", "C1", "--type", "company"),
        ("interact", "C1", "--kind", "note", "--subject", "over TLS", "-q"),
        ("log", "-f", "json"),
    ]
    runs = [run_ilog("--db", url, *step) for step in steps]
    for step, run in zip(steps, runs):
        assert run.returncode == 0, (step, run.stderr)
        _assert_no_password(run)
    assert "ilog: created database postgresql+psycopg://postgres:***@localhost:" in runs[0].stderr
    assert runs[2].stdout.strip() == "1"
    [entry] = json.loads(runs[3].stdout)
    assert (entry["entry_no"], entry["contact_no"], entry["subject"]) == (1, "C1", "over TLS")


@needs_tls
def test_the_tls_connection_is_encrypted_and_verified(tls_db):
    """The server's own view of the session ilog opens: TLS, the right database."""
    from ilog.store.database import Database

    db = Database(_tls_url(tls_db))
    with db.transaction(write=False) as conn:
        row = conn.exec_driver_sql("SELECT ssl, current_database() FROM pg_stat_ssl "
                                   "WHERE pid = pg_backend_pid()").one()
        raw = conn.connection.dbapi_connection
        assert raw.info.get_parameters()["sslmode"] == "verify-full"
    db.dispose()
    assert tuple(row) == (True, tls_db)


REFUSALS = {
    "wrong CA": (dict(ca=TLS_WRONG_CA), r"certificate verify failed"),
    "wrong host name": (dict(host="127.0.0.1"), r'does not match host name "127\.0\.0\.1"'),
    "wrong password": (dict(password="s3cr@t-not"), r'password authentication failed for user "postgres"'),
}


@needs_tls
@pytest.mark.parametrize("command", [("init",), ("log",), ("contact", "add", "Acme"),
                                     ("event", "sales.invoice", "--document-no", "INV-1", "--contact", "C1")],
                         ids=lambda c: " ".join(c[:3]))
@pytest.mark.parametrize("refusal", REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refused_tls_connection_is_one_clear_line_without_the_password(tls_db, snapshot, refusal, command,
                                                                          isolated_env):
    """Also for ``ilog event`` with ``delivery = "auto"``: a wrong CA, host name or password
    needs a person, not a retry, so the print fails rather than being spooled."""
    change, cause = refusal
    before = snapshot()
    run = run_ilog("--db", _tls_url(tls_db, **change), *command)
    _assert_one_error_line(run, cause)
    _assert_no_password(run)
    assert snapshot() == before
    assert not (isolated_env / "spool.db").exists()


@needs_tls
@pytest.mark.parametrize("refusal", REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refused_tls_connection_with_debug_shows_no_password_either(tls_db, refusal):
    change, cause = refusal
    run = run_ilog("--debug", "--db", _tls_url(tls_db, **change), "log")
    assert run.returncode == 1 and re.search(cause, run.stderr), run.stderr
    _assert_no_password(run)


# -- PgBouncer ----------------------------------------------------------------------------------


def bouncer(command: str) -> list[dict]:
    """A SHOW command on PgBouncer's admin console, as dicts."""
    import psycopg

    with psycopg.connect(PGBOUNCER_ADMIN, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        cur = conn.execute(command)
        names = [d.name for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def _database(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).database


@needs_pgbouncer
def test_pgbouncer_pools_transactions_for_the_tests_databases(cli, db_url):
    """The run is what it claims: the tests' URL is PgBouncer, in transaction mode, 5 per pool."""
    from sqlalchemy.engine import make_url

    config = {row["key"]: row["value"] for row in bouncer("SHOW CONFIG")}
    assert (config["pool_mode"], config["default_pool_size"]) == ("transaction", "5")
    assert make_url(db_url).query["host"] != make_url(PG_ADMIN).query["host"]  # not the server's socket
    cli.ok("contact", "add", "Rossi SpA", "--no", "C1")
    name = _database(db_url)
    [db] = [row for row in bouncer("SHOW DATABASES") if row["name"] == name]
    assert (db["pool_mode"] or config["pool_mode"], db["pool_size"]) == ("transaction", 5)
    [stats] = [row for row in bouncer("SHOW STATS") if row["database"] == name]
    assert stats["total_xact_count"] >= 2


WORKERS = 8
WAVES = 2
SHARED_IN_BATCH = 12
OWN_IN_BATCH = 8


@needs_pgbouncer
def test_pgbouncer_concurrent_keyed_events_record_each_key_once(cli, db_url, tmp_path):
    """8 processes at a time through 5 pooled server connections: each key once, all exit 0.

    One-shot ``ilog event`` processes (pairs share a key, and every wave retries them), then
    batch processes (one connection, many transactions and statements each) that share some
    keys and reprint the same documents under keys of their own (occurrences 1..8).
    """
    cli.ok("contact", "add", "Rossi SpA", "--no", "C1", "--type", "company")
    cli.ok("template", "add", "INVOICE", "--kind", "letter", "--flow", "outbound")
    cli.ok("template", "setup", "sales.invoice", "INVOICE")
    told: dict[str, set[int]] = {}

    def finish(procs: list[tuple[list[str], subprocess.Popen]]) -> None:
        for keys, proc in procs:
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err
            assert "error" not in err.lower() and "prepared statement" not in err.lower(), err
            numbers = [int(n) for n in out.split()]
            assert len(numbers) == len(keys), out
            for key, number in zip(keys, numbers):
                told.setdefault(key, set()).add(number)

    for _ in range(WAVES):  # one-shot processes, all started together
        procs = []
        for w in range(WORKERS):
            key = f"print-{w % 4}"
            argv = [sys.executable, "-m", "ilog", "--db", db_url, "event", "sales.invoice", "--document-no",
                    f"INV-{w % 4}", "--contact", "C1", "--key", key, "-q"]
            procs.append(([key], subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                  text=True, env=env())))
        finish(procs)

    procs = []
    for w in range(WORKERS):  # batch processes
        lines = [{"document_no": f"B-{j}", "key": f"run-{j}"} for j in range(SHARED_IN_BATCH)]
        lines += [{"document_no": f"R-{j}", "key": f"reprint-{w}-{j}"} for j in range(OWN_IN_BATCH)]
        lines = lines[w % 3:] + lines[:w % 3]  # not all in the same order
        batch = tmp_path / f"batch-{w}.jsonl"
        batch.write_text("".join(json.dumps(line) + "\n" for line in lines))
        argv = [sys.executable, "-m", "ilog", "--db", db_url, "event", "sales.invoice", "--contact", "C1",
                "--input", str(batch)]
        procs.append(([line["key"] for line in lines], subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())))
    finish(procs)

    entries = cli.ok("log", "-f", "json").json()
    keys = [e["idempotency_key"] for e in entries]
    expected = {f"print-{k}" for k in range(4)} | {f"run-{j}" for j in range(SHARED_IN_BATCH)} | {
        f"reprint-{w}-{j}" for w in range(WORKERS) for j in range(OWN_IN_BATCH)}
    assert sorted(keys) == sorted(expected)  # each key exactly once
    numbers = [e["entry_no"] for e in entries]
    assert len(set(numbers)) == len(numbers) == len(expected)
    by_key = {e["idempotency_key"]: e["entry_no"] for e in entries}
    assert told == {key: {by_key[key]} for key in expected}  # every process was told the logged entry
    for j in range(OWN_IN_BATCH):  # a document reprinted under 8 keys: occurrences 1..8
        assert sorted(e["occurrence"] for e in entries if e["document_no"] == f"R-{j}") == list(range(1, WORKERS + 1))
    assert {e["occurrence"] for e in entries if not e["document_no"].startswith("R-")} == {1}
    name = _database(db_url)
    assert len([s for s in bouncer("SHOW SERVERS") if s["database"] == name]) <= 5


@needs_pgbouncer
def test_pgbouncer_keeps_nothing_of_a_database_dropped_on_the_server(cli):
    """The suite creates and drops its databases on the server directly (ILOG_TEST_ADMIN_URL):
    PgBouncer's server connections to a dropped database go, and a new database of the same
    name works through PgBouncer at once."""
    import uuid

    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from ilog.store.urls import normalise_url

    name = f"ilog_t_{uuid.uuid4().hex[:12]}"
    url = make_url(normalise_url(PG_BASE)).set(database=name).render_as_string(hide_password=False)
    admin = sa.create_engine(normalise_url(PG_ADMIN), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)

    def servers() -> list[dict]:
        return [s for s in bouncer("SHOW SERVERS") if s["database"] == name]

    try:
        for round_ in range(2):
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            assert run_ilog("--db", url, "contact", "add", f"Round {round_}", "--no", "C1").returncode == 0
            listed = run_ilog("--db", url, "contact", "list", "-f", "json")
            assert listed.returncode == 0, listed.stderr
            assert [c["name"] for c in json.loads(listed.stdout)] == [f"Round {round_}"]
            assert servers(), "PgBouncer keeps its server connection after the client goes"
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
            deadline = time.monotonic() + 5
            while servers() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert servers() == []
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
