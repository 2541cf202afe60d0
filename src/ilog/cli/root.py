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
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from ..errors import IlogError, Interrupted, PluginError
from ..version import __version__
from .compat import ClickException as _ClickException
from .compat import COMPLETE_VAR, NoArgsIsHelpError, completion_words
from .context import State, error_line, warning_line

if TYPE_CHECKING:
    from ..plugins.host import PluginHost

_Abort = typer.Abort


class _ReaderGone(Exception):
    """Standard output's reader went away (``ilog log | head -1``): not an error."""


class IlogGroup(TyperGroup):
    """The root group: one place that maps errors to ``ilog: error:`` and exit statuses."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra: Any) -> Any:
        from ..plugins.host import deferred_notifications
        from .compat import install, start_completion
        from .render import configure

        install()  # convert plain option values without building pydantic adapters (see compat)
        configure(wide=False)
        self._ilog_completing = start_completion()
        _dress(self, [], self._ilog_completing, deep=False)
        _ARGS[0] = list(sys.argv[1:] if args is None else args)
        try:
            # a command prints what it saved first; the plugins are told after (a slow one
            # must not hold back the entry numbers an ERP waits for)
            with deferred_notifications() as pending:
                result = super().main(args=args, prog_name=prog_name or "ilog",
                                      complete_var=complete_var or COMPLETE_VAR, standalone_mode=False, **extra)
                sys.stdout.flush()
                pending.run(warning_line)
        except Interrupted as exc:  # Ctrl-C, and what was and was not done
            interrupted(exc.message)
        except IlogError as exc:
            failed(exc)
        except NoArgsIsHelpError as exc:  # `ilog` or `ilog contact` alone: the help, not an error line
            print(exc.format_message(), file=sys.stderr)
            sys.exit(2)
        except _ClickException as exc:
            error_line(exc.format_message())
            sys.exit(exc.exit_code)
        except (_Abort, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            interrupted()
        except (_ReaderGone, BrokenPipeError):  # `ilog log -f jsonl | head -1`: the reader has what it wanted
            quiet_broken_pipe()
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


def interrupted(what: str = "interrupted: the step under way was not saved; what was saved before it stays") -> None:
    """Ctrl-C: one line saying what was and was not done, exit status 130, no traceback."""
    print(f"ilog: {what}", file=sys.stderr)
    sys.exit(130)


def quiet_broken_pipe() -> None:
    """The reader of stdout went away: exit 0, and no "Exception ignored" when Python flushes."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    sys.exit(0)


def failed(exc: IlogError) -> NoReturn:
    """An ilog error, at start-up or in a command: one line and its exit status (with
    ``--debug`` or ``ILOG_DEBUG``, the traceback)."""
    if _debug():
        raise exc
    error_line(exc.message)
    sys.exit(exc.exit_code)


def _debug() -> bool:
    return bool(os.environ.get("ILOG_DEBUG")) or "--debug" in sys.argv[1:2] or _DEBUG_FLAG[0]


_DEBUG_FLAG = [False]
#: the arguments of the command line being run (a group callback no longer sees them)
_ARGS: list[list[str]] = [[]]


def _may_run_with_problems(args: list[str]) -> bool:
    """With a plugin problem, ``ilog plugins`` and any ``--help`` still run: they show what clashes."""
    return invoked_command(args) == "plugins" or any(a in ("-h", "--help") for a in args)


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
        if host is not None and host.problems and not _may_run_with_problems(_ARGS[0]):
            raise PluginError(host.problems[0])
        ctx.obj = State(host, settings, create=ctx.invoked_subcommand == "init")
        ctx.call_on_close(ctx.obj.close)

    from . import (activities, completion, contacts, events, interactions, log, maintenance, privacy, segments,
                   spool, teams, templates)

    for module in (maintenance, contacts, templates, interactions, log, events, activities, segments, teams, privacy,
                   spool, completion):
        module.register(app)
    if host is not None:
        _register_plugin_commands(app, host)
    return app


def _command_name(info: Any) -> str:
    """The name a registered Typer command or group is invoked by."""
    if hasattr(info, "typer_instance"):
        return info.name or (info.typer_instance.info.name if info.typer_instance else "")
    return info.name or info.callback.__name__.replace("_", "-")


