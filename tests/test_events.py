"""``ilog template setup`` and ``ilog event``: the auto-recording map and document events."""

from __future__ import annotations

import pytest

from ilog import hookimpl
from ilog.domain.choices import BUILTIN_EVENTS

SPEC_EVENTS = (
    "sales.quote sales.blanket-order sales.order-confirmation sales.draft-invoice sales.invoice "
    "sales.credit-memo sales.shipment sales.statement sales.reminder sales.finance-charge-memo "
    "sales.return-order sales.return-receipt purchase.quote purchase.blanket-order purchase.order "
    "purchase.invoice purchase.credit-memo purchase.receipt purchase.return-shipment "
    "purchase.return-order-confirmation service.order-create service.order-post service.quote "
    "service.contract service.contract-quote email email-draft cover-sheet outgoing-call meeting-invitation"
).split()


@pytest.fixture
def mapped(sample):
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    return sample


def invoice(cli, *extra, no="INV-1042", contact="P1"):
    return cli("event", "sales.invoice", "--document-no", no, "--contact", contact, *extra)


# -- template setup --------------------------------------------------------------------------

def test_setup_lists_every_event_of_the_spec(sample):
    assert list(BUILTIN_EVENTS) == SPEC_EVENTS
    rows = sample.ok("template", "setup", "-f", "json").json()
    assert [r["event"] for r in rows] == SPEC_EVENTS
    assert all(r["template_code"] is None for r in rows)


def test_setup_set_show_unset(sample, snapshot):
    run = sample.ok("template", "setup", "sales.invoice", "invoice")
    assert "sales.invoice" in run.stderr and "INVOICE" in run.stderr
    sample.ok("template", "setup", "SALES.QUOTE", "MAIL")
    rows = {r["event"]: r["template_code"] for r in sample.ok("template", "setup", "-f", "json").json()}
    assert rows["sales.invoice"] == "INVOICE" and rows["sales.quote"] == "MAIL" and rows["email"] is None
    assert sample.ok("template", "setup", "sales.invoice", "-f", "json").json() == [
        {"event": "sales.invoice", "template_code": "INVOICE", "declared_by": "ilog"}]
    sample.ok("template", "setup", "sales.invoice", "CALL")  # re-map
    assert sample.ok("template", "setup", "sales.invoice", "-f", "csv").lines[1] == "sales.invoice,CALL,ilog"
    table = sample.ok("template", "setup").stdout
    assert "sales.quote" in table and "MAIL" in table
    sample.ok("template", "setup", "--unset", "sales.invoice")
    assert sample.ok("template", "setup", "sales.invoice", "-f", "json").json()[0]["template_code"] is None
    before = snapshot()
    run = sample.ok("template", "setup", "--unset", "sales.invoice")
    assert "had no template" in run.stderr and snapshot() == before


def test_setup_refuses_bad_events_and_templates(sample, snapshot):
    before = snapshot()
    run = sample("template", "setup", "sales.invoce", "INVOICE")
    assert run.exit_code == 2 and run.stderr.startswith("ilog: error: unknown event 'sales.invoce'")
    run = sample("template", "setup", "sales.invoice", "NOPE")
    assert run.exit_code == 1 and "NOPE" in run.stderr
    assert sample("template", "setup", "sales.invoce").exit_code == 2
    assert snapshot() == before


def test_a_template_in_the_setup_cannot_be_removed(mapped):
    run = mapped("template", "remove", "INVOICE", "--yes")
    assert run.exit_code == 1 and "sales.invoice" in run.stderr


def test_setup_includes_plugin_events(plugins, sample):
    class Erp:
        __name__ = "erp"

        @hookimpl
        def document_events(self):
            return ["erp.delivery-note"]

    plugins.append(Erp())
    rows = sample.ok("template", "setup", "-f", "json").json()
    assert rows[-1] == {"event": "erp.delivery-note", "template_code": None, "declared_by": "erp"}
    sample.ok("template", "setup", "erp.delivery-note", "INVOICE")
    assert sample.ok("template", "setup", "erp.delivery-note", "-f", "json").json()[0]["template_code"] == "INVOICE"


# -- ilog event ------------------------------------------------------------------------------

def test_event_records_one_entry_from_the_mapped_template(mapped):
    run = invoice(mapped)
    assert run.exit_code == 0 and run.stdout == "1\n" and "logged entry 1" in run.stderr
    entry = mapped.ok("show", "1", "-f", "json").json()
    assert entry["template_code"] == "INVOICE" and entry["kind"] == "letter" and entry["group_code"] == "SALES"
    assert entry["contact_no"] == "P1" and entry["company_no"] == "C1"
    assert entry["document_type"] == "sales.invoice" and entry["document_no"] == "INV-1042"
    assert entry["occurrence"] == 1 and entry["source"] == "event" and entry["salesperson_code"] is None
    assert entry["subject"] == "Sales invoice" and entry["state"] == "done" and entry["user_id"] == "tester"


def test_second_event_for_the_same_document_is_occurrence_two(mapped):
    mapped.ok("template", "setup", "sales.credit-memo", "INVOICE")
    assert invoice(mapped, "-q").stdout == "1\n"
    assert invoice(mapped, "-q").stdout == "2\n"
    mapped.ok("event", "sales.credit-memo", "--document-no", "INV-1042", "--contact", "P1")  # another type
    invoice(mapped, no="INV-1043")
    rows = mapped.ok("log", "--include-cancelled", "-f", "json").json()
    got = sorted((r["entry_no"], r["document_type"], r["document_no"], r["occurrence"]) for r in rows)
    assert got == [(1, "sales.invoice", "INV-1042", 1), (2, "sales.invoice", "INV-1042", 2),
                   (3, "sales.credit-memo", "INV-1042", 1), (4, "sales.invoice", "INV-1043", 1)]
    # a cancelled print still counts: the next one is occurrence 3
    mapped.ok("cancel", "2", "--yes")
    assert mapped.ok("show", invoice(mapped, "-q").stdout.strip(), "-f", "json").json()["occurrence"] == 3


