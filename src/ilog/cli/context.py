"""What every command shares: the settings, the plugins, the logbook opened on first use, the
options every listing takes, and the two ways to talk to a person (``say``, ``confirm``).

Importing this module imports no database library: a command reaches the logbook through
``state(ctx).logbook``, which builds it (:mod:`ilog.app`) on first use.
"""


import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import Refused
from .render import Format, printable

if TYPE_CHECKING:
    from ..config import Settings
    from ..logbook import Logbook
    from ..plugins.host import PluginHost

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)]
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


def confirm(what: str, *, yes: bool) -> None:
    """Ask before a destructive change; without a terminal on stdin, refuse unless ``--yes``."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise Refused(f"{what}: refusing without --yes when standard input is not a terminal")
    if not typer.confirm(f"{what}?", default=False, err=True):
        raise Refused("nothing done")


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 entry``, ``2 entries``, ``1,204 contacts``."""
    noun = word if count == 1 else (many or (word[:-1] + "ies" if word.endswith("y") else word + "s"))
    return f"{count:,} {noun}"
