"""The public Python API (``import ilog``): cheap to import, and the same path as ``ilog event``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import ilog

DB_MODULES = ("sqlalchemy", "sqlmodel", "psycopg", "psycopg2", "sqlite3", "alembic")

RECORDER = textwrap.dedent('''
    """Writes each hook call to the file named by RECORDER_LOG."""
    import json
    import os

    import ilog


    def note(*what):
        with open(os.environ["RECORDER_LOG"], "a") as handle:
            handle.write(json.dumps(what) + "\\n")


    @ilog.hookimpl
    def enrich_interaction(interaction):
        note("enrich", interaction.source)


    @ilog.hookimpl
    def validate_interaction(interaction):
        note("validate", interaction.source)
        if interaction.subject == "forbidden":
            return "subject is forbidden"


    @ilog.hookimpl
    def interaction_saved(interaction, created):
        note("saved", interaction.entry_no, created)
''')


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=120)


def test_import_ilog_imports_no_database_library():
    run = _python(f"import sys, ilog; print([m for m in sys.modules if m.split('.')[0] in {DB_MODULES!r}])")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_ilog_help_imports_no_database_library_even_with_plugins(tmp_path):
    """``ilog --help`` with every installed plugin loaded: no database library is imported."""
    env = {k: v for k, v in os.environ.items() if k != "ILOG_LOAD_PLUGINS"}
    for args in (["--help"], ["event", "--help"], ["dropfolder", "--help"], ["mailbox", "import", "--help"]):
        run = subprocess.run([sys.executable, "-X", "importtime", "-m", "ilog", *args], capture_output=True,
                             text=True, env=env, timeout=120)
        assert run.returncode == 0, run.stderr[-2000:]
        assert "Usage:" in run.stdout
        imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in run.stderr.splitlines() if "|" in line}
        assert "ilog" in imported and "typer" in imported  # the probe works
        assert not imported & set(DB_MODULES), (args, imported & set(DB_MODULES))


def test_public_names():
    assert ilog.hookimpl.project_name == "ilog"
    assert {"open", "record_event", "hookimpl", "IlogError", "PluginError", "NotFound"} <= set(ilog.__all__)
    assert issubclass(ilog.PluginError, ilog.IlogError) and isinstance(ilog.__version__, str)
    # every error the API raises can be caught by its own name from ilog, Ctrl-C's too
    from ilog import errors

    raised = {name for name, value in vars(errors).items() if isinstance(value, type)
              and issubclass(value, errors.IlogError)}
    assert raised <= set(ilog.__all__) and all(getattr(ilog, name) is getattr(errors, name) for name in raised)


@pytest.fixture
def recorder_dir(tmp_path, monkeypatch):
    """A plugins directory with a recorder plugin; plugin loading on, as for a user."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "recorder.py").write_text(RECORDER)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("ILOG_PLUGINS_DIR", str(folder))
    monkeypatch.setenv("RECORDER_LOG", str(log))
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "recorder")

    def calls() -> list[list]:
        if not log.exists():
            return []
        lines = [json.loads(line) for line in log.read_text().splitlines()]
        log.unlink()
        return lines

    return calls


def test_record_event_runs_the_event_pipeline_with_plugins(sample, db_url, recorder_dir):
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    result = ilog.record_event("sales.invoice", "INV-1042", url=db_url, contact_no="P1", key="erp-1", version_no=3,
                               subject="Invoice INV-1042")
    assert result.created and result.entry_no == 1
    assert recorder_dir() == [["enrich", "event"], ["validate", "event"], ["saved", 1, True]]
    entry = sample.ok("show", "1", "-f", "json").json()
    assert (entry["document_no"], entry["version_no"], entry["occurrence"], entry["source"], entry["template_code"],
            entry["subject"]) == ("INV-1042", 3, 1, "event", "INVOICE", "Invoice INV-1042")
    again = ilog.record_event("sales.invoice", "INV-1042", url=db_url, contact_no="P1", key="erp-1")
    assert (again.entry_no, again.created) == (1, False)
    assert recorder_dir() == [["saved", 1, False]]


