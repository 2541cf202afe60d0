"""ilog-dropfolder, installed: ``ilog dropfolder scan`` through the real CLI, with the plugin loaded
from its ``ilog`` entry point, on a real database (SQLite, or PostgreSQL when
``ILOG_TEST_DATABASE_URL`` names a server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ilog.testing import run_installed as ilog

@pytest.fixture(autouse=True)
def env(ilog_env, monkeypatch):
    """An isolated ilog home (ilog.testing); only this plugin loads, from its entry point."""
    monkeypatch.setenv("ILOG_USER", "erp")
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "dropfolder")


@pytest.fixture
def world(ilog_configured_db_url):
    ilog("init")
    ilog("contact", "add", "Rossi SpA", "--no", "C1", "--type", "company", "--external-id", "10000")
    ilog("template", "add", "INVOICE", "-d", "Sales invoice", "--kind", "letter", "--flow", "outbound")
    ilog("template", "setup", "sales.invoice", "INVOICE")
    return ilog_configured_db_url


@pytest.fixture
def drop_dir(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


def drop(folder: Path, name: str, meta: dict | None = None, content: bytes | None = None) -> Path:
    pdf = folder / name
    pdf.write_bytes(content or b"%PDF-1.4 " + name.encode())
    if meta is not None:
        pdf.with_suffix(".json").write_text(json.dumps(meta))
    return pdf


def entries():
    return json.loads(ilog("log", "-f", "json").stdout)


def test_the_plugin_is_installed_with_its_entry_point(ilog_configured_db_url):
    rows = json.loads(ilog("plugins", "-f", "json").stdout)
    assert [(r["name"], r["source"], r["version"], r["hooks"]) for r in rows] == [
        ("dropfolder", "entry point", "0.1.0", ["register_commands"])]


def test_scan_records_sidecar_and_file_name_documents(world, drop_dir):
    drop(drop_dir, "INV-1042.pdf", {"event": "sales.invoice", "document_no": "INV-1042", "contact": "c1",
                                 "version": 2, "date": "2026-03-04T10:00:00+00:00", "subject": "Invoice INV-1042"})
    drop(drop_dir, "sales.invoice__INV-1043__C1.pdf")
    run = ilog("dropfolder", "scan", drop_dir)
    assert run.stdout.split() == ["1", "2"]
    assert "2 recorded, 0 already recorded, 0 with no template set up, 0 failed" in run.stderr
    by_doc = {e["document_no"]: e for e in entries()}
    first, second = by_doc["INV-1042"], by_doc["INV-1043"]
    assert (first["contact_no"], first["version_no"], first["subject"], first["template_code"]) == (
        "C1", 2, "Invoice INV-1042", "INVOICE")
    assert first["occurred_at"].startswith("2026-03-04") and first["attachment_id"] is not None
    assert first["idempotency_key"].startswith("spool:") and second["source"] == "event"
    assert sorted(p.name for p in drop_dir.iterdir()) == ["processed"]
    assert sorted(p.name for p in (drop_dir / "processed").iterdir()) == [
        "INV-1042.json", "INV-1042.pdf", "sales.invoice__INV-1043__C1.pdf"]


def test_rerun_records_nothing_twice(world, drop_dir):
    pdf = drop(drop_dir, "sales.invoice__INV-1__C1.pdf")
    kept = pdf.read_bytes()
    assert ilog("dropfolder", "scan", drop_dir).stdout == "1\n"
    # a crash after the record but before the move: the file is still there on the next run
    pdf.write_bytes(kept)
    run = ilog("dropfolder", "scan", drop_dir)
    assert run.stdout == "" and "0 recorded, 1 already recorded" in run.stderr
    assert len(entries()) == 1
    assert sorted(p.name for p in (drop_dir / "processed").iterdir()) == [
        "sales.invoice__INV-1__C1.1.pdf", "sales.invoice__INV-1__C1.pdf"]
    # a reprint (new content) of the same document is a second occurrence
    drop(drop_dir, "sales.invoice__INV-1__C1.pdf", content=b"%PDF-1.4 reprint")
    ilog("dropfolder", "scan", drop_dir)
    assert sorted(e["occurrence"] for e in entries()) == [1, 2]


def test_failed_documents_go_aside_with_a_reason(world, drop_dir):
    drop(drop_dir, "nothing-to-go-by.pdf")
    drop(drop_dir, "bad.pdf", {"event": "sales.invoice", "document_no": "INV-9", "contact": "NOPE"})
    drop(drop_dir, "typo.pdf", {"event": "sales.invoice", "document_no": "INV-9", "contact": "C1", "subjet": "x"})
    drop(drop_dir, "sales.invoice__INV-2__C1.pdf")
    run = ilog("dropfolder", "scan", drop_dir, ok=False)
    assert run.exit_code == 1 and run.stdout == "1\n"
    assert run.stderr.splitlines()[-1] == f"ilog: error: 3 document(s) could not be recorded: see {drop_dir / 'failed'}"
    failed = drop_dir / "failed"
    assert sorted(p.name for p in failed.iterdir()) == [
        "bad.json", "bad.pdf", "bad.pdf.reason.txt", "nothing-to-go-by.pdf", "nothing-to-go-by.pdf.reason.txt",
        "typo.json", "typo.pdf", "typo.pdf.reason.txt"]
    assert "unknown contact 'NOPE'" in (failed / "bad.pdf.reason.txt").read_text()
    assert "'subjet'" in (failed / "typo.pdf.reason.txt").read_text()
    assert "EVENT__DOCUMENT-NO__CUSTOMER" in (failed / "nothing-to-go-by.pdf.reason.txt").read_text()
    assert [e["document_no"] for e in entries()] == ["INV-2"]


def test_customer_in_the_file_name_may_be_a_reference_a_plugin_resolves(world, drop_dir, tmp_path, monkeypatch):
    plugins_dir = tmp_path / "plugins"
    plugins_dir.mkdir()
    (plugins_dir / "erp.py").write_text(
        "import ilog\n\n@ilog.hookimpl\ndef resolve_contact(ref):\n    return {'10000': 'C1'}.get(ref)\n")
    monkeypatch.setenv("ILOG_PLUGINS_DIR", str(plugins_dir))
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "dropfolder,erp")
    drop(drop_dir, "sales.invoice__INV-5__10000.pdf")
    drop(drop_dir, "x.pdf", {"event": "sales.invoice", "document_no": "INV-6", "ref": "10000"})
    ilog("dropfolder", "scan", drop_dir)  # the plugins directory comes from ILOG_PLUGINS_DIR, as for ``ilog``
    assert {(e["document_no"], e["contact_no"]) for e in entries()} == {("INV-5", "C1"), ("INV-6", "C1")}


def test_unmapped_event_records_nothing_and_moves_on(world, drop_dir):
    drop(drop_dir, "sales.quote__Q-1__C1.pdf")
    run = ilog("dropfolder", "scan", drop_dir)
    assert run.stdout == "" and "no template is set up for event 'sales.quote'" in run.stderr
    assert entries() == [] and (drop_dir / "processed" / "sales.quote__Q-1__C1.pdf").exists()


def test_dry_run_changes_nothing(world, drop_dir):
    drop(drop_dir, "sales.invoice__INV-1__C1.pdf")
    run = ilog("dropfolder", "scan", drop_dir, "--dry-run")
    assert "would record sales.invoice__INV-1__C1.pdf" in run.stderr
    assert entries() == [] and sorted(p.name for p in drop_dir.iterdir()) == ["sales.invoice__INV-1__C1.pdf"]


def test_missing_folder_is_a_bad_value(world, tmp_path):
    run = ilog("dropfolder", "scan", tmp_path / "nope", ok=False)
    assert run.exit_code == 2 and run.stderr.startswith("ilog: error: drop folder")


def test_installed_console_script(world, drop_dir):
    """The ``ilog`` executable finds the plugin through its entry point."""
    drop(drop_dir, "sales.invoice__INV-77__C1.pdf")
    exe = Path(sys.executable).with_name("ilog")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "ilog"]
    run = subprocess.run([*command, "dropfolder", "scan", str(drop_dir)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "1\n" and "1 recorded" in run.stderr
