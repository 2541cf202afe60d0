"""Running ilog and helper scripts in real child processes (for kills, argv bytes, pipes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HELPERS = Path(__file__).parent


def ctrl_c_reaches_it() -> None:
    """``preexec_fn`` for a child a test sends SIGINT to: the default disposition, so Python
    turns it into KeyboardInterrupt. A background job of a shell script (as `.ci/run` starts
    the PostgreSQL pass) inherits SIGINT ignored, and so would every child it starts."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


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


#: what a terminal's environment says (colour and all)
TERMINAL_ENV = {"TERM": "xterm-256color", "COLORTERM": "truecolor", "CLICOLOR": "1"}


def _read_terminal(master: int, proc: subprocess.Popen) -> tuple[bytes, bytes]:
    """Everything the child writes to the terminal and to its stdout pipe (if any), read as it
    comes, so that neither fills up and blocks the child."""
    import select

    terminal, out = b"", b""
    sources = [master] + ([proc.stdout.fileno()] if proc.stdout is not None else [])
    while sources:
        ready, _, _ = select.select(sources, [], [], 0.1)
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                sources.remove(fd)
            elif fd == master:
                terminal += chunk
            else:
                out += chunk
        if not ready and proc.poll() is not None:
            if proc.stdout is not None and proc.stdout.fileno() in sources:
                out += proc.stdout.read()
            break
    return terminal, out


def run_with_terminal_stderr(argv: list[str], *, extra_env: dict[str, str] | None = None) -> tuple[int, bytes, bytes]:
    """Run with stderr on a pseudo-terminal and stdout on a pipe; (status, stdout, terminal output)."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                            env=env(**{**TERMINAL_ENV, "COLUMNS": "100", **(extra_env or {})}))
    os.close(slave)
    terminal, out = _read_terminal(master, proc)
    proc.wait(timeout=120)
    os.close(master)
    return proc.returncode, out, terminal


def run_in_terminal(argv: list[str], *, columns: int = 100, extra_env: dict[str, str] | None = None
                    ) -> tuple[int, str]:
    """Run with stdout and stderr on one pseudo-terminal of ``columns`` (as a person at a
    terminal would); (status, what the terminal showed, with its line ends as ``\\n``)."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    values = env(**{**TERMINAL_ENV, **(extra_env or {})})
    values.pop("COLUMNS", None)  # the terminal says how wide it is
    proc = subprocess.Popen(argv, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL, env=values)
    os.close(slave)
    terminal, _ = _read_terminal(master, proc)
    proc.wait(timeout=120)
    os.close(master)
    return proc.returncode, terminal.decode("utf-8", "replace").replace("\r\n", "\n")
