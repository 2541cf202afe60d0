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
    for args in (["--help"], ["event", "--help"], ["spool", "--help"], ["mailbox", "import", "--help"]):
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
