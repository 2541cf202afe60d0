"""The rules of the domain, with no database: what an entry takes from its template, when it
is an open activity, which changes a logged entry accepts, who may belong to which company.

Single and bulk paths (``interact`` and ``segment log``, ``cancel 42`` and ``cancel
--template X``) call the same functions, so a rule is written once.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

from ..errors import BadValue, Refused
from .choices import CONTACTLESS_KINDS, OPEN_KINDS


class _Template(Protocol):
    code: str
    description: str | None
    group_code: str | None
    kind: str
    flow: str
    initiated_by: str
    unit_cost: float
    unit_duration_min: float
    attempt_failed: bool
    correspondence: str
    campaign_no: str | None
    attachment_id: int | None


#: what ``resume`` may change on a postponed entry
RESUME_FIELDS = ("subject", "occurred_at", "duration_min", "cost", "flow", "initiated_by", "evaluation",
                 "attempt_failed", "salesperson_code", "campaign_no", "due_at", "kind")


def from_template(template: _Template) -> dict[str, Any]:
    """The values an entry takes from its template (each may be overridden per entry)."""
    return {
        "template_code": template.code, "group_code": template.group_code, "kind": template.kind,
        "flow": template.flow, "initiated_by": template.initiated_by, "cost": template.unit_cost,
        "duration_min": template.unit_duration_min, "attempt_failed": template.attempt_failed,
        "correspondence": template.correspondence, "campaign_no": template.campaign_no,
        "attachment_id": template.attachment_id, "subject": template.description,
    }


def company_of(contact_type: str, contact_no: str, company_no: str | None) -> str | None:
    """The company an entry is logged under: a person's company now, or the company itself."""
    return company_no if contact_type == "person" else contact_no


def planned_state(values: dict[str, Any]) -> None:
    """An entry with a due date and no completion is an open activity."""
    if values.get("due_at") is not None and values.get("state", "done") == "done" and values.get("completed_at") is None:
        values["state"] = "open"


def check_open_without_due(kind: str, due_at: Any) -> None:
    """``--open`` without a due date is for activities that are planned rather than happened."""
    if due_at is None and kind not in OPEN_KINDS:
        raise BadValue(f"an open activity without a due date (--open, open_activity) is for kinds "
                       f"{' and '.join(OPEN_KINDS)} (this is {kind}): give a due date (--due DATE, due_at) to plan it")


def check_contact(contact_no: str | None, kind: str) -> None:
    if contact_no is None and kind not in CONTACTLESS_KINDS:
        raise BadValue("a contact is required (only tasks and notes may have none)")


def fingerprint(contact_no: str | None, document_type: str | None, document_no: str | None,
                template_code: str | None = None, kind: str | None = None) -> str:
    """What one recording is, for its idempotency key: the contact and the document (type and
    number) it records, or, without a document, the contact, template and kind. Details a
    retry may word differently (subject, date, version) are not part of it.

    A retry with the same key and the same fingerprint is the same recording (it returns the
    entry recorded first); the same key with another fingerprint is a key reused for another
    recording, which is refused, as payment APIs treat a reused key.
    """
    if document_no:
        parts = ("document", contact_no or "", document_type or "", document_no)
    else:
        parts = ("entry", contact_no or "", template_code or "", kind or "")
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def of_entry(entry: Any) -> str:
    """The fingerprint of a draft or stored entry."""
    return fingerprint(entry.contact_no, entry.document_type, entry.document_no, entry.template_code, entry.kind)


def key_reused(key: str, entry_no: int) -> Refused:
    return Refused(f"idempotency key {key!r} already recorded entry {entry_no}, for another document or contact: "
                   "nothing recorded (a retry repeats the same recording; a new print needs a new key)")


def status(entry: Any) -> str:
    """What a person reads as an entry's state: cancelled and postponed before open and done
    (machine formats keep ``state`` open|done beside the ``cancelled``/``postponed`` flags)."""
    if entry.cancelled:
        return "cancelled"
    if entry.postponed:
        return "postponed"
    return entry.state


# -- changing logged entries: why an entry is refused (None: it may change) -------------------


def cannot_cancel(entry: Any) -> str | None:
    return "is already cancelled" if entry.cancelled else None


def cannot_restore(entry: Any, cancelled_segments: set[str]) -> str | None:
    if not entry.cancelled:
        return "is not cancelled"
    if entry.logged_segment_no in cancelled_segments:
        return (f"belongs to cancelled logged segment {entry.logged_segment_no}: "
                "restore the whole segment (ilog segment cancel NO --restore)")
    return None


def cannot_evaluate(entry: Any) -> str | None:
    return "is cancelled" if entry.cancelled else None


def cannot_complete(entry: Any) -> str | None:
    if entry.cancelled:
        return "is cancelled"
    if entry.postponed:
        return f"is postponed: log it first (ilog resume {entry.entry_no})"
    if entry.state != "open":
        return "is already done"
    return None


def cannot_assign(entry: Any) -> str | None:
    if entry.cancelled:
        return "is cancelled"
    if entry.state != "open" and not entry.postponed:
        return f"is done: a done entry stays with who did it ({entry.owner or entry.user_id})"
    return None


def check_resumable(entry: Any) -> None:
    if not entry.postponed:
        raise Refused(f"entry {entry.entry_no} is not postponed: only postponed entries can be resumed")
    if entry.cancelled:
        raise Refused(f"entry {entry.entry_no} is cancelled: restore it before resuming it")


# -- companies and persons ----------------------------------------------------------------------


def check_company(company: Any, person_no: str | None) -> None:
    """``company`` may take ``person_no`` as one of its persons."""
    if company.type != "company":
        raise Refused(f"contact {company.no} ({company.name}) is a person, not a company")
    if person_no and company.no == person_no:
        raise Refused(f"contact {person_no} cannot belong to itself")


def check_move(person_no: str, current: Any | None, company_no: str, move: bool) -> None:
    """A person already in another company moves only when asked, and the error names it."""
    if current is not None and current.no != company_no and not move:
        raise Refused(f"contact {person_no} already belongs to company {current.no} ({current.name}); "
                      "use --move to move it")


def check_same(what: str, existing: dict[str, Any], given: dict[str, Any]) -> None:
    """``--exist-ok``: an existing record is fine only if it has the values given again.

    Each differing field is named, with the value stored and the value given; nothing is
    changed (edit the record to change it).
    """
    differences = [f"{name.replace('_', ' ')} is {_shown(existing.get(name))}, not {_shown(value)}"
                   for name, value in given.items() if value is not None and existing.get(name) != value]
    if differences:
        raise Refused(f"{what} already exists with other values: {'; '.join(differences)}; nothing changed "
                      "(edit it to change them)")


def _shown(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)
