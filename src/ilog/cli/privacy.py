"""``ilog erasures`` and ``ilog retention show|apply``; how ``contact erase`` words its counts.

``ilog contact data`` and ``ilog contact erase`` live with the other contact commands
(:mod:`ilog.cli.contacts`); all of them call :attr:`ilog.logbook.Logbook.privacy`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .context import DryRunOpt, FormatOpt, YesOpt, confirm, plural, say, state
from .render import render

#: count key -> (one, many), for messages
_WORDS = {
    "contacts": ("contact", "contacts"),
    "entries": ("entry", "entries"),
    "entries_anonymized": ("anonymized entry", "anonymized entries"),
    "comments": ("comment line", "comment lines"),
    "attachments": ("attachment", "attachments"),
    "segment_lines": ("segment line", "segment lines"),
    "idempotency_keys": ("idempotency key", "idempotency keys"),
    "document_occurrences": ("document count", "document counts"),
    "company_links_removed": ("company link of another contact's entry", "company links of other contacts' entries"),
}

ERASURE_TABLE = ["id", "erased_at", "erased_by", "mode", "state", "counts", "contact_no"]
RETENTION_COLUMNS = ["rule", "age", "cutoff", "entries", "setting", "source"]


def describe_counts(counts: dict[str, int]) -> str:
    """``1 contact, 12 entries, 3 comment lines``: an erasure's counts in words."""
    parts = [plural(counts[key], *_WORDS[key]) for key in _WORDS if counts.get(key)]
    return ", ".join(parts) if parts else "nothing"


def register(app: typer.Typer) -> None:
    app.command("erasures")(erasures)
    retention_app = typer.Typer(name="retention", help="The retention policy: how long entries are kept.",
                                no_args_is_help=True)
    retention_app.command("show")(retention_show)
    retention_app.command("apply")(retention_apply)
    app.add_typer(retention_app)


def erasures(
    ctx: typer.Context,
    contact: Annotated[str | None, typer.Option("--contact", help="Only the erasures of this contact number (matched by its hash).")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """List the erasures: when, who ran them, the mode, how many rows of each kind, the contact number hashed.

    A record keeps no personal data: the contact number is there only while an erasure is
    in progress (the next ilog contact erase finishes it).

    Example: ilog erasures --contact CT000007 --format json
    """
    from ..domain.records import ERASURE_FIELDS

    records = [r.to_dict() for r in state(ctx).logbook.privacy.erasures(contact)]
    render(records, fmt, ERASURE_FIELDS, table_columns=ERASURE_TABLE, empty="ilog: no erasures")
    in_progress = [r["contact_no"] for r in records if r["contact_no"]]
    if in_progress:
        say(f"ilog: {plural(len(in_progress), 'erasure')} in progress ({', '.join(in_progress)}): "
            "ilog contact erase NO finishes it")


def retention_show(ctx: typer.Context, fmt: FormatOpt = "table") -> None:
    """Show the retention policy: each rule, its age, its cut-off today and how many entries it would delete.

    An entry's rule is its template's, else its group's, else the default; entries no rule
    covers are kept. The policy is the [retention] table of config.toml.

    Example: ilog retention show
    """
    rows = state(ctx).logbook.privacy.retention()
    render(rows, fmt, RETENTION_COLUMNS, empty="ilog: no retention policy: set [retention] in config.toml "
                                               "(default = \"10y\", [retention.templates] CALL = \"2y\")")
    if rows:
        total = sum(int(r["entries"]) for r in rows)
        say(f"ilog: {plural(total, 'entry')} older than the policy allows (ilog retention apply deletes them)")


def retention_apply(
    ctx: typer.Context,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, metavar="N", help="At most this many entries per transaction.")] = 5000,
) -> None:
    """Delete the entries older than the retention policy allows, in any state. Cron-safe.

    Runs in short transactions, as purge-cancelled does; plugins are told through
    interactions_purged. Prints how many entries were deleted.

    Example: ilog retention apply --yes
    """
    privacy = state(ctx).logbook.privacy
    count = privacy.apply_retention(dry_run=True)
    if dry_run:
        print(count)
        say(f"ilog: would delete {plural(count, 'entry')} older than the retention policy allows")
        return
    if count:
        confirm(f"delete {plural(count, 'entry')} older than the retention policy allows", yes=yes)
    deleted = privacy.apply_retention(batch_size=batch_size) if count else 0
    print(deleted)
    say(f"ilog: deleted {plural(deleted, 'entry')} older than the retention policy allows")


def erasure_record(result: Any) -> dict[str, Any]:
    """What ``contact erase`` prints: the contact, the mode, every count, the records left."""
    from ..domain.privacy import COUNT_KEYS

    return {"contact_no": result.contact_no, "mode": result.mode, "dry_run": result.dry_run,
            "contacts_erased": result.contacts, **{key: result.counts.get(key, 0) for key in COUNT_KEYS},
            "erasure_ids": [e.id for e in result.erasures]}
