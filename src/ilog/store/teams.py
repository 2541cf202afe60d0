"""Teams and their members in the database (stored centrally: every host sees the same teams)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..domain.records import Team, from_row
from .tables import team as TT
from .tables import team_member as TM

if TYPE_CHECKING:
    from .unit import UnitOfWork


class TeamStore:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def get(self, name: str) -> Team | None:
        row = self.uow.execute(sa.select(TT).where(TT.c.name == name)).mappings().first()
        if row is None:
            return None
        members = list(self.uow.execute(sa.select(TM.c.user_id).where(TM.c.team == name).order_by(TM.c.user_id))
                       .scalars())
        return from_row(Team, {**dict(row), "members": members})

    def list(self) -> list[Team]:
        members: dict[str, list[str]] = {}
        for team, user in self.uow.execute(sa.select(TM.c.team, TM.c.user_id).order_by(TM.c.team, TM.c.user_id)):
            members.setdefault(team, []).append(user)
        return [from_row(Team, {**dict(r), "members": members.get(r["name"], [])})
                for r in self.uow.execute(sa.select(TT).order_by(TT.c.name)).mappings()]

    def insert(self, name: str, description: str | None, at: datetime) -> None:
        self.uow.execute(TT.insert().values(name=name, description=description, created_at=at))

    def add_members(self, name: str, users: list[str]) -> None:
        if users:
            stmt = self.uow.upsert(TM).on_conflict_do_nothing(index_elements=["team", "user_id"])
            self.uow.execute(stmt, [{"team": name, "user_id": u} for u in users])

    def remove_members(self, name: str, users: list[str]) -> None:
        if users:
            self.uow.execute(sa.delete(TM).where(TM.c.team == name, TM.c.user_id.in_(users)))

    def delete(self, name: str) -> None:
        self.uow.execute(sa.delete(TM).where(TM.c.team == name))
        self.uow.execute(sa.delete(TT).where(TT.c.name == name))
