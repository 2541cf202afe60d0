"""The core commands through the real CLI on a real database: contacts, groups, templates,
interact, log, show, cancel, restore, evaluate, comment, purge-cancelled."""

from __future__ import annotations

import json

import pytest

from conftest import BACKEND


# -- contacts ---------------------------------------------------------------------------

def test_contact_numbers_come_from_a_series_or_are_given(cli):
    assert cli.ok("contact", "add", "Acme", "--type", "company").stdout.strip() == "CT000001"
    assert cli.ok("contact", "add", "Bob").stdout.strip() == "CT000002"
    assert cli.ok("contact", "add", "Given", "--no", "x-7").stdout.strip() == "X-7"
    # a number given by hand that the series would reach next is skipped, not reused
    cli.ok("contact", "add", "Taken", "--no", "CT000003")
    assert cli.ok("contact", "add", "Next").stdout.strip() == "CT000004"


def test_contact_show_list_and_json_keys(sample):
    shown = sample.ok("contact", "show", "P1", "-f", "json").json()
    assert shown["no"] == "P1" and shown["company_no"] == "C1" and shown["type"] == "person"
    assert {"no", "type", "name", "company_no", "email", "phone", "external_id"} <= set(shown)
    listed = sample.ok("contact", "list", "--company", "C1", "-f", "json").json()
    assert [c["no"] for c in listed] == ["P1", "P2"]
    assert [c["no"] for c in sample.ok("contact", "list", "--search", "ROSSI", "-f", "json").json()] == ["C1", "P1", "P2"]
    table = sample.ok("contact", "list").stdout
    assert "Ion Popescu" in table and "Rossi SpA" in table


def test_person_in_another_company_is_refused_unless_moved(sample, snapshot):
    sample.ok("contact", "add", "Bianchi Srl", "--no", "C2", "--type", "company")
    before = snapshot()
    run = sample("contact", "edit", "P1", "--company", "C2")
    assert run.exit_code == 1
    assert run.stderr.startswith("ilog: error:") and "C1" in run.stderr and "Rossi SpA" in run.stderr
    assert "--move" in run.stderr
    assert snapshot() == before
    moved = sample.ok("contact", "edit", "P1", "--company", "C2", "--move", "-f", "json").json()
    assert moved["company_no"] == "C2"
    # adding a new person directly to a company, and a lone person joining one, need no --move
    assert sample.ok("contact", "edit", "P3", "--company", "C2", "-f", "json").json()["company_no"] == "C2"


def test_company_rules(sample):
    assert sample("contact", "add", "X", "--type", "company", "--company", "C1").exit_code == 1
    assert sample("contact", "edit", "P2", "--company", "P3").exit_code == 1  # P3 is a person
    assert sample("contact", "edit", "C1", "--type", "person").exit_code == 1  # has persons
    run = sample("contact", "add", "Dup", "--no", "C1")
    assert run.exit_code == 1 and "already exists" in run.stderr
    assert sample("contact", "add", "Rossi SpA", "--no", "C1", "--exist-ok").exit_code == 0
    assert sample("contact", "add", "Dup", "--no", "C1", "--exist-ok").exit_code == 1  # another name


def test_contact_remove_refuses_with_entries_and_needs_yes(sample, snapshot):
    sample.ok("interact", "P3", "-t", "CALL")
    before = snapshot()
    run = sample("contact", "remove", "P3", "--yes")
    assert run.exit_code == 1 and "has 1 log entry:" in run.stderr
    assert sample("contact", "remove", "C1", "--yes").exit_code == 1  # has persons
    assert snapshot() == before
    sample.ok("contact", "add", "Temp", "--no", "T1")
    no_yes = sample("contact", "remove", "T1")  # stdin is not a terminal
    assert no_yes.exit_code == 1 and "--yes" in no_yes.stderr
    assert sample.ok("contact", "remove", "T1", "--dry-run")
    sample.ok("contact", "show", "T1")
    sample.ok("contact", "remove", "T1", "--yes")
    assert sample("contact", "show", "T1").exit_code == 1


def test_bad_contact_values_exit_2_and_change_nothing(sample, snapshot):
    before = snapshot()
    for args in (["contact", "add", "X", "--type", "robot"],
                 ["contact", "add", "X", "--email", "not-an-email"],
                 ["contact", "add", "bad\x00name"],
                 ["contact", "add", "X" * 300]):
        run = sample(*args)
        assert run.exit_code == 2, args
        assert run.stderr.startswith("ilog: error:") and len(run.stderr.strip().splitlines()) == 1
    assert snapshot() == before


