"""Everything in the CLI that reaches below Typer's public API, in one place.

Typer is pinned in ``pyproject.toml`` to the range the test suite runs on; if a release
moves one of these, this module is the one to fix:

- :data:`ClickException`: the base of usage errors, and :data:`NoArgsIsHelpError`, what a
  group given no subcommand raises (its message is the group's help). Typer 0.29 vendors
  click as ``typer._click``; older releases use ``click`` itself.
- :class:`DefaultCommandGroup`: a group that runs a default subcommand when the first word
  is not one of its subcommands (``ilog log C1 --rollup`` lists, ``ilog log export``
  exports), and whose help then says ``ilog log``, not ``ilog log list``. It overrides
  ``parse_args`` and ``resolve_command`` of Typer's group class and gives the implied
  command a context class whose ``command_path`` leaves the implied word out.
- :func:`dress`: gives built commands what :mod:`ilog.cli.help` derives for them: the word
  each value is shown as (``--from DATE``: the parameter's ``metavar``; an argument's help
  shows its word only, not Typer's ``<str>``), the ``--wide`` flag on every command that
  has ``--format`` (a parameter built with Typer's private ``_get_param``), and, only while
  the shell completes, the function that lists a parameter's values (the parameter's
  ``_custom_shell_complete``).
- :func:`completion_script` / :func:`install_completion`: the shell scripts of Typer's
  completion (``typer._completion_shared``) for ``ilog``, and registering Typer's
  completion classes when a shell asks to complete.
- :func:`install` also makes the help read like a man page: an argument is shown by its
  word alone (``CONTACT``, not ``CONTACT <str>`` nor ``{CONTACT}``) and no number range
  (``[x>=0]``) is added to an option's help; it replaces three methods of Typer's
  ``TyperArgument`` / ``TyperOption`` (``display_type_rich``, ``_usage_display_name``,
  ``_get_number_range_help_str``).
- :func:`install`: Typer 0.29 converts every command-line value through a pydantic
  ``TypeAdapter`` built per parameter when first used; a one-shot ``ilog interact`` has ~25
  parameters and building their adapters costs tens of milliseconds of a run an ERP makes
  once per printed document. After :func:`install`, each parameter whose type is plain
  (str, int, float, bool, Path, an Enum, a list of those) gets a converter that behaves and
  words its errors as Typer's does; any other parameter (a plugin's datetime or custom
  parser, say) keeps Typer's own. It wraps one private method of Typer's parameters
  (``get_runtime_param``); with a Typer that lacks it, :func:`install` does nothing.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

import typer
from typer.core import TyperGroup

try:  # typer >= 0.29 vendors click
    from typer._click.core import Context
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # pragma: no cover - older typer
    from click.core import Context  # type: ignore[no-redef]
    from click.exceptions import ClickException, NoArgsIsHelpError  # type: ignore[no-redef]

__all__ = ["ClickException", "DefaultCommandGroup", "NoArgsIsHelpError", "completion_script", "dress", "install",
           "install_completion", "start_completion"]

#: the environment variable a shell sets to ask ilog for completions
COMPLETE_VAR = "_ILOG_COMPLETE"


class _ImpliedContext(Context):  # type: ignore[misc,valid-type]
    """The context of a group's default command given without its name: its path (in the
    usage line and in "Try 'ilog log -h'") is the group's."""

    @property
    def command_path(self) -> str:  # type: ignore[override]
        return self.parent.command_path if self.parent is not None else super().command_path


class DefaultCommandGroup(TyperGroup):
    """A group whose ``default_command`` runs when the first word names no subcommand."""

    default_command = "list"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx._ilog_implied = not args or args[0] not in self.commands
        if ctx._ilog_implied:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None and name == self.default_command and getattr(ctx, "_ilog_implied", False):
            command = copy.copy(command)
            command.context_class = _ImpliedContext
        return name, command, rest


# -- what ilog.cli.help derives, given to the built commands ----------------------------------


def _walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _walk(sub, [*path, name])


def _type_name(param: Any) -> str:
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    if get_origin(annotation) is list:
        annotation = (get_args(annotation) or (None,))[0]
    return getattr(annotation, "__name__", "") if isinstance(annotation, type) else ""


def _wide_flag(help_text: str) -> Any:
    """A ``--wide`` flag for a built command; its value goes to the renderer, not to the command."""
    from typer.main import _get_param
    from typer.models import ParamMeta

    from .render import configure

    def remember(value: bool) -> None:
        if value:
            configure(wide=True)

    option = typer.Option(False, "--wide", help=help_text, expose_value=False, callback=remember)
    return _get_param(ParamMeta(name="wide", default=option, annotation=bool))


