"""The value types of ilog's fields: each rule of what a field accepts, written once.

Every field of the records (:mod:`ilog.domain.records`) is annotated with one of these
types. The same rule then applies on every path that builds a record (the CLI, ``import
ilog``, batch lines, contact and log imports), so the same input gives the same value and
the same one-line error everywhere:

- codes and numbers (``Code``) are stripped and upper-cased: ``anna`` is ``ANNA``;
- text refuses what SQLite and PostgreSQL would treat differently (NUL bytes, invalid
  UTF-8) and what is longer than its column;
- choices (kinds, flows...) fold case and must be one of :mod:`ilog.domain.choices`;
- amounts are finite and not negative; whole numbers are whole (``1.5`` is not a
  version) and within what the database stores;
- moments accept what :func:`ilog.domain.dates.parse_datetime` accepts, or a datetime,
  and are kept aware, in UTC, within the range every zone can show.

A rule raises :class:`~ilog.errors.BadValue` itself, naming the field in words
(``salesperson code``, not ``salesperson_code``), so pydantic passes it through untouched;
:func:`validated` turns pydantic's own errors (a wrong type) into the same kind of message.

The ``max_length`` metadata is also what SQLModel reads for the width of a text column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, ValidationError, ValidationInfo
from pydantic import Field as _Field

from ..errors import BadValue
from . import choices as c
from . import dates

#: field name -> how messages name it (default: the name with spaces)
LABELS = {
    "no": "number", "contact_no": "contact number", "company_no": "company number",
    "template_code": "template code", "group_code": "group code", "salesperson_code": "salesperson code",
    "campaign_no": "campaign number", "flow": "information flow", "initiated_by": "initiated by",
    "duration_min": "duration", "unit_duration_min": "unit duration", "document_no": "document number",
    "version_no": "version", "idempotency_key": "idempotency key", "occurred_at": "date", "due_at": "due date",
    "date_from": "--from date", "date_to": "--to date", "due_before": "--due-before date",
    "correspondence": "correspondence type", "entry_no": "entry number", "entry_nos": "entry number",
    "logged_segment_no": "logged segment number", "segment_no": "segment number", "ref": "reference",
    "attach": "attachment", "opportunity_no": "opportunity number", "type": "contact type",
}
#: (model title, field name) -> label, where a field means something else in one model
MODEL_LABELS = {
    ("Contact", "no"): "contact number", ("ContactBase", "no"): "contact number",
    ("Segment", "no"): "segment number", ("SegmentBase", "no"): "segment number",
    ("Template", "code"): "template code", ("TemplateBase", "code"): "template code",
    ("InteractionGroup", "code"): "group code",
}


def label_of(info: ValidationInfo | None, default: str = "value") -> str:
    name = info.field_name if info is not None else None
    if not name:
        return default
    title = (info.config or {}).get("title") if info is not None else None
    return MODEL_LABELS.get((title, name)) or LABELS.get(name) or name.replace("_", " ")


T = TypeVar("T")


def _rule(check: Callable[[Any, str], Any]) -> BeforeValidator:
    """A pydantic validator running ``check(value, label)``; None passes (optional fields)."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        try:
            return check(value, "")
        except BadValue:  # the same check again, now naming the field (errors are rare)
            return check(value, label_of(info))

    return BeforeValidator(validate)


# -- the rules, usable on their own (``values.code(text, "segment number")``) ---------------


def text(value: Any, label: str, limit: int = c.MAX_NAME, *, strip: bool = False) -> str:
    """Text the database stores the same on every backend, at most ``limit`` characters."""
    if type(value) is not str:
        value = _as_text(value, label)
    if "\x00" in value:
        raise BadValue(f"{label} contains a NUL byte")
    if not value.isascii():  # ASCII always encodes; else a lone surrogate would not
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadValue(f"{label} is not valid UTF-8 text") from None
    if strip:
        value = value.strip()
    if len(value) > limit:
        raise BadValue(f"{label} is too long ({len(value)} characters, at most {limit})")
    return value


