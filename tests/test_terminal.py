"""A terminal people enjoy (issue #17): completion, tables that fit, pages, progress, honest
dry runs, help that reads like a man page, the starter set, and the small things.

Tests run the real command line on a real database. Where a person's terminal matters, it is
either a real pseudo-terminal (a child process) or, in-process, standard output said to be a
terminal (``on_terminal``): the terminal is the only thing faked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from helpers.proc import env, run_in_terminal, run_with_terminal_stderr

#: nothing here depends on the database: the PostgreSQL pass leaves it out (see conftest)
pytestmark = pytest.mark.any_backend

ILOG = [sys.executable, "-m", "ilog"]


@pytest.fixture
def terminal(monkeypatch):
    """Standard output is a person's terminal, 100 columns wide."""
    from ilog.cli import render

    monkeypatch.setattr(render, "on_terminal", lambda stream=None: True)
    monkeypatch.setenv("COLUMNS", "100")


def _lines(run) -> list[str]:
    return run.stdout.splitlines()


# -- shell completion --------------------------------------------------------------------------------


def complete(db_url: str | None, words: str, shell: str = "bash") -> list[str]:
    """What the shell is offered for the last word of ``words``, through the completion protocol."""
    extra = {"_ILOG_COMPLETE": f"complete_{shell}"}
    if db_url is not None:
        extra["ILOG_DATABASE_URL"] = db_url
    if shell == "bash":
        parts = words.split(" ")
        extra.update(COMP_WORDS=words, COMP_CWORD=str(len(parts) - 1))
    else:
        extra["_TYPER_COMPLETE_ARGS"] = words
        if shell == "fish":
            extra["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
    run = subprocess.run(ILOG, capture_output=True, text=True, env=env(**extra), timeout=120)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    return [line for line in run.stdout.splitlines() if line]


def test_bash_completes_commands_options_and_choice_values(db_url):
    assert "log" in complete(db_url, "ilog lo")
    assert {"segment", "search"} & set(complete(db_url, "ilog se")) == {"segment"}
    assert {"--format", "--from"} <= set(complete(db_url, "ilog log --f"))
    assert complete(db_url, "ilog log -f ") == ["table", "json", "jsonl", "csv"]
    assert complete(db_url, "ilog log --kind ph") == ["phone-call"]
    assert complete(db_url, "ilog evaluate 1 --as very") == ["very-positive", "very-negative"]
    assert complete(db_url, "ilog log export -f j") == ["jsonl", "json"]
    assert "import" in complete(db_url, "ilog contact ")


def test_completion_offers_contact_numbers_template_codes_and_segment_numbers_from_the_database(sample, db_url):
    sample.ok("segment", "create", "--no", "SEG00001", "--description", "Spring mailing")
    assert complete(db_url, "ilog log --contact P") == ["P1", "P2", "P3"]
    assert complete(db_url, "ilog log ") == ["C1", "P1", "P2", "P3"]  # the CONTACT argument
    assert complete(db_url, "ilog interact P1 -t ") == ["CALL", "INVOICE", "MAIL"]
    assert complete(db_url, "ilog template show i") == ["INVOICE"]
    assert complete(db_url, "ilog log --group S") == ["SALES"]
    assert complete(db_url, "ilog segment show ") == ["SEG00001"]
    assert "sales.invoice" in complete(db_url, "ilog template setup sales.")
    zsh = " ".join(complete(db_url, "ilog contact show P", shell="zsh"))
    assert '"P1":"Mario Rossi"' in zsh  # zsh shows each number's name beside it
    assert complete(db_url, "ilog log --template C", shell="fish") == ["CALL\tPhone call"]


def test_completion_without_a_database_offers_nothing_quietly(tmp_path):
    missing = str(tmp_path / "nowhere" / "ilog.db")
    assert complete(missing, "ilog log --contact ") == []
    assert complete(missing, "ilog interact --flow ") == ["outbound", "inbound", "none"]  # choices need no database


def test_completion_scripts_for_bash_zsh_and_fish(cli):
    bash = cli.ok("completion", "bash").stdout
    assert "_ILOG_COMPLETE=complete_bash" in bash and "complete -o default -F" in bash
    assert "compdef" in cli.ok("completion", "zsh").stdout
    assert "complete --command ilog" in cli.ok("completion", "fish").stdout
    bad = cli("completion", "tcsh")
    assert bad.exit_code == 2 and "choose from bash, zsh, fish" in bad.stderr
    assert "--install-completion" in cli.ok("--help").stdout and "--show-completion" in cli.ok("--help").stdout


def test_completion_installs_where_the_shell_reads_it(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    run = cli.ok("completion", "bash", "--install")
    script = tmp_path / ".bash_completions" / "ilog.sh"
    assert "bash completion installed in" in run.stderr and "_ILOG_COMPLETE" in script.read_text()
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text()


def test_completion_lookups_stay_out_of_an_ordinary_start_up(tmp_path):
    """The database is read only while completing: ``ilog --help`` imports no database library."""
    probe = ("import sys; sys.argv = ['ilog', '--help']\n"
             "from ilog.cli import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'ilog.app', 'ilog.logbook'))))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env(), timeout=120)
    assert run.stdout.strip().splitlines()[-1] == "[]", run.stdout[-500:]


# -- tables that fit -----------------------------------------------------------------------------------


LONG = "A very long subject about the quote, the prices, the delivery terms and the spring catalogue"


def test_tables_fit_the_terminal_and_cut_long_text_with_an_ellipsis(sample, monkeypatch):
    sample.ok("interact", "P1", "-t", "CALL", "--subject", LONG)
    monkeypatch.setenv("COLUMNS", "72")
    lines = _lines(sample.ok("log"))
    assert max(len(line) for line in lines) <= 72, lines
    assert "…" in lines[2] and LONG not in lines[2]
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", lines[2])  # dates are never cut
    wide = _lines(sample.ok("log", "--wide"))
    assert LONG in wide[2] and len(wide[2]) > 72


def test_table_headers_are_for_people_machine_formats_keep_keys_and_full_values(sample, monkeypatch):
    sample.ok("interact", "P1", "-t", "CALL", "--subject", LONG)
    monkeypatch.setenv("COLUMNS", "60")
    assert _lines(sample.ok("log"))[0].split()[:3] == ["Entry", "Date", "Contact"]
    assert _lines(sample.ok("contact", "list"))[0].split()[:3] == ["No.", "Type", "Name"]
    entry = sample.ok("log", "-f", "json").json()[0]
    assert entry["subject"] == LONG and "entry_no" in entry and "occurred_at" in entry
    assert sample.ok("log", "-f", "csv").stdout.splitlines()[0].startswith("entry_no,contact_no")
    assert json.loads(sample.ok("log", "-f", "jsonl").stdout)["subject"] == LONG


def test_a_table_row_is_one_line_whatever_its_text(sample):
    sample.ok("interact", "P1", "-t", "CALL", "--subject", "first line\nsecond line\r\x1b[31mred")
    lines = _lines(sample.ok("log"))
    assert len(lines) == 3 and "first line\\nsecond line\\r\\x1b[31mred" in lines[2]


def test_wide_is_on_every_listing_and_on_no_record_view():
    import typer

    from ilog.cli import build_app
    from ilog.cli.compat import dress
    from ilog.cli.context import WIDE_HELP
    from ilog.plugins.host import make_plugin_host

    root = typer.main.get_command(build_app(make_plugin_host(entrypoints=False)))
    for name, command in root.commands.items():
        dress(command, [name], wide_help=WIDE_HELP)
    options = {}
    for name, command in root.commands.items():
        for sub, leaf in (getattr(command, "commands", None) or {name: command}).items():
            path = name if leaf is command else f"{name} {sub}"
            options[path] = {o for p in leaf.params for o in getattr(p, "opts", ())}
    listings = {"log list", "postponed", "timeline", "stats", "contact list", "group list", "template list",
                "template setup", "segment list", "segment show", "segment logged", "plugins"}
    assert all("--wide" in options[p] for p in listings), {p for p in listings if "--wide" not in options[p]}
    assert not {"--wide"} & (options["show"] | options["contact show"] | options["interact"])


# -- pages and limits ----------------------------------------------------------------------------------


@pytest.fixture
def many(sample, logbook):
    """60 entries of P1."""
    drafts = [logbook.prepare(logbook.draft("P1", "CALL", subject=f"call {i}")) for i in range(60)]
    logbook.save_prepared(drafts)
    return sample


def test_on_a_terminal_a_listing_shows_a_page_and_says_how_many_there_are(many, terminal):
    run = many.ok("log")
    assert len(_lines(run)) == 2 + 50
    assert run.stderr.strip() == "50 of 60 entries: --limit 0 for all"
    everything = many.ok("log", "--limit", "0")
    assert len(_lines(everything)) == 2 + 60 and everything.stderr == ""
    ten = many.ok("log", "-l", "10", "-f", "jsonl")
    assert len(_lines(ten)) == 10 and ten.stderr.strip() == "10 of 60 entries: --limit 0 for all"
    one = many.ok("contact", "list", "-l", "1")
    assert one.stderr.strip() == "1 of 4 contacts: --limit 0 for all"
    assert many.ok("timeline", "P1", "-l", "5").stderr.strip() == "5 of 60 entries: --limit 0 for all"


def test_piped_listings_are_complete_with_no_footer(many):
    run = many.ok("log")
    assert len(_lines(run)) == 2 + 60 and run.stderr == ""
    assert len(many.ok("log", "-f", "jsonl").stdout.splitlines()) == 60
    limited = many.ok("log", "--limit", "7", "-f", "jsonl")
    assert len(limited.stdout.splitlines()) == 7 and limited.stderr == ""


def test_a_real_terminal_gets_a_page_and_its_width(many, db_url):
    code, shown = run_in_terminal([*ILOG, "--db", db_url, "log"], columns=70)
    assert code == 0, shown
    lines = shown.splitlines()
    assert lines[-1] == "50 of 60 entries: --limit 0 for all"
    assert len(lines) == 2 + 50 + 1 and max(len(line) for line in lines) <= 70


def test_every_listing_takes_limit_and_search(sample):
    sample.ok("segment", "create", "--no", "SEG00001", "--description", "Spring mailing")
    sample.ok("segment", "create", "--no", "SEG00002", "--description", "Autumn calls")
    sample.ok("segment", "add", "SEG00001", "C1", "P1", "P3")
    found = {
        "contact": [c["no"] for c in sample.ok("contact", "list", "--search", "rossi", "-l", "2", "-f", "json").json()],
        "template": [t["code"] for t in sample.ok("template", "list", "-s", "invoice", "-f", "json").json()],
        "group": [g["code"] for g in sample.ok("group", "list", "-s", "sal", "-l", "1", "-f", "json").json()],
        "segment": [s["no"] for s in sample.ok("segment", "list", "--search", "autumn", "-f", "json").json()],
        "line": [json.loads(line)["contact_no"] for line in
                 sample.ok("segment", "show", "SEG00001", "-s", "popescu", "-f", "jsonl").stdout.splitlines()],
    }
    assert found == {"contact": ["C1", "P1"], "template": ["INVOICE"], "group": ["SALES"],
                     "segment": ["SEG00002"], "line": ["P3"]}
    assert [t["code"] for t in sample.ok("template", "list", "-l", "1", "-f", "json").json()] == ["CALL"]
    assert len(sample.ok("segment", "show", "SEG00001", "-l", "2", "-f", "jsonl").stdout.splitlines()) == 2


def test_a_reader_that_goes_away_ends_the_listing_quietly(many, db_url):
    """``ilog log -f jsonl | head -1``: status 0, nothing on stderr."""
    for args in (["log", "-f", "jsonl"], ["log"], ["log", "export"]):
        proc = subprocess.Popen([*ILOG, "--db", db_url, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env(), bufsize=0)
        first = proc.stdout.readline()
        proc.stdout.close()  # what head does after its line
        stderr = proc.stderr.read()
        assert first and proc.wait(timeout=120) == 0 and stderr == b"", (args, stderr)


def test_a_closed_pipe_mid_listing_is_not_an_error(sample, db_url, logbook):
    drafts = [logbook.prepare(logbook.draft("P1", "CALL", subject="x" * 200)) for _ in range(3000)]
    logbook.save_prepared(drafts)
    run = subprocess.run(f"{sys.executable} -m ilog --db '{db_url}' log -f jsonl | head -1", shell=True,
                         capture_output=True, env=env(), timeout=120, executable="/bin/bash")
    assert run.returncode == 0 and run.stderr == b""
    status = subprocess.run(f"set -o pipefail; {sys.executable} -m ilog --db '{db_url}' log -f jsonl | head -1 "
                            ">/dev/null", shell=True, env=env(), timeout=120, executable="/bin/bash",
                            capture_output=True)
    assert status.returncode == 0 and status.stderr == b""


# -- progress ------------------------------------------------------------------------------------------


@pytest.fixture
def busy(sample, logbook):
    """3,000 cancelled entries of P1, and a logged segment."""
    drafts = [logbook.prepare(logbook.draft("P1", "CALL", subject=f"old {i}", occurred_at="2020-01-01"))
              for i in range(3000)]
    logbook.save_prepared(drafts)
    sample.ok("cancel", "--contact", "P1", "--yes")
    sample.ok("segment", "create", "--no", "SEG00001", "--description", "Mailing", "--template", "MAIL")
    sample.ok("segment", "add", "SEG00001", "P1", "P2", "P3")
    sample.ok("segment", "log", "SEG00001")
    return sample


@pytest.mark.parametrize("args, label", [
    (["log", "export"], b"exporting"),
    (["purge-cancelled", "--before", "2021-01-01", "--yes"], b"purging"),
    (["segment", "cancel", "LSEG00001", "--yes"], b"cancelling entries"),
    (["db", "copy", "{db}", "{copy}"], b"copying"),
])
def test_progress_is_drawn_on_a_terminal_stderr_and_nothing_when_piped(busy, db_url, tmp_path, args, label):
    argv = [a.replace("{db}", db_url).replace("{copy}", str(tmp_path / "copy.db")) for a in args]
    code, out, terminal = run_with_terminal_stderr([*ILOG, "--db", db_url, *argv])
    assert code == 0, terminal
    assert label in terminal and b"\x1b" not in out
    piped = subprocess.run([*ILOG, "--db", db_url, *argv], capture_output=True, env=env(), timeout=120)
    assert label not in piped.stderr and b"\x1b" not in piped.stderr and b"\r" not in piped.stderr


def test_log_import_and_event_batches_show_progress_on_a_terminal(busy, db_url, new_db_url, tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps({"event": "sales.invoice", "document_no": f"INV-{i}", "contact": "P2"}) + "\n"
                              for i in range(300)))
    busy.ok("template", "setup", "sales.invoice", "INVOICE")
    code, out, terminal = run_with_terminal_stderr([*ILOG, "--db", db_url, "event", "--input", str(events)])
    assert code == 0 and b"recording events" in terminal and len(out.splitlines()) == 300
    export = tmp_path / "log.jsonl"
    export.write_bytes(subprocess.run([*ILOG, "--db", db_url, "log", "export", "--contact", "P2"],
                                      capture_output=True, env=env(), timeout=120).stdout)
    target = new_db_url()
    for step in (["contact", "add", "Rossi SpA", "--no", "C1", "--type", "company"],
                 ["contact", "add", "Anna Rossi", "--no", "P2", "--company", "C1"], ["template", "add", "INVOICE"],
                 ["template", "add", "MAIL"]):
        subprocess.run([*ILOG, "--db", target, *step], capture_output=True, env=env(), timeout=120, check=True)
    code, out, terminal = run_with_terminal_stderr([*ILOG, "--db", target, "log", "import", str(export)])
    assert code == 0, terminal
    assert b"importing" in terminal or b"checking" in terminal


# -- dry runs show what they would touch ------------------------------------------------------------


def test_a_bulk_dry_run_shows_the_first_entries_on_a_terminal_and_every_number_when_piped(many, snapshot,
                                                                                         monkeypatch):
    before = snapshot()
    piped = many.ok("cancel", "--contact", "P1", "--dry-run")
    assert len(piped.stdout.split()) == 60 and "would cancel 60 entries" in piped.stderr
    from ilog.cli import render

    monkeypatch.setattr(render, "on_terminal", lambda stream=None: True)
    shown = many.ok("cancel", "--contact", "P1", "--dry-run")
    lines = _lines(shown)
    assert lines[0].split()[:3] == ["Entry", "Date", "Contact"] and len(lines) == 2 + 10
    assert "call 0" in lines[2] and "... and 50 more entries" in shown.stderr
    assert "would cancel 60 entries" in shown.stderr
    for action in (["restore"], ["complete"], ["evaluate", "--as", "positive"]):
        assert many.ok(*action, "--contact", "P1", "--dry-run").stderr  # each says what it would do
    assert snapshot() == before


def test_a_purge_dry_run_shows_what_it_would_delete(busy, snapshot, monkeypatch):
    before = snapshot()
    assert busy.ok("purge-cancelled", "--before", "2021-01-01", "--dry-run").stdout.strip() == "3000"
    from ilog.cli import render

    monkeypatch.setattr(render, "on_terminal", lambda stream=None: True)
    run = busy.ok("purge-cancelled", "--before", "2021-01-01", "--dry-run")
    assert "old 0" in run.stdout and len(run.stdout.splitlines()) == 2 + 10
    assert "... and 2,990 more entries" in run.stderr and "would purge 3,000 cancelled entries" in run.stderr
    assert snapshot() == before


def test_segment_add_and_remove_dry_runs_show_the_contacts(sample, snapshot, monkeypatch):
    sample.ok("segment", "create", "--no", "SEG00001", "--description", "Mailing")
    before = snapshot()
    piped = sample.ok("segment", "add", "SEG00001", "--company", "C1", "--dry-run")
    assert piped.stdout.split() == ["P1", "P2"] and "would add 2 contacts to segment SEG00001" in piped.stderr
    from ilog.cli import render

    monkeypatch.setattr(render, "on_terminal", lambda stream=None: True)
    shown = sample.ok("segment", "add", "SEG00001", "--company", "C1", "--dry-run").stdout
    assert "Mario Rossi" in shown and "Anna Rossi" in shown and shown.splitlines()[0].startswith("No.")
    assert snapshot() == before
    sample.ok("segment", "add", "SEG00001", "P1")
    gone = sample.ok("segment", "remove", "SEG00001", "P1", "--dry-run")
    assert "Mario Rossi" in gone.stdout and "would remove 1 contact from segment SEG00001" in gone.stderr


def test_every_remove_has_a_dry_run_that_checks_what_the_real_run_checks(sample, snapshot):
    import typer

    from ilog.cli import build_app
    from ilog.plugins.host import make_plugin_host

    root = typer.main.get_command(build_app(make_plugin_host(entrypoints=False)))
    removes = {f"{name} remove": group.commands["remove"] for name, group in root.commands.items()
               if "remove" in (getattr(group, "commands", None) or {})}
    assert {"contact remove", "group remove", "template remove", "segment remove"} <= set(removes)
    for path, command in removes.items():
        assert any("--dry-run" in getattr(p, "opts", ()) for p in command.params), path
    sample.ok("interact", "P3", "-t", "CALL")
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    before = snapshot()
    for args, reason in ((["template", "remove", "CALL"], "used by 1 log entry:"),
                         (["template", "remove", "INVOICE"], "set up for event sales.invoice"),
                         (["group", "remove", "SALES"], "used by 2 template"),
                         (["contact", "remove", "C1"], "has persons")):
        for dry in ([], ["--dry-run"]):
            run = sample(*args, *dry, "--yes")
            assert run.exit_code == 1 and reason in run.stderr, (args, dry, run.stderr)
    assert snapshot() == before
    dry = sample.ok("template", "remove", "MAIL", "--dry-run")
    assert dry.stdout.strip() == "MAIL" and "would remove template MAIL" in dry.stderr
    assert snapshot() == before
    assert sample.ok("group", "add", "OLD").stderr
    assert "would remove interaction group OLD" in sample.ok("group", "remove", "OLD", "--dry-run").stderr


# -- help that reads like a man page -------------------------------------------------------------------


def test_help_names_values_in_words(cli):
    help_text = cli.ok("cancel", "--help").stdout
    assert "Usage: ilog cancel [OPTIONS] [ENTRY]..." in help_text
    assert "--from DATE" in help_text and "--template CODE" in help_text and "--contact CONTACT" in help_text
    assert "<str>" not in help_text and "<list" not in help_text and "[x>=0]" not in help_text
    assert "Usage: ilog segment add [OPTIONS] SEGMENT [CONTACT]..." in cli.ok("segment", "add", "--help").stdout
    assert "--out FILE" in cli.ok("attachment", "get", "--help").stdout
    missing = cli("contact", "show")
    assert missing.exit_code == 2 and "Missing argument 'CONTACT'" in missing.stderr


def test_every_command_help_is_free_of_type_placeholders(cli):
    import typer

    from ilog.cli import build_app
    from ilog.plugins.host import make_plugin_host

    root = typer.main.get_command(build_app(make_plugin_host(entrypoints=False)))
    for name, command in root.commands.items():
        for sub in (getattr(command, "commands", None) or {None: command}):
            args = [name] + ([sub] if sub else []) + ["--help"]
            text = cli.ok(*args).stdout
            assert not re.search(r"<\w+(\[\w+\])?>", text), (args, text)


def test_ilog_log_help_says_ilog_log(cli):
    text = cli.ok("log", "--help").stdout
    assert text.startswith("Usage: ilog log [OPTIONS] [CONTACT]") and "ilog log list" not in text
    assert "Usage: ilog log export" in cli.ok("log", "export", "--help").stdout


def test_ilog_help_groups_the_commands_in_sections(cli):
    text = cli.ok("--help").stdout
    titles = re.findall(r"^(\S[^:\n]*):$", text, re.M)
    assert titles[:2] == ["Usage", "Options"] or "Options" in titles
    assert [t for t in titles if t not in ("Options",)][:5] == [
        "Daily work", "Set-up", "Segments", "Import and export", "Maintenance"]
    daily = text.split("Daily work:")[1].split("\n\n")[0]
    assert "interact" in daily and "log" in daily and "purge-cancelled" not in daily
    assert "contact import" in text.split("Import and export:")[1].split("\n\n")[0]


# -- the starter set -----------------------------------------------------------------------------------


def test_init_starter_loads_business_centrals_standard_set_up_and_again_changes_nothing(cli, snapshot):
    run = cli.ok("init", "--starter")
    assert "added 6 interaction groups, 30 templates and 25 events" in run.stderr
    groups = {g["code"] for g in cli.ok("group", "list", "-f", "json").json()}
    assert groups == {"LETTER", "MEETING", "PHONE", "PURCHASES", "SALES", "SYSTEM"}
    outgoing = cli.ok("template", "show", "OUTGOING", "-f", "json").json()
    assert (outgoing["group_code"], outgoing["kind"], outgoing["flow"], outgoing["initiated_by"],
            outgoing["unit_cost"], outgoing["unit_duration_min"]) == ("PHONE", "phone-call", "outbound", "us", 1, 15)
    setup = {r["event"]: r["template_code"] for r in cli.ok("template", "setup", "-f", "json").json()}
    assert setup["sales.invoice"] == "S_INVOICE" and setup["purchase.order"] == "P_ORDER"
    assert setup["outgoing-call"] == "OUTGOING" and setup["service.order-post"] is None
    before = snapshot()
    again = cli.ok("init", "--starter")
    assert "nothing to add (61 already there" in again.stderr
    assert snapshot() == before


def test_the_starter_set_keeps_what_an_admin_changed(cli):
    cli.ok("init")
    cli.ok("group", "add", "PHONE", "-d", "Our calls")
    cli.ok("template", "add", "OUTGOING", "--group", "PHONE", "--unit-cost", "3")
    cli.ok("template", "add", "MYINV")
    cli.ok("template", "setup", "sales.invoice", "MYINV")
    run = cli.ok("init", "--starter")
    assert "(3 already there, kept as they are)" in run.stderr
    assert cli.ok("template", "show", "OUTGOING", "-f", "json").json()["unit_cost"] == 3
    assert cli.ok("group", "show", "PHONE", "-f", "json").json()["description"] == "Our calls"
    setup = {r["event"]: r["template_code"] for r in cli.ok("template", "setup", "-f", "json").json()}
    assert setup["sales.invoice"] == "MYINV" and setup["sales.quote"] == "S_QUOTE"


def test_the_starter_set_is_loaded_through_the_rules_of_every_template():
    from ilog.domain import starter, values
    from ilog.domain.choices import BUILTIN_EVENTS
    from ilog.domain.records import Template

    codes = {t["code"] for t in starter.TEMPLATES}
    for fields in starter.TEMPLATES:
        values.validated(Template, fields)  # each is a valid template
        assert fields["group_code"] in {code for code, _ in starter.GROUPS}
    assert set(starter.EVENTS) <= set(BUILTIN_EVENTS) and set(starter.EVENTS.values()) <= codes


# -- small things that erode trust ---------------------------------------------------------------------


def test_exist_ok_with_other_values_says_what_differs_and_changes_nothing(sample, snapshot):
    before = snapshot()
    same = sample("contact", "add", "Rossi SpA", "--no", "C1", "--type", "company", "--email", "info@rossi.it",
                  "--exist-ok")
    assert same.exit_code == 0 and same.stdout.strip() == "C1"
    other = sample("contact", "add", "Rossi SpA", "--no", "C1", "--email", "sales@rossi.it", "--exist-ok")
    assert other.exit_code == 1 and "saved" not in other.stderr
    assert "email is 'info@rossi.it', not 'sales@rossi.it'" in other.stderr
    template = sample("template", "add", "CALL", "--kind", "email", "--unit-cost", "1.5", "--exist-ok")
    assert template.exit_code == 1 and "kind is 'phone-call', not 'email'" in template.stderr
    assert "unit cost" not in template.stderr  # the same value is no difference
    assert sample("template", "add", "CALL", "--kind", "phone-call", "--exist-ok").exit_code == 0
    group = sample("group", "add", "SALES", "-d", "Other", "--exist-ok")
    assert group.exit_code == 1 and "description is 'Sales', not 'Other'" in group.stderr
    assert sample("group", "add", "SALES", "--exist-ok").exit_code == 0
    assert snapshot() == before


def test_attachment_get_never_overwrites_without_force(sample, tmp_path):
    source = tmp_path / "quote.txt"
    source.write_text("the quote")
    no = sample.ok("interact", "P1", "-t", "CALL", "--attach", source, "-q").stdout.strip()
    target = tmp_path / "out.txt"
    target.write_text("mine")
    run = sample("attachment", "get", no, "--out", target)
    assert run.exit_code == 1 and "--force" in run.stderr and target.read_text() == "mine"
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "quote.txt").write_text("mine too")
    assert sample("attachment", "get", no, "--out", folder).exit_code == 1
    assert (folder / "quote.txt").read_text() == "mine too"
    sample.ok("attachment", "get", no, "--out", target, "--force")
    assert target.read_text() == "the quote"


def test_counts_agree_in_number(sample):
    no = sample.ok("interact", "P1", "-t", "CALL", "-q").stdout.strip()
    assert "would cancel 1 entry\n" in sample.ok("cancel", "--contact", "P1", "--dry-run").stderr
    sample.ok("segment", "create", "--no", "S1", "--description", "One", "--template", "MAIL")
    assert "added 1 contact to" in sample.ok("segment", "add", "S1", "P1").stderr
    logged = sample.ok("segment", "log", "S1").stderr
    assert ": 1 entry (" in logged
    sample.ok("cancel", no)
    assert "purged 1 cancelled entry\n" in sample.ok("purge-cancelled", "--older-than", "0d", "--yes").stderr


def test_purge_with_nothing_to_purge_says_so_without_asking(sample, snapshot):
    before = snapshot()
    run = sample("purge-cancelled", "--older-than", "1y")  # no --yes, no terminal: nothing to ask about
    assert run.exit_code == 0 and run.stdout.strip() == "0"
    assert "nothing to purge: no cancelled entries dated before" in run.stderr
    assert snapshot() == before


def test_unsetting_an_unknown_event_is_refused(sample, snapshot):
    before = snapshot()
    run = sample("template", "setup", "--unset", "sales.invoise")
    assert run.exit_code == 2 and "unknown event 'sales.invoise'" in run.stderr
    assert "had no template" in sample.ok("template", "setup", "--unset", "sales.invoice").stderr
    assert snapshot() == before


def test_groups_have_show_and_edit(sample, snapshot):
    shown = sample.ok("group", "show", "SALES", "-f", "json").json()
    assert shown == {"code": "SALES", "description": "Sales", "templates": 2}
    edited = sample.ok("group", "edit", "sales", "--description", "Sales documents", "-f", "json").json()
    assert edited["description"] == "Sales documents"
    assert sample.ok("group", "list", "-f", "json").json()[0]["description"] == "Sales documents"
    before = snapshot()
    assert sample("group", "show", "NOPE").exit_code == 1
    assert sample("group", "edit", "SALES").exit_code == 2  # nothing to change
    assert snapshot() == before