def test_event_fields(mapped, tmp_path):
    pdf = tmp_path / "INV-1042.pdf"
    pdf.write_bytes(b"%PDF-1.4 invoice")
    run = mapped("event", "Sales.Invoice", "--document-no", "INV-1042", "--contact", "p1",
                 "--document-type", "posted-invoice", "--version", "2", "--date", "2026-03-04T10:30:00+00:00",
                 "--subject", "Invoice INV-1042 printed", "--attach", pdf, "--key", "erp-7781", "-f", "json")
    assert run.exit_code == 0, run.stderr
    entry = run.json()
    assert entry["document_type"] == "posted-invoice" and entry["version_no"] == 2
    assert entry["occurred_at"].startswith("2026-03-04T") and entry["subject"] == "Invoice INV-1042 printed"
    assert entry["attachment_id"] is not None and entry["idempotency_key"] == "erp-7781"
    assert entry["contact_no"] == "P1"


def test_no_template_mapped_records_nothing_and_exits_0(sample, snapshot):
    before = snapshot()
    run = sample("event", "sales.order-confirmation", "--document-no", "SO-1", "--contact", "P1")
    assert run.exit_code == 0 and run.stdout == ""
    assert run.stderr == "ilog: no template is set up for event 'sales.order-confirmation': nothing recorded\n"
    assert snapshot() == before


def test_same_key_twice_records_once_and_prints_the_first_entry(mapped):
    first = invoice(mapped, "--key", "print-7781")
    assert first.stdout == "1\n"
    again = invoice(mapped, "--key", "print-7781", "--subject", "different")
    assert again.exit_code == 0 and again.stdout == "1\n" and "already recorded as entry 1" in again.stderr
    assert invoice(mapped, "--key", "print-7781", "-q").stdout == "1\n"
    assert len(mapped.ok("log", "-f", "json").json()) == 1
    # even after the entry is cancelled and purged, the key records nothing new
    mapped.ok("cancel", "1", "--yes")
    mapped.ok("purge-cancelled", "--before", "tomorrow", "--yes")
    assert invoice(mapped, "--key", "print-7781", "-q").stdout == "1\n"
    assert mapped.ok("log", "--include-cancelled", "-f", "json").json() == []


def test_quiet_prints_only_the_number(mapped):
    run = invoice(mapped, "-q")
    assert run.stdout == "1\n" and run.stderr == ""


def test_ref_is_resolved_by_a_plugin(plugins, mapped):
    class Erp:
        __name__ = "erp"

        @hookimpl
        def resolve_contact(self, ref, logbook):
            return {"10000": "p3", "20000": "GONE"}.get(ref)

    plugins.append(Erp())
    no = mapped.ok("event", "sales.invoice", "--document-no", "INV-1", "--ref", "10000", "-q").stdout.strip()
    assert mapped.ok("show", no, "-f", "json").json()["contact_no"] == "P3"
    run = mapped("event", "sales.invoice", "--document-no", "INV-2", "--ref", "20000")
    assert run.exit_code == 1
    assert run.stderr == "ilog: error: reference '20000' resolved to unknown contact 'GONE'\n"


def test_event_refusals_change_nothing(mapped, snapshot, tmp_path):
    before = snapshot()
    cases = {
        ("event", "sales.invoice", "--document-no", "INV-1"): (2, "a contact (--contact, contact_no) or a reference (--ref, ref)"),
        ("event", "sales.invoice", "--document-no", "INV-1", "--ref", "10000"): (1, "cannot resolve reference"),
        ("event", "sales.invoice", "--document-no", "INV-1", "--contact", "NOPE"): (1, "ilog: error: unknown contact 'NOPE'\n"),
        ("event", "sales.nonsense", "--document-no", "INV-1", "--contact", "P1"): (2, "unknown event"),
        ("event", "sales.invoice", "--document-no", "INV-1", "--contact", "P1", "--date", "03/04/2026"): (2, "03/04/2026"),
        ("event", "sales.invoice", "--document-no", "", "--contact", "P1"): (2, "document number"),
        ("event", "sales.invoice", "--document-no", "X" * 51, "--contact", "P1"): (2, "document number"),
        ("event", "sales.invoice", "--document-no", "INV-1", "--contact", "P1", "--attach", tmp_path / "missing.pdf"): (2, "missing.pdf"),
        ("event", "sales.invoice", "--document-no", "INV-1", "--contact", "P1", "--version", "-1"): (2, "version must not be negative"),
        ("event", "sales.invoice", "--contact", "P1"): (2, "--document-no"),
    }
    for args, (status, text) in cases.items():
        run = mapped(*args)
        assert run.exit_code == status, (args, run.stderr)
        assert run.stderr.startswith("ilog: error:") and text in run.stderr, (args, run.stderr)
        assert "plugin ilog" not in run.stderr and "failed in" not in run.stderr
        assert len(run.stderr.splitlines()) == 1
    assert snapshot() == before


def test_event_entries_are_found_by_document(mapped):
    invoice(mapped)
    invoice(mapped, no="INV-2")
    rows = mapped.ok("log", "--document-no", "INV-2", "-f", "json").json()
    assert [r["document_no"] for r in rows] == ["INV-2"]
