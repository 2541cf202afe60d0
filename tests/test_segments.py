"""Segments through the real CLI on a real database: build (by number, file, stdin, criteria),
personalise, log all or nothing, follow up, cancel and restore a logged segment."""

from __future__ import annotations

import sqlalchemy as sa

from ilog.domain.records import PREVIEW_ENTRIES

from conftest import BACKEND
from ilog import hookimpl


def contacts_of(cli, no: str) -> list[str]:
    return [line["contact_no"] for line in cli.ok("segment", "show", no, "-f", "json").json()["lines"]]


def entries(cli, *args: str) -> list[dict]:
    return cli.ok("log", "--include-cancelled", "-f", "json", *args).json()


def segment(cli, no: str) -> dict:
    return cli.ok("segment", "show", no, "-f", "json").json()


def mailing(cli, *contacts: str, template: str = "MAIL") -> str:
    """An open segment with a default template and some contacts; returns its number."""
    no = cli.ok("segment", "create", "-d", "Spring mailing", "-t", template, "-q").stdout.strip()
    if contacts:
        cli.ok("segment", "add", no, *contacts)
    return no


# -- create, list, show ----------------------------------------------------------------

def test_create_from_the_series_or_a_given_number(sample, snapshot):
    run = sample.ok("segment", "create", "-d", "Spring mailing", "-t", "mail", "--salesperson", "anna",
                    "--campaign", "cp01", "--date", "2026-03-02T09:00", "--subject", "Spring offer")
    assert run.stdout == "SEG00001\n" and "SEG00001" in run.stderr
    assert sample.ok("segment", "create", "-d", "Autumn", "--no", "aut-1", "-q").stdout == "AUT-1\n"
    head = segment(sample, "SEG00001")
    assert (head["description"], head["template_code"], head["salesperson_code"], head["campaign_no"],
            head["subject"], head["state"], head["line_count"], head["created_by"]) == (
        "Spring mailing", "MAIL", "ANNA", "CP01", "Spring offer", "open", 0, "tester")
    assert head["date"].startswith("2026-03-02T09:00")
    listed = sample.ok("segment", "list", "-f", "json").json()
    assert [s["no"] for s in listed] == ["AUT-1", "SEG00001"]
    assert [s["no"] for s in sample.ok("segment", "list", "--state", "logged", "-f", "json").json()] == []
    table = sample.ok("segment", "list").stdout
    assert "SEG00001" in table and "Spring mailing" in table

    before = snapshot()
    for args, status, message in [
        (("segment", "create", "-d", "x", "--no", "AUT-1"), 1, "segment AUT-1 already exists"),
        (("segment", "create", "-d", "x", "-t", "NOPE"), 1, "unknown template 'NOPE'"),
        (("segment", "create", "-d", "  "), 2, "description"),
        (("segment", "create", "-d", "x", "--date", "03/04/2026"), 2, "invalid date"),
        (("segment", "create", "-d", "x\x00y"), 2, "NUL"),
        (("segment", "show", "SEG09999"), 1, "unknown segment 'SEG09999'"),
        (("segment", "list", "--state", "closed"), 2, "invalid segment state"),
    ]:
        run = sample(*args)
        assert run.exit_code == status, (args, run.stderr)
        assert run.stderr.startswith("ilog: error: ") and message in run.stderr, run.stderr
        assert run.stderr.count("\n") == 1
    assert sample("segment", "create").exit_code == 2  # --description is required
    assert snapshot() == before


def test_show_prints_the_header_then_the_lines(sample):
    no = mailing(sample, "P1", "P3")
    table = sample.ok("segment", "show", no).stdout
    header, lines = table.split("\n\n")
    assert "description" in header and "Spring mailing" in header and "line_count         2" in header
    assert "Mario Rossi" in lines and "Ion Popescu" in lines and lines.index("P1") < lines.index("P3")
    shown = segment(sample, no)["lines"]
    assert [(x["line_no"], x["contact_no"], x["company_no"], x["contact_name"]) for x in shown] == [
        (1, "P1", "C1", "Mario Rossi"), (2, "P3", None, "Ion Popescu")]
    csv = sample.ok("segment", "show", no, "-f", "csv").lines
    assert csv[0].startswith("segment_no,line_no,contact_no") and len(csv) == 3


# -- adding and removing contacts ------------------------------------------------------

