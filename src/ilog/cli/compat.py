"""Everything in the CLI that reaches below Typer's public API, in one place.

Typer is pinned in ``pyproject.toml`` to the range the test suite runs on; if a release
moves one of these, this module is the one to fix:

- :data:`ClickException`: the base of usage errors. Typer 0.29 vendors click as
  ``typer._click``; older releases use ``click`` itself.
- :class:`DefaultCommandGroup`: a group that runs a default subcommand when the first word
  is not one of its subcommands (``ilog log C1 --rollup`` lists, ``ilog log export``
  exports). It overrides ``parse_args`` of Typer's group class.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup

try:  # typer >= 0.29 vendors click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer
    from click.exceptions import ClickException  # type: ignore[no-redef]

__all__ = ["ClickException", "DefaultCommandGroup"]


class DefaultCommandGroup(TyperGroup):
    """A group whose ``default_command`` runs when the first word names no subcommand."""

    default_command = "list"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)
