"""The one number-series helper: entry numbers, contact, segment and logged-segment numbers.

A series is a row in ``number_series``; taking numbers is one ``UPDATE ... RETURNING``
inside the caller's write transaction, so it is race-free on SQLite (``BEGIN
IMMEDIATE``) and PostgreSQL (the row lock) alike. A series only ever goes up: a number,
once given, is never given again, even after the entries that had it are purged.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import models
from .errors import NotFound

_series = models.number_series


def take(conn: Connection, code: str, count: int = 1) -> int:
    """Reserve ``count`` consecutive numbers of a series; returns the first one."""
    last = conn.execute(
        sa.update(_series)
        .where(_series.c.code == code)
        .values(last_no=_series.c.last_no + count)
        .returning(_series.c.last_no)
    ).scalar()
    if last is None:
        raise NotFound(f"number series {code!r} does not exist")
    return int(last) - count + 1


def format_no(conn: Connection, code: str, number: int) -> str:
    """A number of a text series, with its prefix and zero padding (``CT000042``)."""
    prefix, width = conn.execute(
        sa.select(_series.c.prefix, _series.c.width).where(_series.c.code == code)
    ).one()
    return f"{prefix}{str(number).zfill(width)}"


def formatter(conn: Connection, code: str):
    """A function formatting numbers of a text series, for numbering many rows at once (imports)."""
    prefix, width = conn.execute(
        sa.select(_series.c.prefix, _series.c.width).where(_series.c.code == code)
    ).one()
    return lambda number: f"{prefix}{str(number).zfill(width)}"


def take_code(conn: Connection, code: str, exists) -> str:
    """The next free text number of a series; ``exists(no)`` skips numbers a user gave by hand."""
    while True:
        candidate = format_no(conn, code, take(conn, code))
        if not exists(candidate):
            return candidate


def raise_to(conn: Connection, code: str, at_least: int) -> None:
    """Make sure the series never gives ``at_least`` or lower again (imports keep their numbers)."""
    conn.execute(
        sa.update(_series)
        .where(_series.c.code == code, _series.c.last_no < at_least)
        .values(last_no=at_least)
    )
