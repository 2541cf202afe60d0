"""``contact export``, ``log export`` and ``log import``: moving contacts and the log between
databases (SQLite to the backend under test: PostgreSQL when ILOG_TEST_DATABASE_URL is set),
and ``ilog log`` still listing as before next to its ``export``/``import`` subcommands."""

from __future__ import annotations

import csv
import io
import json

import pytest

from conftest import CLI


@pytest.fixture
def source(tmp_path):
    """A separate SQLite log with contacts, templates and entries (comments, keys, documents, cancelled)."""
    src = CLI(str(tmp_path / "source.db"), [])
    src.ok("init")
    src.ok("group", "add", "SALES", "-d", "Sales")
    src.ok("contact", "add", "Rossi SpA", "--no", "C1", "--type", "company", "--email", "info@rossi.it")
    src.ok("contact", "add", "Mario Rossi", "--no", "P1", "--company", "C1", "--email", "mario@rossi.it")
    src.ok("contact", "add", "Zażółć Gęślą", "--no", "P2", "--external-id", "ERP-2", "--city", "Łódź")
    src.ok("template", "add", "CALL", "-d", "Phone call", "--kind", "phone-call", "--group", "SALES")
    src.ok("template", "add", "INVOICE", "-d", "Sales invoice", "--kind", "letter")
    src.ok("interact", "P1", "-t", "CALL", "--subject", "Ștefan's quote, \"urgent\"\nsecond line",
           "--date", "2026-01-05T10:00:00.123456+01:00", "--key", "call-1")
    src.ok("interact", "C1", "-t", "INVOICE", "--document-no", "INV-1", "--date", "2026-01-06")
    src.ok("interact", "C1", "-t", "INVOICE", "--document-no", "INV-1", "--date", "2026-01-07")
    src.ok("interact", "P2", "-t", "CALL", "--date", "2026-01-08")
    src.ok("comment", "1", "Niccolò called back")
    src.ok("cancel", "4")
    return src


def entries(cli, *args: str) -> list[dict]:
    return cli.ok("log", "--include-cancelled", "-f", "json", *args).json()


# -- ilog log and its subcommands ----------------------------------------------------------

def test_log_listing_still_works_beside_export_and_import(sample, tmp_path):
    sample.ok("interact", "P1", "-t", "CALL")
    sample.ok("interact", "P2", "-t", "MAIL")
    sample.ok("interact", "P3", "-t", "CALL")
    rolled = sample.ok("log", "C1", "--rollup", "-f", "json").json()
    assert sorted(e["contact_no"] for e in rolled) == ["P1", "P2"]
    assert len(sample.ok("log", "--limit", "2", "-f", "json").json()) == 2
    assert "P3" in sample.ok("log").stdout
    exported = sample.ok("log", "export", "-f", "jsonl", "--contact", "P1").stdout.splitlines()
    assert [json.loads(line)["contact_no"] for line in exported] == ["P1"]
    path = tmp_path / "log.jsonl"
    path.write_text(sample.ok("log", "export").stdout)
    run = sample.ok("log", "import", path)
    assert "3 entries: imported 0, 3 already here" in run.stderr
    assert sample("log", "--bogus").exit_code == 2


# -- contacts -----------------------------------------------------------------------------

def test_contact_export_then_import_into_another_database(source, cli, tmp_path):
    exported = source.ok("contact", "export").stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["no"] for r in rows] == ["C1", "P1", "P2"]  # companies first
    assert {"no", "type", "name", "company_no", "email", "phone", "external_id", "city"} <= set(rows[0])
    run = cli("contact", "import", "-", input=exported)
    assert run.exit_code == 0, run.stderr
    assert "3 created" in run.stderr and "not a contact field" not in run.stderr
    keys = ("no", "type", "name", "company_no", "email", "external_id", "city")
    theirs = [{k: c[k] for k in keys} for c in source.ok("contact", "list", "-f", "json").json()]
    ours = [{k: c[k] for k in keys} for c in cli.ok("contact", "list", "-f", "json").json()]
    assert ours == theirs
    lines = source.ok("contact", "export", "-f", "jsonl", "--type", "person").stdout.splitlines()
    assert [json.loads(line)["no"] for line in lines] == ["P1", "P2"]
    assert source("contact", "export", "-f", "xml").exit_code == 2


# -- the log ------------------------------------------------------------------------------

def test_log_export_has_every_field_and_comments(source):
    lines = [json.loads(line) for line in source.ok("log", "export").stdout.splitlines()]
    assert [e["entry_no"] for e in lines] == [1, 2, 3, 4]  # oldest first, cancelled included
    first = lines[0]
    from ilog.domain.records import INTERACTION_FIELDS

    assert set(INTERACTION_FIELDS) <= set(first)
    assert first["idempotency_key"] == "call-1"
    assert ".123456" in first["occurred_at"]  # microseconds kept
    assert [c["text"] for c in first["comments"]] == ["Niccolò called back"]
    assert lines[3]["cancelled"] is True
    assert [e["entry_no"] for e in map(json.loads, source.ok("log", "export", "--no-cancelled").stdout.splitlines())] == [1, 2, 3]
    table = list(csv.DictReader(io.StringIO(source.ok("log", "export", "-f", "csv", "--template", "INVOICE").stdout)))
    assert [(r["entry_no"], r["document_no"], r["occurrence"]) for r in table] == [("2", "INV-1", "1"), ("3", "INV-1", "2")]


