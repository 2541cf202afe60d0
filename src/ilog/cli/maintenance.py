"""Database, configuration, plugins and purge commands."""


from typing import Annotated

import typer

from .context import DryRunOpt, FormatOpt, YesOpt, confirm, error_line, plural, preview, say, state
from .render import plain, render, render_record


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    db_app = typer.Typer(name="db", help="Database schema: status, upgrade, copy.", no_args_is_help=True)
    db_app.command("status")(db_status)
    db_app.command("upgrade")(db_upgrade)
    db_app.command("copy")(db_copy)
    app.add_typer(db_app)
    config_app = typer.Typer(name="config", help="Effective configuration.", no_args_is_help=True)
    config_app.command("show")(config_show)
    app.add_typer(config_app)
    app.command("purge-cancelled")(purge_cancelled)
    app.command("plugins")(plugins)


def init(
    ctx: typer.Context,
    starter: Annotated[bool, typer.Option("--starter", help="Also load Business Central's standard interaction "
                                                            "groups, templates and document event map (what "
                                                            "exists is kept).")] = False,
) -> None:
    """Create the database, or upgrade it to this ilog's schema. Safe to run again.

    With --starter, also load the starter set: the interaction groups (LETTER, MEETING,
    PHONE, SALES...), templates (OUTGOING, INCOME, BUS, S_INVOICE, P_ORDER...) and document
    event map (sales.invoice records S_INVOICE...) of Business Central's standard set-up.
    Groups, templates and events that exist are left as they are.

    Example: ilog --db /var/lib/ilog/ilog.db init --starter
    """
    from ..store.migrations import upgrade

    logbook = state(ctx).logbook
    before, after = upgrade(logbook.db)
    where = logbook.db.masked_url
    if before is None:
        say(f"ilog: created database {where} (schema version {after})")
    elif before < after:
        say(f"ilog: upgraded database {where} from schema version {before} to {after}")
    else:
        say(f"ilog: database {where} is up to date (schema version {after})")
    if starter:
        from ..domain import starter as starter_set

        loaded = logbook.templates.load_set(starter_set.GROUPS, starter_set.TEMPLATES, starter_set.EVENTS)
        kept = f" ({loaded.kept:,} already there, kept as they are)" if loaded.kept else ""
        if loaded.groups or loaded.templates or loaded.events:
            say(f"ilog: starter set: added {plural(loaded.groups, 'interaction group')}, "
                f"{plural(loaded.templates, 'template')} and {plural(loaded.events, 'event')} of the template "
                f"setup{kept}")
        else:
            say(f"ilog: starter set: nothing to add{kept}")


def db_status(ctx: typer.Context, fmt: FormatOpt = "table") -> None:
    """Show the database URL, its schema version, this ilog's, and when the schema changed.

    Example: ilog db status --format json
    """
    from ..store.migrations import status

    info = status(state(ctx).logbook.db)
    if fmt != "table":
        render_record(info, fmt)
        return
    lines = ["history:"] + [f"  version {h['version']}: {h['action']} {plain(h['applied_at'])} "
                            f"by ilog {h['ilog_version']}" for h in info["history"]]
    render_record(info, fmt, [k for k in info if k != "history"], extra_lines=lines if info["history"] else ())


def db_upgrade(ctx: typer.Context) -> None:
    """Upgrade the database schema in place (the same as ilog init).

    Example: ilog db upgrade
    """
    init(ctx, starter=False)


def db_copy(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="SRC", help="Database URL or SQLite file to copy from.")],
    target: Annotated[str, typer.Argument(metavar="DST", help="Database URL or SQLite file to copy into (empty or new).")],
    fmt: FormatOpt = "table",
) -> None:
    """Copy every entry, contact, template, key and number series into a new database.

    Entry numbers, links, idempotency keys, document occurrences and attachments stay
    as they are, and numbering goes on where SRC stopped. DST must be empty (or just
    created by ilog init). Stop writers on SRC while it runs.

    Example: ilog db copy ~/.local/share/ilog/ilog.db postgresql://ilog@db.example/ilog
    """
    from ..store.copy import copy
    from .progress import progress

    settings = state(ctx).settings
    with progress("copying", unit="rows") as bar:
        result = copy(source, target, busy_timeout=float(settings.get("busy_timeout")),
                      connect_timeout=float(settings.get("connect_timeout")), progress=bar)
    render([{"table": name, "rows": count} for name, count in result.counts.items()], fmt, ["table", "rows"])
    say(f"ilog: copied {plural(sum(result.counts.values()), 'row')} from {result.source} to {result.target}")


