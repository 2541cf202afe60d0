"""Activities as Dynamics users work them (issue 16): every entry has an owner, activities are
assigned and completed by someone, teams see what their members own, views by state, kind and
template, opportunities an entry regards, and the account view of a company."""

from __future__ import annotations

import json

import pytest

import ilog
from conftest import CLI


@pytest.fixture
def office(sample):
    """A manager, anna and marco in team SALES; a task template and the invoice event set up."""
    sample.ok("template", "add", "TASK", "-d", "Task", "--kind", "task")
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    sample.ok("team", "add", "SALES", "--member", "anna", "--member", "marco")
    return sample


def numbers(run) -> list[int]:
    return [e["entry_no"] for e in run.json()]


# -- 1. an owner, assignment, completion -----------------------------------------------------------


def test_every_entry_has_an_owner_by_default_who_logs_it_and_can_be_planned_for_someone(office, tmp_path):
    assert office.ok("interact", "P1", "-t", "CALL", "-q").stdout.strip() == "1"
    office.ok("interact", "P1", "-t", "TASK", "--due", "+1d", "--owner", "anna", "-q")
    office.ok("event", "sales.invoice", "--document-no", "INV-1", "--contact", "P1", "--owner", "marco", "-q")
    batch = tmp_path / "run.jsonl"
    batch.write_text(json.dumps({"event": "sales.invoice", "document_no": "INV-2", "contact": "P1", "owner": "anna"})
                     + "\n")
    office.ok("event", "--input", batch)
    segment = office.ok("segment", "create", "-d", "S", "-t", "CALL", "--owner", "marco", "-q").stdout.strip()
    office.ok("segment", "add", segment, "P1", "P2")
    office.ok("segment", "line", segment, "P2", "--owner", "anna")
    office.ok("segment", "log", segment)
    owners = {e["entry_no"]: (e["owner"], e["user_id"]) for e in office.ok("log", "-f", "json").json()}
    assert owners == {1: ("tester", "tester"), 2: ("anna", "tester"), 3: ("marco", "tester"),
                      4: ("anna", "tester"), 5: ("marco", "tester"), 6: ("anna", "tester")}


def test_the_api_plans_for_someone_too(office, logbook):
    result = logbook.interact("P1", "TASK", due_at="+2d", owner="anna")
    event = logbook.record_event("sales.invoice", "INV-9", contact_no="P1", owner="marco", opportunity_no="op-9")
    assert logbook.get(result.entry_no).owner == "anna"
    assert (logbook.get(event.entry_no).owner, logbook.get(event.entry_no).opportunity_no) == ("marco", "OP-9")


def test_assign_hands_open_and_postponed_activities_over_and_done_ones_stay(office, snapshot):
    office.ok("interact", "P1", "-t", "TASK", "--due", "+1d", "--owner", "anna")  # 1 open
    office.ok("interact", "P1", "-t", "CALL", "--owner", "anna")  # 2 done
    office.ok("interact", "P1", "-t", "CALL", "--owner", "anna", "--postpone")  # 3 postponed
    assert office.ok("assign", "1", "3", "--to", "marco").stdout.split() == ["1", "3"]
    assert {e["entry_no"]: e["owner"] for e in office.ok("log", "--include-cancelled", "-f", "json").json()}[1] == "marco"
    before = snapshot()
    refused = office("assign", "1", "2", "--to", "marco")  # a list: all or nothing
    assert refused.exit_code == 1 and "entry 2 is done: a done entry stays with who did it (anna)" in refused.stderr
    assert snapshot() == before
    dry = office.ok("assign", "--owner", "marco", "--to", "anna", "--dry-run")  # filters leave postponed out
    assert "would assign 1 entry" in dry.stderr and dry.stdout.split() == ["1"] and snapshot() == before
    with_postponed = office.ok("assign", "--owner", "marco", "--postponed", "--to", "anna", "--dry-run")
    assert with_postponed.stdout.split() == ["3"]
    off_a_terminal = office("assign", "--owner", "marco", "--to", "anna")
    assert off_a_terminal.exit_code == 1 and "--yes" in off_a_terminal.stderr
    by_filter = office.ok("assign", "--owner", "anna", "--to", "marco", "--yes")
    assert "entry 2 is done" in by_filter.stderr and by_filter.stdout.split() == []  # 2 skipped, reported


