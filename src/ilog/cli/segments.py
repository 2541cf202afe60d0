"""``ilog segment``: build, personalise and log segments (issue #10)."""


import sys
from typing import TYPE_CHECKING, Annotated

import typer

from . import render as output
from .context import (DryRunOpt, FormatOpt, LimitOpt, YesOpt, confirm, footer, page_limit, plural, preview, say,
                      state)
from .progress import progress
from .render import render, render_record

if TYPE_CHECKING:
    from ..domain.records import Criteria, Selection

SEGMENT_TABLE = ["no", "description", "template_code", "date", "salesperson_code", "campaign_no", "state", "line_count",
                 "logged_segment_no"]
LINE_TABLE = ["line_no", "contact_no", "contact_name", "company_no", "template_code", "description"]
DRAFT_COLUMNS = ["contact_no", "company_no", "template_code", "kind", "flow", "subject", "occurred_at",
                 "salesperson_code", "campaign_no", "cost", "duration_min", "segment_no"]

segment_app = typer.Typer(name="segment", no_args_is_help=True,
                          help="Segments: log one interaction for many contacts at once.")

SegmentNo = Annotated[str, typer.Argument(help="Segment number.", show_default=False)]
Contacts = Annotated[list[str] | None, typer.Argument(help="Contact numbers.", show_default=False)]
FromFile = Annotated[str | None, typer.Option("--from-file", help="File of contact numbers, one a line ('-' reads stdin).")]
CompanyOpt = Annotated[str | None, typer.Option("--company", help="The persons of this company.")]
TypeOpt = Annotated[str | None, typer.Option("--type", help="Only companies or only persons.")]
SalespersonOpt = Annotated[str | None, typer.Option("--salesperson", help="Contacts of this salesperson.")]
SearchOpt = Annotated[str | None, typer.Option("--search", "-s", help="Text in the name, email or number (any case).")]
ListSearch = Annotated[str | None, typer.Option("--search", "-s", help="Text in the number or description (any case).")]
LineSearch = Annotated[str | None, typer.Option("--search", "-s", help="Lines whose contact number or name has this "
                                                                       "text (any case).")]
#: what a dry run of segment add/remove shows of each contact, on a terminal
CONTACT_PREVIEW = ["no", "type", "name", "company_no", "email"]
WithTemplate = Annotated[str | None, typer.Option("--with-template", help="Contacts with an entry of this template.")]
WithGroup = Annotated[str | None, typer.Option("--with-group", help="Contacts with an entry of this group.")]
WithoutTemplate = Annotated[str | None, typer.Option("--without-template", help="Contacts with no entry of this template.")]
WithoutGroup = Annotated[str | None, typer.Option("--without-group", help="Contacts with no entry of this group.")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="Entries on or after this date count.")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Entries on or before this date count.")]
NoInteractionSince = Annotated[str | None, typer.Option(
    "--no-interaction-since", help="Contacts with no entry for this long (90d, 12w, 6m, 1y).")]