def test_open_gives_the_logbook_with_the_configured_database(sample, db_url, recorder_dir, monkeypatch):
    sample.ok("template", "setup", "sales.quote", "MAIL")
    monkeypatch.setenv("ILOG_DATABASE_URL", db_url)
    monkeypatch.setenv("ILOG_USER", "erp-print")
    with ilog.open() as logbook:
        first = logbook.record_event("sales.quote", document_no="Q-1", contact_no="P3")
        second = logbook.record_event("sales.quote", document_no="Q-1", contact_no="P3")
        assert [e.occurrence for e in logbook.find()] == [2, 1]
        assert logbook.get(first.entry_no).user_id == "erp-print"
    assert (first.entry_no, second.entry_no) == (1, 2)
    assert [c[0] for c in recorder_dir()] == ["enrich", "validate", "saved"] * 2


def test_api_errors_are_ilog_exceptions_and_change_nothing(sample, db_url, recorder_dir, snapshot):
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    before = snapshot()
    with pytest.raises(ilog.NotFound, match="unknown contact 'NOPE'"):
        ilog.record_event("sales.invoice", "INV-1", url=db_url, contact_no="NOPE")
    with pytest.raises(ilog.PluginError, match="plugin recorder: subject is forbidden"):
        ilog.record_event("sales.invoice", "INV-1", url=db_url, contact_no="P1", subject="forbidden")
    with pytest.raises(ilog.BadValue, match="unknown event"):
        ilog.record_event("sales.invoce", "INV-1", url=db_url, contact_no="P1")
    assert snapshot() == before


def test_no_template_set_up_records_nothing(sample, db_url, snapshot):
    before = snapshot()
    result = ilog.record_event("sales.shipment", "SH-1", url=db_url, contact_no="P1")
    assert result.entry_no is None and not result.created and "no template is set up" in result.message
    assert snapshot() == before


def test_the_python_print_hook_pattern_in_a_fresh_process(sample, db_url):
    """What an ERP script does: a new interpreter, ``import ilog``, one call."""
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    code = textwrap.dedent(f"""
        import ilog
        result = ilog.record_event("sales.invoice", "INV-9", url={db_url!r}, contact_no="P2", key="k-9")
        print(result.entry_no, result.created)
    """)
    assert _python(code).stdout == "1 True\n"
    assert _python(code).stdout == "1 False\n"


# -- the API checks values exactly as the command line does ---------------------------------------

#: (CLI arguments of interact P1 -t CALL, the same value as an API keyword)
SAME_INPUT = [
    (["--salesperson", "anna"], {"salesperson_code": "anna"}),
    (["--date", "2026-11-01"], {"occurred_at": "2026-11-01"}),
    (["--date", "-3d"], {"occurred_at": "-3d"}),
    (["--duration", "12.5"], {"duration_min": "12.5"}),
    (["--campaign", " cp01 "], {"campaign_no": " cp01 "}),
]


@pytest.mark.parametrize("args, values", SAME_INPUT)
def test_the_same_input_gives_the_same_row_on_the_cli_and_the_api(sample, logbook, args, values):
    cli_no = int(sample.ok("interact", "P1", "-t", "CALL", *args, "-q").stdout)
    api_no = logbook.interact("P1", "CALL", **values).entry_no
    by_cli, by_api = logbook.get(cli_no).to_dict(), logbook.get(api_no).to_dict()
    for name in ("salesperson_code", "duration_min", "campaign_no", "kind", "cost"):
        assert by_cli[name] == by_api[name], name
    assert abs((by_cli["occurred_at"] - by_api["occurred_at"]).total_seconds()) < 60
    if "salesperson_code" in values:
        assert by_api["salesperson_code"] == "ANNA"


#: (interact arguments, API keywords) that are bad values: the same one-line error, exit 2 / BadValue
BAD_INPUT = [
    (["--duration", "1e400"], {"duration_min": "1e400"}),
    (["--duration", "-5"], {"duration_min": -5}),
    (["--cost", "abc"], {"cost": "abc"}),
    (["--date", "2026-02-30"], {"occurred_at": "2026-02-30"}),
    (["--date", "9999-12-31T23:59"], {"occurred_at": "9999-12-31T23:59"}),
    (["--salesperson", "x" * 31], {"salesperson_code": "x" * 31}),
    (["--kind", "fax-machine"], {"kind": "fax-machine"}),
    (["--subject", "bell\x00"], {"subject": "bell\x00"}),
]