# -- groups and templates -------------------------------------------------------------------

def test_template_fields_round_trip(sample):
    t = sample.ok("template", "show", "CALL", "-f", "json").json()
    assert t == {**t, "code": "CALL", "description": "Phone call", "group_code": "SALES", "kind": "phone-call",
                 "flow": "outbound", "initiated_by": "us", "unit_cost": 1.5, "unit_duration_min": 10.0,
                 "attempt_failed": False, "correspondence": "none"}
    sample.ok("template", "add", "FAIL", "--kind", "visit", "--attempt-failed", "--campaign", "cp1")
    t = sample.ok("template", "show", "FAIL", "-f", "json").json()
    assert t["attempt_failed"] is True and t["campaign_no"] == "CP1" and t["flow"] == "none"
    sample.ok("template", "edit", "FAIL", "--flow", "inbound", "--no-attempt-failed")
    t = sample.ok("template", "show", "FAIL", "-f", "json").json()
    assert t["flow"] == "inbound" and t["attempt_failed"] is False
    codes = [r["code"] for r in sample.ok("template", "list", "-f", "json").json()]
    assert codes == ["CALL", "FAIL", "INVOICE", "MAIL"]


def test_template_and_group_removal_rules(sample, snapshot):
    assert sample("group", "remove", "SALES", "--yes").exit_code == 1  # templates use it
    sample.ok("interact", "P1", "-t", "MAIL")
    before = snapshot()
    run = sample("template", "remove", "MAIL", "--yes")
    assert run.exit_code == 1 and "used by 1 log entry:" in run.stderr
    assert snapshot() == before
    sample.ok("template", "add", "UNUSED")
    sample.ok("template", "remove", "UNUSED", "--yes")
    assert sample("template", "show", "UNUSED").exit_code == 1
    groups = sample.ok("group", "list", "-f", "json").json()
    assert groups == [{"code": "SALES", "description": "Sales", "templates": 2}]


def test_template_bad_values(sample, snapshot):
    before = snapshot()
    assert sample("template", "add", "X", "--kind", "telepathy").exit_code == 2
    assert sample("template", "add", "X", "--flow", "sideways").exit_code == 2
    assert sample("template", "add", "X", "--group", "NOPE").exit_code == 1
    assert sample("template", "add", "CALL").exit_code == 1
    assert sample("template", "add", "X", "--unit-cost", "-3").exit_code == 2
    assert snapshot() == before


# -- interact ---------------------------------------------------------------------------------

def test_interact_copies_template_values_and_company(sample):
    no = sample.ok("interact", "P1", "-t", "CALL", "-q").stdout.strip()
    assert no == "1"
    e = sample.ok("show", "1", "-f", "json").json()
    assert e["contact_no"] == "P1" and e["company_no"] == "C1"
    assert (e["kind"], e["flow"], e["initiated_by"], e["cost"], e["duration_min"], e["group_code"]) == (
        "phone-call", "outbound", "us", 1.5, 10.0, "SALES")
    assert e["subject"] == "Phone call" and e["user_id"] == "tester" and e["source"] == "manual"
    assert e["state"] == "done" and e["cancelled"] is False and e["evaluation"] == "none"


def test_interact_overrides(sample):
    run = sample.ok("interact", "P1", "-t", "CALL", "--subject", "Quote follow-up", "--date", "2026-03-02T10:15:00+01:00",
                    "--duration", "25", "--cost", "4", "--flow", "inbound", "--initiated-by", "them",
                    "--attempt-failed", "--evaluation", "positive", "--salesperson", "js",
                    "--document-type", "quote", "--document-no", "Q-7", "--campaign", "cp-1", "-f", "json")
    e = run.json()
    assert e["subject"] == "Quote follow-up" and e["occurred_at"] == "2026-03-02T09:15:00+00:00"
    assert (e["duration_min"], e["cost"], e["flow"], e["initiated_by"]) == (25.0, 4.0, "inbound", "them")
    assert e["attempt_failed"] is True and e["evaluation"] == "positive" and e["salesperson_code"] == "JS"
    assert (e["document_type"], e["document_no"], e["occurrence"], e["campaign_no"]) == ("quote", "Q-7", 1, "CP-1")
    again = sample.ok("interact", "P2", "-t", "MAIL", "--document-type", "quote", "--document-no", "Q-7", "-f", "json")
    assert again.json()["occurrence"] == 2


