"""What broke when ilog was tried as a new user would (issue 14), one class of defect at a time,
each with the case that was found and its siblings (other commands, fields, zones), on the
backend under test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BACKEND
from helpers import proc

# -- 1. a password never shows, whatever it holds ---------------------------------------------------

#: passwords people really have: a space, an "@", a ":", a "/", percent-encoded or not
PASSWORDS = ["qzx 7vk", "kq@7:vqz", "zq/j@xk w", "s3cr%40tz", "pq%20zx w0x"]


def _parts(password: str) -> list[str]:
    from urllib.parse import unquote

    pieces = {password, unquote(password)}
    for form in list(pieces):
        pieces |= {p for p in form.replace("@", " ").replace(":", " ").replace("/", " ").split() if len(p) >= 3}
    return sorted(pieces, key=len, reverse=True)


@pytest.mark.parametrize("password", PASSWORDS)
def test_no_command_prints_any_part_of_a_password(cli, password, monkeypatch):
    url = f"postgresql://ilog:{password}@127.0.0.1:1/x"
    monkeypatch.setenv("ILOG_CONNECT_TIMEOUT", "1")
    runs = [cli("--db", url, "log", db=False), cli("--db", url, "event", "sales.invoice", "--document-no", "1",
                                                   "--contact", "C1", db=False)]
    monkeypatch.setenv("ILOG_DATABASE_URL", url)
    runs += [cli("config", "show", db=False), cli("config", "show", "-f", "json", db=False),
             cli("db", "status", db=False)]
    for run in runs:
        shown = run.stdout + run.stderr
        for part in _parts(password):
            assert part not in shown, (part, shown)
    assert runs[0].exit_code == 1 and runs[0].stderr.startswith("ilog: error:")
    assert len(runs[0].stderr.strip().splitlines()) == 1
    assert "ilog:***@" in cli("config", "show", "-f", "json", db=False).stdout


# -- 2. only `ilog init` creates a database; a mistyped URL never becomes a local file ---------------


@pytest.mark.parametrize("typo", ["postgresql//ilog:pw@db/ilog", "postgres:/ilog@db/ilog", "postgresql:ilog@db"])
def test_a_mistyped_url_is_refused_and_writes_nothing(cli, tmp_path, monkeypatch, typo):
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    run = cli("--db", typo, "event", "sales.invoice", "--document-no", "INV-1", "--contact", "C1", db=False)
    assert run.exit_code == 1 and "the database URL looks mistyped" in run.stderr, run.stderr
    assert "pw" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert list(here.iterdir()) == []  # no folder, no file


def test_a_command_on_a_missing_database_is_refused_saying_how_to_create_it(cli, tmp_path):
    target = tmp_path / "new" / "ilog.db"
    for args in (["log"], ["contact", "list"], ["interact", "C1", "-t", "CALL"], ["db", "status"]):
        run = cli("--db", target, *args, db=False)
        assert run.exit_code == 1, (args, run.stderr)
        assert f"no database at {target}: create it with `ilog --db {target} init`" in run.stderr, run.stderr
    assert not target.parent.exists()  # no folder either
    run = cli("--db", target, "init", db=False)  # init never creates a missing folder
    assert run.exit_code == 1 and "does not exist" in run.stderr and not target.parent.exists()
    target.parent.mkdir()
    cli.ok("--db", target, "init", db=False)
    assert (os.stat(target).st_mode & 0o777) == 0o600


def test_an_existing_empty_file_becomes_a_private_database(cli, tmp_path):
    path = tmp_path / "empty.db"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    cli.ok("--db", path, "contact", "add", "Rossi SpA", db=False)
    assert (os.stat(path).st_mode & 0o777) == 0o600


# -- 3. control characters in stored text are shown escaped, machine formats keep them --------------

HOSTILE = "Red \x1b[31malert\x1b[0m bell\x07 back\rline\nnext \x1b]0;pwned\x07 \u202eevil"


def test_control_characters_are_escaped_in_tables_and_messages_and_exact_in_json(sample):
    sample.ok("contact", "add", HOSTILE, "--no", "H1")
    sample.ok("interact", "H1", "-t", "CALL", "--subject", HOSTILE)
    outputs = [sample.ok("log").stdout, sample.ok("timeline", "H1").stdout, sample.ok("show", "1").stdout,
               sample.ok("contact", "list").stdout, sample.ok("contact", "show", "H1").stdout,
               sample.ok("stats", "--by", "contact").stdout,
               sample.ok("contact", "add", HOSTILE + "2").stderr]
    for text in outputs:
        for raw in ("\x1b", "\x07", "\r", "\u202e"):
            assert raw not in text, (raw, text)
        assert "\\x1b[31m" in text or "\\x1b" in text, text
    table = sample.ok("log").stdout.splitlines()
    assert len(table) == 3  # header, rule, ONE line for the entry: a newline in a subject breaks no row
    assert sample.ok("show", "1", "-f", "json").json()["subject"] == HOSTILE
    assert [e["subject"] for e in sample.ok("log", "-f", "jsonl").stdout and
            [json.loads(line) for line in sample.ok("log", "-f", "jsonl").stdout.splitlines()]] == [HOSTILE]
    import csv
    import io

    [row] = list(csv.DictReader(io.StringIO(sample.ok("log", "-f", "csv").stdout)))
    assert row["subject"] == HOSTILE


# -- 4. dates no zone can show are refused; a stored one never breaks reading -----------------------


@pytest.mark.parametrize("date", ["9999-12-31T23:59", "9999-12-31T12:00Z", "+100000y", "0001-01-01T03:00", "-3000y"])
@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Los_Angeles", "UTC"])
def test_dates_no_zone_can_show_are_bad_values(sample, snapshot, monkeypatch, date, zone):
    monkeypatch.setenv("ILOG_TIMEZONE", zone)
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    before = snapshot()
    for args in (["interact", "P1", "-t", "CALL", "--date", date],
                 ["event", "sales.invoice", "--document-no", "X", "--contact", "P1", "--date", date],
                 ["interact", "P1", "-t", "CALL", "--due", date], ["log", "--from", date]):
        run = sample(*args)
        assert run.exit_code == 2 and "out of range" in run.stderr, (args, run.stderr)
    assert snapshot() == before


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kathmandu"])
def test_a_far_stored_moment_never_makes_reading_fail(sample, db_url, monkeypatch, zone):
    """A value another program (or an older ilog) wrote at the edge of the calendar: every
    reading command still works and shows it."""
    import sqlalchemy as sa

    from ilog.store.urls import normalise_url

    sample.ok("interact", "P1", "-t", "CALL", "--subject", "far")
    engine = sa.create_engine(normalise_url(db_url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        if BACKEND == "sqlite":
            conn.execute(sa.text("UPDATE interaction SET occurred_at = :far, due_at = :far"),
                         {"far": "9999-12-31 23:59:00"})
        else:
            conn.exec_driver_sql("UPDATE interaction SET occurred_at = '9999-12-31 23:59:00', "
                                 "due_at = '0001-01-01 00:00:00'")
    engine.dispose()
    monkeypatch.setenv("ILOG_TIMEZONE", zone)
    for args in (["log"], ["show", "1"], ["timeline", "P1"], ["log", "export"], ["log", "-f", "json"],
                 ["stats", "--by", "month"], ["contact", "show", "P1"], ["log", "export", "-f", "csv"]):
        run = sample(*args)
        assert run.exit_code == 0, (args, run.stderr)
    assert "9999-12-31" in sample.ok("show", "1", "-f", "json").stdout


# -- 5. numbers beyond what the database holds are bad values -------------------------------------


@pytest.mark.parametrize("args", [
    ["show", "99999999999999999999"],
    ["comment", "99999999999999999999", "x"],
    ["cancel", "99999999999999999999"],
    ["log", "--limit", "99999999999999999999"],
    ["interact", "P1", "-t", "CALL", "--duration", "1e400"],
    ["interact", "P1", "-t", "CALL", "--cost", "-1"],
    ["interact", "P1", "-t", "CALL", "--cost", "nan"],
    ["event", "sales.invoice", "--document-no", "X", "--contact", "P1", "--version", "99999999999999999999"],
    ["event", "sales.invoice", "--document-no", "X", "--contact", "P1", "--version", "1.5"],
    ["template", "edit", "CALL", "--unit-cost", "1e999"],
    ["resume", "99999999999999999999"],
])
def test_numbers_the_database_cannot_hold_are_bad_values(sample, snapshot, args):
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    before = snapshot()
    run = sample(*args)
    assert run.exit_code == 2, (args, run.stderr)
    assert run.stderr.startswith("ilog: error:") and "internal error" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert snapshot() == before


# -- 6. one bad line of a batch fails alone ---------------------------------------------------------


def test_a_bad_batch_line_fails_alone_with_its_line_number(sample, tmp_path):
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    lines = [
        {"event": "sales.invoice", "document_no": "A-1", "contact": "P1", "key": "a1"},
        {"event": "sales.invoice", "document_no": "A-2", "contact": "P1", "version": 99999999999999999999},
        {"event": "sales.invoice", "document_no": "A-3", "contact": "P1", "version": 1.5},
        {"event": "sales.invoice", "document_no": "A-4", "contact": "P1", "date": "9999-12-31"},
        {"event": "sales.invoice", "document_no": "A-5", "contact": "P1", "subject": "nul\x00"},
        {"event": "sales.invoice", "document_no": "A-6", "contact": "P1", "ref": "R-1"},
        {"event": "sales.invoice", "document_no": "A-7", "contact": "P1", "campaign": "cp01"},
    ]
    path = tmp_path / "run.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    run = sample("event", "--input", path)
    assert run.exit_code == 1
    assert run.stdout.split() == ["1", "2"]  # lines 1 and 7
    errors = [line for line in run.stderr.splitlines() if line.startswith("ilog: error:")]
    assert [e.split(":")[2].strip() for e in errors] == ["line 2", "line 3", "line 4", "line 5", "line 6"]
    assert "at most" in errors[0] and "not a whole number" in errors[1] and "out of range" in errors[2]
    assert "NUL" in errors[3] and "not both" in errors[4]
    assert sample.ok("show", "2", "-f", "json").json()["campaign_no"] == "CP01"


# -- 7. an idempotency key identifies one recording ------------------------------------------------


def test_a_key_reused_for_another_document_or_contact_is_refused(sample, snapshot):
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    sample.ok("template", "setup", "sales.quote", "MAIL")
    invoice = ("event", "sales.invoice", "--document-no", "INV-7781", "--contact", "P1", "--key", "print-7781")
    assert sample.ok(*invoice, "-q").stdout.strip() == "1"
    retry = sample.ok(*invoice, "--subject", "worded otherwise")  # a retry may word a detail otherwise
    assert retry.stdout.strip() == "1" and "already recorded" in retry.stderr
    before = snapshot()
    for other in (("event", "sales.quote", "--document-no", "Q-1", "--contact", "P1", "--key", "print-7781"),
                  ("event", "sales.invoice", "--document-no", "INV-7781", "--contact", "P2", "--key", "print-7781"),
                  ("event", "sales.invoice", "--document-no", "INV-9", "--contact", "P1", "--key", "print-7781"),
                  ("interact", "P1", "-t", "CALL", "--key", "print-7781")):
        run = sample(*other)
        assert run.exit_code == 1, (other, run.stderr)
        assert run.stderr.strip() == ("ilog: error: idempotency key 'print-7781' already recorded entry 1, for "
                                      "another document or contact: nothing recorded (a retry repeats the same "
                                      "recording; a new print needs a new key)")
    assert snapshot() == before


def test_a_reused_key_is_refused_through_the_api_and_in_a_batch(sample, logbook):
    import ilog

    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    first = logbook.record_event("sales.invoice", "INV-1", contact_no="P1", key="k")
    assert logbook.record_event("sales.invoice", "INV-1", contact_no="P1", key="k").entry_no == first.entry_no
    with pytest.raises(ilog.Refused, match="idempotency key 'k'"):
        logbook.record_event("sales.invoice", "INV-2", contact_no="P1", key="k")
    same_chunk = [json.dumps({"event": "sales.invoice", "document_no": d, "contact": "P1", "key": "twice"})
                  for d in ("INV-3", "INV-4")]
    outcomes = logbook.record_events(same_chunk)
    assert outcomes[0].created and outcomes[1].error is not None and "twice" in outcomes[1].error.message


# -- 8. contradictory options are bad usage ----------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["event", "sales.invoice", "--document-no", "1", "--contact", "P1", "--ref", "R"],
    ["contact", "edit", "P1", "--company", "C1", "--no-company"],
    ["log", "--cancelled", "--include-cancelled"],
    ["log", "P1", "--contact", "P2"],
    ["log", "--mine", "--owner", "somebody-else"],
    ["log", "--open", "--done"],
    ["log", "export", "--cancelled", "--no-cancelled"],
    ["cancel", "1", "--template", "CALL"],
])
def test_contradictory_options_are_bad_usage(sample, snapshot, args):
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    sample.ok("interact", "P1", "-t", "CALL")
    before = snapshot()
    run = sample(*args)
    assert run.exit_code == 2 and run.stderr.startswith("ilog: error:"), (args, run.stderr)
    assert snapshot() == before


# -- 9. cancelled and postponed entries never look done ---------------------------------------------


def test_cancelled_and_postponed_entries_say_so_in_tables(sample):
    sample.ok("interact", "P1", "-t", "CALL", "--subject", "to cancel")
    sample.ok("interact", "P1", "-t", "CALL", "--subject", "later", "--postpone")
    sample.ok("cancel", "1")
    for args, state in ((["log", "--cancelled"], "cancelled"), (["log", "--include-cancelled"], "cancelled"),
                        (["postponed"], "postponed"), (["log", "--postponed"], "postponed")):
        rows = sample.ok(*args).stdout.splitlines()[2:]
        assert rows and all(f" {state} " in f"{row} " for row in rows), (args, rows)
        assert not any(" done " in f"{row} " for row in rows)
    assert "state              cancelled" in sample.ok("show", "1").stdout.replace("  ", "  ")
    entry = sample.ok("show", "1", "-f", "json").json()
    assert (entry["state"], entry["cancelled"]) == ("done", True)  # machine keys keep their meaning


# -- 11. unknown names and wrong contact types are refused -------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["log", "NOPE"], "unknown contact 'NOPE'"),
    (["log", "--template", "NOPE"], "unknown template 'NOPE'"),
    (["log", "--group", "NOPE"], "unknown interaction group 'NOPE'"),
    (["log", "--company", "P1"], "is a person, not a company"),
    (["log", "--segment", "SEG99"], "unknown segment 'SEG99'"),
    (["log", "export", "--template", "NOPE"], "unknown template 'NOPE'"),
    (["cancel", "--template", "NOPE", "--yes"], "unknown template 'NOPE'"),
    (["purge-cancelled", "--older-than", "1y", "--contact", "NOPE", "--yes"], "unknown contact 'NOPE'"),
    (["segment", "add", "{segment}", "--company", "P1"], "is a person, not a company"),
    (["segment", "add", "{segment}", "--company", "NOPE"], "unknown company 'NOPE'"),
])
def test_unknown_names_and_wrong_contact_types_are_refused(sample, snapshot, args, message):
    segment = sample.ok("segment", "create", "-d", "S", "-q").stdout.strip()
    before = snapshot()
    run = sample(*[segment if a == "{segment}" else a for a in args])
    assert run.exit_code == 1 and message in run.stderr, (args, run.stderr)
    assert snapshot() == before


def test_a_filter_whose_entries_vouch_for_its_contact_still_checks_its_other_names(sample, snapshot):
    # entries of P1 prove P1 exists (their foreign key), so its history is one query; a template
    # named beside one that matches is still looked up, a contact with no entries too
    sample.ok("interact", "P1", "-t", "CALL")
    sample.ok("contact", "add", "Nobody Yet", "--no", "P9")
    before = snapshot()
    assert [e["contact_no"] for e in sample.ok("log", "P1", "-f", "json").json()] == ["P1"]
    assert sample.ok("log", "P9", "-f", "json").json() == []
    for args, message in [(["log", "P1", "-t", "CALL", "-t", "NOPE"], "unknown template 'NOPE'"),
                          (["log", "NOPE", "-t", "CALL"], "unknown contact 'NOPE'"),
                          (["log", "--company", "P1", "-t", "CALL"], "is a person, not a company")]:
        run = sample(*args)
        assert (run.exit_code, run.stdout) == (1, "") and message in run.stderr, (args, run.stderr)
    assert snapshot() == before


# -- 12. a dry run goes through the real run's checks ------------------------------------------------


def test_a_dry_run_refuses_what_the_real_run_refuses(sample, snapshot):
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    sample.ok("interact", "P1", "-t", "CALL")
    before = snapshot()
    for args in (["template", "remove", "CALL"], ["template", "remove", "INVOICE"], ["contact", "remove", "P1"],
                 ["contact", "remove", "C1"]):
        dry, real = sample(*args, "--dry-run"), sample(*args, "--yes")
        assert (dry.exit_code, dry.stderr) == (real.exit_code, real.stderr) and dry.exit_code == 1, args
    assert snapshot() == before


# -- 13. a contact that was on a logged segment can be removed once its entries are gone ------------


def test_a_contact_once_on_a_logged_segment_can_be_removed_after_its_entries_are_purged(sample):
    sample.ok("contact", "add", "Once", "--no", "X1")
    segment = sample.ok("segment", "create", "-d", "Mailing", "-t", "MAIL", "-q").stdout.strip()
    sample.ok("segment", "add", segment, "X1", "P1")
    sample.ok("segment", "log", segment)
    open_one = sample.ok("segment", "create", "-d", "Open", "-t", "MAIL", "-q").stdout.strip()
    sample.ok("contact", "add", "Waiting", "--no", "X2")
    sample.ok("segment", "add", open_one, "X2")
    [entry] = [e["entry_no"] for e in sample.ok("log", "X1", "-f", "json").json()]
    assert sample("contact", "remove", "X1", "--yes").exit_code == 1  # it still has an entry
    sample.ok("cancel", entry)
    sample.ok("purge-cancelled", "--before", "tomorrow", "--yes")
    sample.ok("contact", "remove", "X1", "--yes")
    logged = sample.ok("segment", "logged", "-f", "json").json()[0]
    assert logged["entry_count"] == 2  # the logged segment keeps its count
    refused = sample("contact", "remove", "X2", "--yes")  # on an open segment's line
    assert refused.exit_code == 1 and "open segments" in refused.stderr


# -- 15. plugins that end ilog, and a plugins directory that is not there, are loud ------------------


def _ilog(*args, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "ilog", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("body, message", [
    ("raise SystemExit(0)", "failed to import: SystemExit"),
    ("import sys; sys.exit(3)", "failed to import: SystemExit"),
])
def test_a_plugin_ending_ilog_on_import_is_an_error(db_url, tmp_path, sample, body, message):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "quitter.py").write_text(body + "\n")
    run = _ilog("--db", db_url, "interact", "P1", "-t", "CALL",
                env={"ILOG_PLUGINS_DIR": str(folder), "ILOG_LOAD_PLUGINS": "quitter"})
    assert run.returncode == 1 and message in run.stderr and "quitter.py" in run.stderr, run.stderr
    assert sample.ok("log", "-f", "json").json() == []


def test_a_plugin_raising_keyboard_interrupt_on_import_ends_in_one_line(db_url, tmp_path, sample):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "ctrlc.py").write_text("raise KeyboardInterrupt\n")
    run = _ilog("--db", db_url, "interact", "P1", "-t", "CALL",
                env={"ILOG_PLUGINS_DIR": str(folder), "ILOG_LOAD_PLUGINS": "ctrlc"})
    assert run.returncode == 130 and "Traceback" not in run.stderr
    assert run.stderr.strip() == f"ilog: interrupted while loading plugin file {folder / 'ctrlc.py'}; " \
                                 "nothing was done"


def test_a_configured_plugins_directory_that_does_not_exist_is_an_error(db_url, tmp_path, sample):
    missing = tmp_path / "no-such-folder"
    env = {k: v for k, v in os.environ.items() if k != "ILOG_LOAD_PLUGINS"}  # plugins on, as for a user
    run = subprocess.run([sys.executable, "-m", "ilog", "--db", db_url, "interact", "P1", "-t", "CALL"],
                         capture_output=True, text=True, timeout=120, env={**env, "ILOG_PLUGINS_DIR": str(missing)})
    assert run.returncode == 1 and f"the plugins directory {missing} does not exist" in run.stderr, run.stderr
    assert sample.ok("log", "-f", "json").json() == []


# -- 16. Ctrl-C: one line saying what was and was not done, exit 130 ----------------------------------


@pytest.mark.slow
def test_an_interrupted_import_says_how_far_it_got(db_url, tmp_path, sample):
    import signal
    import time

    import sqlalchemy as sa

    from ilog.store.urls import normalise_url

    rows = 200_000
    path = tmp_path / "many.csv"
    path.write_text("Name,Email\n" + "".join(f"Person {i},p{i}@example.com\n" for i in range(rows)))
    process = subprocess.Popen([sys.executable, "-m", "ilog", "--db", db_url, "contact", "import", str(path),
                                "--batch-size", "500"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=proc.ctrl_c_reaches_it)
    # watched with a bare count (a `contact list` of thousands takes longer than the import needs)
    engine = sa.create_engine(normalise_url(db_url), poolclass=sa.pool.NullPool)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.exec_driver_sql("SELECT count(*) FROM contact").scalar() >= 1500:
                    break
            time.sleep(0.02)
    finally:
        engine.dispose()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    lines = err.strip().splitlines()
    assert process.returncode == 130 and "Traceback" not in err, err
    imported = len(sample.ok("contact", "list", "-f", "json").json()) - 4  # the sample's four
    assert 0 < imported < rows and imported % 500 == 0  # whole batches, and not all of them
    assert lines[-1].startswith(f"ilog: interrupted: {imported:,} ") and lines[-1].endswith(
        "rows imported, the rest not; run the same command again to finish (rows already imported are skipped)")


def test_ctrl_c_while_starting_ends_in_one_line(tmp_path):
    """SIGINT before the command line is even built: exit 130, one line, no traceback."""
    probe = ("import signal, os, sys; sys.argv = ['ilog', '--help']; "
             "import builtins; real = builtins.__import__\n"
             "def interrupting(name, *a, **k):\n"
             "    if name == 'typer': raise KeyboardInterrupt\n"
             "    return real(name, *a, **k)\n"
             "builtins.__import__ = interrupting\n"
             "from ilog.__main__ import run; run()")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stderr.strip()) == (130, "ilog: interrupted while starting: nothing was done")


# -- 17. a read-only database: reads work, writes say it is read-only ---------------------------------


@pytest.mark.skipif(BACKEND != "sqlite", reason="a file the process may not write is SQLite's case")
def test_a_read_only_database_reads_and_refuses_writes_with_a_clear_line(sample, db_url, snapshot, monkeypatch):
    """Permissions cannot be taken from root, so only the access check is the outside world here:
    the file is opened read-only for real and SQLite itself refuses the writes."""
    sample.ok("interact", "P1", "-t", "CALL", "--subject", "kept")
    before = snapshot()
    real_access = os.access
    path = Path(db_url).resolve()
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if (
        mode & os.W_OK and Path(p).resolve() in (path, path.parent)) else real_access(p, mode, **kw))
    assert [e["subject"] for e in sample.ok("log", "-f", "json").json()] == ["kept"]
    assert sample.ok("contact", "list", "-f", "json").json()
    for args in (["interact", "P1", "-t", "CALL"], ["contact", "add", "New"], ["cancel", "1"]):
        run = sample(*args)
        assert run.exit_code == 1 and len(run.stderr.strip().splitlines()) == 1, (args, run.stderr)
        assert "is read-only" in run.stderr and "reading works" in run.stderr, run.stderr
    monkeypatch.setattr(os, "access", real_access)
    assert snapshot() == before


# -- 18. the API speaks the same names as batch lines; only ilog errors escape ---------------------


def test_the_api_and_batch_lines_take_the_same_names(sample, logbook):
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    by_field = logbook.record_event("sales.invoice", "INV-1", contact_no="P1", version_no=2, occurred_at="-1d",
                                    idempotency_key="k1", campaign_no="cp1", salesperson_code="sp")
    by_option = logbook.record_event("sales.invoice", "INV-2", contact="P1", version=2, date="-1d", key="k2",
                                     campaign="cp1", salesperson="sp")
    [line] = logbook.record_events([json.dumps({"event": "sales.invoice", "document_no": "INV-3", "contact_no": "P1",
                                                "version_no": 2, "occurred_at": "-1d", "idempotency_key": "k3",
                                                "campaign_no": "cp1", "salesperson_code": "sp"})])
    rows = [logbook.get(n) for n in (by_field.entry_no, by_option.entry_no, line.entry_no)]
    assert {(r.contact_no, r.version_no, r.campaign_no, r.salesperson_code) for r in rows} == {("P1", 2, "CP1", "SP")}
    assert [r.idempotency_key for r in rows] == ["k1", "k2", "k3"]


# -- 19. bare groups print their help, not an error line ---------------------------------------------


@pytest.mark.parametrize("args", [[], ["contact"], ["segment"], ["db"]])
def test_a_bare_group_prints_its_help_not_an_error(args):
    run = _ilog(*args)
    assert run.returncode == 2 and "Usage: ilog" in run.stderr and "ilog: error:" not in run.stderr, run.stderr


# -- 20. a CSV export of the log keeps its comment lines ----------------------------------------------


def test_a_csv_log_export_keeps_comments_and_imports_back(sample, new_db_url, tmp_path):
    from conftest import CLI

    sample.ok("interact", "P1", "-t", "CALL", "--subject", "with notes")
    sample.ok("comment", "1", "first, with a comma")
    sample.ok("comment", "1", 'second "quoted"\nand a new line')
    path = tmp_path / "log.csv"
    path.write_text(sample.ok("log", "export", "-f", "csv").stdout)
    other = CLI(new_db_url(), [])
    other.ok("init")
    other.ok("template", "import", "-", input=sample.ok("template", "export").stdout)
    other.ok("contact", "import", "-", input=sample.ok("contact", "export").stdout)
    other.ok("log", "import", path)
    shown = other.ok("show", "1", "-f", "json").json()
    assert [c["text"] for c in shown["comments"]] == ["first, with a comma", 'second "quoted"\nand a new line']
