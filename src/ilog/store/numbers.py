"""The one number-series helper: entry numbers, contact, segment and logged-segment numbers.

A series is a row in ``number_series``; taking numbers is one ``UPDATE ... RETURNING``
inside the unit's write transaction, so it is race-free on SQLite (``BEGIN IMMEDIATE``)
and PostgreSQL (the row lock) alike. A series only ever goes up: a number, once given, is
never given again, even after the entries that had it are purged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..errors import NotFound
from .tables import number_series as S

if TYPE_CHECKING:
    from .unit import UnitOfWork

#: code, prefix, width of the series a new database starts with
DEFAULT_SERIES = (
    ("entry", "", 0),
    ("contact", "CT", 6),
    ("segment", "SEG", 5),
    ("logged-segment", "LSEG", 5),
)


class NumberSeries:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def take(self, code: str, count: int = 1) -> int:
        """Reserve ``count`` consecutive numbers of a series; returns the first one."""
        last = self.uow.execute(
            sa.update(S).where(S.c.code == code).values(last_no=S.c.last_no + count).returning(S.c.last_no)
        ).scalar()
        if last is None:
            raise NotFound(f"number series {code!r} does not exist")
        return int(last) - count + 1

    def last(self, code: str) -> int:
        last = self.uow.execute(sa.select(S.c.last_no).where(S.c.code == code)).scalar()
        if last is None:
            raise NotFound(f"number series {code!r} does not exist")
        return int(last)

    def formatter(self, code: str) -> Callable[[int], str]:
        """A function formatting numbers of a text series (``CT000042``)."""
        row = self.uow.execute(sa.select(S.c.prefix, S.c.width).where(S.c.code == code)).first()
        if row is None:
            raise NotFound(f"number series {code!r} does not exist")
        prefix, width = row
        return lambda number: f"{prefix}{str(number).zfill(width)}"

    def take_code(self, code: str, exists: Callable[[str], bool]) -> str:
        """The next free text number of a series; ``exists(no)`` skips numbers a user gave by hand."""
        fmt = self.formatter(code)
        while True:
            candidate = fmt(self.take(code))
            if not exists(candidate):
                return candidate

    def raise_to(self, code: str, at_least: int) -> None:
        """Make sure the series never gives ``at_least`` or lower again (imports keep their numbers)."""
        self.uow.execute(sa.update(S).where(S.c.code == code, S.c.last_no < at_least).values(last_no=at_least))
