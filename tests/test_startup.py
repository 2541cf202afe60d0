"""Start-up discipline, checked in a child process's ``sys.modules``: ``import ilog`` and
``ilog --help`` import no database library, no pydantic and no plugin code; a one-shot
command imports only what its path needs. No timings here: ``benchmarks/run.py`` measures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import ilog

from conftest import BACKEND

#: never imported by ``import ilog`` nor by ``ilog --help``
HEAVY = ("sqlalchemy", "sqlmodel", "psycopg", "psycopg2", "openpyxl", "pydantic", "pydantic_core", "alembic")

PROBE = textwrap.dedent("""
    import atexit, json, sys
    out = sys.argv.pop(1)
    atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
    mode = sys.argv.pop(1)
    if mode == "import":
        import ilog
    else:
        sys.argv[0] = "ilog"
        from ilog.cli import main
        main()
""")


def modules_after(tmp_path, *args: str, mode: str = "cli", env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The modules a fresh Python process had imported when it exited, and its stderr."""
    out = tmp_path / f"modules-{len(list(tmp_path.glob('modules-*')))}.json"
    run = subprocess.run([sys.executable, "-c", PROBE, str(out), mode, *args], capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return set(json.loads(out.read_text())), run.stdout


def tops(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_import_ilog_imports_no_database_library_and_no_plugin(tmp_path):
    modules, _ = modules_after(tmp_path, mode="import")
    assert "ilog" in modules  # the probe works
    assert not tops(modules) & {*HEAVY, "pluggy"}  # ilog.hookimpl is loaded on first use
    assert not {m for m in modules if m.startswith(("ilog.plugins.host", "ilog.plugins.defaults", "ilog_plugins_dir",
                                                    "ilog.logbook", "ilog.store", "ilog.services", "ilog.domain",
                                                    "ilog.app", "typer"))}


def test_help_imports_no_database_library_no_pydantic_no_plugin_file(tmp_path, monkeypatch):
    """``ilog --help``, with a plugins directory whose file adds no command: nothing heavy."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "quiet.py").write_text("import ilog\n\n@ilog.hookimpl\ndef enrich_interaction(interaction):\n    pass\n")
    monkeypatch.setenv("ILOG_PLUGINS_DIR", str(folder))
    monkeypatch.delenv("ILOG_LOAD_PLUGINS")
    modules, stdout = modules_after(tmp_path, "--help")
    assert "Usage:" in stdout and "event" in stdout
    assert "typer" in tops(modules)
    assert not tops(modules) & set(HEAVY), tops(modules) & set(HEAVY)
    assert not {"ilog.logbook", "ilog.store.database", "ilog.store.tables", "ilog.domain.records"} & modules
    assert "ilog_plugins_dir.quiet" in modules  # the probe saw the plugin loaded


@pytest.mark.parametrize("command", [
    ["event", "sales.invoice", "--document-no", "INV-1", "--contact", "P1", "--key", "k-1"],
    ["interact", "P1", "-t", "CALL", "--subject", "Hello"],
])
def test_one_shot_commands_import_only_their_path(sample, db_url, tmp_path, command):
    """A one-shot ``event``/``interact`` loads the SQLModel stack it needs and, on SQLite, neither a
    PostgreSQL driver nor SQLAlchemy's PostgreSQL dialect nor the import readers."""
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    modules, stdout = modules_after(tmp_path, "--db", db_url, *command, "-q")
    assert stdout.strip() == "1"
    assert {"sqlalchemy", "sqlmodel"} <= tops(modules)  # the probe saw the work done
    assert not tops(modules) & {"openpyxl", "alembic", "defusedxml"}
    if BACKEND == "sqlite":
        assert not tops(modules) & {"psycopg", "psycopg2"}
        assert not {m for m in modules if m.startswith("sqlalchemy.dialects.postgresql")}
    # the command of this run was built, and the others' modules were not needed
    assert not {m for m in modules if m.startswith("ilog.services.transfer")}


def test_a_spooled_event_imports_no_typer_no_database_library_no_pydantic_and_no_plugin(db_url, tmp_path, monkeypatch,
                                                                                      isolated_env):
    """``ilog event`` with ``delivery = "spool"`` (the print path): the spool is written with the
    standard library's sqlite3 alone, before Typer, and no plugin is even looked for."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "loud.py").write_text("import ilog\n\n@ilog.hookimpl\ndef enrich_interaction(interaction):\n    pass\n")
    monkeypatch.setenv("ILOG_PLUGINS_DIR", str(folder))
    monkeypatch.delenv("ILOG_LOAD_PLUGINS")
    modules, _ = modules_after(tmp_path, "--db", db_url, "event", "sales.invoice", "--document-no", "INV-1",
                               "--contact", "P1", "--key", "k-1", "-q", env={"ILOG_DELIVERY": "spool"})
    assert {"ilog.cli.quick", "ilog.store.spool", "sqlite3"} <= modules  # the probe saw the quick path spool it
    import sqlite3

    with sqlite3.connect(isolated_env / "spool.db") as conn:
        assert conn.execute("SELECT key FROM spooled").fetchall() == [("k-1",)]
    assert not tops(modules) & {*HEAVY, "typer", "click", "pluggy", "tabulate", "dateutil", "rich", "ilog_mailbox",
                                "ilog_dropfolder", "ilog_plugins_dir", "importlib_metadata"}, tops(modules) & {
                                    *HEAVY, "typer", "click", "pluggy", "ilog_plugins_dir"}
    assert not {m for m in modules if m.startswith(("ilog.cli.root", "ilog.plugins", "ilog.logbook", "ilog.app",
                                                    "ilog.store.database", "ilog.domain.records", "ilog.domain.values",
                                                    "ilog.services.events"))}
    assert "importlib.metadata" not in modules  # no entry points were read


def test_one_shot_command_keeps_every_other_command_reachable(sample, db_url, tmp_path):
    """Only the invoked command is built, yet errors still know every command."""
    run = subprocess.run([sys.executable, "-m", "ilog", "--db", db_url, "intreact", "P1"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 2
    assert "No such command 'intreact'" in run.stderr and "interact" in run.stderr
    run = subprocess.run([sys.executable, "-m", "ilog", "--db", db_url, "contact", "list", "-f", "jsonl"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert {json.loads(line)["no"] for line in run.stdout.splitlines()} == {"C1", "P1", "P2", "P3"}
    run = subprocess.run([sys.executable, "-m", "ilog", "--db", db_url, "--help"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and "purge-cancelled" in run.stdout and "interact" in run.stdout


class _Greeter:
    """A plugin adding a command and a group, to see them listed from their summaries too."""

    @ilog.hookimpl
    def register_commands(self, app):
        import typer

        @app.command("hello")
        def hello(name: str, times: int = 1) -> None:
            """Say hello to NAME."""

        greet = typer.Typer(name="greet", help="Greetings, by kind.")

        @greet.command("formal")
        def formal(name: str) -> None:
            """Greet NAME formally."""

        app.add_typer(greet)


@pytest.mark.parametrize("args", [["--help"], ["-h"], [], ["--version"]])
def test_the_list_of_commands_reads_the_same_built_from_summaries(args):
    """``ilog --help`` (or ``-h``, ``--version``, ``ilog`` alone) runs no command, so each is built
    from its name and help only (``keep_only``): the help is the one the full commands give,
    plugins' commands and groups included, and the originals are left whole."""
    import typer

    from ilog.cli import build_app, keep_only
    from ilog.plugins.host import make_plugin_host

    def root_help(trimmed: bool) -> tuple[str, typer.core.TyperGroup]:
        app = build_app(make_plugin_host(entrypoints=False, plugins=[_Greeter()]))
        if trimmed:
            keep_only(app, args)
        group = typer.main.get_command(app)
        return group.get_help(group.make_context("ilog", [], resilient_parsing=True)), group

    full, full_group = root_help(False)
    summary, summary_group = root_help(True)
    assert {"contact import", "purge-cancelled", "hello", "greet", "Say hello to NAME."} <= {
        w for line in full.splitlines() for w in (line[2:19].strip(), line[19:].strip())}
    assert summary == full
    # what was built: no options, and the originals keep theirs (a later build sees them)
    assert full_group.commands["interact"].params and full_group.commands["hello"].params
    assert not summary_group.commands["interact"].params and not summary_group.commands["hello"].params
    assert not summary_group.commands["greet"].commands["formal"].params
    assert root_help(False)[1].commands["greet"].commands["formal"].params


@pytest.mark.parametrize("shell, words, built", [
    ("bash", "ilog contact ad", ["contact"]),
    ("bash", "ilog contact add --", ["contact"]),
    ("zsh", "ilog log --f", ["log"]),
    ("fish", "ilog contact ad", ["contact"]),
    ("bash", "ilog greet f", ["greet"]),
    ("bash", "ilog co", None),
    ("zsh", "ilog ", None),
    ("bash", "ilog --d", None),
])
def test_a_tab_builds_what_its_line_names_and_completes_the_same(shell, words, built, monkeypatch):
    """A shell asking for completions (each Tab) gets the command its line names built whole,
    or, before one is named, every command from its summary: the completions are those of the
    full build, in every shell, plugins' commands included."""
    import typer
    from typer._click.shell_completion import get_completion_class

    from ilog.cli import build_app, keep_only
    from ilog.cli.compat import COMPLETE_VAR, start_completion
    from ilog.plugins.host import make_plugin_host

    monkeypatch.setenv(COMPLETE_VAR, f"complete_{shell}")
    assert start_completion()  # Typer's completion class of each shell
    if shell == "bash":
        monkeypatch.setenv("COMP_WORDS", words)
        monkeypatch.setenv("COMP_CWORD", str(len(words.split(" ")) - 1))
    else:
        monkeypatch.setenv("_TYPER_COMPLETE_ARGS", words)
        monkeypatch.setenv("_TYPER_COMPLETE_FISH_ACTION", "get-args")

    def completions(trimmed: bool) -> tuple[list[tuple[str, str | None]], typer.core.TyperGroup]:
        app = build_app(make_plugin_host(entrypoints=False, plugins=[_Greeter()]))
        if trimmed:
            keep_only(app, [])
        group = typer.main.get_command(app)
        complete = get_completion_class(shell)(group, {}, "ilog", COMPLETE_VAR)
        args, incomplete = complete.get_completion_args()
        return [(c.value, c.help) for c in complete.get_completions(args, incomplete)], group

    full, full_group = completions(False)
    trimmed, group = completions(True)
    assert full and trimmed == full
    if built is None:  # the list of commands: each from its summary
        assert set(group.commands) == set(full_group.commands)
        assert not group.commands["interact"].params and full_group.commands["interact"].params
    else:
        assert list(group.commands) == built


def test_a_command_after_a_double_dash_still_runs(sample):
    """``ilog -- contact list`` names no command before ``--``, yet runs one: its commands are
    built whole, not from their summaries as for ``--help``."""
    run = sample.ok("--", "contact", "list", "-f", "jsonl")
    assert {json.loads(line)["no"] for line in run.stdout.splitlines()} == {"C1", "P1", "P2", "P3"}


def test_plugin_command_is_reachable_when_only_it_is_built(db_url, tmp_path, monkeypatch):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "hello.py").write_text(textwrap.dedent("""
        import ilog

        @ilog.hookimpl
        def register_commands(app):
            @app.command("hello")
            def hello(name: str, times: int = 1) -> None:
                print(" ".join([f"hello {name}"] * times))
    """))
    monkeypatch.setenv("ILOG_PLUGINS_DIR", str(folder))
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "hello")
    run = subprocess.run([sys.executable, "-m", "ilog", "--db", db_url, "hello", "Ada", "--times", "2"],
                         capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stdout.strip()) == (0, "hello Ada hello Ada"), run.stderr
    run = subprocess.run([sys.executable, "-m", "ilog", "--db", db_url, "hello", "Ada", "--times", "x"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip() == ("ilog: error: Invalid value for '--times': "
                                  "Input should be a valid integer, unable to parse string as an integer")


@pytest.mark.parametrize("args, message", [
    (["log", "--limit", "abc"], "Invalid value for '--limit' / '-l': Input should be a valid integer, "
                                "unable to parse string as an integer"),
    (["log", "--limit", "-1"], "Invalid value for '--limit' / '-l': Input should be greater than or equal to 0"),
    (["log", "-f", "xml"], "Invalid value for '--format' / '-f': Value error, 'xml' is not one of 'table', "
                           "'json', 'jsonl', 'csv'."),
    (["show", "x"], "invalid entry number 'x': not a whole number"),
    (["interact", "P1", "-t", "CALL", "--duration", "long"], "invalid duration 'long': not a number"),
])
def test_bad_values_are_refused_with_one_line_and_exit_2(sample, snapshot, args, message):
    """Typer's own conversion (options typed int or a choice) and the record model's rules
    (entry numbers, amounts: checked once, for the CLI and the API alike) both refuse with
    one line and exit 2, and change nothing."""
    before = snapshot()
    run = sample(*args)
    assert run.exit_code == 2
    assert run.stderr.strip().lower() == f"ilog: error: {message}".lower()
    assert snapshot() == before


def test_converted_values_reach_the_command(sample):
    sample.ok("interact", "P1", "-t", "CALL", "--duration", "1_5", "--cost", " 2.5 ", "-q")
    sample.ok("interact", "P1", "-t", "CALL", "-q")
    entry = sample.ok("show", "1", "-f", "json").json()
    assert (entry["duration_min"], entry["cost"]) == (15.0, 2.5)
    rows = sample.ok("log", "--limit", "1", "-f", "JSON").json()
    assert [r["entry_no"] for r in rows] == [2]
    assert sample("cancel", "1", "2", "--yes").exit_code == 0
    assert [r["entry_no"] for r in sample.ok("log", "--cancelled", "-f", "json").json()] == [2, 1]
