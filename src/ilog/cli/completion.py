"""Shell completion: ``ilog completion SHELL`` (and the root's ``--show-completion`` and
``--install-completion``), and the values the shell offers for a parameter.

Bash, zsh and fish complete commands, options and choice values, and contact numbers,
template codes, group codes, segment numbers and event names from the database. Which
parameter takes which values is :mod:`ilog.cli.help`'s table; the database is read here,
through the logbook, and only while a shell asks (``_ILOG_COMPLETE`` set): an ordinary
command never imports this module's lookups. A completion never fails loudly: without a
database, or on any error, it offers nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

#: the most values offered for one word (a shell lists them all)
MAX_VALUES = 200


def register(app: typer.Typer) -> None:
    app.command("completion")(completion)


def completion(
    shell: Annotated[str | None, typer.Argument(help="bash, zsh or fish (default: the shell ilog runs in).")] = None,
    install: Annotated[bool, typer.Option("--install", help="Install the script where the shell reads it.")] = False,
) -> None:
    """Print the script that makes your shell complete ilog's commands, options and values.

    Contact numbers, template codes and segment numbers are completed from the database
    (--db or ILOG_DATABASE_URL).

    Example: ilog completion fish > ~/.config/fish/completions/ilog.fish

    Example: ilog completion bash --install
    """
    from ..domain import values
    from ..errors import BadValue
    from .compat import completion_script, detect_shell, install_completion
    from .context import say
    from .help import SHELLS

    if shell is None:
        shell = detect_shell()
        if shell is None:
            raise BadValue(f"cannot tell which shell this is: give one of {', '.join(SHELLS)}")
    shell = values.choice(shell, "shell", SHELLS)
    if install:
        path = install_completion(shell)
        say(f"ilog: {shell} completion installed in {path}; it takes effect in a new shell")
        return
    print(completion_script(shell))


def show_callback(value: bool) -> None:
    """``ilog --show-completion``: the script for the shell ilog runs in."""
    if value:
        completion(None, install=False)
        raise typer.Exit()


def install_callback(value: bool) -> None:
    """``ilog --install-completion``: install the script for the shell ilog runs in."""
    if value:
        completion(None, install=True)
        raise typer.Exit()


# -- the values of a parameter, while the shell completes ---------------------------------------


def values(source: str, ctx: Any, incomplete: str) -> list[Any]:
    """What the shell may offer for ``incomplete``, from ``source`` (see ilog.cli.help)."""
    try:
        if source.startswith("choice:"):
            return [v for v in _choices(source[len("choice:"):]) if v.startswith(incomplete.lower())]
        return _from_database(source, ctx, incomplete)
    except Exception:  # noqa: BLE001 - a completion offers nothing rather than a traceback
        return []


def _choices(name: str) -> tuple[str, ...]:
    import importlib

    from .help import CHOICES

    module, _, attribute = CHOICES[name].partition(":")
    return tuple(getattr(importlib.import_module(module), attribute))


def _from_database(source: str, ctx: Any, incomplete: str) -> list[Any]:
    from ..app import build_logbook, plugin_host
    from ..config import load_settings
    from .compat import completion_item

    root = ctx.find_root()
    settings = load_settings(database_url=root.params.get("db"), user=root.params.get("user"))
    prefix = incomplete.strip().upper()
    logbook = build_logbook(settings, plugin_host(None, load_plugins=False), create=False)
    try:
        if source == "contacts":
            found = [(c.no, c.name) for c in logbook.contacts.find(text=incomplete.strip() or None,
                                                                   limit=MAX_VALUES * 5)]
        elif source == "templates":
            found = [(t.code, t.description) for t in logbook.templates.list()]
        elif source == "groups":
            found = [(g["code"], g["description"]) for g in logbook.templates.groups()]
        elif source == "segments":
            found = [(s.no, s.description) for s in logbook.segments.list()]
        elif source == "logged":
            found = [(s.no, s.description) for s in logbook.segments.logged()]
        elif source == "events":
            found = [(e, None) for e in logbook.templates.event_names()]
            prefix = incomplete.strip().lower()
        else:
            return []
    finally:
        logbook.close()
    return [completion_item(value, help) for value, help in found if value.startswith(prefix)][:MAX_VALUES]
