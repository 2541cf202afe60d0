"""``ilog group`` and ``ilog template`` (with ``template setup``, the auto-recording map)."""


from pathlib import Path
from typing import Annotated

import typer

from .context import DryRunOpt, FormatOpt, LimitOpt, YesOpt, confirm, footer, page_limit, preview, say, state
from .render import render, render_record

TEMPLATE_COLUMNS = ["code", "description", "group_code", "kind", "flow", "initiated_by", "unit_cost",
                    "unit_duration_min", "attempt_failed", "correspondence", "campaign_no", "attachment_id",
                    "created_at"]
TABLE_COLUMNS = ["code", "description", "group_code", "kind", "flow", "initiated_by", "unit_cost",
                 "unit_duration_min", "correspondence"]

GROUP_COLUMNS = ["code", "description", "templates"]

group_app = typer.Typer(name="group", help="Interaction groups (for statistics).", no_args_is_help=True)
template_app = typer.Typer(name="template", help="Interaction templates and the template setup.", no_args_is_help=True)

Description = Annotated[str | None, typer.Option("--description", "-d", help="Description (the default subject).")]
Group = Annotated[str | None, typer.Option("--group", "-g", help="Interaction group code.")]
Kind = Annotated[str | None, typer.Option("--kind", "-k", help="phone-call, email, letter, meeting, fax, visit, sms, task, note, other.")]
Flow = Annotated[str | None, typer.Option("--flow", help="Information flow: outbound, inbound, none.")]
InitiatedBy = Annotated[str | None, typer.Option("--initiated-by", help="us, them, none.")]
UnitCost = Annotated[str | None, typer.Option("--unit-cost", help="Cost of one interaction.")]
UnitDuration = Annotated[str | None, typer.Option("--unit-duration", help="Duration of one interaction, minutes.")]
Correspondence = Annotated[str | None, typer.Option("--correspondence", help="hard-copy, email, fax, none.")]
Campaign = Annotated[str | None, typer.Option("--campaign", help="Campaign number.")]
Attach = Annotated[Path | None, typer.Option("--attach", help="File every entry of this template refers to.")]
Search = Annotated[str | None, typer.Option("--search", "-s", help="Text in the code or description (any case).")]


def register(app: typer.Typer) -> None:
    app.add_typer(group_app)
    app.add_typer(template_app)


@group_app.command("add")
def group_add(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Group code.")],
    description: Description = None,
    exist_ok: Annotated[bool, typer.Option("--exist-ok", help="An existing group with this description is fine "
                                                              "(another description is refused).")] = False,
) -> None:
    """Add an interaction group.

    Example: ilog group add SALES --description "Sales"
    """
    group = state(ctx).logbook.templates.add_group(code, description, exist_ok=exist_ok)
    say(f"ilog: interaction group {group.code} is saved")


@group_app.command("list")
def group_list(ctx: typer.Context, search: Search = None, limit: LimitOpt = None, fmt: FormatOpt = "table") -> None:
    """List interaction groups with their number of templates.

    Example: ilog group list --search sales
    """
    book = state(ctx).logbook.templates
    limit = page_limit(limit)
    shown = render(book.groups(text=search, limit=limit), fmt, GROUP_COLUMNS, empty="ilog: no interaction groups")
    footer(shown, limit, lambda: book.group_count(text=search), "interaction group")


@group_app.command("show")
def group_show(ctx: typer.Context, code: Annotated[str, typer.Argument(help="Group code.")],
               fmt: FormatOpt = "table") -> None:
    """Show one interaction group and its number of templates.

    Example: ilog group show SALES
    """
    book = state(ctx).logbook.templates
    group = book.get_group(code)
    render_record({**group.model_dump(), "templates": book.count(group.code)}, fmt, GROUP_COLUMNS)


@group_app.command("edit")
def group_edit(ctx: typer.Context, code: Annotated[str, typer.Argument(help="Group code.")],
               description: Description = None, fmt: FormatOpt = "table") -> None:
    """Change an interaction group's description (entries keep the group code they were logged with).

    Example: ilog group edit SALES --description "Sales documents"
    """
    book = state(ctx).logbook.templates
    group = book.edit_group(code, description=description)
    render_record({**group.model_dump(), "templates": book.count(group.code)}, fmt, GROUP_COLUMNS)