def _as_text(value: Any, label: str) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise BadValue(f"{label} is not valid UTF-8 text") from None
    if isinstance(value, (bool, dict, list, tuple, set)):
        raise BadValue(f"invalid {label} {value!r}: not text")
    return value if isinstance(value, str) else str(value)


def required_text(value: Any, label: str, limit: int = c.MAX_NAME) -> str:
    result = text(value, label, limit, strip=True)
    if not result:
        raise BadValue(f"{label} must not be empty")
    return result


def code(value: Any, label: str, limit: int = c.MAX_CODE) -> str:
    """A code or number: not empty, no spaces at the ends, upper-cased."""
    return required_text(value, label, limit).upper()


def choice(value: Any, label: str, allowed: tuple[str, ...]) -> str:
    if value in allowed:
        return value
    folded = text(value, label, 100, strip=True).lower()
    if folded not in allowed:
        raise BadValue(f"invalid {label} {value!r}: choose from {', '.join(allowed)}")
    return folded


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email(value: Any, label: str) -> str | None:
    address = text(value, label, c.MAX_NAME, strip=True)
    if not address:
        return None
    if not _EMAIL.match(address):
        raise BadValue(f"invalid email address {value!r}")
    return address


def amount(value: Any, label: str) -> float:
    """A finite number, not negative (cost, duration)."""
    if type(value) is float and 0 <= value < math.inf:
        return value
    if isinstance(value, bool):
        raise BadValue(f"invalid {label} {value!r}: not a number")
    try:
        number = float(value.strip().replace("_", "") if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        raise BadValue(f"invalid {label} {value!r}: not a number") from None
    if not math.isfinite(number):
        raise BadValue(f"invalid {label} {value!r}: not a finite number")
    if number < 0:
        raise BadValue(f"{label} must not be negative")
    return number


def whole(value: Any, label: str, low: int = 0, high: int = c.INT32_MAX) -> int:
    """A whole number within ``low``..``high`` (what the database column holds)."""
    if type(value) is int and low <= value <= high:
        return value
    if isinstance(value, bool):
        raise BadValue(f"invalid {label} {value!r}: not a whole number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise BadValue(f"invalid {label} {value!r}: not a whole number")
        number = int(value)
    else:
        raw = str(value).strip().replace("_", "")
        if not re.fullmatch(r"[+-]?\d+", raw, re.ASCII):
            raise BadValue(f"invalid {label} {value!r}: not a whole number")
        number = int(raw)
    if number < low:
        raise BadValue(f"{label} must be at least {low}" if low else f"{label} must not be negative")
    if number > high:
        raise BadValue(f"invalid {label} {value!r}: at most {high:,}".replace(",", " "))
    return number


def moment(value: Any, label: str, *, end_of_day: bool = False) -> datetime:
    """An aware UTC moment from a date text (ISO 8601, ``now``, ``-3d``...), a datetime or a date."""
    if isinstance(value, datetime):
        if value.tzinfo is dates.UTC and dates.EARLIEST <= value <= dates.LATEST:
            return value
        return dates.moment_of(value)
    if isinstance(value, date):
        return dates.parse_datetime(value.isoformat(), end_of_day=end_of_day)
    if isinstance(value, str):
        return dates.parse_datetime(text(value, label, 100), end_of_day=end_of_day)
    raise BadValue(f"invalid {label} {value!r}: give a date such as 2026-11-24 or 2026-11-24T09:30")


# -- the types --------------------------------------------------------------------------------


def Text(limit: int, *, strip: bool = False) -> Any:  # noqa: N802 - a type factory
    """Optional text of at most ``limit`` characters: kept as given, or with ``strip``
    stripped and None when empty (a contact's address fields)."""

    def check(value: Any, label: str) -> str | None:
        result = text(value, label, limit, strip=strip)
        return (result or None) if strip else result

    return Annotated[str | None, _Field(max_length=limit), _rule(check)]


def Name(limit: int = c.MAX_NAME) -> Any:  # noqa: N802
    """Required text, stripped, not empty."""
    return Annotated[str, _Field(max_length=limit), _rule(lambda v, label: required_text(v, label, limit))]


def Choice(allowed: tuple[str, ...], width: int) -> Any:  # noqa: N802
    return Annotated[str, _Field(max_length=width), _rule(lambda v, label: choice(v, label, allowed))]


Code = Annotated[str, _Field(max_length=c.MAX_CODE), _rule(code)]
OptCode = Annotated[str | None, _Field(max_length=c.MAX_CODE), _rule(lambda v, label: code(v, label) if str(v).strip() else None)]
Email = Annotated[str | None, _Field(max_length=c.MAX_NAME), _rule(email)]
Kind = Choice(c.KINDS, 20)
Flow = Choice(c.FLOWS, 10)
InitiatedBy = Choice(c.INITIATED_BY, 10)
Evaluation = Choice(c.EVALUATIONS, 15)
Correspondence = Choice(c.CORRESPONDENCE, 10)
State = Choice(c.STATES, 5)
Source = Choice(c.SOURCES, 10)
ContactType = Choice(c.CONTACT_TYPES, 10)
SegmentState = Choice(c.SEGMENT_STATES, 10)
Amount = Annotated[float, _rule(amount)]
Count = Annotated[int, _Field(ge=0, le=c.INT32_MAX), _rule(whole)]
BigCount = Annotated[int, _Field(ge=0, le=c.INT64_MAX), _rule(lambda v, label: whole(v, label, 0, c.INT64_MAX))]
EntryNo = Annotated[int, _Field(ge=1, le=c.INT64_MAX), _rule(lambda v, label: whole(v, label, 1, c.INT64_MAX))]
Moment = Annotated[datetime, _rule(moment)]
#: a moment where a bare date means the end of that day (``--to``, ``--until``)
EndMoment = Annotated[datetime, _rule(lambda v, label: moment(v, label, end_of_day=True))]


def OneOrMany(item: Any) -> Any:  # noqa: N802 - a type factory
    """One value or a list of them (a filter matching any): ``"CALL"`` is ``["CALL"]``."""

    def as_list(value: Any, info: ValidationInfo) -> Any:
        if value is None or isinstance(value, (list, tuple, set)):
            return None if value is None or len(value) == 0 else list(value)
        return [value]

    return Annotated[list[item] | None, BeforeValidator(as_list)]


def entry_no(value: Any, label: str = "entry number") -> int:
    """An entry number as every command and the API take it."""
    return whole(value, label, 1, c.INT64_MAX)


def limit(value: Any, label: str = "limit") -> int | None:
    """A listing's limit: 0 or None means no limit."""
    number = whole(value, label, 0, c.INT64_MAX)
    return number or None


def validated(model: type[T], data: Any) -> T:
    """``model`` validated from ``data``; any error as one :class:`BadValue` naming the field.

    A record that is not a table is validated straight into a new instance, as pydantic's
    own ``__init__`` does: SQLModel's ``model_validate`` wraps the same call in bookkeeping
    for table instances that costs as much again (an import validates a million rows).
    """
    try:
        if type(data) is dict and not model.model_config.get("table"):  # type: ignore[attr-defined]
            record = model.__new__(model)
            model.__pydantic_validator__.validate_python(data, self_instance=record)  # type: ignore[attr-defined]
            return record
        return model.model_validate(data)  # type: ignore[attr-defined]
    except ValidationError as exc:
        raise bad_value(exc) from None


def bad_value(exc: ValidationError) -> BadValue:
    """A pydantic error (a type our rules did not see first) as one line naming the field."""
    error = exc.errors()[0]
    where = error.get("loc") or ()
    name = str(where[0]) if where else "value"
    label = LABELS.get(name, name.replace("_", " "))
    if error.get("type") == "missing":
        return BadValue(f"{label} is required")
    if error.get("type") in ("extra_forbidden", "unexpected_keyword_argument"):
        return BadValue(f"unknown field {name!r}")
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    given = error.get("input")
    shown = f" {given!r}" if isinstance(given, (str, int, float)) and len(repr(given)) < 80 else ""
    return BadValue(f"invalid {label}{shown}: {message[:1].lower()}{message[1:]}")