def _register_plugin_commands(app: typer.Typer, host: "PluginHost") -> None:
    """Let plugins add commands, in the order they were registered (installed plugins, then
    plugins-directory files). A name already taken stays with whoever had it; the plugin that
    came second is named in ``host.problems``, and every command but ``ilog plugins`` (and
    ``--help``) refuses to run until it is fixed, so the user can still see what clashes."""
    owners = {_command_name(info): "ilog" for info in [*app.registered_commands, *app.registered_groups]}
    for name, function, argnames in host.implementations("register_commands", registration_order=True):
        known = {id(info) for info in [*app.registered_commands, *app.registered_groups]}
        try:
            function(*[{"app": app}[a] for a in argnames])
        except Exception as exc:
            raise PluginError(f"plugin {name} failed in register_commands: {type(exc).__name__}: {exc}") from None
        for registered in (app.registered_commands, app.registered_groups):
            for info in [i for i in registered if id(i) not in known]:
                command = _command_name(info)
                if command in owners:
                    registered.remove(info)
                    plugin = host.info.get(name)
                    where = f" ({plugin.location})" if plugin and plugin.location not in (None, name) else ""
                    first = "an ilog command" if owners[command] == "ilog" else f"plugin {owners[command]}"
                    host.problems.append(f"plugin {name}{where} registers command {command!r}, which is "
                                         f"already taken by {first}: rename it or remove one of them")
                else:
                    owners[command] = name


def main(argv: list[str] | None = None) -> None:
    """The ``ilog`` console script, through Typer (:func:`ilog.cli.main` tries the quick path first)."""
    from ..config import load_settings
    from ..plugins.host import make_plugin_host

    try:
        settings = load_settings()
        host = make_plugin_host(plugins_dir=settings.plugins_dir,
                                plugins_dir_required=settings.plugins_dir_configured)
        app = build_app(host)
    except Interrupted as exc:
        interrupted(exc.message)
    except IlogError as exc:
        failed(exc)
    except KeyboardInterrupt:
        interrupted("interrupted while starting: nothing was done")
    keep_only(app, sys.argv[1:] if argv is None else argv)
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


def keep_only(app: typer.Typer, args: list[str]) -> None:
    """Build only what this command line runs, before Typer turns commands into click commands.

    Building the click command of each of ~70 commands (signatures, annotations, options)
    costs tens of milliseconds a run; a one-shot ``ilog event`` needs one, so every other is
    dropped. ``ilog --help`` (or ``--version``, or ``ilog`` alone) runs none: each command is
    kept with its name and help only (:func:`_summary`), which is all the list of commands
    shows. An unknown name keeps them all, so the error can suggest the closest. A shell
    asking for completions (each Tab) is told about the command its line names, built whole,
    or, before one is named, the list of commands: the same, from the words before the cursor.
    """
    if os.environ.get(COMPLETE_VAR):
        words = completion_words()
        if words is None:  # a shell's script asked for, or a shell ilog does not know: all of them
            return
        args = words
    name = invoked_command(args)
    if name is None:
        if "--" not in args:
            app.registered_commands = [_summary(c) for c in app.registered_commands]
            app.registered_groups = [_summary(g) for g in app.registered_groups]
        return
    commands = [c for c in app.registered_commands if _command_name(c) == name]
    groups = [g for g in app.registered_groups if _command_name(g) == name]
    if commands or groups:
        app.registered_commands = commands
        app.registered_groups = groups


def _summary(info: Any) -> Any:
    """A copy of a registered command or group with what a list of commands shows (name,
    help, hidden, deprecated) and callbacks that take no options; a group's commands too.
    The originals are left as they are (command modules register the same objects again)."""
    import copy

    def no_options(callback: Any) -> Any:
        if callback is None:
            return None

        def command() -> None: ...

        command.__doc__ = callback.__doc__
        return command

    summary = copy.copy(info)
    summary.name = _command_name(info)
    summary.callback = no_options(info.callback)
    group = getattr(info, "typer_instance", None)
    if group is not None:
        summary.typer_instance = sub = copy.copy(group)
        sub.info = copy.copy(group.info)
        sub.info.callback = no_options(group.info.callback)
        if group.registered_callback is not None:
            sub.registered_callback = copy.copy(group.registered_callback)
            sub.registered_callback.callback = no_options(group.registered_callback.callback)
        sub.registered_commands = [_summary(c) for c in group.registered_commands]
        sub.registered_groups = [_summary(g) for g in group.registered_groups]
    return summary