def dress(command: Any, path: list[str], *, wide_help: str, completing: bool = False,
          complete: Callable[[str, Any, str], list[Any]] | None = None, deep: bool = True) -> None:
    """Give ``command`` (``ilog <path>``) and, if ``deep``, its subcommands their placeholders,
    ``--wide`` where they take ``--format``, and while completing, their completion functions."""
    from . import help as words

    for where, cmd in (_walk(command, path) if deep else [(path, command)]):
        if getattr(cmd, "_ilog_dressed", False):
            continue
        cmd._ilog_dressed = True
        params = getattr(cmd, "params", [])
        for param in params:
            argument = getattr(param, "param_type_name", "") == "argument"
            if param.metavar is None:
                param.metavar = words.placeholder(where, param.name, argument=argument, type_name=_type_name(param))
            elif argument and param.metavar.endswith("...") and param.nargs != 1:
                param.metavar = param.metavar[:-3]  # the usage line adds the dots itself
            if completing and complete is not None and getattr(param, "_custom_shell_complete", None) is None:
                source = words.completion_source(where, param.name)
                if source:
                    param._custom_shell_complete = (
                        lambda ctx, p, incomplete, source=source: complete(source, ctx, incomplete))
        names = {p.name for p in params}
        if ("fmt" in names and "wide" not in names and not getattr(cmd, "commands", None)
                and " ".join(where) not in words.RECORD_VIEWS):
            params.append(_wide_flag(wide_help))


def _help_reads_like_a_man_page() -> None:
    """Typer writes an argument as ``CONTACT <str>`` in the help and ``{CONTACT}`` in the usage
    line, and a number's range as ``[x>=0]``: the word alone reads better (``CONTACT``,
    ``[CONTACT]`` when optional), and the help text says what a number may be."""
    try:
        from typer.core import TyperArgument, TyperOption
    except ImportError:  # pragma: no cover - another Typer
        return

    def usage_name(self: Any) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("..." if self.nargs != 1 else "")

    TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]
    TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]
    TyperArgument._get_number_range_help_str = lambda self: None  # type: ignore[method-assign]
    TyperOption._get_number_range_help_str = lambda self: None  # type: ignore[method-assign]


# -- shell completion ------------------------------------------------------------------------------


def start_completion() -> bool:
    """True when a shell asks for completions (and Typer's completion classes are ready)."""
    if not os.environ.get(COMPLETE_VAR):
        return False
    from typer._completion_classes import completion_init

    completion_init()
    return True


def completion_words() -> list[str] | None:
    """The words before the one being completed on the command line a shell asks completions
    for (``ilog contact ad`` gives ``["contact"]``), read from its request as Typer's completion
    class for that shell reads it; None when no shell asks for completions, or ilog does not
    know the shell."""
    request = os.environ.get(COMPLETE_VAR, "")
    instruction, _, shell = request.partition("_")
    if instruction != "complete" or not start_completion():
        return None
    from typer._click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:
        return None
    args, _incomplete = cls(None, {}, "ilog", COMPLETE_VAR).get_completion_args()  # type: ignore[arg-type]
    return list(args)


def completion_item(value: str, help: str | None = None) -> Any:
    """One value a shell may offer, with a description zsh and fish show beside it."""
    from typer._click.shell_completion import CompletionItem

    return CompletionItem(value, help=help or None)


def completion_script(shell: str) -> str:
    """The script that makes ``shell`` (bash, zsh, fish) complete ilog."""
    from typer._completion_shared import get_completion_script

    return get_completion_script(prog_name="ilog", complete_var=COMPLETE_VAR, shell=shell)


def detect_shell() -> str | None:
    """The shell ilog runs in (bash, zsh, fish), or None."""
    from typer._completion_shared import _get_shell_name

    name = _get_shell_name()
    return name if name in ("bash", "zsh", "fish") else None


def install_completion(shell: str) -> str:
    """Install the completion script where ``shell`` reads it; returns that file."""
    from typer._completion_shared import install

    _shell, path = install(shell=shell, prog_name="ilog", complete_var=COMPLETE_VAR)
    return str(path)


# -- converting plain values without building pydantic adapters -----------------------------


try:  # typer >= 0.29
    from typer._click.exceptions import BadParameter
    from typer._coercion import RuntimeParam
    from typer._param_types import coerce_cli_choice, coerce_cli_path, routes_to_path
except ImportError:  # pragma: no cover - another Typer: keep its own conversion
    RuntimeParam = None  # type: ignore[assignment,misc]

_INT = re.compile(r"^\s*[+-]?[0-9]+(?:_[0-9]+)*(?:\.0*)?\s*$", re.ASCII)
_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}


