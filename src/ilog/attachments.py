"""Files attached to templates and entries, stored in the database once per content.

Each file is kept with its name, media type, size and SHA-256; the same content
attached twice is stored once. Files over the configured limit (20 MB by default) are
refused before any transaction begins.
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import dates, models
from .errors import BadValue, NotFound

A = models.attachment


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


def store(conn: Connection, name: str, content: bytes) -> int:
    """Store a file (or find the identical one already stored); returns its attachment id."""
    digest = hashlib.sha256(content).hexdigest()
    existing = conn.execute(sa.select(A.c.id).where(A.c.sha256 == digest)).scalar()
    if existing is not None:
        return int(existing)
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return int(conn.execute(
        A.insert().values(sha256=digest, name=name, media_type=media_type, size=len(content),
                          content=content, created_at=dates.now()).returning(A.c.id)
    ).scalar_one())


def fetch(conn: Connection, attachment_id: int) -> dict:
    row = conn.execute(sa.select(A).where(A.c.id == attachment_id)).mappings().first()
    if row is None:
        raise NotFound(f"attachment {attachment_id} does not exist")
    return dict(row)


def delete_unreferenced(conn: Connection, ids: set[int]) -> int:
    """Delete those of ``ids`` that no entry and no template references any more."""
    T, P = models.interaction, models.interaction_template
    used = set(conn.execute(sa.select(T.c.attachment_id).where(T.c.attachment_id.in_(ids))).scalars())
    used |= set(conn.execute(sa.select(P.c.attachment_id).where(P.c.attachment_id.in_(ids))).scalars())
    orphans = [i for i in ids if i not in used]
    if orphans:
        conn.execute(sa.delete(A).where(A.c.id.in_(orphans)))
    return len(orphans)


def safe_file_name(name: str | None, fallback: str) -> str:
    """A stored file name reduced to one harmless path component.

    The name came from whoever attached the file: directories (``../../etc/passwd``,
    ``/abs``, ``C:\\x``), control characters and names such as ``..`` are dropped, so
    writing it inside a chosen directory never lands outside that directory.
    """
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in ':*?"<>|').strip().lstrip(".")
    return base[:200] if base else fallback