def test_completing_records_who_and_when(office):
    office.ok("interact", "P1", "-t", "TASK", "--due", "-1d", "--owner", "anna")
    office.ok("--user", "marco", "complete", "1")
    entry = office.ok("show", "1", "-f", "json").json()
    assert (entry["state"], entry["owner"], entry["completed_by"]) == ("done", "anna", "marco")
    assert entry["completed_at"] is not None


# -- 2. teams ---------------------------------------------------------------------------------------


def test_teams_are_stored_in_the_database_and_list_what_their_members_own(office, db_url):
    office.ok("interact", "P1", "-t", "TASK", "--due", "+1d", "--owner", "anna")
    office.ok("interact", "P1", "-t", "TASK", "--due", "+1d", "--owner", "marco")
    office.ok("interact", "P1", "-t", "TASK", "--due", "+1d", "--owner", "luca")
    assert sorted(numbers(office.ok("log", "--team", "SALES", "-f", "json"))) == [1, 2]
    other_host = CLI(db_url, [])  # another process on another host sees the same team
    assert other_host.ok("team", "show", "sales", "-f", "json").json()["members"] == ["anna", "marco"]
    office.ok("team", "add", "SALES", "--member", "luca", "--exist-ok")
    assert sorted(numbers(office.ok("log", "--team", "SALES", "-f", "json"))) == [1, 2, 3]
    office.ok("team", "leave", "SALES", "--member", "marco")
    assert sorted(numbers(office.ok("log", "--team", "SALES", "-f", "json"))) == [1, 3]
    assert [t["name"] for t in office.ok("team", "list", "-f", "json").json()] == ["SALES"]
    assert office("team", "add", "SALES").exit_code == 1
    assert office("log", "--team", "NOPE").exit_code == 1
    office.ok("team", "remove", "SALES", "--yes")
    assert office.ok("team", "list", "-f", "json").json() == []
    assert office.ok("show", "1", "-f", "json").json()["owner"] == "anna"  # entries stay theirs


# -- 3. views ---------------------------------------------------------------------------------------


def test_views_mine_owner_state_done_kind_and_template(office):
    office.ok("interact", "P1", "-t", "TASK", "--due", "+3d")  # 1 mine, open
    office.ok("interact", "P1", "-t", "TASK", "--due", "-1d", "--owner", "anna")  # 2 anna, open, overdue
    office.ok("interact", "P1", "-t", "CALL", "--due", "+1d", "--owner", "anna")  # 3 anna, open call
    office.ok("interact", "P1", "-t", "MAIL")  # 4 mine, done (never open)
    office.ok("complete", "2")
    assert numbers(office.ok("log", "--mine", "-f", "json")) == [4, 1]
    assert sorted(numbers(office.ok("log", "--owner", "anna", "--owner", "tester", "-f", "json"))) == [1, 2, 3, 4]
    assert numbers(office.ok("log", "--open", "-f", "json")) == [3, 1]  # soonest due first
    assert numbers(office.ok("log", "--state", "open", "-f", "json")) == [3, 1]
    assert numbers(office.ok("log", "--done", "-f", "json")) == [2]  # closed activities, not every done entry
    done = office.ok("log", "--done").stdout
    assert "Completed by" in done and "tester" in done
    assert sorted(numbers(office.ok("log", "--kind", "task", "--kind", "phone-call", "-f", "json"))) == [1, 2, 3]
    assert sorted(numbers(office.ok("log", "--template", "TASK", "--template", "MAIL", "-f", "json"))) == [1, 2, 4]
    assert office("log", "--kind", "task", "--kind", "bogus").exit_code == 2
    assert office("log", "--template", "TASK", "--template", "NOPE").exit_code == 1