@group_app.command("remove")
def group_remove(ctx: typer.Context, code: Annotated[str, typer.Argument(help="Group code.")],
                 dry_run: DryRunOpt = False, yes: YesOpt = False) -> None:
    """Remove an interaction group no template uses.

    Example: ilog group remove OLD --yes
    """
    book = state(ctx).logbook.templates
    group = book.remove_group(code, dry_run=True)  # the same checks as the real run
    if dry_run:
        preview([{**group.model_dump(), "templates": 0}], GROUP_COLUMNS, [group.code])
        say(f"ilog: would remove interaction group {group.code}")
        return
    confirm(f"remove interaction group {group.code}", yes=yes)
    book.remove_group(code)
    say(f"ilog: removed interaction group {group.code}")


@template_app.command("add")
def template_add(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Template code.")],
    description: Description = None, group: Group = None, kind: Kind = None, flow: Flow = None,
    initiated_by: InitiatedBy = None, unit_cost: UnitCost = None, unit_duration: UnitDuration = None,
    attempt_failed: Annotated[bool, typer.Option("--attempt-failed", help="Entries default to a failed attempt.")] = False,
    correspondence: Correspondence = None, campaign: Campaign = None, attach: Attach = None,
    exist_ok: Annotated[bool, typer.Option("--exist-ok", help="An existing template with these values is fine "
                                                              "(other values are refused).")] = False,
) -> None:
    """Add an interaction template.

    Example: ilog template add CALL --kind phone-call --flow outbound --initiated-by us --unit-duration 10
    """
    template = state(ctx).logbook.templates.add(
        code, exist_ok=exist_ok, attach=attach, description=description, group_code=group, kind=kind, flow=flow,
        initiated_by=initiated_by, unit_cost=unit_cost, unit_duration_min=unit_duration,
        attempt_failed=attempt_failed or None, correspondence=correspondence, campaign_no=campaign,
    )
    say(f"ilog: template {template.code} is saved")


@template_app.command("list")
def template_list(ctx: typer.Context, group: Group = None, search: Search = None, limit: LimitOpt = None,
                  fmt: FormatOpt = "table") -> None:
    """List interaction templates.

    Example: ilog template list --group SALES --format json
    """
    book = state(ctx).logbook.templates
    limit = page_limit(limit)
    shown = render((t.to_dict() for t in book.list(group, text=search, limit=limit)), fmt, TEMPLATE_COLUMNS,
                   table_columns=TABLE_COLUMNS, empty="ilog: no templates")
    footer(shown, limit, lambda: book.count(group, text=search), "template")


@template_app.command("show")
def template_show(ctx: typer.Context, code: Annotated[str, typer.Argument(help="Template code.")],
                  fmt: FormatOpt = "table") -> None:
    """Show one template.

    Example: ilog template show CALL
    """
    render_record(state(ctx).logbook.templates.get(code).to_dict(), fmt, TEMPLATE_COLUMNS)