def test_company_stays_on_the_entry_when_the_person_moves(sample):
    sample.ok("contact", "add", "Bianchi Srl", "--no", "C2", "--type", "company")
    sample.ok("interact", "P1", "-t", "CALL")
    sample.ok("contact", "edit", "P1", "--company", "C2", "--move")
    sample.ok("interact", "P1", "-t", "MAIL")
    entries = sample.ok("log", "P1", "-f", "json").json()
    assert [(e["entry_no"], e["company_no"]) for e in entries] == [(2, "C2"), (1, "C1")]
    assert [e["entry_no"] for e in sample.ok("log", "C1", "--rollup", "-f", "json").json()] == [1]


def test_idempotency_key_records_once(sample):
    first = sample.ok("interact", "P1", "-t", "CALL", "--key", "k-1")
    second = sample.ok("interact", "P1", "-t", "CALL", "--key", "k-1")
    assert first.stdout == second.stdout == "1\n"
    assert "already recorded" in second.stderr
    assert len(sample.ok("log", "-f", "json").json()) == 1


def test_interact_refusals_change_nothing(sample, snapshot):
    before = snapshot()
    cases = {
        ("interact", "NOPE", "-t", "CALL"): 1,
        ("interact", "P1", "-t", "NOPE"): 1,
        ("interact", "P1", "-t", "CALL", "--date", "2026-02-30"): 2,
        ("interact", "P1", "-t", "CALL", "--date", "03/04/2026"): 2,
        ("interact", "P1", "-t", "CALL", "--flow", "up"): 2,
        ("interact", "P1", "-t", "CALL", "--evaluation", "great"): 2,
        ("interact", "P1", "-t", "CALL", "--subject", "a\x00b"): 2,
        ("interact", "P1", "-t", "CALL", "--subject", "x" * 5_000_000): 2,
        ("interact", "P1", "-t", "CALL", "--cost", "abc"): 2,
        ("interact", "P1", "-t", "CALL", "--bogus"): 2,
        ("interact", "P1"): 2,
    }
    for args, status in cases.items():
        run = sample(*args)
        assert run.exit_code == status, (args, run.stderr)
        assert run.stderr.startswith("ilog: error:"), (args, run.stderr)
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert "Traceback" not in run.stderr
    assert snapshot() == before


def test_sql_looking_text_is_stored_verbatim(sample):
    nasty = "Robert'); DROP TABLE interaction;-- \u202e ✓ Zażółć gęślą jaźń ș ț"
    sample.ok("interact", "P1", "-t", "CALL", "--subject", nasty)
    assert sample.ok("show", "1", "-f", "json").json()["subject"] == nasty


# -- log and show -------------------------------------------------------------------------------

@pytest.fixture
def history(sample):
    sample.ok("interact", "P1", "-t", "CALL", "--date", "2026-01-10T09:00")
    sample.ok("interact", "P2", "-t", "MAIL", "--date", "2026-02-10T09:00", "--evaluation", "negative")
    sample.ok("interact", "C1", "-t", "INVOICE", "--date", "2026-03-10T09:00", "--document-no", "INV-1")
    sample.ok("interact", "P3", "-t", "CALL", "--date", "2026-04-10T09:00", "--subject", "Ask about PRICES")
    sample.ok("--user", "alice", "interact", "P3", "-t", "MAIL", "--date", "2026-05-10T09:00")
    return sample


def nos(run) -> list[int]:
    return [e["entry_no"] for e in run.json()]


def test_log_filters(history):
    h = history
    assert nos(h.ok("log", "-f", "json")) == [5, 4, 3, 2, 1]
    assert nos(h.ok("log", "P1", "-f", "json")) == [1]
    assert nos(h.ok("log", "C1", "-f", "json")) == [3]
    assert nos(h.ok("log", "C1", "--rollup", "-f", "json")) == [3, 2, 1]
    assert nos(h.ok("log", "--company", "C1", "-f", "json")) == [3, 2, 1]
    assert nos(h.ok("log", "--template", "CALL", "-f", "json")) == [4, 1]
    assert nos(h.ok("log", "--group", "SALES", "-f", "json")) == [4, 3, 1]
    assert nos(h.ok("log", "--kind", "email", "-f", "json")) == [5, 2]
    assert nos(h.ok("log", "--document-no", "INV-1", "-f", "json")) == [3]
    assert nos(h.ok("log", "--user", "alice", "-f", "json")) == [5]
    assert nos(h.ok("log", "--from", "2026-02-10", "--to", "2026-04-10", "-f", "json")) == [4, 3, 2]
    assert nos(h.ok("log", "--evaluation", "negative", "-f", "json")) == [2]
    assert nos(h.ok("log", "--search", "prices", "-f", "json")) == [4]
    assert nos(h.ok("log", "--limit", "2", "-f", "json")) == [5, 4]