def test_open_activities_are_listed_soonest_first_and_overdue_ones_marked(office):
    office.ok("interact", "P1", "-t", "TASK", "--due", "+5d", "--subject", "later")
    office.ok("interact", "P1", "-t", "TASK", "--due", "-2d", "--subject", "late")
    office.ok("interact", "P1", "-t", "TASK", "--open", "--subject", "whenever")
    office.ok("interact", "P1", "-t", "TASK", "--due", "+1d", "--subject", "soon")
    rows = office.ok("log", "--open", "-f", "json").json()
    assert [r["subject"] for r in rows] == ["late", "soon", "later", "whenever"]
    assert [r["overdue"] for r in rows] == [True, False, False, False]
    table = office.ok("log", "--open").stdout.splitlines()
    assert "Overdue" in table[0].split() and " yes " in f"{table[2]} " and " yes " not in f"{table[3]} "


def test_filters_by_salesperson_campaign_and_document_type(office):
    office.ok("interact", "P1", "-t", "CALL", "--salesperson", "sp1", "--campaign", "cp1")
    office.ok("event", "sales.invoice", "--document-no", "INV-1", "--contact", "P1", "--document-type", "invoice")
    office.ok("interact", "P2", "-t", "CALL", "--salesperson", "sp2")
    assert numbers(office.ok("log", "--salesperson", "SP1", "-f", "json")) == [1]
    assert numbers(office.ok("log", "--campaign", "cp1", "-f", "json")) == [1]
    assert numbers(office.ok("log", "--document-type", "invoice", "-f", "json")) == [2]


# -- 4. opportunities ----------------------------------------------------------------------------


def test_an_opportunity_is_a_reference_on_every_way_of_recording(office, tmp_path):
    office.ok("interact", "P1", "-t", "CALL", "--opportunity", "op-1")
    office.ok("event", "sales.invoice", "--document-no", "Q-1", "--contact", "P2", "--opportunity", "OP-1")
    (tmp_path / "b.jsonl").write_text(json.dumps({"event": "sales.invoice", "document_no": "Q-2", "contact": "P1",
                                                  "opportunity": "op-2"}) + "\n")
    office.ok("event", "--input", tmp_path / "b.jsonl")
    segment = office.ok("segment", "create", "-d", "S", "-t", "MAIL", "--opportunity", "op-1", "-q").stdout.strip()
    office.ok("segment", "add", segment, "P3")
    office.ok("segment", "log", segment)
    assert sorted(numbers(office.ok("log", "--opportunity", "OP-1", "-f", "json"))) == [1, 2, 4]
    stats = {r["opportunity"]: r["count"] for r in office.ok("stats", "--by", "opportunity", "-f", "json").json()}
    assert stats == {"OP-1": 3, "OP-2": 1}
    timeline = office.ok("timeline", "--opportunity", "OP-1", "-f", "json").json()
    assert [r["entry_no"] for r in timeline] == [4, 2, 1] and {r["opportunity_no"] for r in timeline} == {"OP-1"}
    assert [r["entry_no"] for r in office.ok("timeline", "P1", "--opportunity", "OP-1", "-f", "json").json()] == [1]


# -- 5. the account view ---------------------------------------------------------------------------


def test_contact_show_gives_opportunities_invoices_and_next_activities_rolled_up(office):
    office.ok("interact", "P1", "-t", "CALL", "--opportunity", "OP-1", "--date", "2026-01-02")
    office.ok("interact", "P2", "-t", "CALL", "--opportunity", "OP-2", "--date", "2026-01-05")
    office.ok("event", "sales.invoice", "--document-no", "INV-1", "--contact", "P1", "--date", "2026-01-03")
    office.ok("event", "sales.invoice", "--document-no", "INV-1", "--contact", "P1", "--date", "2026-01-04")
    office.ok("interact", "P2", "-t", "TASK", "--due", "+2d", "--subject", "visit", "--owner", "anna")
    office.ok("interact", "P3", "-t", "TASK", "--due", "+1d", "--subject", "not theirs")
    company = office.ok("contact", "show", "C1", "-f", "json").json()
    assert [(o["opportunity_no"], o["entries"]) for o in company["recent_opportunities"]] == [("OP-2", 1), ("OP-1", 1)]
    assert [(i["document_no"], i["occurrence"]) for i in company["recent_invoices"]] == [("INV-1", 2), ("INV-1", 1)]
    assert [(a["subject"], a["owner"]) for a in company["next_activities"]] == [("visit", "anna")]
    assert company["stats"]["last_contacted"] is not None
    person = office.ok("contact", "show", "P1", "-f", "json").json()
    assert [o["opportunity_no"] for o in person["recent_opportunities"]] == ["OP-1"] and not person["next_activities"]
    table = office.ok("contact", "show", "C1").stdout
    for section in ("recent opportunities:", "recent invoices:", "next open activities:", "last contacted"):
        assert section in table