@template_app.command("edit")
def template_edit(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Template code.")],
    description: Description = None, group: Group = None, kind: Kind = None, flow: Flow = None,
    initiated_by: InitiatedBy = None, unit_cost: UnitCost = None, unit_duration: UnitDuration = None,
    attempt_failed: Annotated[bool | None, typer.Option("--attempt-failed/--no-attempt-failed", help="Default attempt-failed flag.")] = None,
    correspondence: Correspondence = None, campaign: Campaign = None, attach: Attach = None,
    no_attachment: Annotated[bool, typer.Option("--no-attachment", help="Drop the template's attachment.")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Change a template (entries already logged keep their values).

    Example: ilog template edit CALL --unit-cost 1.5
    """
    template = state(ctx).logbook.templates.edit(
        code, attach=attach, detach=no_attachment, description=description, group_code=group, kind=kind,
        flow=flow, initiated_by=initiated_by, unit_cost=unit_cost, unit_duration_min=unit_duration,
        attempt_failed=attempt_failed, correspondence=correspondence, campaign_no=campaign,
    )
    render_record(template.to_dict(), fmt, TEMPLATE_COLUMNS)


@template_app.command("remove")
def template_remove(ctx: typer.Context, code: Annotated[str, typer.Argument(help="Template code.")],
                    dry_run: DryRunOpt = False, yes: YesOpt = False) -> None:
    """Remove a template that no entry, segment or event of the template setup uses.

    Example: ilog template remove OLDCALL --yes
    """
    book = state(ctx).logbook.templates
    template = book.remove(code, dry_run=True)  # the same checks as the real run
    if dry_run:
        preview([template.to_dict()], TABLE_COLUMNS, [template.code])
        say(f"ilog: would remove template {template.code}")
        return
    confirm(f"remove template {template.code}", yes=yes)
    book.remove(code)
    say(f"ilog: removed template {template.code}")


@template_app.command("setup")
def template_setup(
    ctx: typer.Context,
    event: Annotated[str | None, typer.Argument(help="Document event, e.g. sales.invoice.")] = None,
    template: Annotated[str | None, typer.Argument(help="Template to record for it.")] = None,
    unset: Annotated[str | None, typer.Option("--unset", help="Stop recording this event.")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Show or set which template each document event records (the auto-recording map).

    Example: ilog template setup sales.invoice INVOICE
    """
    from ..errors import BadValue

    templates = state(ctx).logbook.templates
    if unset:
        if event or template:
            raise BadValue("--unset takes no other arguments")
        removed = templates.unset_event(unset)
        name = unset.strip().lower()
        say(f"ilog: event {name} records nothing now" if removed else f"ilog: event {name} had no template")
        return
    if event and template:
        templates.set_event(event, template)
        say(f"ilog: event {event} records template {template.upper()}")
        return
    rows = templates.setup()
    if event:
        rows = [r for r in rows if r["event"] == event.strip().lower()]
        if not rows:
            raise BadValue(f"unknown event {event!r}")
    render(rows, fmt, ["event", "template_code", "declared_by"])


@template_app.command("export")
def template_export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="jsonl, json or csv.")] = "jsonl",
) -> None:
    """Write the interaction groups, templates and template setup, to load into another database.

    Example: ilog --db old.db template export > templates.jsonl; ilog --db new.db template import templates.jsonl
    """
    from ..domain import values

    fmt = values.choice(fmt, "format", ("jsonl", "json", "csv"))
    records = state(ctx).logbook.templates.export()
    # JSON: each record with its own keys; CSV: one header, the union of them
    columns = list(dict.fromkeys(k for r in records for k in r)) if fmt == "csv" else None
    render(records, fmt, columns)


@template_app.command("import")
def template_import(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="What ilog template export wrote: JSON Lines, JSON or CSV (- reads stdin).")],
    update: Annotated[bool, typer.Option("--update", help="Replace groups, templates and mappings that differ.")] = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Load interaction groups, templates and the template setup from ilog template export; all or nothing.

    A record already here with the same values is left alone; one with other values is
    refused (naming what differs) unless --update.

    Example: ilog --db new.db template import templates.jsonl
    """
    import csv
    import io
    import json
    import sys

    from ..errors import BadValue

    try:
        text = sys.stdin.read() if file == "-" else open(file, encoding="utf-8-sig").read()  # noqa: SIM115
    except OSError as exc:
        raise BadValue(f"cannot read {file}: {exc.strerror}") from None
    try:
        if text.lstrip().startswith("record,") or file.lower().endswith(".csv"):
            records = [{k: (v if v != "" else None) for k, v in row.items()}
                       for row in csv.DictReader(io.StringIO(text), strict=True)]
        else:
            records = json.loads(text) if text.lstrip().startswith("[") else [
                json.loads(line) for line in text.splitlines() if line.strip()]
    except (ValueError, csv.Error) as exc:
        raise BadValue(f"{file}: not what ilog template export writes ({exc})") from None
    counts = state(ctx).logbook.templates.import_(records, update=update, dry_run=dry_run)
    head = "dry run, nothing written: would import" if dry_run else "imported"
    say(f"ilog: {head} {len(records)} records: {counts['created']} new, {counts['updated']} updated, "
        f"{counts['unchanged']} already here")
