"""Import and export: contacts from CSV/XLSX/XML, the log in and out (issue #7)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
