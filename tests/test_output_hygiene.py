"""Output a script can rely on: machine formats always parse, piped output carries no ANSI
codes and no progress, progress goes to stderr and only on a terminal."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from helpers.proc import TERMINAL_ENV, env, ilog, run_with_terminal_stderr
from ilog import hookimpl

#: every command that takes --format and only reads: arguments on a full database (None = none needed)
LISTINGS: dict[str, list[str]] = {
    "log": [],
    "log list": ["P1", "--rollup", "--include-cancelled"],
    "log export": [],
    "show": ["1"],
    "postponed": [],
    "timeline": ["C1"],
    "stats": ["--by", "month"],
    "plugins": [],
    "db status": [],
    "config show": [],
    "contact list": [],
    "contact show": ["P1"],
    "contact export": [],
    "group list": [],
    "group show": ["SALES"],
    "template list": [],
    "template show": ["CALL"],
    "template setup": [],
    "template export": [],
    "attachment show": ["3"],
    "segment list": [],
    "segment show": ["SEG00001"],
    "segment logged": [],
    "team list": [],
    "team show": ["SALES"],
    "erasures": [],
    "retention show": [],
    "spool status": [],
    "spool list": ["--all"],
}
#: commands that take --format and write: what they print must parse as well
WRITES: dict[str, list[str]] = {
    "interact": ["P1", "-t", "CALL"],
    "event": ["sales.invoice", "--document-no", "INV-9{n}", "--contact", "C1"],
    "resume": ["{postponed}"],
    "contact add": ["Zed {n}"],
    "contact edit": ["P3", "--phone", "123"],
    "template edit": ["CALL", "--unit-cost", "2"],
    "group edit": ["SALES", "--description", "Sales {n}"],
    "segment create": ["--description", "Another"],
    "segment edit": ["{open_segment}", "--description", "Renamed"],
    "segment line": ["{open_segment}", "C1", "--description", "Hi"],
    "segment log": ["{open_segment}"],
    "db copy": ["{db}", "{copy}"],
    "contact erase": ["{erasable}", "--yes"],
    "spool flush": [],  # delivers what spool_one() put there just before
}
FORMATS = ("json", "jsonl", "csv")
NEEDS_AN_ARGUMENT = {"show", "timeline", "contact show", "template show", "attachment show", "segment show",
                     "team show", "group show"}


def _format_commands() -> set[str]:
    """Every command of the real CLI that has a --format option."""
    import typer

    from ilog.cli import build_app
    from ilog.plugins.host import make_plugin_host

    def walk(command, path):
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, [*path, name])
        else:
            yield " ".join(path), command

    root = typer.main.get_command(build_app(make_plugin_host(entrypoints=False)))
    return {name for name, command in walk(root, [])
            if any("--format" in getattr(p, "opts", ()) for p in command.params)}


def test_every_command_with_a_format_option_is_checked_here():
    missing = _format_commands() - set(LISTINGS) - set(WRITES)
    assert not missing, f"add these commands to LISTINGS or WRITES: {sorted(missing)}"


def check_parses(text: str, fmt: str, what: str) -> list:
    """The rows a machine format holds; fails if it does not parse."""
    assert "\x1b" not in text, what
    if fmt == "json":
        data = json.loads(text)
        return data if isinstance(data, list) else [data]
    if fmt == "jsonl":
        return [json.loads(line) for line in text.splitlines()]
    rows = list(csv.reader(io.StringIO(text)))
    if rows:
        assert all(len(r) == len(rows[0]) for r in rows), what
    return rows[1:]


@pytest.mark.parametrize("fmt", FORMATS)
def test_machine_output_parses_on_an_empty_database(cli, fmt):
    for name, args in LISTINGS.items():
        run = cli(*name.split(), *(args if name in NEEDS_AN_ARGUMENT else []), "-f", fmt)
        if name in NEEDS_AN_ARGUMENT:  # nothing to show: an error on stderr, nothing on stdout
            assert run.exit_code == 1 and run.stdout == "" and run.stderr.startswith("ilog: error:"), (name, run)
            continue
        assert run.exit_code == 0, (name, run.stderr)
        check_parses(run.stdout, fmt, name)
        if fmt == "json":
            assert run.stdout.strip().startswith(("[", "{")), (name, run.stdout)


class Quiet:
    """A plugin that does nothing, so that ``ilog plugins`` has a row."""

    __name__ = "quiet"

    @staticmethod
    @hookimpl
    def document_events():
        return ["acme.delivery-note"]


@pytest.fixture
def full(plugins, sample, tmp_path, db_url, isolated_env):
    """A database with something in every listing."""
    plugins.append(Quiet)
    (isolated_env / "config.toml").write_text('[retention]\ndefault = "10y"\n')
    attachment = tmp_path / "quote.pdf"
    attachment.write_bytes(b"%PDF-1.4")
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    sample.ok("team", "add", "SALES", "--member", "tester", "--member", "anna")
    sample.ok("interact", "P1", "-t", "CALL", "--subject", 'Quotes "and" commas, newlines\nand ünïcode')
    sample.ok("interact", "P2", "-t", "MAIL", "--due", "2030-01-01")
    sample.ok("interact", "C1", "-t", "INVOICE", "--attach", str(attachment))
    sample.ok("event", "sales.invoice", "--document-no", "INV-1", "--contact", "C1", "--key", "k1")
    sample.ok("comment", "1", "Called back")
    postponed = [sample.ok("interact", "P3", "-t", "CALL", "--postpone", "-q").stdout.strip() for _ in FORMATS]
    sample.ok("segment", "create", "--no", "SEG00001", "--description", "Mailing", "--template", "MAIL")
    sample.ok("segment", "add", "SEG00001", "P1", "P2", "P3")
    sample.ok("segment", "log", "SEG00001")
    sample.ok("cancel", "2")
    open_segments = []
    for _ in FORMATS:
        open_segments.append(sample.ok("segment", "create", "--description", "Open", "--template", "CALL",
                                       "-q").stdout.strip())
        sample.ok("segment", "add", open_segments[-1], "C1")
    for i in range(len(FORMATS) + 1):
        sample.ok("contact", "add", f"To Erase {i}", "--no", f"ERASE{i}")
    sample.ok("contact", "erase", f"ERASE{len(FORMATS)}", "--yes")  # an erasure for `ilog erasures`
    spool_one(db_url, "INV-S")
    sample.values = [{"postponed": postponed[i], "open_segment": open_segments[i], "db": db_url,  # type: ignore
                      "copy": str(tmp_path / f"copy-{i}.db"), "n": str(i), "erasable": f"ERASE{i}"}
                     for i in range(len(FORMATS))]
    return sample


def spool_one(db_url: str, document_no: str) -> None:
    """A document event waiting in the spool (``spool status``, ``list`` and ``flush`` show it)."""
    from ilog.testing import open_logbook

    with open_logbook(db_url) as logbook:
        assert logbook.record_event("sales.invoice", document_no, contact_no="C1", delivery="spool").spooled


def test_machine_output_parses_on_a_full_database(full):
    for fmt in FORMATS:
        for name, args in LISTINGS.items():
            run = full(*name.split(), *args, "-f", fmt)
            assert run.exit_code == 0, (name, run.stderr)
            rows = check_parses(run.stdout, fmt, name)
            assert rows, f"{name} -f {fmt} printed nothing on a full database"


def test_writing_commands_print_parseable_records(full):
    for index, fmt in enumerate(FORMATS):
        for name, args in WRITES.items():
            if name == "spool flush":
                spool_one(full.db_url, f"INV-F{index}")
            run = full(*name.split(), *[a.format(**full.values[index]) for a in args], "-f", fmt)
            assert run.exit_code == 0, (name, fmt, run.stderr)
            assert check_parses(run.stdout, fmt, name), (name, fmt)


# -- no colour, no progress in pipes ------------------------------------------------------------



@pytest.fixture
def some(sample):
    """A few entries and a logged segment."""
    sample.ok("interact", "P1", "-t", "CALL", "--subject", "Ünïcode and \"quotes\"")
    sample.ok("segment", "create", "--no", "SEG00001", "--description", "Mailing", "--template", "MAIL")
    sample.ok("segment", "add", "SEG00001", "P1", "P2")
    sample.ok("segment", "log", "SEG00001")
    return sample


def test_piped_output_has_no_ansi_codes_or_progress(some, db_url, tmp_path):
    """Run as a print hook or cron job would: stdout and stderr are pipes, TERM says colour."""
    big = tmp_path / "contacts.csv"
    big.write_text("name,email\n" + "".join(f"Person {i},p{i}@example.com\n" for i in range(3000)))
    some.ok("segment", "create", "--no", "BIG", "--description", "Big", "--template", "CALL")
    some.ok("segment", "add", "BIG", "--type", "person")
    commands = [
        ["--help"], ["log", "--help"], ["log"], ["log", "-f", "json"], ["show", "1"], ["contact", "list"],
        ["timeline", "C1"], ["stats", "--chart"], ["template", "setup"], ["segment", "show", "SEG00001"],
        ["contact", "import", str(big)], ["segment", "log", "BIG"], ["interact", "NOPE", "-t", "CALL"],
        ["log", "--from", "tomorow"], ["nonsense"], ["log", "--bogus"],
    ]
    for args in commands:
        run = ilog(*args, db=db_url, extra_env=TERMINAL_ENV)
        for name, stream in (("stdout", run.stdout), ("stderr", run.stderr)):
            assert b"\x1b" not in stream, (args, name, stream[:200])
            assert b"\r" not in stream, (args, name, stream[:200])  # progress bars redraw with \r
        assert b"Traceback" not in run.stderr, args


def test_progress_goes_to_stderr_and_only_on_a_terminal(sample, db_url, tmp_path):
    big = tmp_path / "contacts.csv"
    big.write_text("name,email\n" + "".join(f"Person {i},p{i}@example.com\n" for i in range(8000)))
    base = [sys.executable, "-m", "ilog", "--db", db_url]
    code, out, terminal = run_with_terminal_stderr([*base, "contact", "import", str(big)])
    assert code == 0, terminal
    assert out == b"" and b"\x1b" not in out
    assert b"importing" in terminal and b"8000 rows: 8000 created" in terminal
    sample.ok("segment", "create", "--no", "BIG", "--description", "Big", "--template", "CALL")
    sample.ok("segment", "add", "BIG", "--type", "person")
    code, out, terminal = run_with_terminal_stderr([*base, "segment", "log", "BIG", "-f", "json"])
    assert code == 0, terminal
    assert json.loads(out)["entry_count"] == 8003  # stdout: only the record, no bar
    assert b"\x1b" not in out
    assert b"entries" in terminal  # the bar ("preparing entries", "writing ... entries") drew on stderr