def test_filters_of_one_kind_share_a_statement_but_never_its_values(history, db_url, monkeypatch):
    """`find` builds one statement per kind of filter and runs it with each filter's values: the
    same kind with other values (lists of another length, moments in another zone) selects its
    own entries, and `count` (whose statement is built afresh) agrees every time."""
    from ilog import LogFilter
    from ilog.store import entries
    from ilog.testing import open_logbook

    monkeypatch.setattr(entries, "_FINDS", {})  # what earlier tests built is not counted
    cases = [
        ({"contact_no": "P1"}, [1]), ({"contact_no": "P3"}, [5, 4]), ({"contact_no": "C1", "rollup": True}, [3, 2, 1]),
        ({"contact_no": "P2", "rollup": True}, [2]),
        ({"template_code": ["CALL", "MAIL"]}, [5, 4, 2, 1]), ({"template_code": ["INVOICE", "MAIL"]}, [5, 3, 2]),
        ({"template_code": ["CALL", "MAIL", "INVOICE"]}, [5, 4, 3, 2, 1]), ({"template_code": ["MAIL"]}, [5, 2]),
        ({"date_from": "2026-02-10T10:00+01:00", "date_to": "2026-03-10T09:00"}, [3, 2]),
        ({"date_from": "2026-02-10T09:00:01", "date_to": "2026-04-10T12:00+03:00"}, [4, 3]),
        ({"text": "prices"}, [4]), ({"text": "ask"}, [4]), ({"text": "nothing like it"}, []),
        ({"entry_nos": [2, 5]}, [5, 2]), ({"entry_nos": [1, 3, 4]}, [4, 3, 1]),
        ({"user_id": "alice"}, [5]), ({"user_id": "nobody"}, []),
        ({"limit": 2}, [5, 4]), ({"limit": 3}, [5, 4, 3]), ({"limit": 2, "newest_first": False}, [1, 2]),
    ]
    logbook = open_logbook(db_url)
    try:
        for fields, expected in cases:
            flt = LogFilter(**fields)
            assert [e.entry_no for e in logbook.find(flt)] == expected, fields
            assert logbook.count(flt.but(limit=None)) == (5 if "limit" in fields else len(expected)), fields
    finally:
        logbook.close()
    # one statement per kind: contact, rollup, several templates, one template, a period,
    # text, entry numbers, user, newest-first limited, oldest-first limited
    assert len(entries._FINDS) == 10, list(entries._FINDS)


def test_log_formats(history):
    jsonl = history.ok("log", "--limit", "2", "-f", "jsonl").stdout.splitlines()
    assert [json.loads(line)["entry_no"] for line in jsonl] == [5, 4]
    csv_text = history.ok("log", "--limit", "2", "-f", "csv").stdout
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert [r["entry_no"] for r in rows] == ["5", "4"]
    for key in ("entry_no", "contact_no", "company_no", "template_code", "group_code", "kind", "flow",
                "initiated_by", "subject", "occurred_at", "duration_min", "cost", "user_id", "evaluation",
                "cancelled", "state", "postponed", "document_type", "document_no", "occurrence", "segment_no",
                "logged_segment_no"):
        assert key in rows[0]
    assert rows[0]["occurred_at"] == "2026-05-10T09:00:00+00:00"
    table = history.ok("log", "--limit", "1").stdout.splitlines()
    assert table[0].split()[:3] == ["Entry", "Date", "Contact"] and "P3" in table[2]  # headers for people
    empty = history.ok("log", "--template", "INVOICE", "--from", "2027-01-01", "-f", "json")
    assert empty.json() == []


def test_times_are_shown_in_the_users_zone(history, monkeypatch):
    monkeypatch.setenv("ILOG_TIMEZONE", "Europe/Rome")
    e = history.ok("show", "1", "-f", "json").json()
    assert e["occurred_at"] == "2026-01-10T10:00:00+01:00"
    # a naive input time is read in the same zone
    history.ok("interact", "P1", "-t", "CALL", "--date", "2026-07-01T12:00")
    assert history.ok("show", "6", "-f", "json").json()["occurred_at"] == "2026-07-01T12:00:00+02:00"
    monkeypatch.setenv("ILOG_TIMEZONE", "UTC")
    assert history.ok("show", "6", "-f", "json").json()["occurred_at"] == "2026-07-01T10:00:00+00:00"
    # a time in the spring-forward gap does not exist
    monkeypatch.setenv("ILOG_TIMEZONE", "Europe/Berlin")
    run = history("interact", "P1", "-t", "CALL", "--date", "2026-03-29T02:30")
    assert run.exit_code == 2 and "does not exist" in run.stderr


