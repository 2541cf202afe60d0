"""Files to attach: read from disk within the size limit, and stored names made harmless.

The database side (stored once per content, by SHA-256) is :mod:`ilog.store.attachments`.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import BadValue


def read_file(path: Path, max_bytes: int) -> tuple[str, bytes]:
    """(file name, content) of a file to attach, refusing one that is missing or too large."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BadValue(f"cannot read attachment {path}: {exc.strerror}") from None
    if not path.is_file():
        raise BadValue(f"attachment {path} is not a file")
    if size > max_bytes:
        raise BadValue(f"attachment {path} is too large ({size} bytes, the limit is {max_bytes})")
    return path.name, path.read_bytes()


def safe_file_name(name: str | None, fallback: str) -> str:
    """A stored file name reduced to one harmless path component.

    The name came from whoever attached the file: directories (``../../etc/passwd``,
    ``/abs``, ``C:\\x``), control characters and names such as ``..`` are dropped, so
    writing it inside a chosen directory never lands outside that directory.
    """
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in ':*?"<>|').strip().lstrip(".")
    return base[:200] if base else fallback
