"""The command line: ``build_app(host)`` and ``main()``.

Commands parse arguments, call one service method and render the result. No command
catches errors: :class:`IlogGroup` is the only place that turns an :class:`IlogError`
(or a usage error) into one line ``ilog: error: ...`` on stderr and an exit status.

Start-up discipline: this package imports neither SQLAlchemy nor the services; a command
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


class _ReaderGone(Exception):
    """Standard output's reader went away (``ilog log | head -1``): not an error."""


class IlogGroup(TyperGroup):
    """The root group: one place that maps errors to ``ilog: error:`` and exit statuses."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra: Any) -> Any:
        from .compat import COMPLETE_VAR, install, start_completion
        from .render import configure

        install()  # convert plain option values without building pydantic adapters (see compat)
        configure(wide=False)
        self._ilog_completing = start_completion()
        _dress(self, [], self._ilog_completing, deep=False)
        try:
            result = super().main(args=args, prog_name=prog_name or "ilog", complete_var=complete_var or COMPLETE_VAR,
                                  standalone_mode=False, **extra)
            sys.stdout.flush()
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
        except (_ReaderGone, BrokenPipeError):
            _quiet_stdout()
            sys.exit(0)
        except Exception as exc:  # a bug: one line, the traceback with --debug
            if _debug():
                raise
            error_line(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
            sys.exit(1)
        if isinstance(result, int):
            sys.exit(result)
        sys.exit(0)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # before Typer turns it into exit status 1
            raise _ReaderGone() from None

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            _dress(command, [name], getattr(self, "_ilog_completing", False))
        return name, command, rest

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The commands in sections (daily work, set-up, segments...), as cli/help.py lists them."""
        from .help import OTHER_SECTION, SECTIONS

        def find(path: str) -> Any:
            command: Any = self
            for word in path.split():
                command = command.get_command(ctx, word) if hasattr(command, "get_command") else None
                if command is None:
                    return None
            return command

        sections: list[tuple[str, list[tuple[str, Any]]]] = []
        listed: set[str] = set()
        for title, paths in SECTIONS.items():
            found = [(path, find(path)) for path in paths]
            found = [(path, c) for path, c in found if c is not None and not c.hidden]
            listed.update(path.split()[0] for path, _ in found if " " not in path)
            sections.append((title, found))
        others = [(name, c) for name in self.list_commands(ctx)
                  if name not in listed and (c := self.get_command(ctx, name)) is not None and not c.hidden]
        sections.append((OTHER_SECTION, others))
        rows_all = [path for _, found in sections for path, _ in found]
        if not rows_all:
            return
        width = max(len(path) for path in rows_all)  # one column for every section
        limit = formatter.width - 6 - width
        for title, found in sections:
            if found:
                with formatter.section(title):
                    formatter.write_dl([(path.ljust(width), c.get_short_help_str(limit)) for path, c in found])


def _dress(command: Any, path: list[str], completing: bool, *, deep: bool = True) -> None:
    from .compat import dress
    from .context import WIDE_HELP

    complete = None
    if completing:
        from .completion import values

        complete = values
    dress(command, path, wide_help=WIDE_HELP, completing=completing, complete=complete, deep=deep)


def _quiet_stdout() -> None:
    """Whatever is left for standard output goes nowhere (its reader is gone)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _debug() -> bool:
    return bool(os.environ.get("ILOG_DEBUG")) or "--debug" in sys.argv[1:2] or _DEBUG_FLAG[0]


_DEBUG_FLAG = [False]


def _show_version(value: bool) -> None:
    if value:
        print(f"ilog {__version__}")
        raise typer.Exit()


def _completion(name: str) -> Any:
    """A root option's callback in cli/completion.py, imported only when the option is given."""

    def callback(value: bool) -> None:
        if value:
            from . import completion

            getattr(completion, name)(value)

    return callback


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
        show_completion: Annotated[bool, typer.Option(
            "--show-completion", is_eager=True, callback=_completion("show_callback"),
            help="Print the shell completion script for this shell (see ilog completion).")] = False,
        install_completion: Annotated[bool, typer.Option(
            "--install-completion", is_eager=True, callback=_completion("install_callback"),
            help="Install shell completion for this shell.")] = False,
    ) -> None:
        """ilog: the interaction log. Every contact with a customer, recorded."""
        _DEBUG_FLAG[0] = debug
        from ..config import load_settings
        from ..domain import dates

        settings = load_settings(database_url=db, user=user)
        dates.set_zone(settings.get("timezone"))  # type: ignore[arg-type]
        ctx.obj = State(host, settings, create=ctx.invoked_subcommand == "init")
        ctx.call_on_close(ctx.obj.close)

    from . import activities, completion, contacts, events, interactions, log, maintenance, segments, templates

    for module in (maintenance, contacts, templates, interactions, log, events, activities, segments, completion):
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
    """The ``ilog`` console script."""
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
