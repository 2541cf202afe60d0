"""Teams: named groups of users, stored in the database so every host sees the same ones.

A team is what a manager works with: ``ilog log --team T`` lists the activities its members
own, ``ilog assign ... --to U`` hands one over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..domain import dates, values
from ..domain.choices import MAX_NAME, MAX_USER
from ..domain.records import Team
from ..errors import AlreadyExists, NotFound

if TYPE_CHECKING:
    from ..store.unit import UnitOfWork
    from .context import ServiceContext


class Teams:
    def __init__(self, ctx: "ServiceContext"):
        self.ctx = ctx

    @staticmethod
    def require(uow: "UnitOfWork", name: str) -> Team:
        team = uow.teams.get(name)
        if team is None:
            raise NotFound(f"unknown team {name!r}")
        return team

    @staticmethod
    def _users(users: list[str] | tuple[str, ...]) -> list[str]:
        return list(dict.fromkeys(values.required_text(u, "member", MAX_USER) for u in users))

    def add(self, name: str, members: list[str] | tuple[str, ...] = (), *, description: str | None = None,
            exist_ok: bool = False) -> Team:
        """A new team with these members (``exist_ok``: an existing one gains them)."""
        name = values.code(name, "team name")
        users = self._users(members)
        description = values.text(description, "description", MAX_NAME) if description else None
        with self.ctx.db.unit(write=True) as uow:
            if uow.teams.get(name) is not None:
                if not exist_ok:
                    raise AlreadyExists(f"team {name} already exists (add members with: ilog team add {name} "
                                        "--member U --exist-ok)")
            else:
                uow.teams.insert(name, description, dates.now())
            uow.teams.add_members(name, users)
            return self.require(uow, name)

    def remove_members(self, name: str, members: list[str] | tuple[str, ...]) -> Team:
        name = values.code(name, "team name")
        with self.ctx.db.unit(write=True) as uow:
            self.require(uow, name)
            uow.teams.remove_members(name, self._users(members))
            return self.require(uow, name)

    def get(self, name: str) -> Team:
        with self.ctx.db.unit() as uow:
            return self.require(uow, values.code(name, "team name"))

    def list(self) -> list[Team]:
        with self.ctx.db.unit() as uow:
            return uow.teams.list()

    def remove(self, name: str, *, dry_run: bool = False) -> Team:
        """Delete a team (its members' entries stay theirs)."""
        name = values.code(name, "team name")
        with self.ctx.db.unit(write=True) as uow:
            team = self.require(uow, name)
            if not dry_run:
                uow.teams.delete(name)
            return team
