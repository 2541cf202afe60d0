"""``ilog segment``: build, personalise and log segments (issue #10)."""


import sys
from typing import TYPE_CHECKING, Annotated

import typer

from .context import DryRunOpt, FormatOpt, YesOpt, confirm, say, state
from .render import render, render_record

if TYPE_CHECKING:
    from ..domain.records import Criteria

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


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.add_typer(segment_app)


def _header(description, template, date, salesperson, campaign, subject) -> dict:
    return {"description": description, "template_code": template, "date": date, "salesperson_code": salesperson,
            "campaign_no": campaign, "subject": subject}


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
    campaign: CampaignOpt = None, subject: SubjectOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the segment number.")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Create an empty segment; prints its number.

    Example: ilog segment create -d "Spring mailing" -t MAIL
    """
    from ..domain.records import SEGMENT_FIELDS

    segment = state(ctx).logbook.segments.create(no=no, **_header(description, template, date, salesperson,
                                                                  campaign, subject))
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
    subject: SubjectOpt = None, fmt: FormatOpt = "table",
) -> None:
    """Change the header of an open segment.

    Example: ilog segment edit SEG00001 --template CALL --date 2026-12-01
    """
    from ..domain.records import SEGMENT_FIELDS

    segment = state(ctx).logbook.segments.edit(no, **_header(description, template, date, salesperson, campaign,
                                                             subject))
    render_record(segment.to_dict(), fmt, SEGMENT_FIELDS)


@segment_app.command("list")
def list_(
    ctx: typer.Context,
    state_: Annotated[str | None, typer.Option("--state", help="open or logged.")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """List segments with their number of lines.

    Example: ilog segment list --state open
    """
    from ..domain.records import SEGMENT_FIELDS

    segments = state(ctx).logbook.segments.list(state_)
    render((s.to_dict() for s in segments), fmt, SEGMENT_FIELDS, table_columns=SEGMENT_TABLE,
           empty="ilog: no segments")


@segment_app.command("show")
def show(ctx: typer.Context, no: SegmentNo, fmt: FormatOpt = "table") -> None:
    """Show a segment: its header, then its lines.

    Example: ilog segment show SEG00001
    """
    from ..domain.records import LINE_FIELDS, SEGMENT_FIELDS

    book = state(ctx).logbook.segments
    segment = book.get(no)
    lines = [line.to_dict() for line in book.lines(segment.no)]
    if fmt == "table":
        render_record(segment.to_dict(), fmt, SEGMENT_FIELDS)
        print()
        render(lines, fmt, LINE_FIELDS, table_columns=LINE_TABLE, empty="ilog: no lines")
    elif fmt == "json":
        render_record({**segment.to_dict(), "lines": lines}, fmt, [*SEGMENT_FIELDS, "lines"])
    else:  # jsonl and csv: one row per line, the segment's number on each
        render(lines, fmt, LINE_FIELDS)


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
    verb = "would add" if dry_run else "added"
    say(f"ilog: {verb} {result.changed} contacts to segment {result.segment_no}"
        + (f" ({result.unchanged} already in it)" if result.unchanged else ""))


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
    verb = "would remove" if dry_run else "removed"
    say(f"ilog: {verb} {result.changed} contacts from segment {result.segment_no}"
        + (f" ({result.unchanged} not in it)" if result.unchanged else ""))


@segment_app.command("line")
def line(
    ctx: typer.Context, no: SegmentNo,
    contact: Annotated[str, typer.Argument(help="Contact number of the line.", show_default=False)],
    template: Annotated[str | None, typer.Option("--template", "-t", help="This line's own template.")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d", help="This line's own subject.")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Go back to the segment's template and description.")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Personalise one line: its own template and description.

    Example: ilog segment line SEG00001 CT000042 -t CALL -d "Call instead: no email address"
    """
    from ..domain.records import LINE_FIELDS

    result = state(ctx).logbook.segments.set_line(no, contact, template_code=template, description=description,
                                                  reset=reset)
    render_record(result.to_dict(), fmt, LINE_FIELDS)


def _progress_bar():
    """A progress callback drawing on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None, None
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(console=Console(stderr=True), transient=True)
    task = bar.add_task("preparing entries", total=None)

    def update(done: int, total: int) -> None:
        if done == total:  # the inserts are one statement: a pulsing bar while they run
            bar.update(task, description=f"writing {total} entries", completed=0, total=None)
        else:
            bar.update(task, completed=done, total=total)

    return bar, update


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
    bar, update = _progress_bar()
    if bar is not None:
        with bar:
            result = book.log(no, follow_up=follow_up, dry_run=dry_run, progress=update)
    else:
        result = book.log(no, follow_up=follow_up, dry_run=dry_run)
    if dry_run:
        render((d.to_dict() for d in result.drafts), fmt, DRAFT_COLUMNS)
        say(f"ilog: would log {result.entry_count} entries from segment {result.segment_no}")
        return
    if fmt != "table":
        record = {**book.get_logged(result.logged_segment_no).to_dict(),
                  "follow_up_segment_no": result.follow_up_segment_no}
        render_record(record, fmt, [*LOGGED_FIELDS, "follow_up_segment_no"])
        return
    sys.stdout.write("".join(f"{n}\n" for n in result.entry_nos))
    if not quiet:
        follow = f"; follow-up segment {result.follow_up_segment_no}" if result.follow_up_segment_no else ""
        say(f"ilog: logged segment {result.segment_no} as {result.logged_segment_no}: {result.entry_count} entries "
            f"({result.first_entry_no}-{result.last_entry_no}){follow}")


@segment_app.command("logged")
def logged(
    ctx: typer.Context,
    segment: Annotated[str | None, typer.Option("--segment", help="Only those of this segment.")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """List logged segments.

    Example: ilog segment logged --format json
    """
    from ..domain.records import LOGGED_FIELDS

    rows = state(ctx).logbook.segments.logged(segment)
    render((r.to_dict() for r in rows), fmt, LOGGED_FIELDS, empty="ilog: no logged segments")


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
    book = state(ctx).logbook.segments
    action = "restore" if restore else "cancel"
    if dry_run:
        preview = book.cancel(logged_no, restore=restore, dry_run=True)
        say(f"ilog: would {action} logged segment {logged_no.upper()} ({len(preview.changed)} entries)")
        return
    logged_segment = book.get_logged(logged_no)
    confirm(f"{action} logged segment {logged_segment.no} ({logged_segment.entry_count} entries)", yes=yes)
    result = book.cancel(logged_no, restore=restore)
    done = "restored" if restore else "cancelled"
    say(f"ilog: {done} logged segment {logged_segment.no} ({len(result.changed)} entries)")