def test_add_by_number_never_duplicates(sample, snapshot):
    no = mailing(sample, "P1", "p2")
    run = sample.ok("segment", "add", no, "P2", "P3", "P3")
    assert "added 1 contact to" in run.stderr and "1 already in it" in run.stderr
    assert contacts_of(sample, no) == ["P1", "P2", "P3"]
    before = snapshot()
    unknown = sample("segment", "add", no, "C1", "NOPE")
    assert unknown.exit_code == 1 and "unknown contact 'NOPE'" in unknown.stderr
    assert sample("segment", "add", no).exit_code == 2  # nothing selected
    assert sample("segment", "add", "SEG09999", "P1").exit_code == 1
    dry = sample.ok("segment", "add", no, "C1", "--dry-run")
    assert "would add 1 contact to" in dry.stderr
    assert snapshot() == before


def test_add_from_stdin_and_from_a_file(sample, tmp_path):
    no = mailing(sample)
    run = sample.ok("segment", "add", no, "--from-file", "-", input="P3\n\n  p1  \n# a comment\nP3\n")
    assert "added 2 contacts" in run.stderr
    listing = tmp_path / "contacts.txt"
    listing.write_text("\ufeffP2\nP1\n", encoding="utf-8")
    sample.ok("segment", "add", no, "C1", "--from-file", str(listing))
    assert contacts_of(sample, no) == ["P3", "P1", "C1", "P2"]
    missing = sample("segment", "add", no, "--from-file", str(tmp_path / "nope.txt"))
    assert missing.exit_code == 1 and missing.stderr.startswith("ilog: error: cannot read")


def test_add_by_contact_criteria(sample):
    sample.ok("contact", "add", "Lone Wolf", "--no", "P4", "--salesperson", "ANNA", "--email", "wolf@example.org")
    no = mailing(sample)
    sample.ok("segment", "add", no, "--company", "C1")
    assert contacts_of(sample, no) == ["P1", "P2"]
    sample.ok("segment", "add", no, "--type", "company")
    assert contacts_of(sample, no) == ["P1", "P2", "C1"]
    other = mailing(sample)
    sample.ok("segment", "add", other, "--salesperson", "anna")
    sample.ok("segment", "add", other, "--search", "ROSSI.IT")  # email text, any case
    sample.ok("segment", "add", other, "--type", "person", "--search", "popescu")
    assert contacts_of(sample, other) == ["P4", "C1", "P1", "P3"]
    assert sample("segment", "add", other, "--type", "robot").exit_code == 2


def test_add_by_interaction_history(sample, snapshot):
    sample.ok("interact", "P1", "-t", "CALL", "--date", "-10d")      # CALL is in group SALES
    sample.ok("interact", "P2", "-t", "MAIL", "--date", "-200d")
    old_call = sample.ok("interact", "P3", "-t", "CALL", "--date", "-300d", "-q").stdout.strip()
    recent_cancelled = sample.ok("interact", "P3", "-t", "MAIL", "--date", "-5d", "-q").stdout.strip()
    sample.ok("cancel", recent_cancelled)  # cancelled entries do not count

    def pick(*criteria: str) -> list[str]:
        no = mailing(sample)
        sample.ok("segment", "add", no, *criteria)
        return sorted(contacts_of(sample, no))

    assert pick("--no-interaction-since", "90d") == ["C1", "P2", "P3"]
    assert pick("--no-interaction-since", "90d", "--type", "person") == ["P2", "P3"]
    assert pick("--no-interaction-since", "1y") == ["C1"]
    assert pick("--with-template", "call") == ["P1", "P3"]
    assert pick("--with-template", "CALL", "--since", "-30d") == ["P1"]
    assert pick("--with-group", "SALES", "--until", "-100d") == ["P3"]
    assert pick("--with-template", "MAIL", "--since", "-365d", "--until", "-100d") == ["P2"]
    assert pick("--with-template", "MAIL") == ["P2"]  # P3's recent MAIL entry is cancelled
    assert pick("--without-group", "SALES", "--type", "person") == ["P2"]
    assert pick("--without-template", "CALL", "--since", "-30d", "--company", "C1") == ["P2"]
    assert pick("--since", "-30d") == ["P1"]  # any entry in the range
    assert old_call

    before = snapshot()
    no = "SEG00001"
    for args, status in [
        (("--no-interaction-since", "90d", "--with-template", "CALL"), 2),
        (("--no-interaction-since", "90 days"), 2),
        (("--since", "-10d", "--until", "-20d"), 2),
        (("--with-template", "NOPE"), 1),
        (("--with-group", "NOPE"), 1),
    ]:
        run = sample("segment", "add", no, *args)
        assert run.exit_code == status, (args, run.stderr)
        assert run.stderr.startswith("ilog: error: ")
    assert snapshot() == before


