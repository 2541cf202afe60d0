"""One concurrent writer: its own interactions plus the shared document events.

Usage: python writer.py URL WORKER COUNT START_FILE

Waits until START_FILE exists (so every writer starts at the same moment), then
records COUNT interactions of its own (user ``w<WORKER>``) interleaved with COUNT
``sales.invoice`` events whose idempotency keys every writer shares. Prints the entry
numbers it was given, one ``own|doc NO CREATED`` line each. Any exception is a non-zero
exit with its message on stderr.
"""

import os
import sys
import time


def main() -> int:
    url, worker, count, start_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    from ilog.testing import open_logbook

    logbook = open_logbook(url, user=f"w{worker}")
    deadline = time.monotonic() + 60
    while not os.path.exists(start_file):
        if time.monotonic() > deadline:
            print("start signal never came", file=sys.stderr)
            return 3
        time.sleep(0.005)
    out = []
    for i in range(count):
        own = logbook.interact("P1", "CALL", subject=f"worker {worker} call {i}")
        out.append(f"own {own.entry_no} {int(own.created)}")
        doc = logbook.record_event("sales.invoice", f"INV-{i}", contact_no="C1", key=f"print-INV-{i}")
        out.append(f"doc {doc.entry_no} {int(doc.created)}")
    logbook.close()
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
