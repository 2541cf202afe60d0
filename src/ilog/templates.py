"""Interaction groups, interaction templates and the template setup (event -> template)."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import dates, models
from .errors import AlreadyExists, NotFound, Refused
from .records import (
    CORRESPONDENCE,
    FLOWS,
    INITIATED_BY,
    KINDS,
    MAX_NAME,
    InteractionGroup,
    Template,
    check_amount,
    check_choice,
    check_code,
    check_text,
)

if TYPE_CHECKING:
    from .logbook import Logbook

P = models.interaction_template
G = models.interaction_group
S = models.template_setup


def row_to_template(row: Any) -> Template:
    return Template(**{f.name: row[f.name] for f in fields(Template)})


class TemplateBook:
    """Groups, templates and the auto-recording map."""

    def __init__(self, logbook: "Logbook"):
        self.logbook = logbook
        self.db = logbook.db

    # -- groups ----------------------------------------------------------------------

    def add_group(self, code: str, description: str | None = None, *, exist_ok: bool = False) -> InteractionGroup:
        code = check_code(code, "group code")
        description = check_text(description, "description", MAX_NAME)
        with self.db.write() as conn:
            existing = conn.execute(sa.select(G).where(G.c.code == code)).mappings().first()
            if existing is not None:
                if exist_ok:
                    return InteractionGroup(**existing)
                raise AlreadyExists(f"interaction group {code} already exists")
            conn.execute(G.insert().values(code=code, description=description))
        return InteractionGroup(code, description)

    def groups(self) -> list[dict[str, Any]]:
        """Every group, with how many templates it has."""
        with self.db.read() as conn:
            count = sa.select(sa.func.count()).select_from(P).where(P.c.group_code == G.c.code).scalar_subquery()
            rows = conn.execute(sa.select(G.c.code, G.c.description, count.label("templates")).order_by(G.c.code))
            return [dict(r) for r in rows.mappings()]

    def remove_group(self, code: str) -> None:
        code = check_code(code, "group code")
        with self.db.write() as conn:
            if conn.execute(sa.select(G.c.code).where(G.c.code == code)).first() is None:
                raise NotFound(f"unknown interaction group {code!r}")
            used = conn.execute(sa.select(sa.func.count()).select_from(P).where(P.c.group_code == code)).scalar_one()
            if used:
                raise Refused(f"interaction group {code} is used by {used} template(s)")
            conn.execute(sa.delete(G).where(G.c.code == code))

    # -- templates -------------------------------------------------------------------

    def _get(self, conn: Connection, code: str) -> Template:
        row = conn.execute(sa.select(P).where(P.c.code == code)).mappings().first()
        if row is None:
            raise NotFound(f"unknown template {code!r}")
        return row_to_template(row)

    def get(self, code: str) -> Template:
        with self.db.read() as conn:
            return self._get(conn, check_code(code, "template code"))

    def list(self, group_code: str | None = None) -> list[Template]:
        with self.db.read() as conn:
            stmt = sa.select(P).order_by(P.c.code)
            if group_code:
                stmt = stmt.where(P.c.group_code == check_code(group_code, "group code"))
            return [row_to_template(r) for r in conn.execute(stmt).mappings()]

    def _clean(self, conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
        checks = {
            "description": lambda v: check_text(v, "description", MAX_NAME),
            "group_code": lambda v: self._check_group(conn, v) if v else None,
            "kind": lambda v: check_choice(v, KINDS, "kind"),
            "flow": lambda v: check_choice(v, FLOWS, "information flow"),
            "initiated_by": lambda v: check_choice(v, INITIATED_BY, "initiated by"),
            "unit_cost": lambda v: check_amount(v, "unit cost"),
            "unit_duration_min": lambda v: check_amount(v, "unit duration"),
            "attempt_failed": bool,
            "correspondence": lambda v: check_choice(v, CORRESPONDENCE, "correspondence type"),
            "campaign_no": lambda v: check_code(v, "campaign number") if v else None,
        }
        clean = {}
        for key, value in values.items():
            if key not in checks:
                raise KeyError(key)
            if value is not None:
                clean[key] = checks[key](value)
        return clean

    def _check_group(self, conn: Connection, code: str) -> str:
        code = check_code(code, "group code")
        if conn.execute(sa.select(G.c.code).where(G.c.code == code)).first() is None:
            raise NotFound(f"unknown interaction group {code!r}")
        return code

    def _attachment(self, conn: Connection, attach: str | Path | None) -> int | None:
        if not attach:
            return None
        from .attachments import store

        return store(conn, *self.logbook._read_attachment(attach))

    def add(self, code: str, *, exist_ok: bool = False, attach: str | Path | None = None, **values: Any) -> Template:
        """Add a template; unset fields take Business Central's defaults (kind other, no flow...)."""
        code = check_code(code, "template code")
        if attach:
            self.logbook._read_attachment(attach)  # refuse a bad file before the transaction
        with self.db.write() as conn:
            existing = conn.execute(sa.select(P).where(P.c.code == code)).mappings().first()
            if existing is not None:
                if exist_ok:
                    return row_to_template(existing)
                raise AlreadyExists(f"template {code} already exists")
            template = Template(code=code, created_at=dates.now())
            for key, value in self._clean(conn, values).items():
                setattr(template, key, value)
            template.attachment_id = self._attachment(conn, attach)
            conn.execute(P.insert().values(**template.to_dict()))
        return template

    def edit(self, code: str, *, attach: str | Path | None = None, detach: bool = False, **values: Any) -> Template:
        """Change a template. Entries logged earlier keep the values they were logged with."""
        code = check_code(code, "template code")
        with self.db.write() as conn:
            self._get(conn, code)
            clean = self._clean(conn, values)
            if attach:
                clean["attachment_id"] = self._attachment(conn, attach)
            elif detach:
                clean["attachment_id"] = None
            if clean:
                conn.execute(sa.update(P).where(P.c.code == code).values(**clean))
            return self._get(conn, code)

    def remove(self, code: str) -> Template:
        """Delete a template no entry, segment or template setup uses."""
        code = check_code(code, "template code")
        T = models.interaction
        with self.db.write() as conn:
            template = self._get(conn, code)
            used = conn.execute(sa.select(sa.func.count()).select_from(T).where(T.c.template_code == code)).scalar_one()
            if used:
                raise Refused(f"template {code} is used by {used} log entries: it cannot be removed")
            events = list(conn.execute(sa.select(S.c.event).where(S.c.template_code == code)).scalars())
            if events:
                raise Refused(f"template {code} is set up for event {events[0]}: unset it first")
            segs = conn.execute(sa.select(sa.func.count()).select_from(models.segment).where(
                models.segment.c.template_code == code)).scalar_one()
            lines = conn.execute(sa.select(sa.func.count()).select_from(models.segment_line).where(
                models.segment_line.c.template_code == code)).scalar_one()
            if segs or lines:
                raise Refused(f"template {code} is used by segments: it cannot be removed")
            conn.execute(sa.delete(P).where(P.c.code == code))
            return template

    # -- template setup ---------------------------------------------------------------

    def setup(self) -> list[dict[str, Any]]:
        """The auto-recording map: every event name and the template mapped to it (or None)."""
        from .events import event_names

        with self.db.read() as conn:
            mapped = dict(conn.execute(sa.select(S.c.event, S.c.template_code)).all())
        names = event_names(self.logbook)
        rows = [{"event": e, "template_code": mapped.get(e)} for e in names]
        rows += [{"event": e, "template_code": t} for e, t in sorted(mapped.items()) if e not in names]
        return rows

    def set_event(self, event: str, template_code: str) -> None:
        from .events import check_event_name

        event = check_event_name(self.logbook, event)
        code = check_code(template_code, "template code")
        with self.db.write() as conn:
            self._get(conn, code)
            stmt = self.db.insert(S).values(event=event, template_code=code)
            conn.execute(stmt.on_conflict_do_update(index_elements=["event"], set_={"template_code": code}))

    def unset_event(self, event: str) -> bool:
        """Remove an event's template; returns False when none was set."""
        folded = (event or "").strip().lower()
        with self.db.write() as conn:
            return conn.execute(sa.delete(S).where(S.c.event == folded)).rowcount > 0

    def template_for_event(self, event: str) -> str | None:
        with self.db.read() as conn:
            return conn.execute(sa.select(S.c.template_code).where(S.c.event == event)).scalar()
