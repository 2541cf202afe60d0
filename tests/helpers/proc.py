"""Running ilog and helper scripts in real child processes (for kills, argv bytes, pipes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HELPERS = Path(__file__).parent


def env(**extra: str) -> dict[str, str]:
    """The test's (already isolated) environment, no plugins, plus ``extra``."""
    values = dict(os.environ)
    values["ILOG_LOAD_PLUGINS"] = ""
    values.pop("ILOG_DEBUG", None)
    values.update(extra)
    return values


def ilog(*args: str | bytes, db: str | None = None, input: bytes | None = None, timeout: float = 60,
         extra_env: dict[str, str] | None = None, cwd: str | Path | None = None) -> subprocess.CompletedProcess:
    """``python -m ilog ARGS`` with stdout and stderr piped (bytes)."""
    argv: list[str | bytes] = [sys.executable, "-m", "ilog"]
    if db is not None:
        argv += ["--db", db]
    argv += list(args)
    return subprocess.run(argv, input=input, capture_output=True, timeout=timeout, env=env(**(extra_env or {})),
                          cwd=cwd)


def script(name: str, *args: str) -> list[str]:
    """The argv that runs a helper script of this folder."""
    return [sys.executable, str(HELPERS / name), *map(str, args)]