def test_remove_takes_contacts_out_the_same_ways(sample, snapshot):
    no = mailing(sample, "C1", "P1", "P2", "P3")
    before = snapshot()
    dry = sample.ok("segment", "remove", no, "--company", "C1", "--dry-run")
    assert "would remove 2 contacts" in dry.stderr and snapshot() == before
    sample.ok("segment", "remove", no, "--company", "C1")
    assert contacts_of(sample, no) == ["C1", "P3"]
    run = sample.ok("segment", "remove", no, "--from-file", "-", input="P3\nP1\n")
    assert "removed 1 contact from" in run.stderr and "1 not in it" in run.stderr
    sample.ok("segment", "remove", no, "C1")
    assert contacts_of(sample, no) == []
    assert sample("segment", "remove", no, "NOPE").exit_code == 1
    sample.ok("segment", "add", no, "P1")
    assert contacts_of(sample, no) == ["P1"]


# -- personalising and logging ---------------------------------------------------------

def test_log_writes_one_entry_per_line_with_per_line_overrides(sample):
    sample.ok("contact", "edit", "P3", "--salesperson", "BOB")
    no = sample.ok("segment", "create", "-d", "Spring mailing", "-t", "MAIL", "--date", "2026-03-02T09:00",
                   "--campaign", "CP01", "-q").stdout.strip()
    sample.ok("segment", "add", no, "P1", "P2", "P3")
    line = sample.ok("segment", "line", no, "P2", "-t", "CALL", "-d", "Call: no email address", "-f", "json").json()
    assert (line["template_code"], line["description"], line["line_no"]) == ("CALL", "Call: no email address", 2)
    sample.ok("segment", "line", no, "P1", "-d", "Hello Mario")
    sample.ok("segment", "line", no, "P1", "--reset")
    assert sample("segment", "line", no, "C1", "-t", "CALL").exit_code == 1  # not on the segment
    assert sample("segment", "line", no, "P1", "-t", "NOPE").exit_code == 1
    assert sample("segment", "line", no, "P1").exit_code == 2  # nothing to change

    run = sample.ok("segment", "log", no)
    assert run.stdout == "1\n2\n3\n"  # the new entry numbers, as interact and event print theirs
    assert run.stderr == f"ilog: logged segment {no} as LSEG00001: 3 entries (1-3)\n"  # no progress bar in a pipe
    logged = entries(sample, "--segment", no)
    by_contact = {e["contact_no"]: e for e in logged}
    assert sorted(by_contact) == ["P1", "P2", "P3"]
    p1, p2, p3 = by_contact["P1"], by_contact["P2"], by_contact["P3"]
    assert (p1["template_code"], p1["kind"], p1["subject"], p1["correspondence"] if "correspondence" in p1 else "email") \
        == ("MAIL", "email", "Spring mailing", "email")
    assert (p2["template_code"], p2["kind"], p2["group_code"], p2["subject"], p2["duration_min"], p2["cost"]) == (
        "CALL", "phone-call", "SALES", "Call: no email address", 10, 1.5)
    for e in logged:
        assert (e["segment_no"], e["logged_segment_no"], e["user_id"], e["campaign_no"]) == (
            no, "LSEG00001", "tester", "CP01")
        assert e["occurred_at"].startswith("2026-03-02T09:00")
    assert (p1["company_no"], p3["company_no"]) == ("C1", None)
    assert (p1["salesperson_code"], p3["salesperson_code"]) == (None, "BOB")  # the contact's, none on the segment
    assert sample.ok("show", str(p1["entry_no"]), "-f", "json").json()["source"] == "segment"
    record = sample.ok("segment", "logged", "-f", "json").json()
    assert [(r["no"], r["segment_no"], r["description"], r["entry_count"], r["first_entry_no"], r["last_entry_no"],
             r["logged_by"], r["cancelled"]) for r in record] == [
        ("LSEG00001", no, "Spring mailing", 3, 1, 3, "tester", False)]
    head = segment(sample, no)
    assert (head["state"], head["logged_segment_no"]) == ("logged", "LSEG00001")


