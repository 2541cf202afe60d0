"""The command line: ``main()`` (the ``ilog`` console script) and ``build_app(host)``.

``main()`` first offers the command line to :mod:`ilog.cli.quick`, which records a plain
``ilog event`` in ``delivery = "spool"`` mode without importing Typer, SQLAlchemy,
pydantic or any plugin (the print path, run once per printed document); everything else,
and anything the quick path does not fully understand, goes to the Typer application in
:mod:`ilog.cli.root`. Importing this package imports neither.
"""

from __future__ import annotations

import sys
from typing import Any

#: names :mod:`ilog.cli.root` defines, importable from here as before
_ROOT_NAMES = frozenset({"IlogGroup", "build_app", "invoked_command", "keep_only"})


def main(argv: list[str] | None = None) -> None:
    """The ``ilog`` console script."""
    try:
        from .quick import run

        status = run(sys.argv[1:] if argv is None else list(argv))
    except KeyboardInterrupt:  # the spool write is one transaction: there or not there
        print("ilog: interrupted: the event was spooled only if `ilog spool list` shows it",
              file=sys.stderr)
        sys.exit(130)
    if status is not None:
        sys.exit(status)
    try:
        from .root import main as full
    except KeyboardInterrupt:  # Ctrl-C while Typer, SQLAlchemy or pydantic are still loading
        print("ilog: interrupted while starting: nothing was done", file=sys.stderr)
        sys.exit(130)
    full(argv)


def __getattr__(name: str) -> Any:
    if name in _ROOT_NAMES:
        from . import root

        return getattr(root, name)
    raise AttributeError(f"module 'ilog.cli' has no attribute {name!r}")
