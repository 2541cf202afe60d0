"""The one parser for dates, times and ages, and the one place that knows the user's zone.

Accepted forms (case-insensitive):

- ISO 8601: ``2026-11-24``, ``2026-11-24T09:30``, ``2026-11-24 09:30:00+01:00``, ``...Z``;
- ``now``, ``today``, ``yesterday``, ``tomorrow``;
- relative to now: ``-3d``, ``+2w``, ``-1m``, ``+1y``, ``-4h``, ``-30min`` (also ``3d ago``).

Ages (``--older-than``) are ``90d``, ``12w``, ``6m``, ``1y`` (and ``h``). Anything else is a
:class:`~ilog.errors.BadValue` naming the text. Day-first or month-first forms such as
``03/04/2026`` are refused rather than guessed.

Naive times are in the user's zone (``ILOG_TIMEZONE``/config ``timezone``, else the system's);
a time that does not exist there (a DST gap) is refused. Everything is stored in UTC.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from ..errors import BadValue

UTC = timezone.utc

#: the moments ilog keeps: every one of them can be shown in every zone (a day of margin
#: on each side of datetime's own range), so no stored moment can make reading fail
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)

_RELATIVE = re.compile(
    r"^(?P<sign>[+-])?\s*(?P<n>\d+)\s*(?P<unit>min|mins|minutes?|h|hours?|d|days?|w|weeks?|m|months?|y|years?)"
    r"(?:\s+(?P<ago>ago))?$"
)
_UNIT = {"min": "minutes", "h": "hours", "d": "days", "w": "weeks", "m": "months", "y": "years"}


def _unit(word: str) -> str:
    if word.startswith("min"):
        return "minutes"
    return _UNIT[word[0]]


_configured_zone: str | None = None


def set_zone(name: str | None) -> None:
    """Use this zone (an IANA name such as ``Europe/Rome``) for input and display."""
    global _configured_zone
    _configured_zone = name or None


def local_zone() -> tzinfo:
    """The user's zone: the configured one, else ``ILOG_TIMEZONE``, else the system's."""
    name = _configured_zone or os.environ.get("ILOG_TIMEZONE")
    if name:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise BadValue(f"unknown time zone {name!r}") from None
    return _system_zone(os.environ.get("TZ"))


_system_zones: dict[str | None, tzinfo] = {}


def _system_zone(tz: str | None) -> tzinfo:
    """The system's zone with its rules (``TZ``, else ``/etc/localtime``), so that a winter date
    seen in summer keeps its winter offset; a fixed offset (today's) only when neither names one."""
    if tz not in _system_zones:
        from zoneinfo import ZoneInfo

        zone: tzinfo | None = None
        candidates = [tz.lstrip(":")] if tz else []
        try:
            target = os.path.realpath("/etc/localtime")
            if "/zoneinfo/" in target:
                candidates.append(target.split("/zoneinfo/", 1)[1])
        except OSError:
            pass
        for key in candidates:
            try:
                zone = ZoneInfo(key)
                break
            except (ValueError, OSError, KeyError, LookupError):
                continue
        _system_zones[tz] = zone or datetime.now().astimezone().tzinfo  # type: ignore[assignment]
    return _system_zones[tz]


def now() -> datetime:
    """The current moment, timezone-aware in UTC."""
    return datetime.now(UTC)


def _shift(moment: datetime, n: int, unit: str, text: str) -> datetime:
    try:
        if unit in ("months", "years"):
            from dateutil.relativedelta import relativedelta

            return moment + relativedelta(**{unit: n})
        return moment + timedelta(**{unit: n})
    except (OverflowError, ValueError):
        raise _out_of_range(text) from None


def _out_of_range(text: str) -> BadValue:
    return BadValue(f"date {text!r} is out of range: ilog keeps moments from 0001-01-02 to "
                    f"9999-12-30 (an ERP's 9999-12-31 'no date' means: leave the date out)")


def in_range(moment: datetime, text: str) -> datetime:
    """``moment`` (aware) if every zone can show it, else a BadValue naming ``text``."""
    if not EARLIEST <= moment <= LATEST:
        raise _out_of_range(text)
    return moment


def _localize(naive: datetime, text: str) -> datetime:
    """Attach the user's zone to a naive local time, refusing times that do not exist."""
    zone = local_zone()
    aware = naive.replace(tzinfo=zone)
    # A wall time in a DST gap does not survive a round trip through UTC.
    back = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != naive:
        raise BadValue(f"time {text!r} does not exist in zone {zone} (daylight-saving gap)")
    return aware.astimezone(UTC)


def parse_datetime(text: str, *, end_of_day: bool = False) -> datetime:
    """Parse a user's date or date-time into an aware UTC datetime.

    A bare date means the start of that day in the user's zone, or its last instant
    with ``end_of_day`` (for ``--to``).
    """
    raw = (text or "").strip()
    word = raw.lower()
    if not word:
        raise BadValue("empty date")
    current = now()
    if word == "now":
        return current
    if word in ("today", "yesterday", "tomorrow"):
        local_today = current.astimezone(local_zone()).date()
        day = local_today + timedelta(days={"today": 0, "yesterday": -1, "tomorrow": 1}[word])
        return _day_bound(day, end_of_day, raw)
    match = _RELATIVE.match(word)
    if match:
        n = int(match["n"])
        if match["sign"] == "-" or match["ago"]:
            n = -n
        return in_range(_shift(current, n, _unit(match["unit"]), raw), raw)
    try:
        if len(raw) == 10 and raw[4] == "-":
            return _day_bound(date.fromisoformat(raw), end_of_day, raw)
        parsed = datetime.fromisoformat(raw.replace("z", "Z"))
    except (ValueError, IndexError):
        raise BadValue(
            f"invalid date {text!r}: use ISO 8601 (2026-11-24, 2026-11-24T09:30), "
            "now, today, yesterday, or a relative form such as -3d"
        ) from None
    return moment_of(parsed, raw)


def moment_of(value: datetime, text: str | None = None) -> datetime:
    """An aware UTC moment from a datetime: a naive one is in the user's zone (as a naive
    text is); refused when out of range or in a daylight-saving gap."""
    label = text if text is not None else value.isoformat()
    try:
        aware = _localize(value, label) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise _out_of_range(label) from None
    return in_range(aware, label)


def _day_bound(day: date, end_of_day: bool, text: str) -> datetime:
    moment = datetime.combine(day, time.max if end_of_day else time.min)
    zone = local_zone()
    try:
        return in_range(moment.replace(tzinfo=zone).astimezone(UTC), text)
    except (OverflowError, ValueError):
        raise _out_of_range(text) from None


def parse_age(text: str) -> datetime:
    """Parse an age such as ``90d``, ``12w``, ``6m``, ``1y`` into the cut-off moment (now minus it)."""
    match = re.fullmatch(r"\s*(\d+)\s*(h|d|w|m|y)\s*", (text or "").lower())
    if not match:
        raise BadValue(f"invalid age {text!r}: use a number and a unit, such as 90d, 12w, 6m or 1y")
    return in_range(_shift(now(), -int(match[1]), _UNIT[match[2]], text), text)


def to_local(moment: datetime | None) -> datetime | None:
    """An aware UTC moment shown in the user's zone (in UTC if that zone cannot show it:
    reading never fails on a stored value, whatever wrote it)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(local_zone())
    except (OverflowError, ValueError):
        return moment


def isoformat(moment: datetime | None) -> str | None:
    """ISO 8601 in the user's zone, to the second (the form JSON and CSV use)."""
    local = to_local(moment)
    return None if local is None else local.isoformat(timespec="seconds")


# -- calendar periods of the user's zone ---------------------------------------------------

#: what statistics can count by calendar period (labels ``2026-10`` and ``2026-10-01``)
PERIODS = ("month", "day")


def _period_start(day: date, by: str) -> date:
    return day.replace(day=1) if by == "month" else day


def _next_period(start: date, by: str) -> date | None:
    try:
        if by == "day":
            return start + timedelta(days=1)
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    except (OverflowError, ValueError):
        return None


def _local_midnight(day: date | None, zone: tzinfo) -> datetime | None:
    """The first instant of ``day`` in ``zone``, in UTC (a midnight skipped by a daylight-saving
    change starts the day at the change); None beyond what datetime holds."""
    if day is None:
        return None
    try:
        return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _period(start: date, by: str, zone: tzinfo) -> tuple[str, datetime | None, datetime | None]:
    label = f"{start.year:04d}-{start.month:02d}" + (f"-{start.day:02d}" if by == "day" else "")
    return label, _local_midnight(start, zone), _local_midnight(_next_period(start, by), zone)


def _local_date(moment: datetime, zone: tzinfo) -> date:
    try:
        return moment.astimezone(zone).date()
    except (OverflowError, ValueError):
        return moment.date()


def calendar_periods(first: datetime, last: datetime, by: str, zone: tzinfo | None = None
                     ) -> list[tuple[str, datetime | None, datetime | None]]:
    """The calendar months or days of ``zone`` (default: the user's) from the one holding
    ``first`` to the one holding ``last``, oldest first: ``(label, start, end)``, start and end
    in UTC (end not included; None where datetime's range ends). Months are calendar months of
    the zone: an entry at 00:30 on 1 October in Tokyo is in October, whatever its UTC date.
    """
    zone = zone or local_zone()
    current: date | None = _period_start(_local_date(first, zone), by)
    stop = _period_start(_local_date(last, zone), by)
    periods = []
    while current is not None and current <= stop:
        periods.append(_period(current, by, zone))
        current = _next_period(current, by)
    return periods


def calendar_periods_of_days(utc_days: "list[date]", by: str, zone: tzinfo | None = None
                             ) -> list[tuple[str, datetime | None, datetime | None]]:
    """Like :func:`calendar_periods`, only the periods that overlap one of the given UTC days
    (for data spread over centuries, where listing every period in between would not do)."""
    zone = zone or local_zone()
    starts: set[date] = set()
    for day in utc_days:
        first = datetime.combine(day, time.min, tzinfo=UTC)
        starts.add(_period_start(_local_date(first, zone), by))
        starts.add(_period_start(_local_date(first + timedelta(hours=23, minutes=59, seconds=59, microseconds=999999),
                                             zone), by))
    return [_period(start, by, zone) for start in sorted(starts)]
