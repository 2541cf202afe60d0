"""``ilog event``: record a document event (printed invoice, sent quote...) through the template setup."""


from pathlib import Path
from typing import Annotated

import typer

from .context import FormatOpt, state
from .interactions import print_result


def register(app: typer.Typer) -> None:
    app.command("event")(event)


def event(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(metavar="EVENT", help="Document event, e.g. sales.invoice.",
                                               show_default=False)] = None,
    document_no: Annotated[str | None, typer.Option("--document-no", help="Document number.")] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="Contact number.")] = None,
    ref: Annotated[str | None, typer.Option("--ref", help="ERP reference a plugin resolves to a contact.")] = None,
    document_type: Annotated[str | None, typer.Option("--document-type", help="Document type (default: the event).")] = None,
    version: Annotated[str | None, typer.Option("--version", metavar="N", help="Archived version of the document.")] = None,
    date: Annotated[str | None, typer.Option("--date", help="When (default: now).")] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="Subject (default: the template's).")] = None,
    attach: Annotated[Path | None, typer.Option("--attach", help="The printed or sent file.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Idempotency key: a retried print records nothing new.")] = None,
    salesperson: Annotated[str | None, typer.Option("--salesperson", metavar="CODE", help="Salesperson code.")] = None,
    campaign: Annotated[str | None, typer.Option("--campaign", metavar="NO", help="Campaign number.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", metavar="USER", help="Who the entry is for (default: you).")] = None,
    opportunity: Annotated[str | None, typer.Option("--opportunity", metavar="NO", help="The opportunity it regards.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the entry number.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Batch mode: a line for each event already recorded, too.")] = False,
    input_file: Annotated[str | None, typer.Option(
        "--input", "-i", metavar="FILE|-",
        help="Batch mode: one JSON object per line with the fields of the options (event, document_no, "
             "contact or ref, document_type, version, date, subject, attach, key, salesperson, campaign, owner, "
             "opportunity, flow, initiated_by, evaluation, duration, cost, due), or of ilog.DocumentEvent "
             "(contact_no, version_no, occurred_at...); options given here are the defaults of every line.")] = None,
    fmt: FormatOpt = "table",
) -> int | None:
    """Record a document event (printed invoice, sent quote...) through the template setup.

    Example: ilog event sales.invoice --document-no INV-1042 --contact CT000001 --key print-7781

    Batch (a print run in one process; prints one entry number per recorded event):
    ilog event --input events.jsonl   with lines like
    {"event": "sales.invoice", "document_no": "INV-1042", "contact": "CT000001", "key": "print-7781"}
    """
    from ..errors import BadValue

    if input_file is not None:
        if key is not None:
            raise BadValue("--key with --input would give every event the same key: put a \"key\" on each line")
        given = {"event": name, "document_no": document_no, "contact": contact, "ref": ref,
                 "document_type": document_type, "version": version, "date": date, "subject": subject,
                 "attach": str(attach) if attach else None, "salesperson": salesperson, "campaign": campaign,
                 "owner": owner, "opportunity": opportunity}
        return record_batch(ctx, input_file, {k: v for k, v in given.items() if v is not None}, fmt, quiet, verbose)
    if name is None:
        raise BadValue("missing argument 'EVENT' (or give --input FILE)")
    if document_no is None:
        raise BadValue("missing option '--document-no'")
    result = state(ctx).logbook.record_event(
        name, document_no, contact_no=contact, ref=ref, document_type=document_type, version_no=version,
        occurred_at=date, subject=subject, attach=str(attach) if attach else None, idempotency_key=key,
        salesperson_code=salesperson, campaign_no=campaign, owner=owner, opportunity_no=opportunity)
    print_result(result, fmt, quiet)


BATCH_COLUMNS = ["line", "entry_no", "created", "error", "message"]


def record_batch(ctx: typer.Context, path: str, defaults: dict, fmt: str, quiet: bool, verbose: bool = False) -> int:
    """``event --input``: record every line, report each failure with its line number; 1 if any failed."""
    import sys

    from ..errors import BadValue
    from .context import error_line, say
    from .render import render

    if path == "-":
        stream = sys.stdin
    else:
        try:
            stream = open(path, encoding="utf-8-sig")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise BadValue(f"cannot read {path}: {exc.strerror or exc}") from None
    counts = {"logged": 0, "already recorded": 0, "nothing to record": 0, "failed": 0}

    def tally(outcomes):
        for outcome in outcomes:
            if outcome.error is not None:
                counts["failed"] += 1
                error_line(f"line {outcome.line}: {outcome.error.message}")
            elif outcome.entry_no is None:
                counts["nothing to record"] += 1
                if not quiet:
                    say(f"ilog: line {outcome.line}: {outcome.message}")
            elif outcome.created:
                counts["logged"] += 1
            else:
                counts["already recorded"] += 1
                if verbose:
                    say(f"ilog: line {outcome.line}: already recorded as entry {outcome.entry_no} "
                        "(same idempotency key); nothing new")
            last[0] = outcome.line
            yield outcome

    from .progress import counting, progress

    last = [0]
    with progress("recording events", unit="events") as bar:
        try:
            outcomes = counting(tally(state(ctx).logbook.iter_record_events(stream, defaults=defaults)), bar,
                                every=100)
            if fmt == "table":
                write = sys.stdout.write
                for outcome in outcomes:
                    if outcome.entry_no is not None:
                        write(f"{outcome.entry_no}\n")
            else:
                render((o.to_dict() for o in outcomes), fmt, BATCH_COLUMNS)
        except KeyboardInterrupt:
            from ..errors import Interrupted

            sys.stdout.flush()
            raise Interrupted(f"interrupted: the lines up to {last[0]} are done ({counts['logged']} logged, "
                              f"{counts['already recorded']} already recorded), the rest not; run the same command "
                              "again to finish (idempotency keys make that safe)") from None
        finally:
            if stream is not sys.stdin:
                stream.close()
    if not quiet:
        say("ilog: " + ", ".join(f"{n} {what}" for what, n in counts.items() if n or what == "logged"))
    return 1 if counts["failed"] else 0
