"""The quick print path: ``ilog event`` in ``delivery = "spool"`` mode, before Typer.

An ERP runs ``ilog event`` once per printed document. With ``delivery = "spool"``, the
event only has to reach this host's spool (:mod:`ilog.store.spool`), and :func:`run` does
that with the standard library: no Typer, no SQLAlchemy, no pydantic, no plugin.

It is a fast lane, not a second implementation: it takes only command lines it fully
understands, with values that are plainly fine, and hands everything else (``None``) to
the Typer command, which accepts the same options, checks every value with the record
model's rules, and spools or refuses as usual. Plainly fine means: ``[--db URL] [--user U]
event EVENT`` with only the options in :data:`VALUES` and :data:`FLAGS`, each at most
once, EVENT one of ilog's own events (a plugin's are known only to the full path), a
document number and exactly one of ``--contact``/``--ref``, and every value printable,
without spaces at its ends and within its field's length; ``--version`` digits, ``--date``
something :func:`ilog.domain.dates.parse_datetime` reads. Any error at all (a bad
setting, a bad date, a spool that cannot be written) also falls back, so every message
comes from one place. tests/test_spool.py checks that both paths take the same options and
spool the same events.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from ..domain.choices import MAX_CODE, MAX_DOCUMENT_NO, MAX_DOCUMENT_TYPE, MAX_KEY, MAX_SUBJECT, MAX_USER
from ..errors import IlogError

#: the value options of ``ilog event`` this path takes: option -> (DocumentEvent field, longest value)
VALUES: dict[str, tuple[str, int]] = {
    "--document-no": ("document_no", MAX_DOCUMENT_NO),
    "--contact": ("contact_no", MAX_CODE),
    "--ref": ("ref", 100),
    "--document-type": ("document_type", MAX_DOCUMENT_TYPE),
    "--version": ("version_no", 10),
    "--date": ("occurred_at", 100),
    "--subject": ("subject", MAX_SUBJECT),
    "--key": ("idempotency_key", MAX_KEY),
}
#: the flags of ``ilog event`` this path takes (``--quiet``: a spooled event is said anyway)
FLAGS = frozenset({"--quiet", "-q"})
#: the options of ``ilog event`` left to the full path: their work needs it
FULL_PATH = frozenset({"--input", "-i", "--attach", "--format", "-f", "--help", "-h", "--verbose", "-v",
                       "--owner", "--opportunity", "--salesperson", "--campaign"})
#: the root options this path takes: option -> setting
ROOT_VALUES = {"--db": "database_url", "--user": "user"}


@dataclass
class Parsed:
    root: dict[str, str] = field(default_factory=dict)
    event: str | None = None
    values: dict[str, str] = field(default_factory=dict)


def parse(args: list[str]) -> Parsed | None:
    """The command line of a plain ``ilog event``, or None for anything else."""
    parsed = Parsed()
    index = 0
    while index < len(args) and args[index] in ROOT_VALUES:
        if index + 1 >= len(args) or ROOT_VALUES[args[index]] in parsed.root:
            return None
        parsed.root[ROOT_VALUES[args[index]]] = args[index + 1]
        index += 2
    if index >= len(args) or args[index] != "event":
        return None
    index += 1
    while index < len(args):
        word = args[index]
        if word in VALUES:
            if index + 1 >= len(args) or word in parsed.values:
                return None
            parsed.values[word] = args[index + 1]
            index += 2
        elif word in FLAGS:
            index += 1
        elif word.startswith("-") or parsed.event is not None:
            return None  # --help, --input, --opt=value, an unknown option, a second EVENT...
        else:
            parsed.event = word
            index += 1
    return parsed


def run(args: list[str]) -> int | None:
    """Spool a plain ``ilog event`` in spool mode and return its exit status; None: use the full path."""
    parsed = parse(args)
    if parsed is None:
        return None
    try:
        return _spool(parsed)
    except IlogError:
        return None  # the full path gives the error its one line


def _plain(value: str, limit: int) -> bool:
    return bool(value) and len(value) <= limit and value.isprintable() and value.strip() == value


def _spool(parsed: Parsed) -> int | None:
    from ..config import default_spool_path, load_settings

    settings = load_settings(**parsed.root)
    if settings.delivery != "spool":
        return None
    fields = _fields(parsed, settings.get("timezone"))  # type: ignore[arg-type]
    if fields is None or not _plain(settings.user, MAX_USER):
        return None
    from ..services.delivery import SPOOL_MODE, new_key, spool_event, spooled_message, target_of
    from ..store.spool import SpooledEvent
    from ..store.urls import looks_like_a_mistyped_url

    if looks_like_a_mistyped_url(settings.database_url):
        return None
    key = fields.pop("idempotency_key", None) or new_key()
    item = SpooledEvent(target=target_of(settings.database_url), key=key, event=fields, user_id=settings.user,
                        reason=SPOOL_MODE)
    spool_id = spool_event(default_spool_path(), item)
    print(spooled_message(spool_id, SPOOL_MODE), file=sys.stderr, flush=True)
    return 0


def _fields(parsed: Parsed, zone: str | None) -> dict[str, object] | None:
    """The DocumentEvent fields of a plainly fine event, the moment of the print pinned; else None."""
    from ..domain.choices import BUILTIN_EVENTS, INT32_MAX

    given = parsed.values
    if parsed.event not in BUILTIN_EVENTS or "--document-no" not in given:
        return None
    if ("--contact" in given) == ("--ref" in given):
        return None
    fields: dict[str, object] = {"event": parsed.event}
    for option, value in given.items():
        name, limit = VALUES[option]
        if not _plain(value, limit):
            return None
        fields[name] = value
    version = given.get("--version")
    if version is not None:
        if not (version.isascii() and version.isdigit() and int(version) <= INT32_MAX):
            return None
        fields["version_no"] = int(version)
    from ..domain import dates

    dates.set_zone(zone)
    date = given.get("--date")
    fields["occurred_at"] = (dates.parse_datetime(date) if date is not None else dates.now()).isoformat()
    return fields
