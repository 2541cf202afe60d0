"""Progress on a terminal, for everything that can take more than a couple of seconds.

Services take a callback ``progress(done, total)`` (``total`` None while it is not known)
and call it as they go; :func:`progress` gives a command one that draws a bar on stderr,
or None when stderr is not a terminal (a pipe, a file, cron): then nothing is drawn and
nothing extra is imported. Messages printed to stderr meanwhile appear above the bar; data
written to stdout goes to stdout, untouched. The bar goes away when the block ends, leaving
the command's own summary line::

    with progress("purging") as update:
        deleted = logbook.purge_cancelled(cutoff, flt, progress=update)

:func:`counting` wraps an iterator a command consumes itself (rows it writes out).
Rich (which comes with Typer) draws the bar; it is imported only when there is a bar.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

#: the callback services accept: ``progress(done, total)``
Progress = Callable[[int, "int | None"], None]

T = TypeVar("T")


def shown() -> bool:
    """Whether progress is drawn: only when stderr is a terminal."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


class Bar:
    """A transient bar on stderr: ``bar(done, total)``; ``bar.describe(text)`` relabels it."""

    def __init__(self, label: str, unit: str):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                                   TimeElapsedColumn)

        self.unit = unit
        counts = [MofNCompleteColumn(), TextColumn(unit)] if unit else [TaskProgressColumn()]
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), *counts, TimeElapsedColumn(),
                                  console=Console(stderr=True), transient=True,
                                  redirect_stdout=False)  # data on stdout stays on stdout
        self._task = self._progress.add_task(label, total=None)

    def __call__(self, done: int, total: int | None = None) -> None:
        self._progress.update(self._task, completed=done, total=total)

    def describe(self, text: str, *, total: int | None = None) -> None:
        """A new label (and a new, perhaps unknown, total): the next stage of the work."""
        self._progress.update(self._task, description=text, completed=0, total=total)

    def __enter__(self) -> "Bar":
        self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.stop()


@contextmanager
def progress(label: str, *, unit: str = "") -> Iterator[Bar | None]:
    """A ``progress(done, total)`` callback drawing ``label`` and a bar on stderr while the
    block runs, when stderr is a terminal; None otherwise. With a ``unit`` (``entries``) the
    bar counts them (``1,200/5,000 entries``), else it shows a percentage."""
    if not shown():
        yield None
        return
    with Bar(label, unit) as bar:
        yield bar


def counting(items: Iterable[T], update: Progress | None, total: int | None = None, *, every: int = 500
             ) -> Iterator[T]:
    """``items``, telling ``update(done, total)`` every ``every`` items and at the end."""
    if update is None:
        yield from items
        return
    done = 0
    for item in items:
        yield item
        done += 1
        if done % every == 0:
            update(done, total)
    update(done, total if total is not None else done)