@pytest.mark.parametrize("args, values", BAD_INPUT)
def test_a_bad_value_is_the_same_error_on_the_cli_and_the_api(sample, logbook, snapshot, args, values):
    before = snapshot()
    run = sample("interact", "P1", "-t", "CALL", *args)
    assert run.exit_code == 2 and len(run.stderr.splitlines()) == 1, run.stderr
    with pytest.raises(ilog.BadValue) as caught:
        logbook.interact("P1", "CALL", **values)
    assert run.stderr.strip() == f"ilog: error: {caught.value.message}"
    assert snapshot() == before


@pytest.mark.parametrize("values, message", [
    ({"version_no": "abc"}, "invalid version 'abc': not a whole number"),
    ({"version_no": -3}, "version must not be negative"),
    ({"version_no": 1.5}, "invalid version 1.5: not a whole number"),
    ({"version_no": 99999999999999999999}, "invalid version 99999999999999999999: at most 2 147 483 647"),
    ({"occurred_at": "2026-11-01", "bogus": 1}, "unknown field 'bogus'"),
    ({"occurred_at": 12}, "invalid date 12: give a date such as 2026-11-24 or 2026-11-24T09:30"),
])
def test_the_api_refuses_what_a_batch_line_or_the_cli_refuses(sample, logbook, snapshot, values, message):
    """A plain Python value the database could not hold, or a wrong type, is an ilog.BadValue
    naming the field (never an AttributeError, never an internal error at the database)."""
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    before = snapshot()
    with pytest.raises(ilog.BadValue) as caught:
        logbook.record_event("sales.invoice", "INV-9", contact_no="P1", **values)
    assert message in caught.value.message
    line = json.dumps({"event": "sales.invoice", "document_no": "INV-9", "contact": "P1", **values})
    [outcome] = logbook.record_events([line])
    assert outcome.error is not None and message in outcome.error.message
    assert snapshot() == before


def test_only_ilog_errors_escape_the_api(sample, logbook):
    with pytest.raises(ilog.BadValue):
        logbook.get("twelve")
    with pytest.raises(ilog.BadValue):
        logbook.get(2**70)
    with pytest.raises(ilog.NotFound):
        logbook.get(999)
    with pytest.raises(ilog.BadValue):
        logbook.contacts.add(None)
    with pytest.raises(ilog.BadValue):
        logbook.find(ilog.LogFilter(date_from="not a date"))


# -- a logbook held for hours by a multi-threaded program ------------------------------------------


def test_one_logbook_shared_by_eight_threads_records_every_event_once(sample, db_url):
    """6 threads calling record_event and 2 calling record_events on ONE logbook (an ERP print
    server): no crash, no "database is locked", every event recorded exactly once, the retried
    keys recording nothing new, and the logbook's connections kept in its small pool."""
    import threading

    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    logbook = __import__("ilog.testing", fromlist=["open_logbook"]).open_logbook(db_url)
    errors: list[BaseException] = []
    results: dict[str, list[int]] = {}
    barrier = threading.Barrier(8)
    opened: list[object] = []
    import sqlalchemy as sa

    sa.event.listen(logbook.db.engine, "connect", lambda dbapi, record: opened.append(dbapi))

    def single(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(25):
                key = f"s{worker}-{i}"
                first = logbook.record_event("sales.invoice", f"INV-S{worker}-{i}", contact_no="P1", key=key)
                again = logbook.record_event("sales.invoice", f"INV-S{worker}-{i}", contact_no="P1", key=key)
                assert again.entry_no == first.entry_no and not again.created
                results[key] = [first.entry_no]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def batch(worker: int) -> None:
        try:
            barrier.wait()
            lines = [json.dumps({"event": "sales.invoice", "document_no": f"INV-B{worker}-{i}", "contact": "P1",
                                 "key": f"b{worker}-{i}"}) for i in range(60)]
            for outcome in logbook.record_events(lines, chunk_size=20):
                assert outcome.error is None and outcome.created, outcome.to_dict()
                results[f"b{worker}-{outcome.line - 1}"] = [outcome.entry_no]
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=single, args=(w,)) for w in range(6)]
    threads += [threading.Thread(target=batch, args=(w,)) for w in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors[:3]
    entries = logbook.find(ilog.LogFilter(limit=0))
    logbook.close()
    numbers = [e.entry_no for e in entries]
    assert len(entries) == len(results) == 6 * 25 + 2 * 60
    assert sorted(numbers) == sorted(n for [n] in results.values()) and len(set(numbers)) == len(numbers)
    assert {e.idempotency_key for e in entries} == set(results)
    assert len(opened) <= 8 + 1  # a pooled connection per busy thread at most, not one per call