def test_a_segment_is_logged_once_and_then_read_only(sample, snapshot):
    no = mailing(sample, "P1", "P2")
    sample.ok("segment", "log", no, "-q")
    before = snapshot()
    again = sample("segment", "log", no)
    assert again.exit_code == 1
    assert again.stderr == f"ilog: error: segment {no} was already logged as LSEG00001: a segment is logged only once\n"
    for args in (("add", no, "P3"), ("remove", no, "P1"), ("line", no, "P1", "-d", "x"), ("edit", no, "-d", "y")):
        run = sample("segment", *args)
        assert run.exit_code == 1 and "was logged as LSEG00001" in run.stderr, args
    assert snapshot() == before
    assert len(entries(sample)) == 2


def test_log_follow_up_creates_an_open_segment_with_the_same_contacts(sample):
    no = mailing(sample, "P3", "P1")
    sample.ok("segment", "line", no, "P1", "-t", "CALL")
    run = sample.ok("segment", "log", no, "--follow-up", "-f", "json")
    record = run.json()
    assert (record["no"], record["entry_count"], record["follow_up_segment_no"]) == ("LSEG00001", 2, "SEG00002")
    follow = segment(sample, "SEG00002")
    assert (follow["state"], follow["template_code"], follow["description"]) == (
        "open", "MAIL", f"Follow-up on segment {no}: Spring mailing")
    assert [(x["contact_no"], x["template_code"]) for x in follow["lines"]] == [("P3", None), ("P1", None)]
    sample.ok("segment", "log", "SEG00002", "-q")
    assert [e["segment_no"] for e in entries(sample)] == ["SEG00002"] * 2 + [no] * 2


def test_log_dry_run_shows_the_entries_and_changes_nothing(sample, snapshot):
    no = mailing(sample, "P1", "P3")
    sample.ok("segment", "line", no, "P3", "-d", "Ciao Ion")
    before = snapshot()
    run = sample.ok("segment", "log", no, "--dry-run", "-f", "json")
    assert [(d["contact_no"], d["subject"], d["template_code"]) for d in run.json()] == [
        ("P1", "Spring mailing", "MAIL"), ("P3", "Ciao Ion", "MAIL")]
    assert "would log 2 entries" in run.stderr
    assert snapshot() == before
    assert segment(sample, no)["state"] == "open"


def test_an_empty_segment_is_not_logged(sample, snapshot):
    no = mailing(sample)
    before = snapshot()
    run = sample("segment", "log", no)
    assert run.exit_code == 1 and "has no lines" in run.stderr
    assert snapshot() == before


def test_all_or_nothing_a_line_without_a_template(sample, snapshot):
    no = sample.ok("segment", "create", "-d", "No default template", "-q").stdout.strip()
    sample.ok("segment", "add", no, "P1", "P2", "P3")
    sample.ok("segment", "line", no, "P1", "-t", "CALL")
    sample.ok("segment", "line", no, "P2", "-t", "MAIL")
    before = snapshot()
    run = sample("segment", "log", no)
    assert run.exit_code == 1
    assert f"segment {no} line 3 (contact P3) has no template" in run.stderr and "nothing was logged" in run.stderr
    assert snapshot() == before
    assert entries(sample) == [] and segment(sample, no)["state"] == "open"
    sample.ok("segment", "edit", no, "-t", "MAIL")  # fix it, and the whole segment logs
    sample.ok("segment", "log", no)
    assert [e["template_code"] for e in entries(sample)] == ["MAIL", "MAIL", "CALL"]