Description = Annotated[str | None, typer.Option("--description", "-d", help="Description (the entries' subject by default).")]
TemplateOpt = Annotated[str | None, typer.Option("--template", "-t", help="Default interaction template.")]
DateOpt = Annotated[str | None, typer.Option("--date", help="Date of the interactions (default: when logged).")]
CampaignOpt = Annotated[str | None, typer.Option("--campaign", help="Campaign number.")]
SubjectOpt = Annotated[str | None, typer.Option("--subject", help="Subject of the entries (default: the description).")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", metavar="USER", help="Who the entries are for (default: who logs it).")]
OpportunityOpt = Annotated[str | None, typer.Option("--opportunity", metavar="NO", help="The opportunity the entries regard.")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.add_typer(segment_app)


def _header(description, template, date, salesperson, campaign, subject, owner=None, opportunity=None) -> dict:
    return {"description": description, "template_code": template, "date": date, "salesperson_code": salesperson,
            "campaign_no": campaign, "subject": subject, "owner": owner, "opportunity_no": opportunity}


def _criteria(company, type, salesperson, search, with_template, with_group, without_template, without_group,
              since, until, no_interaction_since) -> "Criteria":
    from ..domain import values
    from ..domain.dates import parse_age
    from ..domain.records import Criteria

    return values.validated(Criteria, dict(
        type=type, company_no=company, salesperson=salesperson, text=search, with_template=with_template,
        with_group=with_group, without_template=without_template, without_group=without_group, since=since,
        until=until, no_interaction_since=parse_age(no_interaction_since) if no_interaction_since else None))


def _numbers(contacts: list[str] | None, from_file: str | None) -> list[str]:
    """Contact numbers from the arguments and a file or stdin (one a line; blank lines and # comments skipped)."""
    numbers = list(contacts or [])
    if from_file:
        if from_file == "-":
            text = sys.stdin.read()
        else:
            from ..errors import NotFound

            try:
                with open(from_file, encoding="utf-8-sig") as handle:
                    text = handle.read()
            except OSError as exc:
                raise NotFound(f"cannot read {from_file}: {exc.strerror}") from None
        numbers += [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return numbers


@segment_app.command("create")
def create(
    ctx: typer.Context,
    description: Annotated[str, typer.Option("--description", "-d", help="What the segment is for.")],
    no: Annotated[str | None, typer.Option("--no", help="Segment number (default: next of the series, SEG00001).")] = None,
    template: TemplateOpt = None, date: DateOpt = None, salesperson: SalespersonOpt = None,
    campaign: CampaignOpt = None, subject: SubjectOpt = None, owner: OwnerOpt = None,
    opportunity: OpportunityOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the segment number.")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Create an empty segment; prints its number.

    Example: ilog segment create -d "Spring mailing" -t MAIL
    """
    from ..domain.records import SEGMENT_FIELDS

    segment = state(ctx).logbook.segments.create(no=no, **_header(description, template, date, salesperson,
                                                                  campaign, subject, owner, opportunity))
    if fmt != "table":
        render_record(segment.to_dict(), fmt, SEGMENT_FIELDS)
        return
    print(segment.no)
    if not quiet:
        say(f"ilog: segment {segment.no} ({segment.description}) is created")


@segment_app.command("edit")
def edit(
    ctx: typer.Context, no: SegmentNo, description: Description = None, template: TemplateOpt = None,
    date: DateOpt = None, salesperson: SalespersonOpt = None, campaign: CampaignOpt = None,
    subject: SubjectOpt = None, owner: OwnerOpt = None, opportunity: OpportunityOpt = None, fmt: FormatOpt = "table",
) -> None:
    """Change the header of an open segment.

    Example: ilog segment edit SEG00001 --template CALL --date 2026-12-01
    """
    from ..domain.records import SEGMENT_FIELDS

    segment = state(ctx).logbook.segments.edit(no, **_header(description, template, date, salesperson, campaign,
                                                             subject, owner, opportunity))
    render_record(segment.to_dict(), fmt, SEGMENT_FIELDS)


@segment_app.command("list")
def list_(
    ctx: typer.Context,
    state_: Annotated[str | None, typer.Option("--state", help="open or logged.")] = None,
    search: ListSearch = None, limit: LimitOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """List segments with their number of lines.

    Example: ilog segment list --state open
    """
    from ..domain.records import SEGMENT_FIELDS

    book = state(ctx).logbook.segments
    limit = page_limit(limit)
    shown = render((s.to_dict() for s in book.list(state_, text=search, limit=limit)), fmt, SEGMENT_FIELDS,
                   table_columns=SEGMENT_TABLE, empty="ilog: no segments")
    footer(shown, limit, lambda: book.count(state_, text=search), "segment")


@segment_app.command("show")
def show(ctx: typer.Context, no: SegmentNo, search: LineSearch = None, limit: LimitOpt = None,
         fmt: FormatOpt = "table") -> None:
    """Show a segment: its header, then its lines.

    Example: ilog segment show SEG00001 --search rossi
    """
    from ..domain.records import LINE_FIELDS, SEGMENT_FIELDS

    book = state(ctx).logbook.segments
    segment = book.get(no)
    limit = page_limit(limit)
    lines = [line.to_dict() for line in book.lines(segment.no, text=search, limit=limit)]
    if fmt == "table":
        render_record(segment.to_dict(), fmt, SEGMENT_FIELDS)
        print()
        render(lines, fmt, LINE_FIELDS, table_columns=LINE_TABLE, empty="ilog: no lines")
    elif fmt == "json":
        render_record({**segment.to_dict(), "lines": lines}, fmt, [*SEGMENT_FIELDS, "lines"])
    else:  # jsonl and csv: one row per line, the segment's number on each
        render(lines, fmt, LINE_FIELDS)
    footer(len(lines), limit, lambda: book.line_count(segment.no, text=search), "line")


def _selection_preview(ctx: typer.Context, result: "Selection") -> None:
    """A dry run of add/remove: the contacts it would touch (first ones as a table on a terminal)."""
    first = state(ctx).logbook.contacts.many(result.contact_nos[:10]) if result.contact_nos else []
    preview((c.to_dict() for c in first), CONTACT_PREVIEW, result.contact_nos, what="contact")


@segment_app.command("add")
def add(
    ctx: typer.Context, no: SegmentNo, contacts: Contacts = None, from_file: FromFile = None,
    company: CompanyOpt = None, type: TypeOpt = None, salesperson: SalespersonOpt = None, search: SearchOpt = None,
    with_template: WithTemplate = None, with_group: WithGroup = None, without_template: WithoutTemplate = None,
    without_group: WithoutGroup = None, since: SinceOpt = None, until: UntilOpt = None,
    no_interaction_since: NoInteractionSince = None, dry_run: DryRunOpt = False,
) -> None:
    """Add contacts: by number, from a file or stdin, or every contact matching criteria.

    A contact already in the segment is not added again.

    Example: ilog segment add SEG00001 --type person --no-interaction-since 90d
    """
    criteria = _criteria(company, type, salesperson, search, with_template, with_group, without_template,
                         without_group, since, until, no_interaction_since)
    result = state(ctx).logbook.segments.add(no, _numbers(contacts, from_file), criteria, dry_run=dry_run)
    if dry_run:
        _selection_preview(ctx, result)
    verb = "would add" if dry_run else "added"
    say(f"ilog: {verb} {plural(result.changed, 'contact')} to segment {result.segment_no}"
        + (f" ({result.unchanged:,} already in it)" if result.unchanged else ""))


@segment_app.command("remove")
def remove(
    ctx: typer.Context, no: SegmentNo, contacts: Contacts = None, from_file: FromFile = None,
    company: CompanyOpt = None, type: TypeOpt = None, salesperson: SalespersonOpt = None, search: SearchOpt = None,
    with_template: WithTemplate = None, with_group: WithGroup = None, without_template: WithoutTemplate = None,
    without_group: WithoutGroup = None, since: SinceOpt = None, until: UntilOpt = None,
    no_interaction_since: NoInteractionSince = None, dry_run: DryRunOpt = False,
) -> None:
    """Take contacts out of a segment, selected the same ways as for add.

    Example: ilog segment remove SEG00001 --with-template CALL --since -30d
    """
    criteria = _criteria(company, type, salesperson, search, with_template, with_group, without_template,
                         without_group, since, until, no_interaction_since)
    result = state(ctx).logbook.segments.remove(no, _numbers(contacts, from_file), criteria, dry_run=dry_run)
    if dry_run:
        _selection_preview(ctx, result)
    verb = "would remove" if dry_run else "removed"
    say(f"ilog: {verb} {plural(result.changed, 'contact')} from segment {result.segment_no}"
        + (f" ({result.unchanged:,} not in it)" if result.unchanged else ""))


@segment_app.command("line")
def line(
    ctx: typer.Context, no: SegmentNo,
    contact: Annotated[str, typer.Argument(help="Contact number of the line.", show_default=False)],
    template: Annotated[str | None, typer.Option("--template", "-t", help="This line's own template.")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d", help="This line's own subject.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", metavar="USER", help="Who this line's entry is for.")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Go back to the segment's template and description.")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Personalise one line: its own template and description.

    Example: ilog segment line SEG00001 CT000042 -t CALL -d "Call instead: no email address"
    """
    from ..domain.records import LINE_FIELDS

    result = state(ctx).logbook.segments.set_line(no, contact, template_code=template, description=description,
                                                  owner=owner, reset=reset)
    render_record(result.to_dict(), fmt, LINE_FIELDS)


@segment_app.command("log")
def log(
    ctx: typer.Context, no: SegmentNo,
    follow_up: Annotated[bool, typer.Option("--follow-up", help="Then create a new segment with the same contacts.")] = False,
    dry_run: DryRunOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the entry numbers.")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Log the segment: one entry per line, all or nothing; prints the new entry numbers.

    A summary (logged segment number, count, follow-up segment) goes to stderr; --format
    prints the logged segment record instead. With --dry-run,
    prints the entries that would be logged and changes nothing.

    Example: ilog segment log SEG00001 --follow-up
    """
    from ..domain.records import LOGGED_FIELDS

    book = state(ctx).logbook.segments
    with progress("preparing entries", unit="lines") as bar:

        def update(done: int, total: int | None) -> None:
            if bar is not None and done == total and not dry_run:  # the inserts are one statement: a pulse
                bar.describe(f"writing {plural(total, 'entry', 'entries')}")
            elif bar is not None:
                bar(done, total)

        result = book.log(no, follow_up=follow_up, dry_run=dry_run, progress=update if bar is not None else None)
    if dry_run:
        drafts = (d.to_dict() for d in result.drafts)
        if fmt == "table" and output.on_terminal():  # a person: the first of them
            preview(drafts, DRAFT_COLUMNS, None, count=result.entry_count, what="entry")
        else:
            render(drafts, fmt, DRAFT_COLUMNS)
        say(f"ilog: would log {plural(result.entry_count, 'entry')} from segment {result.segment_no}")
        return
    if fmt != "table":
        record = {**book.get_logged(result.logged_segment_no).to_dict(),
                  "follow_up_segment_no": result.follow_up_segment_no}
        render_record(record, fmt, [*LOGGED_FIELDS, "follow_up_segment_no"])
        return
    sys.stdout.write("".join(f"{n}\n" for n in result.entry_nos))
    if not quiet:
        follow = f"; follow-up segment {result.follow_up_segment_no}" if result.follow_up_segment_no else ""
        say(f"ilog: logged segment {result.segment_no} as {result.logged_segment_no}: "
            f"{plural(result.entry_count, 'entry')} ({result.first_entry_no}-{result.last_entry_no}){follow}")


@segment_app.command("logged")
def logged(
    ctx: typer.Context,
    segment: Annotated[str | None, typer.Option("--segment", help="Only those of this segment.")] = None,
    search: Annotated[str | None, typer.Option("--search", "-s", help="Text in the numbers or description (any case).")] = None,
    limit: LimitOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """List logged segments.

    Example: ilog segment logged --format json
    """
    from ..domain.records import LOGGED_FIELDS

    book = state(ctx).logbook.segments
    limit = page_limit(limit)
    shown = render((r.to_dict() for r in book.logged(segment, text=search, limit=limit)), fmt, LOGGED_FIELDS,
                   empty="ilog: no logged segments")
    footer(shown, limit, lambda: book.logged_count(segment, text=search), "logged segment")


@segment_app.command("cancel")
def cancel(
    ctx: typer.Context,
    logged_no: Annotated[str, typer.Argument(help="Logged segment number (LSEG...).", show_default=False)],
    restore: Annotated[bool, typer.Option("--restore", help="Undo the cancellation of the whole logged segment.")] = False,
    dry_run: DryRunOpt = False, yes: YesOpt = False,
) -> None:
    """Cancel every entry of a logged segment (--restore undoes it).

    Example: ilog segment cancel LSEG00001 --yes
    """
    from .interactions import PREVIEW_COLUMNS

    book = state(ctx).logbook.segments
    action = "restore" if restore else "cancel"
    if dry_run:
        found = book.cancel(logged_no, restore=restore, dry_run=True)
        preview((e.to_dict() for e in found.preview), PREVIEW_COLUMNS, found.changed, what="entry")
        say(f"ilog: would {action} logged segment {logged_no.strip().upper()} "
            f"({plural(len(found.changed), 'entry')})")
        return
    logged_segment = book.get_logged(logged_no)
    confirm(f"{action} logged segment {logged_segment.no} ({plural(logged_segment.entry_count, 'entry')})", yes=yes)
    with progress("restoring entries" if restore else "cancelling entries", unit="entries") as bar:
        result = book.cancel(logged_no, restore=restore, progress=bar)
    done = "restored" if restore else "cancelled"
    say(f"ilog: {done} logged segment {logged_segment.no} ({plural(len(result.changed), 'entry')})")