# -- 6 and 7. one set of filters; every recording field in batch lines and the API -------------------


def test_bulk_commands_and_stats_take_the_same_filters(office):
    office.ok("interact", "P1", "-t", "TASK", "--due", "+1d", "--owner", "anna", "--opportunity", "OP-1")
    office.ok("interact", "P1", "-t", "TASK", "--due", "+1d", "--owner", "marco")
    for command in (["complete", "--dry-run"], ["cancel", "--dry-run"], ["evaluate", "--as", "positive", "--dry-run"],
                    ["assign", "--to", "luca", "--dry-run"], ["log", "-f", "json"], ["log", "export"],
                    ["stats", "--by", "owner", "-f", "json"]):
        run = office.ok(*command, "--team", "SALES", "--opportunity", "OP-1", "--kind", "task")
        if command[0] == "stats":
            assert [(r["owner"], r["count"]) for r in run.json()] == [("anna", 1)]
        elif command[0] == "log" and command[1] == "-f":
            assert numbers(run) == [1]
        elif command[0] == "log":
            assert [json.loads(line)["entry_no"] for line in run.stdout.splitlines()] == [1]
        else:
            assert run.stdout.split() == ["1"], (command, run.stderr)


def test_every_recording_field_of_interact_is_a_batch_line_and_an_api_field(office, logbook):
    fields = {"owner": "anna", "opportunity": "op-3", "salesperson": "sp1", "campaign": "cp1", "flow": "inbound",
              "initiated_by": "them", "evaluation": "positive", "attempt_failed": True, "duration": 12.5,
              "cost": 3, "subject": "from the ERP", "due": "+1d"}
    [outcome] = logbook.record_events([json.dumps({"event": "sales.invoice", "document_no": "INV-5", "contact": "P1",
                                                   **fields})])
    assert outcome.error is None, outcome.error
    entry = logbook.get(outcome.entry_no)
    assert (entry.owner, entry.opportunity_no, entry.salesperson_code, entry.campaign_no, entry.flow,
            entry.initiated_by, entry.evaluation, entry.attempt_failed, entry.duration_min, entry.cost,
            entry.subject, entry.state) == ("anna", "OP-3", "SP1", "CP1", "inbound", "them", "positive", True, 12.5,
                                            3.0, "from the ERP", "open")
    api = logbook.record_event(ilog.DocumentEvent(event="sales.invoice", document_no="INV-6", contact_no="P1",
                                                  owner="marco", flow="outbound", duration_min=1))
    assert (logbook.get(api.entry_no).owner, logbook.get(api.entry_no).flow) == ("marco", "outbound")


# -- 8. hooks see the new fields ---------------------------------------------------------------------


def test_hook_snapshots_carry_owner_completion_and_opportunity(office, plugins):
    seen: list[dict] = []

    class Recorder:
        __name__ = "recorder"

        @staticmethod
        @ilog.hookimpl
        def interaction_saved(interaction):
            seen.append({k: getattr(interaction, k) for k in ("owner", "opportunity_no", "completed_by")})

    plugins.append(Recorder)
    office.ok("interact", "P1", "-t", "TASK", "--due", "+1d", "--owner", "anna", "--opportunity", "OP-4")
    assert seen == [{"owner": "anna", "opportunity_no": "OP-4", "completed_by": None}]
    keys = office.ok("show", "1", "-f", "json").json()
    assert {"owner", "completed_by", "completed_at", "opportunity_no", "overdue"} <= set(keys)
