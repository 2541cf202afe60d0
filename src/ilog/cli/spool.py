"""``ilog spool``: the document events this host accepted while the database was away."""

from __future__ import annotations

from typing import Annotated

import typer

from .context import FormatOpt, YesOpt, confirm, plural, say, state
from .render import render

spool_app = typer.Typer(name="spool", no_args_is_help=True,
                        help="Events spooled on this host while the database was away: status, list, flush, "
                             "drop, retry.")

SpoolIds = Annotated[list[int], typer.Argument(metavar="ID...", help="Spool ids (see ilog spool list).",
                                               show_default=False)]
STATUS_COLUMNS = ["target", "pending", "failed", "oldest", "last_error"]
LIST_COLUMNS = ["id", "state", "spooled_at", "event", "document_no", "contact_no", "ref", "key", "user_id",
                "attempts", "last_error", "reason", "attachment_name", "target"]
LIST_TABLE = ["id", "state", "spooled_at", "event", "document_no", "contact_no", "ref", "key", "attempts",
              "last_error"]
FLUSH_COLUMNS = ["spool_id", "entry_no", "created", "error"]


def register(app: typer.Typer) -> None:
    app.add_typer(spool_app)


@spool_app.command("status")
def status(ctx: typer.Context, fmt: FormatOpt = "table") -> None:
    """How many events wait in this host's spool, per database, and the last error seen.

    Example: ilog spool status
    """
    delivery = state(ctx).logbook.delivery
    say(f"ilog: spool {delivery.path} (delivery = {delivery.mode})")
    render(delivery.status(), fmt, STATUS_COLUMNS, empty="ilog: the spool is empty")


@spool_app.command("list")
def list_(
    ctx: typer.Context,
    failed: Annotated[bool, typer.Option("--failed", help="Only events that were refused on delivery.")] = False,
    everywhere: Annotated[bool, typer.Option("--all", help="Events for every database, not only this one.")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """The spooled events, oldest first: pending ones, and failed ones with the reason.

    Example: ilog spool list --failed
    """
    items = state(ctx).logbook.delivery.items(state="failed" if failed else None, everywhere=everywhere)
    rows = [{**item.event, "id": item.id, "state": item.state, "spooled_at": item.spooled_at, "key": item.key,
             "user_id": item.user_id, "attempts": item.attempts, "last_error": item.last_error,
             "reason": item.reason, "attachment_name": item.attachment_name, "target": item.target}
            for item in items]
    render(rows, fmt, LIST_COLUMNS, table_columns=LIST_TABLE, empty="ilog: no spooled events")


@spool_app.command("flush")
def flush(
    ctx: typer.Context,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary line (failures are still said).")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, metavar="N",
                                            help="Events per write transaction.")] = 100,
    fmt: FormatOpt = "table",
) -> int:
    """Deliver the spooled events to the database, oldest first, exactly once.

    Each goes through the template setup, the plugins and the checks, as `ilog event`; one
    refused moves to the failed list (see ilog spool list --failed). Prints the entry
    numbers; exit status 1 if the database is still away or an event failed. Safe to run
    from a timer or cron, also twice at once.

    Example: ilog spool flush
    """
    report = state(ctx).logbook.delivery.flush(batch_size=batch_size)
    if fmt == "table":
        for _, result in report.delivered:
            if result.entry_no is not None:
                print(result.entry_no)
    else:
        rows = [{"spool_id": i, "entry_no": r.entry_no, "created": r.created, "error": None}
                for i, r in report.delivered]
        rows += [{"spool_id": i, "entry_no": None, "created": False, "error": reason} for i, reason in report.failed]
        render(sorted(rows, key=lambda r: r["spool_id"]), fmt, FLUSH_COLUMNS)
    if report.busy:
        say("ilog: another flush is delivering the spool; nothing done")
        return 0
    for spool_id, reason in report.failed:
        say(f"ilog: spooled event {spool_id} failed: {reason}")
    if not quiet:
        already = sum(1 for _, r in report.delivered if r.entry_no is not None and not r.created)
        nothing = sum(1 for _, r in report.delivered if r.entry_no is None)
        say(f"ilog: delivered {plural(len(report.delivered), 'event')} ({already} already recorded, "
            f"{nothing} with no template set up), {len(report.failed)} failed, {report.pending} waiting"
            + (f" ({plural(report.elsewhere, 'event')} for other databases: flush them with --db URL)"
               if report.elsewhere else ""))
    if report.error is not None:
        from ..errors import IlogError

        raise IlogError(f"{report.error.message} ({plural(report.pending, 'event')} still waiting)")
    return 1 if report.failed else 0


@spool_app.command("drop")
def drop(ctx: typer.Context, spool_ids: SpoolIds, yes: YesOpt = False) -> None:
    """Remove spooled events for good: they will never be recorded.

    Example: ilog spool drop 7 --yes
    """
    confirm(f"drop {plural(len(spool_ids), 'spooled event')} ({', '.join(map(str, spool_ids))}) for good", yes=yes)
    dropped = state(ctx).logbook.delivery.drop(spool_ids)
    say(f"ilog: dropped {plural(len(dropped), 'spooled event')}")


@spool_app.command("retry")
def retry(ctx: typer.Context, spool_ids: SpoolIds) -> None:
    """Put failed events back in the queue (once the cause is fixed); the next flush delivers them.

    Example: ilog spool retry 7
    """
    again = state(ctx).logbook.delivery.retry(spool_ids)
    say(f"ilog: {plural(len(again), 'spooled event')} back in the queue: `ilog spool flush` delivers them")