def _break_template_of_line(db_url: str, segment_no: str, contact_no: str) -> None:
    """Point a line at a template that does not exist (as a hand-edited database could)."""
    from ilog.store.urls import normalise_url

    if BACKEND == "sqlite":
        import sqlite3

        conn = sqlite3.connect(db_url)  # foreign keys are off on a plain connection
        conn.execute("UPDATE segment_line SET template_code = 'GONE' WHERE segment_no = ? AND contact_no = ?",
                     (segment_no, contact_no))
        conn.commit()
        conn.close()
        return
    engine = sa.create_engine(normalise_url(db_url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE segment_line DROP CONSTRAINT fk_segment_line_template_code_interaction_template")
        conn.execute(sa.text("UPDATE segment_line SET template_code = 'GONE' WHERE segment_no = :s AND contact_no = :c"),
                     {"s": segment_no, "c": contact_no})
    engine.dispose()


def test_all_or_nothing_an_unknown_template_on_one_line(sample, snapshot, db_url):
    no = mailing(sample, "P1", "P2", "P3")
    _break_template_of_line(db_url, no, "P2")
    before = snapshot()
    run = sample("segment", "log", no)
    assert run.exit_code == 1
    assert run.stderr == (f"ilog: error: segment {no} line 2 (contact P2): unknown template 'GONE'; "
                          "nothing was logged\n")
    assert snapshot() == before
    assert entries(sample) == [] and segment(sample, no)["state"] == "open"
    assert sample.ok("segment", "logged", "-f", "json").json() == []


class Veto:
    """Vetoes one contact's entry; counts the drafts it is shown; stamps a campaign."""

    def __init__(self, contact: str | None):
        self.contact = contact
        self.seen: list[str] = []

    @hookimpl
    def enrich_interaction(self, interaction):
        interaction.campaign_no = "ENRICHED"

    @hookimpl
    def validate_interaction(self, interaction):
        self.seen.append(interaction.contact_no)
        assert interaction.segment_no and interaction.logged_segment_no and interaction.source == "segment"
        return f"no mail to {interaction.contact_no}" if interaction.contact_no == self.contact else None


def test_all_or_nothing_a_plugin_veto_on_one_line(sample, plugins, snapshot):
    veto = Veto("P2")
    plugins.append(veto)
    no = mailing(sample, "P1", "P2", "P3")
    before = snapshot()
    run = sample("segment", "log", no)
    assert run.exit_code == 1 and "no mail to P2" in run.stderr and "Veto" in run.stderr
    dry = sample("segment", "log", no, "--dry-run")  # a dry run meets the same veto
    assert dry.exit_code == 1 and "no mail to P2" in dry.stderr
    assert snapshot() == before
    assert segment(sample, no)["state"] == "open"
    veto.contact = None  # the plugin changes its mind: every line goes through the hooks
    veto.seen.clear()
    sample.ok("segment", "log", no)
    assert veto.seen == ["P1", "P2", "P3"]
    assert {e["campaign_no"] for e in entries(sample)} == {"ENRICHED"}


# -- output ----------------------------------------------------------------------------

def test_log_quiet_and_formats(sample):
    no = mailing(sample, "P1")
    run = sample.ok("segment", "log", no, "-q")
    assert run.stdout == "1\n" and run.stderr == ""
    no = mailing(sample, "P1")
    rows = sample.ok("segment", "log", no, "-f", "csv").lines
    assert rows[0].startswith("no,segment_no,description,entry_count") and rows[1].startswith("LSEG00002,")
    assert sample.ok("segment", "logged", "-f", "jsonl").lines[1].startswith('{"no": "LSEG00002"')


# -- cancelling a logged segment -------------------------------------------------------

class Listener:
    def __init__(self):
        self.cancelled: list[int] = []
        self.restored: list[int] = []

    @hookimpl
    def interaction_cancelled(self, interaction):
        self.cancelled.append(interaction.entry_no)

    @hookimpl
    def interaction_restored(self, interaction):
        self.restored.append(interaction.entry_no)


def test_cancel_and_restore_a_logged_segment_as_a_whole(sample, plugins, snapshot):
    listener = Listener()
    plugins.append(listener)
    other = sample.ok("interact", "P1", "-t", "CALL", "-q").stdout.strip()
    no = mailing(sample, "P1", "P2", "P3")
    sample.ok("segment", "log", no, "-q")
    before = snapshot()
    refused = sample("segment", "cancel", "LSEG00001")
    assert refused.exit_code == 1 and "--yes" in refused.stderr
    dry = sample.ok("segment", "cancel", "lseg00001", "--dry-run")
    assert "would cancel logged segment LSEG00001 (3 entries)" in dry.stderr
    assert snapshot() == before
    assert sample("segment", "cancel", "LSEG09999", "--yes").exit_code == 1

    run = sample.ok("segment", "cancel", "LSEG00001", "--yes")
    assert "cancelled logged segment LSEG00001 (3 entries)" in run.stderr
    assert sorted(listener.cancelled) == [2, 3, 4]
    assert {e["entry_no"]: e["cancelled"] for e in entries(sample)} == {1: False, 2: True, 3: True, 4: True}
    assert sample.ok("segment", "logged", "-f", "json").json()[0]["cancelled"] is True
    assert int(other) == 1

    before = snapshot()
    alone = sample("restore", "3")
    assert alone.exit_code == 1
    assert "belongs to cancelled logged segment LSEG00001" in alone.stderr
    again = sample("segment", "cancel", "LSEG00001", "--yes")
    assert again.exit_code == 1 and "already cancelled" in again.stderr
    assert snapshot() == before

    sample.ok("segment", "cancel", "LSEG00001", "--restore", "--yes")
    assert sorted(listener.restored) == [2, 3, 4]
    assert not any(e["cancelled"] for e in entries(sample))
    assert sample.ok("segment", "logged", "-f", "json").json()[0]["cancelled"] is False
    not_cancelled = sample("segment", "cancel", "LSEG00001", "--restore", "--yes")
    assert not_cancelled.exit_code == 1 and "is not cancelled" in not_cancelled.stderr
    sample.ok("cancel", "3")  # one entry alone can be cancelled and restored again
    sample.ok("restore", "3")


# -- scale -----------------------------------------------------------------------------

def test_logging_is_one_transaction_of_bulk_statements(logbook):
    """However many lines, logging runs a handful of statements: one executemany for the entries."""
    from ilog.store import tables as models

    logbook.templates.add("MAIL", kind="email")
    now = __import__("ilog.domain.dates", fromlist=["now"]).now()
    rows = [{"no": f"K{n:05d}", "type": "person", "name": f"Person {n}", "created_at": now, "updated_at": now}
            for n in range(3000)]
    with logbook.db.transaction(write=True) as conn:
        conn.execute(models.contact.insert(), rows)
    seg = logbook.segments.create("Big mailing", template_code="MAIL")
    added = logbook.segments.add(seg.no, [r["no"] for r in rows])
    assert added.changed == 3000

    statements: list[tuple[str, bool]] = []

    @sa.event.listens_for(logbook.db.engine, "before_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement.split()[0].upper(), executemany))

    result = logbook.segments.log(seg.no)
    sa.event.remove(logbook.db.engine, "before_cursor_execute", count)
    assert (result.entry_count, result.first_entry_no, result.last_entry_no) == (3000, 1, 3000)
    assert len(statements) < 40, statements
    inserts = [s for s in statements if s[0] == "INSERT"]
    if logbook.db.dialect == "sqlite":
        assert inserts.count(("INSERT", True)) == 1  # the entries, in one executemany
        assert len(inserts) == 2  # and the logged segment
    else:  # one COPY of the entries (statement triggers then run once), and the logged segment
        assert not [s for s in inserts if s[1]] and len(inserts) == 1
    assert logbook.count(__import__("ilog").LogFilter(logged_segment_no=result.logged_segment_no)) == 3000


def test_cancelling_a_logged_segment_is_one_update_whatever_its_size(logbook):
    """Cancel and restore of a logged segment: one UPDATE of its entries, no entry loaded (no
    plugin implements the hooks), and every entry changed."""
    from ilog import LogFilter
    from ilog.store import tables as models

    logbook.templates.add("MAIL", kind="email")
    now = __import__("ilog.domain.dates", fromlist=["now"]).now()
    with logbook.db.transaction(write=True) as conn:
        conn.execute(models.contact.insert(), [{"no": f"K{n:05d}", "type": "person", "name": f"Person {n}",
                                                "created_at": now, "updated_at": now} for n in range(3000)])
    seg = logbook.segments.create("Big mailing", template_code="MAIL")
    logbook.segments.add(seg.no, [f"K{n:05d}" for n in range(3000)])
    logged = logbook.segments.log(seg.no).logged_segment_no

    for restore in (False, True):
        statements: list[str] = []

        @sa.event.listens_for(logbook.db.engine, "before_cursor_execute")
        def record(conn, cursor, statement, parameters, context, executemany):
            statements.append(" ".join(statement.split()))

        assert len(logbook.segments.cancel(logged, restore=restore, dry_run=True).changed) == 3000
        result = logbook.segments.cancel(logged, restore=restore)
        sa.event.remove(logbook.db.engine, "before_cursor_execute", record)
        assert result.changed == list(range(1, 3001)) and not result.refused
        on_entries = [s for s in statements if s.startswith("UPDATE interaction ")]
        assert len(on_entries) == 1, on_entries
        # whole entries are read only for the dry run's preview: its first few, not 3,000
        whole = [s for s in statements if s.startswith("SELECT interaction.entry_no, interaction.contact_no")]
        assert len(whole) == 1 and whole[0].count("?") + whole[0].count("%(") == PREVIEW_ENTRIES, whole
        cancelled = logbook.count(LogFilter(logged_segment_no=logged, cancelled="only"))
        assert cancelled == (0 if restore else 3000)
