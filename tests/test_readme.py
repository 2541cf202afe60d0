"""The README stays true: its five-minute tour runs as written on a fresh database, and its
terminal session ("At the terminal") prints what the README shows, command for command.

The session runs through the real command line on a 100-column terminal (standard output
a terminal, as the README says; only the terminal is faked); dates and the database's
location are the only things that may differ.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from conftest import BACKEND
from ilog.testing import invoke

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
#: what the README's session calls the user's home
README_HOME = "/home/anna"
README_DB = "sqlite:////home/anna/tour.db"

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)?)?")


def block_after(marker: str, fence: str) -> list[str]:
    """The lines of the first ```fence block after ``marker`` in the README."""
    text = README.split(marker, 1)[1]
    body = text.split(f"```{fence}\n", 1)[1].split("\n```", 1)[0]
    return body.splitlines()


def session() -> list[tuple[str, list[str]]]:
    """(command line, the output lines the README shows for it)."""
    steps: list[tuple[str, list[str]]] = []
    for line in block_after("<!-- transcript:", "console"):
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return steps


def normal(text: str) -> str:
    return _DATE.sub("<date>", text)


def test_the_readme_session_is_what_ilog_prints(tmp_path, ilog_env, db_url, monkeypatch):
    from ilog.cli import render
    from ilog.store.urls import mask_url, normalise_url

    monkeypatch.setattr(render, "on_terminal", lambda stream=None: True)  # a person at a terminal
    monkeypatch.setenv("COLUMNS", "100")
    home = tmp_path / "anna"
    home.mkdir()
    steps = session()
    assert len(steps) >= 8 and steps[0][0].startswith("export ")
    shown_db = None
    for command, expected in steps:
        words = shlex.split(command)
        if words[0] == "export":
            for pair in words[1:]:
                name, _, value = pair.partition("=")
                value = value.replace("~", str(home))
                if name == "ILOG_DATABASE_URL" and BACKEND != "sqlite":
                    value = db_url  # the same session on the server under test
                if name == "ILOG_DATABASE_URL":
                    shown_db = mask_url(normalise_url(value))
                monkeypatch.setenv(name, value)
            continue
        assert words[0] == "ilog", command
        run = invoke(words[1:])
        output = run.output.replace(shown_db or "\0", README_DB).replace(str(home), README_HOME)
        assert normal(output).splitlines() == normal("\n".join(expected)).splitlines(), \
            f"$ {command}\n--- the README shows:\n" + "\n".join(expected) + "\n--- ilog prints:\n" + output


def tour() -> list[list[str]]:
    """The tour's commands, each as words (comments dropped, ``a && b`` two commands)."""
    commands: list[list[str]] = []
    for line in block_after("## A five-minute tour", "bash"):
        words = shlex.split(line, comments=True)
        while words:
            if "&&" in words:
                cut = words.index("&&")
                commands.append(words[:cut])
                words = words[cut + 1:]
            else:
                commands.append(words)
                words = []
    return commands


def test_the_readme_tour_runs_as_written_on_a_fresh_database(tmp_path, db_url, monkeypatch):
    url = str(tmp_path / "fresh.db") if BACKEND == "sqlite" else db_url
    monkeypatch.setenv("ILOG_DATABASE_URL", url)
    commands = tour()
    assert commands[0] == ["ilog", "init", "--starter"] and len(commands) >= 8
    for words in commands:
        assert words[0] == "ilog"
        run = invoke(words[1:])
        assert run.exit_code == 0, (words, run.stderr)
    entries = invoke(["log", "C1", "--rollup", "--include-cancelled", "-f", "json"]).json()
    assert [(e["entry_no"], e["template_code"], e["cancelled"]) for e in entries] == [
        (2, "S_QUOTE", False), (1, "OUTGOING", True)]  # the event went through the starter's event map
