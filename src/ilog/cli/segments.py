"""``ilog segment``: build, personalise and log segments (issue #10)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
