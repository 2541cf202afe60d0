"""What every command shares: the settings, the plugins, the logbook opened on first use, the
options every listing takes (``--format``, ``--limit``, ``--search``, and the page a listing
shows on a terminal), and the two ways to talk to a person (``say``, ``confirm``).

Importing this module imports no database library: a command reaches the logbook through
``state(ctx).logbook``, which builds it (:mod:`ilog.app`) on first use.
"""


import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..domain.words import noun, plural
from ..errors import Refused
from . import render as output
from .render import Format, printable

if TYPE_CHECKING:
    from ..config import Settings
    from ..logbook import Logbook
    from ..plugins.host import PluginHost

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format: table, json, jsonl or csv.",
                                           case_sensitive=False)]
#: what ``--wide`` says; every command with ``--format`` takes it (added in one place, cli/compat.py)
WIDE_HELP = "Tables: show every value in full, however wide (default: fit the terminal)."
LimitOpt = Annotated[int | None, typer.Option("--limit", "-l", min=0, show_default=False,
                                              help="At most this many; 0 for all (default: all, or a page of "
                                                   "50 on a terminal).")]
#: rows a listing shows on a terminal when no --limit is given
PAGE = 50
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking (needed when stdin is not a terminal).")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", "-n", help="Show what would happen; change nothing.")]


@dataclass
class State:
    """What every command shares: the settings, the plugins, and the Logbook opened on first use."""

    host: "PluginHost | None"
    settings: "Settings"
    #: whether this command may create a missing database (``ilog init``)
    create: bool = False
    _logbook: "Logbook | None" = field(default=None, repr=False)

    @property
    def logbook(self) -> "Logbook":
        if self._logbook is None:
            from ..app import build_logbook, plugin_host

            host = self.host if self.host is not None else plugin_host(None, load_plugins=False)
            self._logbook = build_logbook(self.settings, host, create=self.create)
        return self._logbook

    def close(self) -> None:
        if self._logbook is not None:
            self._logbook.close()
            self._logbook = None


def state(ctx: typer.Context) -> State:
    return ctx.find_root().obj


def logbook_for(ctx: typer.Context) -> "Logbook":
    """The logbook of the running command (``--db``, ``--user`` and the plugins applied): what a
    plugin's command uses (``ilog.logbook_for(ctx)``)."""
    return state(ctx).logbook


def say(message: str) -> None:
    """A message for a person (stderr), never mixed into machine output; control characters escaped."""
    print(printable(message), file=sys.stderr)


def error_line(message: str) -> None:
    print(f"ilog: error: {printable(message)}", file=sys.stderr)


def warning_line(message: str) -> None:
    print(f"ilog: warning: {printable(message)}", file=sys.stderr)


def confirm(what: str, *, yes: bool) -> None:
    """Ask before a destructive change; without a terminal on stdin, refuse unless ``--yes``."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise Refused(f"{what}: refusing without --yes when standard input is not a terminal")
    if not typer.confirm(f"{what}?", default=False, err=True):
        raise Refused("nothing done")


def page_limit(limit: int | None) -> int | None:
    """How many rows a listing asks for: ``--limit N``; ``--limit 0``: all; no ``--limit``: a
    page (:data:`PAGE`) when standard output is a terminal, all when it is a pipe or a file."""
    if limit is not None:
        return limit or None
    return PAGE if output.on_terminal() else None


def footer(shown: int, limit: int | None, total: Callable[[], int], noun: str, many: str | None = None) -> None:
    """On a terminal, under a listing its limit cut short, how many there are in all
    (``50 of 204,312 entries: --limit 0 for all``); one COUNT query, only then."""
    if limit is None or shown < limit or not output.on_terminal():
        return
    count = total()
    if count > shown:
        say(f"{shown:,} of {plural(count, noun, many)}: --limit 0 for all")


#: rows a dry run shows on a terminal
PREVIEW_ROWS = 10


def preview(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], keys: Sequence[Any] | None, *,
            count: int | None = None, what: str = "row", many: str | None = None) -> None:
    """What a dry run would touch. On a terminal: the first rows (at most
    :data:`PREVIEW_ROWS`) as a table, and how many more of the ``count`` (default: as many
    as ``keys``); piped: every one of ``keys`` (entry numbers, contact numbers), one a line,
    what scripts read. ``rows`` may hold only the first ones."""
    total = count if count is not None else len(keys or ())
    if output.on_terminal():
        shown = output.render(islice(rows, PREVIEW_ROWS), "table", columns)
        if total > shown:
            say(f"... and {total - shown:,} more {noun(total - shown, what, many)}")
    elif keys:
        sys.stdout.write("".join(f"{key}\n" for key in keys))


