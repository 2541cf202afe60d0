"""``python -m ilog`` and the ``ilog`` console script.

The entry point lives outside :mod:`ilog.cli` so that a Ctrl-C while the command line is
still being imported ends with one line and exit status 130, not a traceback.
"""

import sys


def run() -> None:
    try:
        from ilog.cli import main
    except KeyboardInterrupt:
        print("ilog: interrupted while starting: nothing was done", file=sys.stderr)
        sys.exit(130)
    main()


if __name__ == "__main__":
    run()