def test_show_unknown_entry(sample):
    run = sample("show", "99")
    assert run.exit_code == 1 and run.stderr == "ilog: error: interaction log entry 99 does not exist\n"


# -- cancel, restore, evaluate, comment ---------------------------------------------------------

def test_cancel_and_restore_by_number(history):
    h = history
    assert h.ok("cancel", "1", "2").stdout.split() == ["1", "2"]
    assert nos(h.ok("log", "-f", "json")) == [5, 4, 3]
    assert nos(h.ok("log", "--cancelled", "-f", "json")) == [2, 1]
    assert nos(h.ok("log", "--include-cancelled", "-f", "json")) == [5, 4, 3, 2, 1]
    assert h.ok("show", "1", "-f", "json").json()["cancelled"] is True
    again = h("cancel", "1", "3")
    assert again.exit_code == 1 and "entry 1 is already cancelled" in again.stderr
    assert h.ok("show", "3", "-f", "json").json()["cancelled"] is False  # nothing changed
    h.ok("restore", "1")
    assert nos(h.ok("log", "--cancelled", "-f", "json")) == [2]
    assert h("restore", "4").exit_code == 1
    assert h("cancel", "999").exit_code == 1


def test_bulk_cancel_by_filter_needs_yes_and_supports_dry_run(history, snapshot):
    before = snapshot()
    run = history("cancel", "--template", "CALL")
    assert run.exit_code == 1 and "--yes" in run.stderr
    dry = history.ok("cancel", "--template", "CALL", "--dry-run")
    assert dry.stdout.split() == ["1", "4"] and "would cancel 2" in dry.stderr
    assert snapshot() == before
    assert history("cancel").exit_code == 2  # neither entries nor a filter
    history.ok("cancel", "--template", "CALL", "--yes")
    assert nos(history.ok("log", "--cancelled", "-f", "json")) == [4, 1]
    history.ok("restore", "--template", "CALL", "--yes")
    assert history.ok("log", "--cancelled", "-f", "json").json() == []


def test_evaluate_and_comment(history):
    history.ok("evaluate", "1", "--as", "very-positive")
    assert history.ok("show", "1", "-f", "json").json()["evaluation"] == "very-positive"
    assert history("evaluate", "1", "--as", "superb").exit_code == 2
    history.ok("evaluate", "--contact", "P3", "--as", "neutral", "--yes")
    assert {e["evaluation"] for e in history.ok("log", "P3", "-f", "json").json()} == {"neutral"}
    history.ok("comment", "1", "Called back, wants a visit")
    history.ok("comment", "1", "Visit booked")
    shown = history.ok("show", "1").stdout
    assert "comment 1:" in shown and "Called back, wants a visit" in shown and "comment 2:" in shown
    comments = history.ok("show", "1", "-f", "json").json()["comments"]
    assert [c["text"] for c in comments] == ["Called back, wants a visit", "Visit booked"]
    assert history("comment", "99", "x").exit_code == 1


# -- purge ----------------------------------------------------------------------------------------

def test_purge_deletes_only_cancelled_entries_before_the_cutoff(history, snapshot):
    h = history
    h.ok("cancel", "1", "2", "5")
    before = snapshot()
    assert h("purge-cancelled", "--before", "2026-03-01").exit_code == 1  # no --yes, no terminal
    dry = h.ok("purge-cancelled", "--before", "2026-03-01", "--dry-run")
    assert dry.stdout.strip() == "2"
    assert snapshot() == before
    assert h.ok("purge-cancelled", "--before", "2026-03-01", "--yes").stdout.strip() == "2"
    assert nos(h.ok("log", "--include-cancelled", "-f", "json")) == [5, 4, 3]
    # the highest entry is purged: its number is never given again
    h.ok("purge-cancelled", "--older-than", "0d", "--yes")
    assert nos(h.ok("log", "--include-cancelled", "-f", "json")) == [4, 3]
    assert h.ok("interact", "P1", "-t", "CALL", "-q").stdout.strip() == "6"


