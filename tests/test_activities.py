"""Issue #6 through the real CLI on a real database: open activities and completion,
postponed interactions and resume, the timeline with roll-up, attachments, statistics
and the contact overview."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from ilog import hookimpl


def _engine(db_url):
    from ilog.store.urls import normalise_url

    return sa.create_engine(normalise_url(db_url), poolclass=sa.pool.NullPool)


def _rows(db_url, sql):
    engine = _engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(sql)).all()
    engine.dispose()
    return rows


def _entry(cli, no):
    return cli.ok("show", str(no), "-f", "json").json()


def _new(cli, *args):
    return int(cli.ok("interact", *args, "-q").stdout.strip())


# -- open activities -----------------------------------------------------------------------

def test_due_date_makes_an_open_activity_and_log_filters_them(sample):
    sample.ok("template", "add", "TODO", "-d", "To do", "--kind", "task")
    own = _new(sample, "-t", "TODO", "--subject", "Send the price list", "--due", "tomorrow")
    overdue = _new(sample, "P1", "-t", "CALL", "--due", "2020-01-01")
    done = _new(sample, "P1", "-t", "CALL")
    bobs = int(sample.ok("--user", "bob", "interact", "P2", "-t", "CALL", "--due", "2020-02-01", "-q").stdout)

    task = _entry(sample, own)
    assert task["contact_no"] is None and task["company_no"] is None  # a task for yourself
    assert task["state"] == "open" and task["due_at"] and task["kind"] == "task"
    assert _entry(sample, done)["state"] == "done"

    def nos(*args):
        return sorted(e["entry_no"] for e in sample.ok("log", *args, "-f", "json").json())

    assert nos("--open") == sorted([own, overdue, bobs])
    assert nos("--overdue") == sorted([overdue, bobs])
    assert nos("--due-before", "2020-01-15") == [overdue]
    assert nos("--mine") == sorted([own, overdue, done])
    assert sorted(e["entry_no"] for e in sample.ok("--user", "bob", "log", "--mine", "-f", "json").json()) == [bobs]
    assert nos("--open", "--overdue", "--mine") == [overdue]
    table = sample.ok("log", "--open", "--wide").stdout
    assert "Due" in table.splitlines()[0].split() and "Send the price list" in table
    assert sample("log", "--mine", "--owner", "bob").exit_code == 2


def test_open_flag_is_for_tasks_and_meetings(sample, snapshot):
    sample.ok("template", "add", "MEET", "--kind", "meeting")
    meeting = _entry(sample, _new(sample, "P1", "-t", "MEET", "--open"))
    assert meeting["state"] == "open" and meeting["due_at"] is None
    before = snapshot()
    run = sample("interact", "P1", "-t", "CALL", "--open")
    assert run.exit_code == 2 and run.stderr.startswith("ilog: error:") and "--due" in run.stderr
    # only tasks and notes may have no contact
    assert sample("interact", "-t", "CALL", "--due", "tomorrow").exit_code == 2
    assert snapshot() == before
    assert _entry(sample, _new(sample, "P1", "-t", "CALL", "--open", "--due", "+2d"))["state"] == "open"


# -- complete ------------------------------------------------------------------------------

def test_complete_stores_and_shows_the_completion_time(sample, snapshot):
    first = _new(sample, "P1", "-t", "CALL", "--due", "tomorrow")
    second = _new(sample, "P2", "-t", "CALL", "--due", "tomorrow")
    done = _new(sample, "P3", "-t", "CALL")
    cancelled = _new(sample, "P3", "-t", "CALL", "--due", "tomorrow")
    sample.ok("cancel", str(cancelled))

    run = sample.ok("complete", str(first))
    assert run.stdout.split() == [str(first)]
    entry = _entry(sample, first)
    assert entry["state"] == "done" and entry["completed_at"]
    assert "completed_at" in sample.ok("show", str(first)).stdout

    before = snapshot()
    again = sample("complete", str(first))
    assert again.exit_code == 1 and f"entry {first} is already done" in again.stderr
    refused = sample("complete", str(cancelled))
    assert refused.exit_code == 1 and f"entry {cancelled} is cancelled" in refused.stderr
    # an explicit list is all or nothing: the open one stays open
    mixed = sample("complete", str(second), str(done))
    assert mixed.exit_code == 1 and f"entry {done} is already done" in mixed.stderr and "nothing changed" in mixed.stderr
    assert sample("complete", "999").exit_code == 1
    assert snapshot() == before
    assert _entry(sample, second)["state"] == "open"


def test_complete_by_filter_follows_yes_and_dry_run(sample, snapshot):
    late = [_new(sample, "P1", "-t", "CALL", "--due", "2020-01-01"), _new(sample, "P2", "-t", "CALL", "--due", "-2d")]
    later = _new(sample, "P1", "-t", "CALL", "--due", "+5d")
    bobs = int(sample.ok("--user", "bob", "interact", "P3", "-t", "CALL", "--due", "-1d", "-q").stdout)
    before = snapshot()
    no_yes = sample("complete", "--overdue", "--user", "tester")
    assert no_yes.exit_code == 1 and "--yes" in no_yes.stderr
    dry = sample.ok("complete", "--overdue", "--user", "tester", "--dry-run")
    assert sorted(map(int, dry.stdout.split())) == sorted(late) and "would complete 2" in dry.stderr
    assert snapshot() == before
    run = sample.ok("complete", "--overdue", "--user", "tester", "--yes")
    assert sorted(map(int, run.stdout.split())) == sorted(late)
    assert [_entry(sample, n)["state"] for n in late] == ["done", "done"]
    assert _entry(sample, later)["state"] == "open" and _entry(sample, bobs)["state"] == "open"
    # nothing left to complete: says so, changes nothing
    assert "would complete 0" in sample.ok("complete", "--overdue", "--user", "tester", "--yes").stderr


# -- postponed -----------------------------------------------------------------------------

class Recorder:
    """Marks drafts on the way in and remembers what it was told after each save."""

    def __init__(self):
        self.saved = []
        self.veto = False

    @hookimpl
    def enrich_interaction(self, interaction):
        if not interaction.postponed:
            interaction.campaign_no = "ENRICHED"

    @hookimpl
    def validate_interaction(self, interaction):
        return "resume vetoed" if self.veto and not interaction.postponed else None

    @hookimpl
    def interaction_saved(self, interaction, created):
        self.saved.append((interaction.entry_no, interaction.postponed, interaction.subject, created))


def test_postponed_entries_wait_outside_the_log_until_resumed(sample, plugins, snapshot):
    recorder = Recorder()
    plugins.append(recorder)
    logged = _new(sample, "P1", "-t", "CALL")
    run = sample.ok("interact", "P1", "-t", "CALL", "--subject", "Half done", "--postpone")
    waiting = int(run.stdout.strip())
    assert "ilog resume" in run.stderr
    entry = _entry(sample, waiting)
    assert entry["postponed"] is True and entry["campaign_no"] is None
    assert recorder.saved[-1] == (waiting, True, "Half done", True)

    assert [e["entry_no"] for e in sample.ok("log", "-f", "json").json()] == [logged]
    assert [e["entry_no"] for e in sample.ok("log", "--postponed", "-f", "json").json()] == [waiting]
    assert [e["entry_no"] for e in sample.ok("postponed", "-f", "json").json()] == [waiting]
    assert "Half done" in sample.ok("postponed").stdout
    assert sample.ok("stats", "--by", "contact", "-f", "json").json()[0]["count"] == 1

    # a plugin that vetoes the resumed draft stops it; nothing changes
    recorder.veto = True
    before = snapshot()
    vetoed = sample("resume", str(waiting))
    assert vetoed.exit_code == 1 and "resume vetoed" in vetoed.stderr
    assert snapshot() == before
    recorder.veto = False

    out = sample.ok("resume", str(waiting), "--subject", "Quote agreed", "--duration", "7", "--cost", "3",
                    "--evaluation", "positive", "--date", "2026-03-02T10:00")
    assert out.stdout.strip() == str(waiting)
    entry = _entry(sample, waiting)
    assert entry["postponed"] is False and entry["subject"] == "Quote agreed"
    assert entry["duration_min"] == 7 and entry["cost"] == 3 and entry["evaluation"] == "positive"
    assert entry["occurred_at"].startswith("2026-03-02T10:00")
    assert entry["campaign_no"] == "ENRICHED"  # prepare ran on the resumed draft
    assert recorder.saved[-1] == (waiting, False, "Quote agreed", True)
    assert sorted(e["entry_no"] for e in sample.ok("log", "-f", "json").json()) == sorted([logged, waiting])
    assert sample.ok("postponed", "-f", "json").json() == []

    before = snapshot()
    again = sample("resume", str(waiting))
    assert again.exit_code == 1 and "is not postponed" in again.stderr
    assert sample("resume", str(logged)).exit_code == 1
    assert sample("resume", "999").exit_code == 1
    assert snapshot() == before


def test_postponed_entry_cannot_be_completed_or_resumed_when_cancelled(sample, snapshot):
    waiting = _new(sample, "P1", "-t", "CALL", "--due", "tomorrow", "--postpone")
    before = snapshot()
    run = sample("complete", str(waiting))
    assert run.exit_code == 1 and "postponed" in run.stderr and "resume" in run.stderr
    assert snapshot() == before
    sample.ok("cancel", str(waiting))
    refused = sample("resume", str(waiting))
    assert refused.exit_code == 1 and "cancelled" in refused.stderr
    # resuming with --due logs it as an open activity
    other = _new(sample, "P2", "-t", "CALL", "--postpone")
    sample.ok("resume", str(other), "--due", "+3d")
    assert _entry(sample, other)["state"] == "open"


# -- timeline ------------------------------------------------------------------------------

def test_timeline_rolls_up_persons_and_keeps_history_after_a_move(sample):
    sample.ok("contact", "add", "Bianchi Srl", "--no", "C2", "--type", "company")
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    call = _new(sample, "P1", "-t", "CALL", "--subject", "First call", "--date", "2026-01-10T09:00")
    mail = _new(sample, "P2", "-t", "MAIL", "--subject", "Brochure", "--date", "2026-01-11T09:00", "--due", "2026-02-01")
    invoice = int(sample.ok("event", "sales.invoice", "--document-no", "INV-7", "--contact", "C1",
                            "--date", "2026-01-12T09:00", "-q").stdout)
    gone = _new(sample, "P1", "-t", "CALL", "--subject", "Cancelled one", "--date", "2026-01-13T09:00")
    sample.ok("cancel", str(gone))
    _new(sample, "P1", "-t", "CALL", "--subject", "Not yet", "--postpone")
    sample.ok("contact", "edit", "P1", "--company", "C2", "--move")
    moved = _new(sample, "P1", "-t", "CALL", "--subject", "At Bianchi", "--date", "2026-01-14T09:00")

    rows = sample.ok("timeline", "C1", "-f", "json").json()
    assert [r["entry_no"] for r in rows] == [invoice, mail, call]  # newest first, P1's old call stays
    by_no = {r["entry_no"]: r for r in rows}
    assert by_no[call]["contact_name"] == "Mario Rossi" and by_no[call]["company_no"] == "C1"
    assert by_no[mail]["state"] == "open" and by_no[mail]["flow"] == "outbound" and by_no[mail]["kind"] == "email"
    assert by_no[invoice]["document_type"] == "sales.invoice" and by_no[invoice]["document_no"] == "INV-7"

    table = sample.ok("timeline", "C1").stdout
    lines = table.splitlines()
    assert "Person" in lines[0] and "Document" in lines[0]
    assert "Mario Rossi" in table and "Anna Rossi" in table and "sales.invoice INV-7" in table
    assert "open, due 2026-02-01" in table and "At Bianchi" not in table
    assert lines[2].split()[0] == str(invoice)

    assert [r["entry_no"] for r in sample.ok("timeline", "C1", "--no-rollup", "-f", "json").json()] == [invoice]
    assert [r["entry_no"] for r in sample.ok("timeline", "C2", "-f", "json").json()] == [moved]
    assert [r["entry_no"] for r in sample.ok("timeline", "P1", "-f", "json").json()] == [moved, call]
    with_cancelled = sample.ok("timeline", "P1", "--include-cancelled", "-f", "json").json()
    assert [(r["entry_no"], r["state"]) for r in with_cancelled][1] == (gone, "cancelled")
    assert len(sample.ok("timeline", "C1", "--limit", "2", "-f", "json").json()) == 2
    unknown = sample("timeline", "NOPE")
    assert unknown.exit_code == 1 and unknown.stderr.startswith("ilog: error:")


# -- attachments ---------------------------------------------------------------------------

def test_binary_attachment_round_trip(sample, tmp_path):
    payload = bytes(range(256)) * 40
    source = tmp_path / "scan.bin"
    source.write_bytes(payload)
    entry = _new(sample, "P1", "-t", "CALL", "--attach", str(source))

    out = tmp_path / "back.bin"
    sample.ok("attachment", "get", str(entry), "--out", str(out))
    assert out.read_bytes() == payload
    folder = tmp_path / "folder"
    folder.mkdir()
    sample.ok("attachment", "get", str(entry), "--out", str(folder))
    assert (folder / "scan.bin").read_bytes() == payload
    info = sample.ok("attachment", "show", str(entry), "-f", "json").json()
    assert info["name"] == "scan.bin" and info["size"] == len(payload) and len(info["sha256"]) == 64
    no_file = sample("attachment", "get", str(_new(sample, "P1", "-t", "CALL")))
    assert no_file.exit_code == 1 and "no attachment" in no_file.stderr


def test_attachment_to_stdout_is_byte_for_byte(sample, tmp_path):
    from typer.testing import CliRunner

    from ilog.cli import build_app
    from ilog.plugins.host import make_plugin_host

    payload = bytes(range(256)) * 3 + b"\r\n\x00end"
    source = tmp_path / "raw.dat"
    source.write_bytes(payload)
    entry = _new(sample, "P1", "-t", "CALL", "--attach", str(source))
    result = CliRunner().invoke(build_app(make_plugin_host(entrypoints=False)),
                                ["--db", sample.db_url, "attachment", "get", str(entry)], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.stdout_bytes == payload


def test_stored_names_never_escape_the_chosen_directory(sample, db_url, tmp_path):
    source = tmp_path / "note.txt"
    source.write_bytes(b"hello")
    entry = _new(sample, "P1", "-t", "CALL", "--attach", str(source))
    target = tmp_path / "out" / "inner"
    target.mkdir(parents=True)
    engine = _engine(db_url)
    for evil, expected in (("../../evil.txt", "evil.txt"), ("/abs/evil2.txt", "evil2.txt"),
                           ("..\\..\\win.txt", "win.txt"), ("..", None), ("", None)):
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE attachment SET name = :n"), {"n": evil})
        sample.ok("attachment", "get", str(entry), "--out", str(target))
        written = sorted(p.name for p in target.iterdir())
        name = expected or next(n for n in written if n.startswith("attachment-"))
        assert (target / name).read_bytes() == b"hello"
        for p in target.iterdir():
            p.unlink()
    engine.dispose()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["inner"]
    assert not (tmp_path / "evil.txt").exists()

    from ilog.services.attachments import safe_file_name

    assert safe_file_name("../../etc/passwd", "x") == "passwd"
    assert safe_file_name("/", "fallback") == "fallback"
    assert safe_file_name("a\x00b\nc.pdf", "x") == "abc.pdf"


def test_identical_files_are_stored_once_and_purge_drops_orphans(sample, db_url, tmp_path):
    one = tmp_path / "a.pdf"
    one.write_bytes(b"%PDF same content")
    copy = tmp_path / "copy-of-a.pdf"
    copy.write_bytes(b"%PDF same content")
    other = tmp_path / "b.pdf"
    other.write_bytes(b"%PDF other content")
    brochure = tmp_path / "brochure.pdf"
    brochure.write_bytes(b"%PDF brochure")
    sample.ok("template", "add", "BROCH", "--kind", "letter", "--attach", str(brochure))
    sample.ok("template", "setup", "sales.quote", "CALL")

    a1 = _new(sample, "P1", "-t", "CALL", "--attach", str(one))
    a2 = _new(sample, "P2", "-t", "CALL", "--attach", str(copy))
    b = int(sample.ok("event", "sales.quote", "--document-no", "Q-1", "--contact", "P3", "--attach", str(other),
                      "-q").stdout)
    t1 = _new(sample, "P1", "-t", "BROCH")
    assert _entry(sample, a1)["attachment_id"] == _entry(sample, a2)["attachment_id"]
    assert _entry(sample, t1)["attachment_id"] is not None
    assert _rows(db_url, "SELECT COUNT(*) FROM attachment")[0][0] == 3
    assert (tmp_path / "q.pdf").exists() is False
    sample.ok("attachment", "get", str(b), "--out", str(tmp_path / "q.pdf"))
    assert (tmp_path / "q.pdf").read_bytes() == b"%PDF other content"

    sample.ok("cancel", str(a1), str(b), str(t1), "--yes")
    sample.ok("purge-cancelled", "--before", "tomorrow", "--yes")
    names = sorted(r[0] for r in _rows(db_url, "SELECT name FROM attachment"))
    # a.pdf stays (entry a2 still refers to it), brochure stays (the template does), b.pdf is gone
    assert names == ["a.pdf", "brochure.pdf"]
    sample.ok("cancel", str(a2), "--yes")
    sample.ok("purge-cancelled", "--before", "tomorrow", "--yes")
    assert [r[0] for r in _rows(db_url, "SELECT name FROM attachment")] == ["brochure.pdf"]


def test_attachment_size_limit(sample, snapshot, tmp_path, monkeypatch):
    monkeypatch.setenv("ILOG_ATTACHMENT_MAX_BYTES", "100")
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 101)
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * 100)
    before = snapshot()
    run = sample("interact", "P1", "-t", "CALL", "--attach", str(big))
    assert run.exit_code == 2 and "too large" in run.stderr and "100" in run.stderr
    assert sample("interact", "P1", "-t", "CALL", "--attach", str(tmp_path / "missing.bin")).exit_code == 2
    assert snapshot() == before
    sample.ok("interact", "P1", "-t", "CALL", "--attach", str(small))


# -- statistics ----------------------------------------------------------------------------

def _stats_world(cli):
    cli.ok("interact", "P1", "-t", "CALL", "--date", "2026-01-05T12:00")
    cli.ok("interact", "P1", "-t", "CALL", "--date", "2026-01-20T12:00", "--cost", "4", "--duration", "30")
    cli.ok("interact", "P2", "-t", "MAIL", "--date", "2026-02-03T12:00")
    cli.ok("interact", "P3", "-t", "CALL", "--date", "2026-02-10T12:00")
    cli.ok("--user", "bob", "interact", "C1", "-t", "INVOICE", "--date", "2026-03-01T12:00", "--cost", "2")
    gone = cli.ok("interact", "P1", "-t", "CALL", "--date", "2026-02-11T12:00", "-q").stdout.strip()
    cli.ok("cancel", gone)
    cli.ok("interact", "P3", "-t", "CALL", "--date", "2026-02-12T12:00", "--postpone")


def test_stats_by_every_grouping(sample):
    _stats_world(sample)

    def stats(*args):
        return sample.ok("stats", *args, "-f", "json").json()

    by_template = {r["template"]: r for r in stats("--by", "template")}
    assert by_template["CALL"] == {"template": "CALL", "name": "Phone call", "count": 3, "cost": 7.0,
                                   "duration_min": 50.0}
    assert by_template["MAIL"]["count"] == 1 and by_template["INVOICE"]["cost"] == 2.0
    assert [r["template"] for r in stats("--by", "template")][0] == "CALL"  # most entries first
    assert [(r["group"], r["count"]) for r in stats("--by", "group")] == [("SALES", 4), (None, 1)]
    assert [(r["month"], r["count"], r["cost"]) for r in stats("--by", "month")] == [
        ("2026-01", 2, 5.5), ("2026-02", 2, 1.5), ("2026-03", 1, 2.0)]
    contacts = {r["contact"]: r for r in stats("--by", "contact")}
    assert contacts["P1"]["count"] == 2 and contacts["P1"]["name"] == "Mario Rossi"
    assert contacts["P1"]["last_contacted"].startswith("2026-01-20")
    assert contacts["P3"]["last_contacted"].startswith("2026-02-10")  # the postponed one does not count
    companies = {r["company"]: r for r in stats("--by", "company")}
    assert companies["C1"]["count"] == 4 and companies["C1"]["last_contacted"].startswith("2026-03-01")
    assert companies["C1"]["name"] == "Rossi SpA" and companies[None]["count"] == 1
    assert {r["user"]: r["count"] for r in stats("--by", "user")} == {"tester": 4, "bob": 1}
    assert [r["month"] for r in stats("--by", "month", "--from", "2026-02-01", "--to", "2026-02-28")] == ["2026-02"]
    # months and days of the entries a filter selects (counted from the log, not the summary)
    assert [(r["month"], r["count"], r["cost"]) for r in stats("--by", "month", "--template", "CALL")] == [
        ("2026-01", 2, 5.5), ("2026-02", 1, 1.5)]
    assert [(r["day"], r["count"]) for r in stats("--by", "day", "--contact", "P1")] == [
        ("2026-01-05", 1), ("2026-01-20", 1)]
    assert [(r["month"], r["count"]) for r in stats("--by", "month", "--user", "bob", "--from", "2026-02-01")] == [
        ("2026-03", 1)]
    assert sample("stats", "--by", "month", "--contact", "NOPE").exit_code == sample("stats", "--contact", "NOPE").exit_code == 1
    assert stats("--by", "contact", "--limit", "1")[0]["contact"] == "P1"
    csv = sample.ok("stats", "--by", "month", "-f", "csv").stdout.splitlines()
    assert csv[0] == "month,count,cost,duration_min" and csv[1] == "2026-01,2,5.5,40"


def test_stats_chart_and_bad_values(sample, snapshot):
    _stats_world(sample)
    chart = sample.ok("stats", "--by", "month", "--chart").stdout
    assert "\x1b" not in chart and "█" in chart
    lines = chart.splitlines()
    assert lines[0] == "month by count"
    bars = {line.split()[0]: line.count("█") for line in lines[1:]}
    assert bars["2026-01"] == bars["2026-02"] == 40 and bars["2026-03"] == 20
    cost = sample.ok("stats", "--by", "contact", "--chart", "--measure", "cost").stdout
    assert "contact by cost" in cost and "P1" in cost
    before = snapshot()
    assert sample("stats", "--by", "weekday").exit_code == 2
    assert sample("stats", "--by", "month", "--chart", "-f", "json").exit_code == 2
    assert sample("stats", "--from", "not a date").exit_code == 2
    assert sample("stats", "--from", "2026-03-01", "--to", "2026-01-01").exit_code == 2
    assert snapshot() == before
    assert "ilog: no entries" in sample.ok("stats", "--from", "2030-01-01").stderr


ZONES = {  # zone: (offset, the UTC moment that is 00:30 on 1 October 2026 there)
    "Asia/Tokyo": "2026-09-30T15:30:00Z",       # +9
    "Asia/Kolkata": "2026-09-30T19:00:00Z",     # +5:30
    "Asia/Kathmandu": "2026-09-30T18:45:00Z",   # +5:45
    "America/New_York": "2026-10-01T04:30:00Z",  # -4 in October (daylight saving)
    "UTC": "2026-10-01T00:30:00Z",
}


@pytest.mark.parametrize("zone", sorted(ZONES))
def test_stats_months_and_days_are_those_of_the_users_zone(sample, monkeypatch, zone):
    monkeypatch.setenv("ILOG_TIMEZONE", zone)
    october = ZONES[zone]
    at = datetime.fromisoformat(october.replace("Z", "+00:00"))
    for moment, cost in ((at, "1"), (at - timedelta(hours=1), "2"),  # 23:30 on 30 September there
                         (at + timedelta(minutes=29, seconds=59), "4"),  # 00:59:59 on 1 October
                         (at - timedelta(minutes=30, microseconds=1), "8")):  # 23:59:59.999999 on 30 September
        sample.ok("interact", "P1", "-t", "CALL", "--date", moment.isoformat(), "--cost", cost)

    def stats(*args):
        return [(r[args[1]], r["count"], r["cost"]) for r in sample.ok("stats", *args, "-f", "json").json()]

    assert stats("--by", "month") == [("2026-09", 2, 10.0), ("2026-10", 2, 5.0)]
    assert stats("--by", "day") == [("2026-09-30", 2, 10.0), ("2026-10-01", 2, 5.0)]
    # a range that cuts hours: the edges are counted exactly too
    assert stats("--by", "day", "--from", (at - timedelta(minutes=30)).isoformat(),
                 "--to", (at + timedelta(minutes=29)).isoformat()) == [("2026-10-01", 1, 1.0)]
    assert stats("--by", "month", "--from", "2026-10-01", "--to", "2026-10-01") == [("2026-10", 2, 5.0)]
    assert stats("--by", "month", "--to", "2026-09-30") == [("2026-09", 2, 10.0)]
    assert stats("--by", "month", "--limit", "1") == [("2026-09", 2, 10.0)]


def _live_by_month(cli) -> list[tuple]:
    """What ``stats --by month`` must say, computed from ``log`` (live entries, local times)."""
    totals: dict[str, list] = {}
    for entry in cli.ok("log", "-f", "json").json():
        total = totals.setdefault(entry["occurred_at"][:7], [0, 0.0, 0.0])
        total[0] += 1
        total[1] += entry["cost"]
        total[2] += entry["duration_min"]
    return [(month, n, round(cost, 6), round(minutes, 6)) for month, (n, cost, minutes) in sorted(totals.items())]


def test_stats_by_month_follow_every_way_of_writing_the_log(sample, logbook, monkeypatch):
    monkeypatch.setenv("ILOG_TIMEZONE", "Asia/Kolkata")

    def by_month():
        rows = sample.ok("stats", "--by", "month", "-f", "json").json()
        return [(r["month"], r["count"], r["cost"], r["duration_min"]) for r in rows]

    def check():
        assert by_month() == _live_by_month(sample)

    for day, cost in (("2026-01-31T23:50", "3"), ("2026-02-01T00:10", "5"), ("2026-02-15T12:00", "0.25")):
        sample.ok("interact", "P1", "-t", "CALL", "--date", day, "--cost", cost)
    check()
    sample.ok("cancel", "1", "--yes")
    check()
    sample.ok("restore", "1", "--yes")
    check()
    sample.ok("cancel", "--template", "CALL", "--to", "2026-01-31", "--yes")
    check()
    later = sample.ok("interact", "P2", "-t", "MAIL", "--date", "2026-03-01T00:05", "--postpone", "-q").stdout.strip()
    check()  # a postponed entry has not happened yet
    sample.ok("resume", later, "--cost", "2.5")
    check()
    sample.ok("segment", "create", "-d", "Spring", "--no", "S1", "--template", "MAIL", "--date", "2026-03-31T23:30")
    sample.ok("segment", "add", "S1", "P1", "P2", "P3")
    logged = sample.ok("segment", "log", "S1", "-f", "json").json()["no"]
    check()
    sample.ok("segment", "cancel", logged, "--yes")
    check()
    sample.ok("segment", "cancel", logged, "--restore", "--yes")
    check()
    sample.ok("purge-cancelled", "--before", "tomorrow", "--yes")
    check()
    assert by_month() == [("2026-02", 2, 5.25, 20.0), ("2026-03", 4, 2.5, 0.0)]


# -- contact show --------------------------------------------------------------------------

def test_contact_show_has_statistics_and_recent_documents(sample):
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    sample.ok("interact", "P1", "-t", "CALL", "--date", "2026-01-05T12:00", "--due", "2026-01-06")
    for n, day in ((1, "10"), (2, "11")):
        sample.ok("event", "sales.invoice", "--document-no", f"INV-{n}", "--contact", "P1",
                  "--date", f"2026-01-{day}T12:00")
    sample.ok("event", "sales.invoice", "--document-no", "INV-1", "--contact", "C1", "--date", "2026-01-12T12:00")

    person = sample.ok("contact", "show", "P1", "-f", "json").json()
    assert person["no"] == "P1" and person["name"] == "Mario Rossi"
    assert person["stats"]["count"] == 3 and person["stats"]["cost"] == 1.5
    assert person["stats"]["duration_min"] == 10 and person["stats"]["open_activities"] == 1
    assert person["stats"]["last_contacted"].startswith("2026-01-11")
    assert [d["document_no"] for d in person["recent_documents"]] == ["INV-2", "INV-1"]

    company = sample.ok("contact", "show", "C1", "-f", "json").json()
    assert company["stats"]["count"] == 4  # its persons' entries roll up
    docs = company["recent_documents"]
    assert [(d["document_no"], d["occurrence"]) for d in docs] == [("INV-1", 2), ("INV-2", 1), ("INV-1", 1)]

    table = sample.ok("contact", "show", "P1").stdout
    assert "statistics" in table and "3 entries" in table and "last contacted  2026-01-11" in table
    assert "sales.invoice INV-2" in table
    empty = sample.ok("contact", "show", "P3").stdout
    assert "0 entries" in empty and "never" in empty
    csv = sample.ok("contact", "show", "P1", "-f", "csv").stdout.splitlines()
    assert "stats_count" in csv[0].split(",")