def move(source, cli, tmp_path, fmt: str = "jsonl"):
    """Contacts, then templates, then the log: the documented sequence."""
    cli.ok("contact", "import", "-", input=source.ok("contact", "export").stdout)
    cli.ok("group", "add", "SALES")
    cli.ok("template", "add", "CALL", "--kind", "phone-call", "--group", "SALES")
    cli.ok("template", "add", "INVOICE", "--kind", "letter")
    path = tmp_path / f"log.{fmt}"
    path.write_text(source.ok("log", "export", "-f", fmt).stdout, encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_log_import_keeps_numbers_links_and_keys_and_runs_again_safely(source, cli, tmp_path, snapshot, fmt):
    path = move(source, cli, tmp_path, fmt)
    run = cli("log", "import", path)
    assert run.exit_code == 0, run.stderr
    assert "4 entries: imported 4, 0 already here" in run.stderr
    keys = [k for k in entries(source)[0] if k not in ("comments",)]
    assert [{k: e[k] for k in keys} for e in entries(cli)] == [{k: e[k] for k in keys} for e in entries(source)]
    shown = cli.ok("show", "1", "-f", "json").json()
    if fmt == "jsonl":
        assert [c["text"] for c in shown["comments"]] == ["Niccolò called back"]
    assert shown["subject"] == "Ștefan's quote, \"urgent\"\nsecond line"
    assert shown["occurred_at"] == source.ok("show", "1", "-f", "json").json()["occurred_at"]
    before = snapshot()
    again = cli.ok("log", "import", path)
    assert "imported 0, 4 already here" in again.stderr
    assert snapshot() == before
    # the idempotency key came along: a retried call records nothing new
    retry = cli.ok("interact", "P1", "-t", "CALL", "--key", "call-1")
    assert retry.stdout.strip() == "1"
    # numbers go on after the imported ones; a reprint of INV-1 is its third occurrence
    third = cli.ok("interact", "C1", "-t", "INVOICE", "--document-no", "INV-1", "-f", "json").json()
    assert third["entry_no"] == 5 and third["occurrence"] == 3


def test_log_import_refuses_what_this_database_lacks(source, cli, tmp_path, snapshot):
    path = tmp_path / "log.jsonl"
    path.write_text(source.ok("log", "export").stdout, encoding="utf-8")
    cli.ok("init")
    before = snapshot()
    run = cli("log", "import", path)
    assert run.exit_code == 1
    assert "contacts C1, P1, P2" in run.stderr and "templates CALL, INVOICE" in run.stderr
    assert "contact export" in run.stderr and "nothing imported" in run.stderr
    assert snapshot() == before


def test_log_import_refuses_numbers_taken_by_other_entries(source, cli, tmp_path, snapshot):
    path = move(source, cli, tmp_path)
    cli.ok("interact", "P2", "-t", "CALL")  # this database's own entry 1
    before = snapshot()
    run = cli("log", "import", path)
    assert run.exit_code == 1 and "entry 1 already exists here and is a different entry" in run.stderr
    assert snapshot() == before


def test_log_import_bad_files_exit_2(source, cli, tmp_path, snapshot):
    move(source, cli, tmp_path)
    before = snapshot()
    good = json.loads(source.ok("log", "export").stdout.splitlines()[0])
    cases = {
        "notjson.jsonl": "{\"entry_no\": 1,\n",
        "noentry.jsonl": json.dumps({**good, "entry_no": None}) + "\n",
        "badkind.jsonl": json.dumps(good) + "\n" + json.dumps({**good, "entry_no": 9, "kind": "telepathy"}) + "\n",
        "baddate.jsonl": json.dumps({**good, "occurred_at": "yesterday-ish"}) + "\n",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        run = cli("log", "import", tmp_path / name)
        assert run.exit_code == 2, (name, run.stderr)
        assert run.stderr.startswith("ilog: error:") and len(run.stderr.strip().splitlines()) == 1
    assert "badkind.jsonl, line 2: invalid kind" in cli("log", "import", tmp_path / "badkind.jsonl").stderr
    assert cli("log", "import", tmp_path / "missing.jsonl").exit_code == 2
    assert snapshot() == before


def test_log_import_dry_run(source, cli, tmp_path, snapshot):
    path = move(source, cli, tmp_path)
    before = snapshot()
    run = cli.ok("log", "import", path, "--dry-run")
    assert "would import 4" in run.stderr
    assert snapshot() == before