def test_purge_filters_and_bad_input(history, snapshot):
    h = history
    h.ok("cancel", "1", "4")
    before = snapshot()
    assert h("purge-cancelled", "--yes").exit_code == 2
    assert h("purge-cancelled", "--older-than", "ninety days", "--yes").exit_code == 2
    assert h("purge-cancelled", "--before", "2026-13-01", "--yes").exit_code == 2
    assert snapshot() == before
    assert h.ok("purge-cancelled", "--older-than", "1d", "--contact", "P3", "--yes").stdout.strip() == "1"
    assert nos(h.ok("log", "--cancelled", "-f", "json")) == [1]


def test_purge_in_batches_deletes_everything_due(logbook):
    from ilog.domain.dates import now
    from ilog import LogFilter

    logbook.contacts.add("Someone", no="S1")
    logbook.templates.add("NOTE", kind="note")
    for i in range(23):
        logbook.interact("S1", "NOTE", subject=f"n{i}")
    logbook.cancel(None, LogFilter(contact_no="S1"))
    assert logbook.purge_cancelled(now(), batch_size=5) == 23
    assert logbook.count(LogFilter(cancelled="include")) == 0


def _wal_frames(db_file) -> tuple[int, int]:
    """(frames in SQLite's write-ahead log, frames of them copied back into the file), read from
    its shared-memory index (``-shm``: ``mxFrame`` in the header, ``nBackfill`` after its two
    48-byte copies) without running a checkpoint; in another process, as closing a file this
    one opened on the index would drop the locks its SQLite connections hold there."""
    import subprocess
    import sys

    read = ("import struct, sys; data = open(sys.argv[1], 'rb').read(100); "
            "print(struct.unpack_from('=I', data, 16)[0], struct.unpack_from('=I', data, 96)[0])")
    out = subprocess.run([sys.executable, "-c", read, f"{db_file}-shm"], capture_output=True, text=True, check=True)
    frames, copied = out.stdout.split()
    return int(frames), int(copied)


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's write-ahead log")
def test_a_purge_leaves_the_write_ahead_log_copied_back(logbook):
    """A bulk delete copies SQLite's log back into the file after each of its transactions, so a
    print committing next never has to copy the purge's pages itself (the commit that finds the
    log past 1,000 pages runs that copy): the log holds nothing left to copy when it is done."""
    from ilog import LogFilter
    from ilog.domain.dates import now

    logbook.contacts.add("Someone", no="S1")
    logbook.templates.add("NOTE", kind="note")
    for i in range(30):
        logbook.interact("S1", "NOTE", subject=f"n{i}")
    logbook.cancel(None, LogFilter(contact_no="S1"))
    frames, copied = _wal_frames(logbook.db.path)
    assert frames > copied  # a small log is not copied back by SQLite on its own: the check can tell
    assert logbook.purge_cancelled(now(), batch_size=7) == 30
    frames, copied = _wal_frames(logbook.db.path)
    assert frames > 0 and copied == frames


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's write-ahead log")
def test_a_purge_commits_without_copying_the_log_back_itself(logbook):
    """Each batch of a purge deletes on a connection whose commit leaves the copy of the log to
    the write-back after it, in the gap (else the batch's hold, which sizes the batches, would
    include it); other writes keep SQLite's own copy at 1,000 pages."""
    from helpers.databases import log_copy_back_at_each_write
    from ilog import LogFilter
    from ilog.domain.dates import now

    logbook.contacts.add("Someone", no="S1")
    logbook.templates.add("NOTE", kind="note")
    for i in range(12):
        logbook.interact("S1", "NOTE", subject=f"n{i}")
    logbook.cancel(None, LogFilter(contact_no="S1"))
    with log_copy_back_at_each_write(logbook.db.engine) as seen:
        assert logbook.purge_cancelled(now(), batch_size=5) == 12
        logbook.interact("S1", "NOTE", subject="after the purge")
    assert seen == [("DELETE", 0)] * 3 + [("INSERT", 1000)]


# -- the database -------------------------------------------------------------------------------

def test_init_is_safe_to_rerun_and_reports_the_version(cli):
    first = cli.ok("init")
    assert "created" in first.stderr
    second = cli.ok("init")
    assert "up to date" in second.stderr
    status = cli.ok("db", "status", "-f", "json").json()
    from ilog.store.tables import SCHEMA_VERSION

    assert status["schema_version"] == status["ilog_schema_version"] == SCHEMA_VERSION


