"""The Typer command line: the root group, ``build_app(host)``, and ``main()``'s full path.

Commands parse arguments, call one service method and render the result. No command
catches errors: :class:`IlogGroup` is the only place that turns an :class:`IlogError`
(or a usage error) into one line ``ilog: error: ...`` on stderr and an exit status.

Start-up discipline: this module imports neither SQLAlchemy nor the services; a command
reaches the logbook through ``state(ctx).logbook``, which builds it on first use.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from ..errors import IlogError, PluginError
from ..version import __version__
from .compat import ClickException as _ClickException
from .context import State, error_line

if TYPE_CHECKING:
    from ..plugins.host import PluginHost

_Abort = typer.Abort


class IlogGroup(TyperGroup):
    """The root group: one place that maps errors to ``ilog: error:`` and exit statuses."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra: Any) -> Any:
        from .compat import install

        install()  # convert plain option values without building pydantic adapters (see compat)
        try:
            result = super().main(args=args, prog_name=prog_name or "ilog", complete_var=complete_var,
                                  standalone_mode=False, **extra)
        except IlogError as exc:
            if _debug():
                raise
            error_line(exc.message)
            sys.exit(exc.exit_code)
        except _ClickException as exc:
            error_line(exc.format_message())
            sys.exit(exc.exit_code)
        except _Abort:
            error_line("aborted")
            sys.exit(1)
        except BrokenPipeError:
            sys.exit(1)
        except Exception as exc:  # a bug: one line, the traceback with --debug
            if _debug():
                raise
            error_line(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
            sys.exit(1)
        if isinstance(result, int):
            sys.exit(result)
        sys.exit(0)


def _debug() -> bool:
    return bool(os.environ.get("ILOG_DEBUG")) or "--debug" in sys.argv[1:2] or _DEBUG_FLAG[0]


_DEBUG_FLAG = [False]


def _show_version(value: bool) -> None:
    if value:
        print(f"ilog {__version__}")
        raise typer.Exit()


def build_app(host: "PluginHost | None" = None) -> typer.Typer:
    """A fresh CLI with the core commands and those plugins register."""
    app = typer.Typer(
        cls=IlogGroup,
        name="ilog",
        help="ilog: the interaction log. Every contact with a customer, recorded.",
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        db: Annotated[str | None, typer.Option("--db", help="Database URL or SQLite file [env ILOG_DATABASE_URL].")] = None,
        user: Annotated[str | None, typer.Option("--user", help="User id stamped on new entries [env ILOG_USER].")] = None,
        debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
        version: Annotated[bool, typer.Option("--version", help="Show the version and exit.", is_eager=True,
                                              callback=_show_version)] = False,
    ) -> None:
        """ilog: the interaction log. Every contact with a customer, recorded."""
        _DEBUG_FLAG[0] = debug
        from ..config import load_settings
        from ..domain import dates

        settings = load_settings(database_url=db, user=user)
        dates.set_zone(settings.get("timezone"))  # type: ignore[arg-type]
        ctx.obj = State(host, settings, create=ctx.invoked_subcommand == "init")
        ctx.call_on_close(ctx.obj.close)

    from . import activities, contacts, events, interactions, log, maintenance, segments, spool, templates

    for module in (maintenance, contacts, templates, interactions, log, events, activities, segments, spool):
        module.register(app)
    if host is not None:
        _register_plugin_commands(app, host)
    return app


def _command_names(app: typer.Typer) -> list[str]:
    """Top-level command and group names, in registration order (duplicates kept)."""
    names = [info.name or info.callback.__name__.replace("_", "-") for info in app.registered_commands]
    names += [g.name or (g.typer_instance.info.name if g.typer_instance else "") for g in app.registered_groups]
    return names


def _register_plugin_commands(app: typer.Typer, host: "PluginHost") -> None:
    """Let plugins add commands; a name that is already taken is an error naming the plugin."""
    for name, function, argnames in host.implementations("register_commands"):
        before = _command_names(app)
        try:
            function(*[{"app": app}[a] for a in argnames])
        except Exception as exc:
            raise PluginError(f"plugin {name} failed in register_commands: {type(exc).__name__}: {exc}") from None
        after = _command_names(app)
        added = list(after)
        for existing in before:
            added.remove(existing)
        taken = set(before)
        for command in added:
            if command in taken:
                raise PluginError(f"plugin {name} registers command {command!r}, which clashes with an existing command")
            taken.add(command)


def main(argv: list[str] | None = None) -> None:
    """The ``ilog`` console script, through Typer (:func:`ilog.cli.main` tries the quick path first)."""
    from ..config import load_settings
    from ..plugins.host import make_plugin_host

    try:
        settings = load_settings()
        host = make_plugin_host(plugins_dir=settings.plugins_dir)
        app = build_app(host)
    except IlogError as exc:
        if _debug():
            raise
        error_line(exc.message)
        sys.exit(exc.exit_code)
    keep_only(app, invoked_command(sys.argv[1:] if argv is None else argv))
    app(args=argv, prog_name="ilog")


#: root options that take a value: the word after them is not a command name
_ROOT_VALUE_OPTIONS = frozenset({"--db", "--user"})
#: root options that act on the whole CLI (the full command list must be there)
_ROOT_EAGER_OPTIONS = frozenset({"-h", "--help", "--version"})


def invoked_command(args: list[str]) -> str | None:
    """The command (or group) name in a command line, or None for ``--help``, ``--version``..."""
    index = 0
    while index < len(args):
        word = args[index]
        if word in _ROOT_EAGER_OPTIONS or word == "--":
            return None
        if word in _ROOT_VALUE_OPTIONS:
            index += 2
        elif word.startswith("-"):
            index += 1
        else:
            return word
    return None


def keep_only(app: typer.Typer, name: str | None) -> None:
    """Drop every command but the one invoked, before Typer turns them into click commands.

    Building the click command of each of ~40 commands (signatures, annotations, options)
    costs ~40 ms a run; a one-shot ``ilog event`` needs one. An unknown name keeps them all,
    so the error can suggest the closest.
    """
    if name is None:
        return
    commands = [c for c in app.registered_commands
                if (c.name or c.callback.__name__.replace("_", "-")) == name]
    groups = [g for g in app.registered_groups
              if (g.name or (g.typer_instance.info.name if g.typer_instance else "")) == name]
    if commands or groups:
        app.registered_commands = commands
        app.registered_groups = groups
