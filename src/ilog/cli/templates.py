"""``ilog group`` and ``ilog template`` (with ``template setup``, the auto-recording map)."""


from pathlib import Path
from typing import Annotated

import typer

from .context import DryRunOpt, FormatOpt, YesOpt, confirm, say, state
from .render import render, render_record

TEMPLATE_COLUMNS = ["code", "description", "group_code", "kind", "flow", "initiated_by", "unit_cost",
                    "unit_duration_min", "attempt_failed", "correspondence", "campaign_no", "attachment_id",
                    "created_at"]
TABLE_COLUMNS = ["code", "description", "group_code", "kind", "flow", "initiated_by", "unit_cost",
                 "unit_duration_min", "correspondence"]

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


def register(app: typer.Typer) -> None:
    app.add_typer(group_app)
    app.add_typer(template_app)


@group_app.command("add")
def group_add(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Group code.")],
    description: Description = None,
    exist_ok: Annotated[bool, typer.Option("--exist-ok", help="An existing group is fine.")] = False,
) -> None:
    """Add an interaction group.

    Example: ilog group add SALES --description "Sales documents"
    """
    group = state(ctx).logbook.templates.add_group(code, description, exist_ok=exist_ok)
    say(f"ilog: interaction group {group.code} is saved")


@group_app.command("list")
def group_list(ctx: typer.Context, fmt: FormatOpt = "table") -> None:
    """List interaction groups with their number of templates.

    Example: ilog group list
    """
    render(state(ctx).logbook.templates.groups(), fmt, ["code", "description", "templates"],
           empty="ilog: no interaction groups")


@group_app.command("remove")
def group_remove(ctx: typer.Context, code: Annotated[str, typer.Argument(help="Group code.")],
                 yes: YesOpt = False) -> None:
    """Remove an interaction group no template uses.

    Example: ilog group remove OLD --yes
    """
    confirm(f"remove interaction group {code}", yes=yes)
    state(ctx).logbook.templates.remove_group(code)
    say(f"ilog: removed interaction group {code.upper()}")


@template_app.command("add")
def template_add(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Template code.")],
    description: Description = None, group: Group = None, kind: Kind = None, flow: Flow = None,
    initiated_by: InitiatedBy = None, unit_cost: UnitCost = None, unit_duration: UnitDuration = None,
    attempt_failed: Annotated[bool, typer.Option("--attempt-failed", help="Entries default to a failed attempt.")] = False,
    correspondence: Correspondence = None, campaign: Campaign = None, attach: Attach = None,
    exist_ok: Annotated[bool, typer.Option("--exist-ok", help="An existing template is fine.")] = False,
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
def template_list(ctx: typer.Context, group: Group = None, fmt: FormatOpt = "table") -> None:
    """List interaction templates.

    Example: ilog template list --format json
    """
    templates = state(ctx).logbook.templates.list(group)
    render((t.to_dict() for t in templates), fmt, TEMPLATE_COLUMNS, table_columns=TABLE_COLUMNS,
           empty="ilog: no templates")


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
    """Remove a template that no entry uses.

    Example: ilog template remove OLDCALL --yes
    """
    if dry_run:
        state(ctx).logbook.templates.get(code)
        say(f"ilog: would remove template {code.upper()}")
        return
    confirm(f"remove template {code}", yes=yes)
    state(ctx).logbook.templates.remove(code)
    say(f"ilog: removed template {code.upper()}")


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
        say(f"ilog: event {unset} records nothing now" if removed else f"ilog: event {unset} had no template")
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
    render(rows, fmt, ["event", "template_code"])