def config_show(ctx: typer.Context, fmt: FormatOpt = "table") -> None:
    """Show each effective setting and where it came from (passwords masked).

    Example: ilog config show
    """
    from ..config import SETTINGS
    from ..store.urls import mask_url

    settings = state(ctx).settings
    rows = []
    for name in SETTINGS:
        value = settings.get(name)
        if name == "database_url" and value:
            value = mask_url(str(value))
        rows.append({"setting": name, "value": value, "source": settings.sources.get(name)})
    for name in settings.table_names():  # retention.default, retention.templates.CALL, ...
        rows.append({"setting": name, "value": settings.get(name), "source": settings.sources.get(name)})
    if fmt == "table":  # one line a setting, nothing cut short: sources are paths, URLs are long
        render_record({r["setting"]: f"{'' if r['value'] is None else r['value']}  ({r['source']})" for r in rows})
        return
    render(rows, fmt, ["setting", "value", "source"])


def purge_cancelled(
    ctx: typer.Context,
    before: Annotated[str | None, typer.Option("--before", help="Purge entries dated before this date.")] = None,
    older_than: Annotated[str | None, typer.Option("--older-than", help="Purge entries older than this age: 90d, 12w, 6m, 1y.")] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="Only this contact's entries.")] = None,
    template: Annotated[str | None, typer.Option("--template", "-t", help="Only entries of this template.")] = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
) -> None:
    """Delete cancelled entries (never any other) dated before a cut-off. Cron-safe.

    Example: ilog purge-cancelled --older-than 1y --yes
    """
    from ..domain import values
    from ..domain.dates import parse_age, parse_datetime
    from ..domain.records import LogFilter
    from ..errors import BadValue

    if (before is None) == (older_than is None):
        raise BadValue("give exactly one of --before DATE or --older-than AGE")
    cutoff = parse_datetime(before) if before else parse_age(older_than)
    flt = values.validated(LogFilter, {"contact_no": contact, "template_code": template})
    from .interactions import PREVIEW_COLUMNS
    from .progress import progress
    from . import render as output
    from .render import local_time

    logbook = state(ctx).logbook
    count = logbook.purge_cancelled(cutoff, flt, dry_run=True)
    when = f"dated before {local_time(cutoff)}"
    if not count:
        print(0)
        say(f"ilog: nothing to purge: no cancelled entries {when}")
        return
    if dry_run:
        if output.on_terminal():
            preview((e.to_dict() for e in logbook.purge_preview(cutoff, flt)), PREVIEW_COLUMNS, None, count=count,
                    what="entry")
        else:
            print(count)
        say(f"ilog: would purge {plural(count, 'cancelled entry', 'cancelled entries')} {when}")
        return
    confirm(f"purge {plural(count, 'cancelled entry', 'cancelled entries')} {when}", yes=yes)
    with progress("purging", unit="entries") as bar:
        deleted = logbook.purge_cancelled(cutoff, flt, progress=bar)
    print(deleted)
    say(f"ilog: purged {plural(deleted, 'cancelled entry', 'cancelled entries')}")


def plugins(ctx: typer.Context, fmt: FormatOpt = "table") -> None:
    """List installed plugins, where each comes from, its version and its hooks.

    Example: ilog plugins --format json
    """
    host = state(ctx).host
    rows = [info.to_dict() for info in host.user_plugins()] if host is not None else []
    empty = "ilog: no plugins installed"
    if host is None or host.disabled:
        empty = "ilog: plugins are disabled (ILOG_LOAD_PLUGINS is empty)"
    render(rows, fmt, ["name", "source", "version", "location", "hooks"], empty=empty)
    for problem in host.problems if host is not None else ():
        error_line(problem)
    if host is not None and host.problems:
        raise typer.Exit(1)