class _Invalid(Exception):
    """A value that does not convert; the message is Typer's (pydantic's) wording."""


def _to_str(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INT.match(value):
        return int(float(value.replace("_", ""))) if "." in value else int(value.replace("_", ""))
    raise _Invalid("Input should be a valid integer, unable to parse string as an integer")


def _to_float(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value).strip().replace("_", ""))
    except ValueError:
        raise _Invalid("Input should be a valid number, unable to parse string as a number") from None


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    folded = str(value).strip().lower()
    if folded == "" or folded in _FALSE:
        return False
    if folded in _TRUE:
        return True
    raise _Invalid("Input should be a valid boolean, unable to interpret input")


def _ranged(convert: Callable[[Any], Any], number: type, info: Any) -> Callable[[Any], Any]:
    low, high, clamp = info.min, info.max, info.clamp
    if low is None and high is None:
        return convert

    def check(value: Any) -> Any:
        number_value = convert(value)
        if low is not None and number_value < low:
            if clamp:
                return number(low)
            raise _Invalid(f"Input should be greater than or equal to {low}")
        if high is not None and number_value > high:
            if clamp:
                return number(high)
            raise _Invalid(f"Input should be less than or equal to {high}")
        return number_value

    return check


def _leaf(annotation: Any, info: Any) -> Callable[..., Any] | None:
    """A converter ``(value, param, ctx) -> value`` for one plain type, or None."""
    if info.parser is not None:
        return None
    if annotation is str:
        return lambda value, param, ctx: _to_str(value)
    if annotation is int:
        convert = _ranged(_to_int, int, info)
        return lambda value, param, ctx: convert(value)
    if annotation is float:
        convert = _ranged(_to_float, float, info)
        return lambda value, param, ctx: convert(value)
    if annotation is bool:
        return lambda value, param, ctx: _to_bool(value)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        choices = list(annotation)
        sensitive = info.case_sensitive

        def choice(value: Any, param: Any, ctx: Any) -> Any:
            try:
                return coerce_cli_choice(value, choices=choices, case_sensitive=sensitive, ctx=ctx)
            except ValueError as exc:
                raise _Invalid(f"Value error, {exc}") from None

        return choice
    if isinstance(annotation, type) and issubclass(annotation, Path) and routes_to_path(annotation, info):
        path_type = info.path_type or annotation
        if not (isinstance(path_type, type) and issubclass(path_type, Path)):
            return None

        def path(value: Any, param: Any, ctx: Any) -> Any:
            if not isinstance(value, Path):
                value = path_type(_to_str(value))
            return coerce_cli_path(value, info, path_type=path_type, param=param, ctx=ctx)

        return path
    return None


def converter(annotation: Any, info: Any) -> Callable[..., Any] | None:
    """The converter for a parameter's annotation, or None to leave it to Typer."""
    if get_origin(annotation) is list:
        args = get_args(annotation)
        item = _leaf(args[0], info) if len(args) == 1 else None
        if item is None:
            return None
        return lambda value, param, ctx: [item(v, param, ctx) for v in (value if isinstance(value, (list, tuple)) else [value])]
    return _leaf(annotation, info)


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class FastParam(RuntimeParam):  # type: ignore[misc,valid-type]
        """Typer's runtime coercion contract, without pydantic."""

        convert: Callable[..., Any]

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                return self.convert(value, param, ctx)
            except _Invalid as exc:
                raise BadParameter(str(exc), ctx=ctx, param=param) from None


def _fast_param(param: Any) -> Any:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or descriptor.file_annotation is not None:
        return None
    convert = converter(descriptor.annotation, descriptor.parameter_info)
    if convert is None:
        return None
    return FastParam(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation, convert=convert)


_INSTALLED: list[bool] = []


def install() -> None:
    """Convert plain parameters without pydantic from now on, and show arguments by their
    word (idempotent)."""
    if _INSTALLED:
        return
    _help_reads_like_a_man_page()
    if RuntimeParam is None:
        _INSTALLED.append(True)
        return
    try:
        from typer.core import _TyperParameter
    except ImportError:  # pragma: no cover - another Typer
        return
    original = getattr(_TyperParameter, "get_runtime_param", None)
    if original is None:  # pragma: no cover - another Typer
        return

    def get_runtime_param(self: Any) -> Any:
        if getattr(self, "_runtime_param", None) is None:
            fast = _fast_param(self)
            if fast is not None:
                self._runtime_param = fast
        return original(self)

    _TyperParameter.get_runtime_param = get_runtime_param
    _INSTALLED.append(True)
