"""Counts in words that agree in number: ``1 entry``, ``2 entries``, ``1,204 contacts``.

Messages of every layer (a service's refusal, a command's summary) count with these.
"""

from __future__ import annotations


def noun(count: int, word: str, many: str | None = None) -> str:
    """``entry`` for one, ``entries`` for any other count (``many`` when the plural is irregular)."""
    return word if count == 1 else (many or (word[:-1] + "ies" if word.endswith("y") else word + "s"))


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 entry``, ``2 entries``, ``1,204 contacts``."""
    return f"{count:,} {noun(count, word, many)}"
