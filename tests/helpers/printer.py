"""One print hook of many: records keyed document events while the database may be away.

Usage: python printer.py URL WORKER COUNT DOCUMENTS PACE START_FILE [oneshot]

Waits until START_FILE exists, then records COUNT ``sales.invoice`` events for contact C1 with
the default delivery (``auto``): event ``i`` is the print number ``i // DOCUMENTS + 1`` of
document ``D<WORKER>-<i % DOCUMENTS>``, with the idempotency key ``w<WORKER>-<i>``, and it
starts no sooner than ``i * PACE`` seconds after the start. Through one long-running
``ilog.open()`` logbook (an ERP script), or with ``oneshot`` through ``ilog.record_event``
(a logbook per event, as a print hook that runs ``ilog`` each time). Prints one line per
event: ``entry N`` or ``spooled S``. An exception is a non-zero exit with its message.
"""

import os
import sys
import time


def main() -> int:
    url, worker, count, documents, pace, start_file = sys.argv[1:7]
    worker, count, documents, pace = int(worker), int(count), int(documents), float(pace)
    oneshot = sys.argv[7:] == ["oneshot"]
    import ilog

    logbook = None if oneshot else ilog.open(url)  # one print user (ILOG_USER), as on an ERP host
    deadline = time.monotonic() + 60
    while not os.path.exists(start_file):
        if time.monotonic() > deadline:
            print("start signal never came", file=sys.stderr)
            return 3
        time.sleep(0.005)
    began = time.monotonic()
    for i in range(count):
        wait = began + i * pace - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        fields = {"contact_no": "C1", "key": f"w{worker}-{i}"}
        document = f"D{worker}-{i % documents}"
        if logbook is None:
            result = ilog.record_event("sales.invoice", document, url=url, **fields)
        else:
            result = logbook.record_event("sales.invoice", document, **fields)
        print(f"spooled {result.spool_id}" if result.spooled else f"entry {result.entry_no}", flush=True)
    if logbook is not None:
        logbook.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
