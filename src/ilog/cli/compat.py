"""Everything in the CLI that reaches below Typer's public API, in one place.

Typer is pinned in ``pyproject.toml`` to the range the test suite runs on; if a release
moves one of these, this module is the one to fix:

- :data:`ClickException`: the base of usage errors, and :data:`NoArgsIsHelpError`, what a
  group given no subcommand raises (its message is the group's help). Typer 0.29 vendors
  click as ``typer._click``; older releases use ``click`` itself.
- :class:`DefaultCommandGroup`: a group that runs a default subcommand when the first word
  is not one of its subcommands (``ilog log C1 --rollup`` lists, ``ilog log export``
  exports). It overrides ``parse_args`` of Typer's group class.
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

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from typer.core import TyperGroup

try:  # typer >= 0.29 vendors click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # pragma: no cover - older typer
    from click.exceptions import ClickException, NoArgsIsHelpError  # type: ignore[no-redef]

__all__ = ["ClickException", "DefaultCommandGroup", "NoArgsIsHelpError", "install"]


class DefaultCommandGroup(TyperGroup):
    """A group whose ``default_command`` runs when the first word names no subcommand."""

    default_command = "list"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


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
    """Convert plain parameters without pydantic from now on (idempotent)."""
    if RuntimeParam is None or _INSTALLED:
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
