"""Files attached to templates and entries, stored once per content (by SHA-256)."""

from __future__ import annotations

import hashlib
import mimetypes
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .tables import attachment as A
from .tables import interaction as T
from .tables import interaction_template as P

if TYPE_CHECKING:
    from .unit import UnitOfWork


class AttachmentStore:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def store(self, name: str, content: bytes, at: datetime) -> int:
        """Store a file (or find the identical one already stored); returns its attachment id."""
        digest = hashlib.sha256(content).hexdigest()
        existing = self.uow.execute(sa.select(A.c.id).where(A.c.sha256 == digest)).scalar()
        if existing is not None:
            return int(existing)
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return int(self.uow.execute(
            A.insert().values(sha256=digest, name=name, media_type=media_type, size=len(content),
                              content=content, created_at=at).returning(A.c.id)).scalar_one())

    def get(self, attachment_id: int) -> dict[str, Any] | None:
        row = self.uow.execute(sa.select(A).where(A.c.id == attachment_id)).mappings().first()
        return dict(row) if row else None

    def delete_unreferenced(self, ids: set[int]) -> int:
        """Delete those of ``ids`` that no entry and no template references any more."""
        if not ids:
            return 0
        used = set(self.uow.execute(sa.select(T.c.attachment_id).where(T.c.attachment_id.in_(ids))).scalars())
        used |= set(self.uow.execute(sa.select(P.c.attachment_id).where(P.c.attachment_id.in_(ids))).scalars())
        orphans = [i for i in ids if i not in used]
        if orphans:
            self.uow.execute(sa.delete(A).where(A.c.id.in_(orphans)))
        return len(orphans)