def test_commands_on_a_new_database_initialise_it(cli):
    assert cli.ok("log", "-f", "json").json() == []


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite pragmas")
def test_sqlite_is_opened_for_concurrent_writers(logbook):
    import os
    import stat

    logbook.contacts.add("X", no="X")
    with logbook.db.transaction(write=True) as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 15000
    mode = stat.S_IMODE(os.stat(logbook.db.path).st_mode)
    assert mode == 0o600


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite transaction mode")
def test_every_write_begins_immediate(logbook):
    statements = []
    from sqlalchemy import event

    event.listen(logbook.db.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *a: statements.append(statement))
    logbook.contacts.add("X", no="X")
    assert "BEGIN IMMEDIATE" in statements


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite transaction mode")
def test_a_read_sends_its_statement_alone_and_a_write_one_transaction(logbook):
    """As on PostgreSQL, a read unit sends no BEGIN/COMMIT (each statement is its own read
    transaction); a write is still one BEGIN IMMEDIATE .. COMMIT."""
    from sqlalchemy import event

    from ilog import LogFilter

    logbook.contacts.add("Someone", no="S1")
    logbook.templates.add("NOTE", kind="note")
    logbook.interact("S1", "NOTE", subject="first")
    sent: list[str] = []
    event.listen(logbook.db.engine, "checkout",
                 lambda dbapi_connection, *_: dbapi_connection.set_trace_callback(sent.append))
    event.listen(logbook.db.engine, "checkin", lambda dbapi_connection, *_: dbapi_connection.set_trace_callback(None))

    assert [e.subject for e in logbook.find(LogFilter(contact_no="S1"))] == ["first"]
    assert len(sent) == 1 and sent[0].startswith("SELECT") and "FROM interaction" in sent[0], sent
    sent.clear()
    logbook.interact("S1", "NOTE", subject="second")
    start = sent.index("BEGIN IMMEDIATE")  # the reads before it (the template) each alone
    assert all(s.startswith("SELECT") for s in sent[:start]), sent
    assert sent.count("BEGIN IMMEDIATE") == 1 and sent.count("COMMIT") == 1 and sent[-1] == "COMMIT", sent
    assert any(s.startswith("INSERT INTO interaction ") for s in sent[start:]), sent
    sent.clear()
    assert [e.subject for e in logbook.find(LogFilter(contact_no="S1"))] == ["second", "first"]
    assert not any(s.startswith(("BEGIN", "COMMIT")) for s in sent), sent


def test_a_snapshot_unit_sees_one_state_and_a_read_unit_each_commit(logbook):
    """``unit(snapshot=True)`` (a contact's data export) reads one state of the database
    however others commit meanwhile; a plain read unit's statements each see the latest."""
    logbook.contacts.add("First", no="F1")
    db = logbook.db
    with db.unit(snapshot=True) as snapshot, db.unit() as alone:
        assert snapshot.contacts.get("F1") is not None and alone.contacts.get("F1") is not None
        logbook.contacts.add("Second", no="S2")  # committed by another unit in the meantime
        assert snapshot.contacts.get("S2") is None
        assert alone.contacts.get("S2") is not None
    with db.unit(snapshot=True) as later:
        assert later.contacts.get("S2") is not None


