"""Keep the plugin contract and the help honest: the hook specifications are the spec's
table, every hook is documented in its docstring and in docs/plugins.md, and every command
has help text with an example."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from ilog.plugins import hookspecs

#: nothing here depends on the database: the PostgreSQL pass leaves it out (see conftest)
pytestmark = pytest.mark.any_backend

ROOT = Path(__file__).resolve().parent.parent
PLUGINS_MD = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")

#: the spec's hook table: name -> (arguments, first result wins)
SPEC_HOOKS = {
    "register_commands": (["app"], False),
    "document_events": ([], False),
    "resolve_contact": (["ref", "event", "logbook"], True),
    "interaction_from_document": (["event", "logbook"], True),
    "enrich_interaction": (["interaction", "logbook"], False),
    "validate_interaction": (["interaction", "logbook"], False),
    "interaction_saved": (["interaction", "created", "logbook"], False),
    "interaction_cancelled": (["interaction", "logbook"], False),
    "interaction_restored": (["interaction", "logbook"], False),
    "interactions_purged": (["interactions", "logbook"], False),
    "contact_erased": (["contact_no", "counts", "logbook"], False),
}


def spec(name: str):
    return getattr(hookspecs, name)


def test_hookspecs_are_exactly_the_spec_table():
    assert sorted(hookspecs.hook_names()) == sorted(SPEC_HOOKS)
    for name, (args, firstresult) in SPEC_HOOKS.items():
        function = spec(name)
        assert list(inspect.signature(function).parameters) == args, name
        assert function.ilog_spec["firstresult"] is firstresult, name
    assert hookspecs.AFTER_COMMIT_HOOKS == {"interaction_saved", "interaction_cancelled", "interaction_restored",
                                            "interactions_purged", "contact_erased"}


@pytest.mark.parametrize("name", sorted(SPEC_HOOKS))
def test_every_hook_docstring_says_when_args_return_and_exceptions(name):
    doc = " ".join((inspect.getdoc(spec(name)) or "").split())
    assert "Called" in doc, f"{name}: when is it called?"
    for arg in SPEC_HOOKS[name][0]:
        assert f":param {arg}:" in doc, f"{name}: argument {arg} undocumented"
    assert ":return:" in doc, f"{name}: what does the return value mean?"
    assert "exception" in doc.lower(), f"{name}: what does an exception do?"
    if SPEC_HOOKS[name][1]:
        assert "first non-None" in doc, f"{name}: the first-result rule"


@pytest.mark.parametrize("name", sorted(SPEC_HOOKS))
def test_every_hook_is_in_docs_plugins_md(name):
    args, firstresult = SPEC_HOOKS[name]
    signature = f"{name}({', '.join(args)})"
    assert f"### `{signature}`" in PLUGINS_MD, f"docs/plugins.md has no section for {signature}"
    row = re.search(rf"^\| `{re.escape(signature)}` \| (yes|no) \|", PLUGINS_MD, re.M)
    assert row, f"docs/plugins.md's hook table has no row for {signature}"
    assert row.group(1) == ("yes" if firstresult else "no")
    section = PLUGINS_MD.split(f"### `{signature}`", 1)[1].split("\n### ", 1)[0]
    assert "Called" in section and "exception" in section.lower(), name


def test_docs_plugins_md_names_no_hook_that_does_not_exist():
    documented = set(re.findall(r"^### `(\w+)\(", PLUGINS_MD, re.M))
    assert documented == set(SPEC_HOOKS)


def test_docs_plugins_md_lists_every_document_event_field():
    from ilog.domain.records import EVENT_FIELDS

    for field, names in EVENT_FIELDS.items():
        for name in names:
            assert f"`{name}`" in PLUGINS_MD, f"docs/plugins.md does not list DocumentEvent field {name}"


def test_docs_plugins_md_lists_every_read_a_hook_may_use():
    from ilog import logbook

    table = PLUGINS_MD.split("| read | gives |", 1)[1].split("\n\n", 1)[0]
    views = {"logbook": logbook.LogbookView, "contacts": logbook._ContactsView,
             "templates": logbook._TemplatesView, "segments": logbook._SegmentsView}
    for prefix, view in views.items():
        for name, member in vars(view).items():
            if name.startswith("_") or name == "bound" or not (callable(member) or isinstance(member, property)):
                continue
            where = f"logbook.{name}" if prefix == "logbook" else f".{name}("
            assert where in table or f"logbook.{prefix}.{name}" in table, \
                f"docs/plugins.md's read table omits {prefix}.{name}"


def _commands():
    """Every command of the CLI, with the first-party plugins' commands, as (path, click command)."""
    import typer

    from ilog.cli import build_app
    from ilog.plugins.host import make_plugin_host

    import os

    saved = os.environ.pop("ILOG_LOAD_PLUGINS", None)
    try:
        root = typer.main.get_command(build_app(make_plugin_host(plugins_dir=None)))
    finally:
        if saved is not None:
            os.environ["ILOG_LOAD_PLUGINS"] = saved
    found = []

    def walk(command, path):
        subcommands = getattr(command, "commands", None)
        if subcommands:
            found.append((path, command))
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
        else:
            found.append((path, command))

    for name, command in root.commands.items():
        walk(command, [name])
    return found


COMMANDS = _commands()


def test_the_walk_finds_core_and_plugin_commands():
    paths = {" ".join(p) for p, _ in COMMANDS}
    assert {"event", "template setup", "plugins", "interact", "mailbox import", "dropfolder scan"} <= paths


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_and_an_example(path, command):
    text = (command.help or "").strip()
    assert text, f"ilog {' '.join(path)} has no help text"
    if getattr(command, "commands", None):
        return  # a group: its help says what the group is for
    examples = re.findall(r"^\s*Example: (ilog .+)$", text, re.M)
    assert examples, f"ilog {' '.join(path)}: no 'Example: ilog ...' line in its help"
    runs_it = re.compile(rf"^ilog(?: --(?:db|user) \S+)* {re.escape(path[0])}\b")
    assert any(runs_it.match(e) for e in examples), (path, examples)
