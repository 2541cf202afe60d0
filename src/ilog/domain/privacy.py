"""Privacy rules with no database: what an erasure keeps and removes, the placeholder contact
of anonymized entries, how an erased contact is recorded, and the retention policy.

- **Erase** (``ilog contact erase NO``) deletes the contact and everything of it.
- **Anonymize** (``--anonymize``) keeps its entries for statistics, moved to the placeholder
  contact :data:`PLACEHOLDER_NO` with every personal field emptied (:data:`ANONYMIZED`).
- Either way an erasure leaves a record without personal data: when, who ran it, how many
  rows of each kind, and :func:`contact_hash` of the number (so "was CT000123 erased?" can be
  answered by hashing the number asked about; numbers are guessable, so the hash is a
  pseudonym, not a secret).
- **Retention** (:class:`RetentionPolicy`): entries older than an age are deleted; the age is
  the entry's template's rule, else its group's, else the default.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import BadValue, Refused
from . import dates, values

#: the contact anonymized entries are moved to (created on demand, a person)
PLACEHOLDER_NO = "ERASED"
#: the placeholder's name: a contact numbered ``ERASED`` with another name is not ilog's
PLACEHOLDER_NAME = "Erased contact (anonymized entries)"

#: the entry fields anonymizing empties: each says who the entry was with, what it said, or
#: points at the person's data elsewhere (a document or opportunity of the ERP, a file).
#: ``contact_no`` becomes the placeholder; ``company_no`` is emptied when it is the erased
#: contact itself (a company) or a company being erased with it, and kept otherwise (a
#: person's company stays counted).
#: What is kept: dates, template, group, kind, flow, initiated by, cost, duration, state,
#: evaluation, cancelled/postponed, user, owner, salesperson, campaign, segment, document type.
ANONYMIZED: dict[str, Any] = {
    "subject": None, "document_no": None, "version_no": None, "occurrence": None, "attachment_id": None,
    "idempotency_key": None, "opportunity_no": None,
}

#: the kinds of rows an erasure counts, in the order they are shown
COUNT_KEYS = ("contacts", "entries", "entries_anonymized", "comments", "attachments", "segment_lines",
              "idempotency_keys", "document_occurrences", "company_links_removed")


def contact_hash(no: str) -> str:
    """SHA-256 (hex) of a contact number, as an erasure record keeps it."""
    return hashlib.sha256(values.code(no, "contact number").encode("utf-8")).hexdigest()


def check_erasable(no: str) -> None:
    """The placeholder holds everyone's anonymized entries: it is never erased itself."""
    if no == PLACEHOLDER_NO:
        raise Refused(f"contact {PLACEHOLDER_NO} holds anonymized entries and cannot be erased "
                       "(its entries carry no personal data)")


def check_placeholder(contact: Any | None) -> None:
    """A contact numbered ``ERASED`` must be ilog's placeholder, not someone's real contact."""
    if contact is not None and (contact.name != PLACEHOLDER_NAME or contact.type != "person"):
        raise Refused(f"contact {PLACEHOLDER_NO} ({contact.name}) is not ilog's placeholder for anonymized "
                      f"entries: give it another number first (anonymizing moves entries to {PLACEHOLDER_NO})")


def placeholder_row(at: datetime) -> dict[str, Any]:
    """The placeholder contact's row."""
    from .records import ContactBase

    return values.validated(ContactBase, {"no": PLACEHOLDER_NO, "type": "person", "name": PLACEHOLDER_NAME,
                                          "created_at": at, "updated_at": at}).model_dump()


def total(counts: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    """Counts added up, in :data:`COUNT_KEYS` order, leaving out kinds nothing was counted for."""
    summed = {key: int(counts.get(key, 0)) + int(more.get(key, 0)) for key in COUNT_KEYS}
    return {key: n for key, n in summed.items() if n}


# -- retention -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionRule:
    """One age of the policy: for a template, a group, or the default."""

    scope: str  # "template" | "group" | "default"
    code: str | None
    age: str
    source: str
    #: the configuration key it comes from, as written (``retention.templates.call``)
    setting: str

    @property
    def name(self) -> str:
        """``template CALL``, ``group SALES``, ``default``: how listings name the rule."""
        return self.scope if self.code is None else f"{self.scope} {self.code}"

    def cutoff(self) -> datetime:
        """Entries dated before this moment are older than the rule allows."""
        return dates.parse_age(self.age)


@dataclass(frozen=True)
class RetentionPolicy:
    """The rules in order of precedence: every template rule, then every group rule, then the
    default. An entry's rule is its template's if it has one, else its group's, else the
    default; an entry no rule covers is kept."""

    rules: tuple[RetentionRule, ...] = ()

    @classmethod
    def from_settings(cls, table: dict[str, Any]) -> "RetentionPolicy":
        """The policy of the ``[retention]`` settings (:meth:`ilog.config.Settings.table`),
        each age checked; a bad one is a BadValue naming its key and file."""
        rules: list[RetentionRule] = []
        for scope, key in (("template", "templates"), ("group", "groups")):
            by_code: dict[str, RetentionRule] = {}
            for code, (age, source) in dict(table.get(key) or {}).items():
                setting = f"retention.{key}.{code}"
                try:
                    checked = values.code(code, f"{scope} code")
                except BadValue as exc:
                    raise BadValue(f"config file {source}: {setting}: {exc.message}") from None
                by_code[checked] = _rule(scope, checked, age, source, setting)
            rules.extend(by_code[code] for code in sorted(by_code))
        if table.get("default"):
            age, source = table["default"]  # type: ignore[misc]
            rules.append(_rule("default", None, age, source, "retention.default"))
        return cls(tuple(rules))

    def __bool__(self) -> bool:
        return bool(self.rules)

    def cutoffs(self) -> list[tuple[RetentionRule, datetime]]:
        """Each rule with its cut-off now, in order of precedence."""
        return [(rule, rule.cutoff()) for rule in self.rules]


def _rule(scope: str, code: str | None, age: str, source: str, setting: str) -> RetentionRule:
    where = f"config file {source}: {setting}"
    try:
        cutoff = dates.parse_age(age)
    except BadValue as exc:
        raise BadValue(f"{where}: {exc.message}") from None
    if cutoff >= dates.now().replace(microsecond=0):  # "0d" would delete every entry at once
        raise BadValue(f"{where}: an age of {age!r} keeps nothing; give a positive age such as 90d")
    return RetentionRule(scope, code, age.strip().lower(), source, setting)