def test_ctrl_c_mid_command_comes_out_as_ctrl_c_and_rolls_the_unit_back(logbook, caplog):
    """Ctrl-C that lands while the server is still answering a command (psycopg waiting on
    the COPY of a contact import, as CI once caught) comes out of the unit as the interrupt
    (the CLI's exit 130), not as a ROLLBACK refused on a busy connection or a pool reset's
    traceback; the unit's writes are undone and the next unit works."""
    import logging

    logbook.contacts.add("First", no="F1")
    db = logbook.db
    with caplog.at_level(logging.WARNING), pytest.raises(KeyboardInterrupt):
        with db.unit(write=True) as uow:
            uow.conn.exec_driver_sql("DELETE FROM contact")
            if not db.is_sqlite:  # a command sent, its answer not yet read: where the interrupt lands
                uow.conn.connection.dbapi_connection.pgconn.send_query(b"SELECT pg_sleep(0.3)")
            raise KeyboardInterrupt
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert logbook.contacts.get("F1") is not None
    logbook.contacts.add("Second", no="S2")
    assert logbook.contacts.get("S2") is not None


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite stores moments as text")
def test_moments_are_written_as_sqlalchemy_writes_them_and_read_from_any_form(logbook):
    """Moments go to SQLite as the text SQLAlchemy's own DATETIME writes (so comparisons with
    what is stored hold) and come back aware, in UTC, from each form other programs write."""
    from datetime import datetime, timedelta, timezone

    import sqlalchemy as sa
    from sqlalchemy.dialects.sqlite import DATETIME

    from ilog.store.types import UTCDateTime

    dialect = logbook.db.engine.dialect
    moments = UTCDateTime().dialect_impl(dialect)  # as SQLAlchemy uses it on this database
    ours, theirs = moments.bind_processor(dialect), DATETIME().bind_processor(dialect)
    plus2 = timezone(timedelta(hours=2))
    for moment in (datetime(2026, 6, 30, 12, 0, 5, 7, tzinfo=plus2), datetime(2026, 1, 1, tzinfo=timezone.utc),
                   datetime(999, 1, 2, 3, 4, 5, tzinfo=timezone.utc), datetime(9999, 12, 31, 23, 59, tzinfo=plus2)):
        assert ours(moment) == theirs(moment.astimezone(timezone.utc).replace(tzinfo=None)), moment
    assert ours(None) is None
    with pytest.raises(ValueError, match="naive"):
        ours(datetime(2026, 1, 1))

    read = moments.result_processor(dialect, None)
    utc = timezone.utc
    for text, moment in [("2026-06-30 12:00:05.000007", datetime(2026, 6, 30, 12, 0, 5, 7, tzinfo=utc)),
                         ("2026-06-30 12:00:05", datetime(2026, 6, 30, 12, 0, 5, tzinfo=utc)),
                         ("2026-06-30T12:00:05", datetime(2026, 6, 30, 12, 0, 5, tzinfo=utc)),
                         ("2026-06-30 12:00:05.5", datetime(2026, 6, 30, 12, 0, 5, 500000, tzinfo=utc)),
                         ("2026-06-30", datetime(2026, 6, 30, tzinfo=utc)),  # fromisoformat drops "+00:00" here
                         ("2026-06-30 12:00:05+00:00", datetime(2026, 6, 30, 12, 0, 5, tzinfo=utc)),
                         ("2026-06-30 14:00:05+02:00", datetime(2026, 6, 30, 12, 0, 5, tzinfo=utc)),
                         ("9999-12-31 23:59:00", datetime(9999, 12, 31, 23, 59, tzinfo=utc))]:
        got = read(text)
        assert got == moment and got.tzinfo is utc, (text, got)
    assert read(None) is None

    logbook.contacts.add("Someone", no="S1")
    logbook.templates.add("NOTE", kind="note")
    entry = logbook.interact("S1", "NOTE", subject="x").entry_no
    recorded = logbook.get(entry).occurred_at
    with logbook.db.transaction(write=True) as conn:
        stored = conn.execute(sa.text("SELECT occurred_at FROM interaction WHERE entry_no = :n"), {"n": entry}).scalar()
        conn.execute(sa.text("UPDATE interaction SET occurred_at = :t WHERE entry_no = :n"),
                     {"t": "2026-06-30T14:00:05+02:00", "n": entry})
    assert stored == theirs(recorded.replace(tzinfo=None)), stored
    assert logbook.get(entry).occurred_at == datetime(2026, 6, 30, 12, 0, 5, tzinfo=utc)


def test_indexes_serve_common_reads(logbook):
    import sqlalchemy as sa

    logbook.contacts.add("X", no="X")
    with logbook.db.transaction(write=False) as conn:
        indexes = {tuple(i["column_names"]) for i in sa.inspect(conn).get_indexes("interaction")}
    assert ("contact_no", "occurred_at") in indexes
    assert ("company_no", "occurred_at") in indexes
    assert ("occurred_at",) in indexes


def test_database_url_resolution(tmp_path, monkeypatch, isolated_env):
    from ilog.config import load_settings

    assert load_settings().database_url == str(isolated_env / "ilog.db")
    (isolated_env / "config.toml").write_text('database_url = "/from/config.db"\n')
    assert load_settings().database_url == "/from/config.db"
    monkeypatch.setenv("ILOG_DATABASE_URL", "/from/env.db")
    assert load_settings().database_url == "/from/env.db"
    assert load_settings(database_url="/from/flag.db").database_url == "/from/flag.db"
    from ilog.store.urls import normalise_url

    assert normalise_url("relative.db").startswith("sqlite:////")
    assert normalise_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"


def test_version_and_help_need_no_database(cli, isolated_env):
    run = cli("--version", db=False)
    assert run.exit_code == 0 and run.stdout.startswith("ilog ")
    assert cli("--help", db=False).exit_code == 0
    assert not (isolated_env / "ilog.db").exists()
