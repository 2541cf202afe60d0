"""Batch mode: ``ilog event --input FILE|-`` and ``Logbook.record_events``, with the per-event
semantics of one-shot ``ilog event`` (keys, occurrences, template setup, hooks), bad lines
reported by number without stopping the others."""

from __future__ import annotations

import json

import pytest

from ilog import hookimpl
from ilog import DocumentEvent


def lines(*events: dict | str) -> str:
    return "".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in events)


def invoice(no: str, contact: str = "P1", **more) -> dict:
    return {"event": "sales.invoice", "document_no": no, "contact": contact, **more}


@pytest.fixture
def mapped(sample):
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    return sample


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


def test_batch_records_every_line_with_its_own_key_and_occurrence(mapped, tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text(lines(invoice("INV-1", key="p-1"), invoice("INV-2", "P2", key="p-2"),
                          invoice("INV-1", key="p-3", version=2), invoice("INV-3", "C1")))
    run = mapped.ok("event", "--input", path)
    assert run.lines == ["1", "2", "3", "4"]
    assert "4 logged" in run.stderr
    rows = {r["entry_no"]: r for r in mapped.ok("log", "-f", "json").json()}
    assert [(rows[n]["document_no"], rows[n]["occurrence"], rows[n]["contact_no"], rows[n]["idempotency_key"])
            for n in (1, 2, 3, 4)] == [("INV-1", 1, "P1", "p-1"), ("INV-2", 1, "P2", "p-2"),
                                       ("INV-1", 2, "P1", "p-3"), ("INV-3", 1, "C1", None)]
    assert rows[3]["version_no"] == 2 and rows[1]["company_no"] == "C1"
    assert {r["source"] for r in rows.values()} == {"event"}
    assert {r["template_code"] for r in rows.values()} == {"INVOICE"}
    # the same file again: keyed lines record nothing new; the unkeyed one is a 2nd print
    again = mapped.ok("event", "--input", path)
    assert again.lines == ["1", "2", "3", "5"]
    # a re-run says so in its one summary line; --verbose names each line already recorded
    assert again.stderr.splitlines() == ["ilog: 1 logged, 3 already recorded"]
    verbose = mapped.ok("event", "--input", path, "--verbose")
    assert "line 1: already recorded as entry 1" in verbose.stderr and "3 already recorded" in verbose.stderr
    assert mapped.ok("show", "5", "-f", "json").json()["occurrence"] == 2


def test_batch_entry_equals_one_shot_entry(mapped, tmp_path):
    mapped.ok("event", "sales.invoice", "--document-no", "INV-9", "--contact", "P1", "--subject", "Invoice 9",
              "--date", "2026-03-01 10:00", "--document-type", "invoice", "--version", "1", "--key", "one")
    (tmp_path / "one.jsonl").write_text(lines(invoice("INV-9", subject="Invoice 9", date="2026-03-01 10:00",
                                                      document_type="invoice", version=1, key="two")))
    assert mapped.ok("event", "--input", tmp_path / "one.jsonl").lines == ["2"]
    one, two = (mapped.ok("show", n, "-f", "json").json() for n in ("1", "2"))
    differ = {"entry_no", "idempotency_key", "occurrence", "created_at"}
    assert {k: v for k, v in one.items() if k not in differ} == {k: v for k, v in two.items() if k not in differ}
    assert (one["occurrence"], two["occurrence"]) == (1, 2)


def test_bad_lines_are_reported_with_their_number_and_the_others_recorded(mapped, tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text(lines(
        invoice("INV-1"),                                  # 1 ok
        "",                                                # 2 blank: skipped
        "{not json",                                       # 3
        invoice("INV-2", "NOBODY"),                        # 4 unknown contact
        {"event": "sales.invoice", "contact": "P1"},       # 5 no document_no
        invoice("INV-3", colour="red"),                    # 6 unknown field
        invoice("INV-4", date="someday"),                  # 7 bad date
        {"event": "sales.nonsense", "document_no": "X", "contact": "P1"},  # 8 unknown event
        {"event": "sales.quote", "document_no": "Q-1", "contact": "P1"},   # 9 no template: nothing, no error
        "[1, 2]",                                          # 10 not an object
        invoice("INV-5"),                                  # 11 ok
    ))
    run = mapped("event", "--input", path)
    assert run.exit_code == 1
    assert run.lines == ["1", "2"]
    errors = [line for line in run.stderr.splitlines() if line.startswith("ilog: error:")]
    assert [e.split(":")[2].strip() for e in errors] == [f"line {n}" for n in (3, 4, 5, 6, 7, 8, 10)]
    assert "NOBODY" in errors[1] and "document_no" in errors[2] and "colour" in errors[3]
    assert "someday" in errors[4] and "sales.nonsense" in errors[5]
    assert "ilog: line 9: no template is set up for event 'sales.quote'" in run.stderr
    assert "2 logged, 1 nothing to record, 7 failed" in run.stderr
    assert [r["document_no"] for r in mapped.ok("log", "-f", "json").json()] == ["INV-5", "INV-1"]


def test_stdin_defaults_quiet_and_json_output(mapped):
    data = lines({"document_no": "INV-1", "contact": "P1", "key": "a"}, {"document_no": "INV-2", "key": "b"},
                 {"document_no": "INV-1", "contact": "P1", "key": "a"})
    run = mapped("event", "sales.invoice", "--contact", "P2", "--input", "-", "-q", "-f", "jsonl", input=data)
    assert run.exit_code == 0, run.stderr
    assert [json.loads(line) for line in run.lines] == [
        {"line": 1, "entry_no": 1, "created": True, "error": None, "message": None},
        {"line": 2, "entry_no": 2, "created": True, "error": None, "message": None},
        {"line": 3, "entry_no": 1, "created": False, "error": None, "message": None},
    ]
    assert run.stderr == ""  # -q: no summary, no "already recorded" notes
    assert mapped.ok("show", "2", "-f", "json").json()["contact_no"] == "P2"  # the command line's default


def test_every_event_runs_the_hooks_and_a_veto_stops_only_its_line(mapped, plugins, tmp_path):
    recorder = Recorder()
    plugins.append(recorder)
    path = tmp_path / "hooks.jsonl"
    path.write_text(lines(invoice("INV-1", key="k1"), invoice("BAD-1"), invoice("INV-2"), invoice("INV-1", key="k1")))
    run = mapped("event", "--input", path)
    assert run.exit_code == 1
    assert run.lines == ["1", "2", "1"]
    assert "line 2: plugin recorder: blocked document" in run.stderr
    assert recorder.calls == [
        ("enrich", "INV-1"), ("validate", "INV-1"), ("enrich", "BAD-1"), ("validate", "BAD-1"),
        ("enrich", "INV-2"), ("validate", "INV-2"), ("enrich", "INV-1"), ("validate", "INV-1"),
        ("saved", "INV-1", 1, True), ("saved", "INV-2", 2, True), ("saved", "INV-1", 1, False),
    ]
    assert mapped.ok("show", "1", "-f", "json").json()["subject"] == "Sales invoice INV-1"


def test_a_replayed_key_runs_no_hook_before_the_save(mapped, plugins, tmp_path):
    mapped.ok("event", "sales.invoice", "--document-no", "INV-1", "--contact", "P1", "--key", "k1")
    recorder = Recorder()
    plugins.append(recorder)
    (tmp_path / "again.jsonl").write_text(lines(invoice("INV-1", key="k1")))
    assert mapped.ok("event", "--input", tmp_path / "again.jsonl").lines == ["1"]
    assert recorder.calls == [("saved", "INV-1", 1, False)]


def test_a_database_error_in_a_chunk_fails_only_its_event(mapped, logbook, plugins):
    """A draft the database refuses (a plugin pointing it at a missing contact) fails alone:
    its chunk is saved again one event at a time."""

    class Ghost:
        __name__ = "ghost"

        @hookimpl
        def enrich_interaction(self, interaction):
            if interaction.document_no == "INV-2":
                interaction.contact_no = "GHOST"

    logbook.plugins.pm.register(Ghost(), name="ghost")
    events = [DocumentEvent(event="sales.invoice", document_no=f"INV-{i}", contact_no="P1", idempotency_key=f"k{i}")
              for i in range(1, 6)]
    outcomes = logbook.record_events(events, chunk_size=3)
    assert [o.line for o in outcomes] == [1, 2, 3, 4, 5]
    assert [o.error is not None for o in outcomes] == [False, True, False, False, False]
    assert "database" in outcomes[1].error.message
    assert [o.created for o in outcomes] == [True, False, True, True, True]
    saved = {i.document_no: i for i in logbook.find()}
    assert sorted(saved) == ["INV-1", "INV-3", "INV-4", "INV-5"]
    assert len({i.entry_no for i in saved.values()}) == 4
    assert logbook.entry_for_key("k2") is None  # the failed event claimed nothing


def test_record_events_api_in_one_chunk_keeps_duplicates_apart(mapped, logbook):
    outcomes = logbook.record_events([
        invoice("INV-1", key="dup"), invoice("INV-1", key="dup"), invoice("INV-1"), invoice("INV-1", contact="P2"),
        '{"event": "sales.invoice", "document_no": 7, "contact": "p3", "version": "2"}',
    ])
    assert [(o.entry_no, o.created) for o in outcomes] == [(1, True), (1, False), (3, True), (4, True), (5, True)]
    occurrences = {i.entry_no: i.occurrence for i in logbook.find()}
    assert occurrences == {1: 1, 3: 2, 4: 3, 5: 1}
    seven = logbook.get(5)
    assert (seven.document_no, seven.contact_no, seven.version_no) == ("7", "P3", 2)


@pytest.mark.parametrize("args, message", [
    (["event", "--input", "missing.jsonl"], "cannot read missing.jsonl"),
    (["event", "--input", "-", "--key", "same"], "--key with --input"),
    (["event"], "missing argument 'EVENT'"),
    (["event", "sales.invoice", "--contact", "P1"], "missing option '--document-no'"),
])
def test_bad_usage_changes_nothing(mapped, snapshot, args, message):
    before = snapshot()
    run = mapped(*args, input="")
    assert run.exit_code == 2
    assert run.stderr.startswith("ilog: error: ") and message in run.stderr
    assert snapshot() == before
