"""Interaction groups, templates and the template setup (event -> template) in the database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..domain.records import InteractionGroup, Template, from_row
from .contacts import like
from .tables import interaction as T
from .tables import interaction_group as G
from .tables import interaction_template as P
from .tables import segment as S
from .tables import segment_line as L
from .tables import template_setup as E

if TYPE_CHECKING:
    from .unit import UnitOfWork

TEMPLATE_FIELDS = tuple(Template.model_fields)


def to_template(row: Any) -> Template:
    return from_row(Template, {name: row[name] for name in TEMPLATE_FIELDS})


class GroupStore:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def get(self, code: str) -> InteractionGroup | None:
        row = self.uow.execute(sa.select(G).where(G.c.code == code)).mappings().first()
        return from_row(InteractionGroup, dict(row)) if row else None

    @staticmethod
    def _matching(text: str | None) -> list[Any]:
        if not text:
            return []
        pattern = like(text)
        return [sa.or_(sa.func.lower(G.c.code).like(pattern, escape="\\"),
                       sa.func.lower(G.c.description).like(pattern, escape="\\"))]

    def with_template_counts(self, text: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Groups (code or description containing ``text``), each with its number of templates."""
        count = sa.select(sa.func.count()).select_from(P).where(P.c.group_code == G.c.code).scalar_subquery()
        stmt = (sa.select(G.c.code, G.c.description, count.label("templates"))
                .where(*self._matching(text)).order_by(G.c.code))
        if limit:
            stmt = stmt.limit(limit)
        return [dict(r) for r in self.uow.execute(stmt).mappings()]

    def count(self, text: str | None = None) -> int:
        return int(self.uow.execute(sa.select(sa.func.count()).select_from(G).where(*self._matching(text))).scalar_one())

    def template_count(self, code: str) -> int:
        return int(self.uow.execute(sa.select(sa.func.count()).select_from(P).where(P.c.group_code == code)).scalar_one())

    def insert(self, group: InteractionGroup) -> None:
        self.uow.execute(G.insert().values(code=group.code, description=group.description))

    def update(self, code: str, values: dict[str, Any]) -> None:
        self.uow.execute(sa.update(G).where(G.c.code == code).values(**values))

    def delete(self, code: str) -> None:
        self.uow.execute(sa.delete(G).where(G.c.code == code))


class TemplateStore:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def get(self, code: str) -> Template | None:
        """The template, remembered for the unit (a batch reads each template once)."""
        key = ("template", code)
        memo = self.uow.memo
        if key not in memo:
            row = self.uow.execute(sa.select(P).where(P.c.code == code)).mappings().first()
            memo[key] = to_template(row) if row else None
        return memo[key]

    def many(self, codes: set[str]) -> dict[str, Template]:
        if not codes:
            return {}
        rows = self.uow.execute(sa.select(P).where(P.c.code.in_(sorted(codes)))).mappings()
        return {r["code"]: to_template(r) for r in rows}

    @staticmethod
    def _clauses(group_code: str | None, text: str | None) -> list[Any]:
        clauses: list[Any] = []
        if group_code:
            clauses.append(P.c.group_code == group_code)
        if text:
            pattern = like(text)
            clauses.append(sa.or_(sa.func.lower(P.c.code).like(pattern, escape="\\"),
                                  sa.func.lower(P.c.description).like(pattern, escape="\\")))
        return clauses

    def list(self, group_code: str | None = None, *, text: str | None = None, limit: int | None = None
             ) -> list[Template]:
        """Templates by code, of a group, their code or description containing ``text``."""
        stmt = sa.select(P).where(*self._clauses(group_code, text)).order_by(P.c.code)
        if limit:
            stmt = stmt.limit(limit)
        return [to_template(r) for r in self.uow.execute(stmt).mappings()]

    def count(self, group_code: str | None = None, *, text: str | None = None) -> int:
        return int(self.uow.execute(sa.select(sa.func.count()).select_from(P)
                                    .where(*self._clauses(group_code, text))).scalar_one())

    def uses(self, code: str) -> dict[str, Any]:
        """What refers to a template: entries, set-up events, segments and segment lines."""
        count = lambda table, column: int(self.uow.execute(  # noqa: E731
            sa.select(sa.func.count()).select_from(table).where(column == code)).scalar_one())
        return {
            "entries": count(T, T.c.template_code),
            "events": list(self.uow.execute(sa.select(E.c.event).where(E.c.template_code == code)).scalars()),
            "segments": count(S, S.c.template_code) + count(L, L.c.template_code),
        }

    def insert(self, template: Template) -> None:
        self.uow.execute(P.insert().values(**{name: getattr(template, name) for name in TEMPLATE_FIELDS}))
        self.uow.memo.pop(("template", template.code), None)

    def update(self, code: str, values: dict[str, Any]) -> None:
        self.uow.execute(sa.update(P).where(P.c.code == code).values(**values))
        self.uow.memo.pop(("template", code), None)

    def delete(self, code: str) -> None:
        self.uow.execute(sa.delete(P).where(P.c.code == code))
        self.uow.memo.pop(("template", code), None)


class SetupStore:
    """The auto-recording map: which template each document event records."""

    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def mapping(self) -> dict[str, str]:
        return dict(self.uow.execute(sa.select(E.c.event, E.c.template_code)).all())

    def template_for(self, event: str) -> str | None:
        key = ("setup", event)
        memo = self.uow.memo
        if key not in memo:
            memo[key] = self.uow.execute(sa.select(E.c.template_code).where(E.c.event == event)).scalar()
        return memo[key]

    def set(self, event: str, template_code: str) -> None:
        stmt = self.uow.upsert(E).values(event=event, template_code=template_code)
        self.uow.execute(stmt.on_conflict_do_update(index_elements=["event"], set_={"template_code": template_code}))
        self.uow.memo.pop(("setup", event), None)

    def unset(self, event: str) -> bool:
        self.uow.memo.pop(("setup", event), None)
        return self.uow.execute(sa.delete(E).where(E.c.event == event)).rowcount > 0
