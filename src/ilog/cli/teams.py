"""``ilog team``: teams of users, stored in the database so every host sees the same ones."""

from __future__ import annotations

from typing import Annotated

import typer

from .context import DryRunOpt, FormatOpt, YesOpt, confirm, say, state
from .render import render, render_record

team_app = typer.Typer(name="team", help="Teams: whose activities a manager sees (log --team T).",
                       no_args_is_help=True)

TEAM_FIELDS = ["name", "description", "members", "created_at"]
Members = Annotated[list[str] | None, typer.Option("--member", "-m", metavar="USER", help="A member (repeatable).")]


def register(app: typer.Typer) -> None:
    app.add_typer(team_app)


@team_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Team name.")],
    members: Members = None,
    description: Annotated[str | None, typer.Option("--description", "-d", metavar="TEXT", help="What the team is.")] = None,
    exist_ok: Annotated[bool, typer.Option("--exist-ok", help="An existing team gains the members.")] = False,
) -> None:
    """Add a team with its members (or, with --exist-ok, members to a team).

    Example: ilog team add SALES --member anna --member marco
    """
    team = state(ctx).logbook.teams.add(name, members or [], description=description, exist_ok=exist_ok)
    say(f"ilog: team {team.name}: {', '.join(team.members) or 'no members'}")


@team_app.command("leave")
def leave(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Team name.")],
    members: Members = None,
) -> None:
    """Take members out of a team (their entries stay theirs).

    Example: ilog team leave SALES --member marco
    """
    team = state(ctx).logbook.teams.remove_members(name, members or [])
    say(f"ilog: team {team.name}: {', '.join(team.members) or 'no members'}")


@team_app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = "table") -> None:
    """List teams with their members.

    Example: ilog team list
    """
    render((t.to_dict() for t in state(ctx).logbook.teams.list()), fmt, TEAM_FIELDS, empty="ilog: no teams")


@team_app.command("show")
def show(ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="NAME", help="Team name.")],
         fmt: FormatOpt = "table") -> None:
    """Show a team and its members.

    Example: ilog team show SALES
    """
    render_record(state(ctx).logbook.teams.get(name).to_dict(), fmt, TEAM_FIELDS)


@team_app.command("remove")
def remove(ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="NAME", help="Team name.")],
           dry_run: DryRunOpt = False, yes: YesOpt = False) -> None:
    """Remove a team (its members' entries stay theirs).

    Example: ilog team remove OLD --yes
    """
    teams = state(ctx).logbook.teams
    team = teams.remove(name, dry_run=True)
    if dry_run:
        say(f"ilog: would remove team {team.name} ({len(team.members)} members)")
        return
    confirm(f"remove team {team.name}", yes=yes)
    teams.remove(name)
    say(f"ilog: removed team {team.name}")
