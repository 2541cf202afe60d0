#!/usr/bin/env python3
"""A print hook for ERP scripts written in Python: record a document event in-process.

    python print_hook.py sales.invoice INV-1042 --contact CT000001 --file INV-1042.pdf --print-job 7781
    python print_hook.py sales.invoice INV-1042 --ref 10000 --print-job 7782

It calls the public API (``ilog.record_event``), which takes the same path as ``ilog event``:
the template setup, every installed plugin (``resolve_contact`` for ``--ref``, enrichment,
validation, ``interaction_saved``), the occurrence count and the idempotency key. In a
long-running ERP process, keep one ``ilog.open()`` logbook and call
``logbook.record_event(...)`` for each document instead.

Prints the entry number (nothing when no template is set up for the event, or when the
database was away and the event was spooled: ``ilog spool flush`` delivers it); exit status 0
recorded, spooled or nothing to record, 1 refused, 2 bad value, as ``ilog event``.

The idempotency key is one per print job (``--print-job``, the ERP's job id): a retried hook
records nothing new, and a real reprint of the same file (a new job) is occurrence 2. Never key
on the file's content: a reprint is the same file.
"""

from __future__ import annotations

import argparse
import sys

import ilog


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("event", help="document event, e.g. sales.invoice")
    parser.add_argument("document_no", help="document number")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--contact", help="ilog contact number")
    who.add_argument("--ref", help="ERP customer number a plugin resolves")
    parser.add_argument("--file", help="the printed or sent file, attached to the entry")
    parser.add_argument("--print-job", help="the ERP's print job id: the idempotency key, one per print job")
    parser.add_argument("--db", help="database URL (default: the configured one)")
    args = parser.parse_args(argv)

    key = f"print-job-{args.print_job}" if args.print_job else None
    try:
        result = ilog.record_event(args.event, args.document_no, url=args.db, contact_no=args.contact,
                                   ref=args.ref, attach=args.file, key=key)
    except ilog.IlogError as exc:
        print(f"ilog: error: {exc}", file=sys.stderr)
        return exc.exit_code
    if result.entry_no is None:
        print(f"ilog: {result.message}", file=sys.stderr)
        return 0
    print(result.entry_no)
    if not result.created:
        print(f"ilog: already recorded as entry {result.entry_no}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
