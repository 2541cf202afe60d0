"""The one place that knows how output looks: table, json, jsonl and csv.

Commands hand rows (dicts) to :func:`render` or one record to :func:`render_record`.
Machine formats write every given column with stable snake_case keys and the data exactly
as stored, in full; dates become ISO 8601 in the user's zone. ``json``, ``jsonl`` and
``csv`` stream, so a million-row export does not need a million rows in memory.

Tables are for people: one line per row, with human column headers (:data:`HEADERS`),
fitted to the terminal's width (``COLUMNS``, else the terminal of standard output, else
:data:`DEFAULT_WIDTH`): columns with nothing in them are left out, then the widest text
columns are cut first, with ``…``, and columns of lesser use (:data:`SPARE_COLUMNS`: flow,
kind, user...) are left out before a text is cut very short; dates and numbers are never
cut. ``--wide`` (:func:`configure`) shows every value in full. Control
characters in stored text (escape sequences, bells, carriage returns, newlines) are shown
escaped (:func:`printable`), never sent raw. Nothing here writes colour or progress.
"""

from __future__ import annotations

import enum
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from itertools import chain, islice
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

#: the width tables fit when standard output is not a terminal and ``COLUMNS`` is not set
DEFAULT_WIDTH = 120
#: rows a table measures its columns on before it streams the rest with those widths
MEASURED_ROWS = 1000
#: what a cut value ends with
ELLIPSIS = "…"

#: column headers of tables (machine formats keep the snake_case keys)
HEADERS = {
    "entry_no": "Entry", "occurred_at": "Date", "date": "Date", "contact_no": "Contact", "company_no": "Company",
    "template_code": "Template", "group_code": "Group", "kind": "Kind", "flow": "Flow", "subject": "Subject",
    "state": "State", "document_no": "Document", "document_type": "Document type", "document": "Document",
    "user_id": "User", "owner": "Owner", "due_at": "Due", "no": "No.", "type": "Type", "name": "Name",
    "email": "Email", "phone": "Phone", "city": "City", "code": "Code", "description": "Description",
    "initiated_by": "Initiated by", "unit_cost": "Unit cost", "unit_duration_min": "Minutes",
    "duration_min": "Minutes", "cost": "Cost", "count": "Entries", "correspondence": "Correspondence",
    "templates": "Templates", "line_count": "Lines", "line_no": "Line", "logged_segment_no": "Logged as",
    "salesperson_code": "Salesperson", "campaign_no": "Campaign", "contact_name": "Name", "person": "Person",
    "segment_no": "Segment", "entry_count": "Entries", "first_entry_no": "First", "last_entry_no": "Last",
    "logged_at": "Logged", "logged_by": "By", "cancelled": "Cancelled", "event": "Event", "table": "Table",
    "rows": "Rows", "evaluation": "Evaluation", "opportunity_no": "Opportunity", "external_id": "External id",
}


def header(key: str) -> str:
    """The column header of a key in tables: ``entry_no`` is ``Entry``, ``due_at`` is ``Due``."""
    if key in HEADERS:
        return HEADERS[key]
    words = key.split("_")
    if len(words) > 1 and words[-1] in ("no", "code"):
        words = words[:-1]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


#: how the running command wants tables (set once per run by the command line)
_OPTIONS: dict[str, Any] = {"wide": False}


def configure(*, wide: bool = False) -> None:
    """Set how tables look for this run: ``wide`` shows every value in full."""
    _OPTIONS["wide"] = wide


def on_terminal(stream: IO[str] | None = None) -> bool:
    """Whether ``stream`` (standard output) is a terminal: a person reading, not a pipe or a file."""
    stream = stream or sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def table_width(stream: IO[str] | None = None) -> int:
    """How wide tables may be: ``COLUMNS``, else the terminal's width, else :data:`DEFAULT_WIDTH`."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    stream = stream or sys.stdout
    if on_terminal(stream):
        try:
            return os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, ValueError, OSError):
            pass
    return DEFAULT_WIDTH


class Format(str, enum.Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\"}


def printable(text: str) -> str:
    """Text safe to show on a terminal: every control or format character escaped
    (``\\x1b``, ``\\n``, ``\\u202e``...), the rest as it is."""
    if text.isprintable():
        return text
    import unicodedata

    out = []
    for ch in text:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif unicodedata.category(ch) in ("Zs",):
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def local_time(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A moment as a person reads it in a table: in the user's zone, to the minute."""
    if moment is None:
        return ""
    from ..domain.dates import to_local

    local = to_local(moment)
    return local.strftime(pattern) if local is not None else ""


def plain(value: Any) -> Any:
    """A value as JSON sees it: dates as ISO 8601 strings, enums as their value."""
    if isinstance(value, datetime):
        from ..domain.dates import isoformat

        return isoformat(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def _cell(value: Any) -> str:
    value = plain(value)
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, list):
        if any(isinstance(v, (dict, list)) for v in value):  # records in a cell (comment lines): JSON
            return json.dumps(value, ensure_ascii=False)
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _table_cell(value: Any) -> str:
    if isinstance(value, datetime):
        return local_time(value)
    if value is True:
        return "yes"
    if value is False:
        return ""
    return printable(_cell(value))


def _fixed(value: Any) -> bool:
    """Values a table never cuts: numbers, dates, flags."""
    return value is None or isinstance(value, (bool, int, float, datetime, date))


def display_width(text: str) -> int:
    """Terminal cells ``text`` takes: East Asian wide characters two, combining marks none."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, ending with ``…`` when it was longer."""
    if display_width(text) <= width:
        return text
    if width <= 0:
        return ""
    kept, used = [], 0
    for ch in text:
        cells = display_width(ch)
        if used + cells > width - 1:
            break
        kept.append(ch)
        used += cells
    return "".join(kept) + ELLIPSIS


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def fit(natural: Sequence[int], floors: Sequence[int], available: int) -> list[int]:
    """Column widths within ``available`` cells: the widest columns are cut first, down to
    the same width, never below their floor; when even the floors do not fit, the floors."""
    if sum(natural) <= available:
        return list(natural)
    low, high = 0, max(natural)
    while low < high:  # the largest level at which every column capped to it fits
        level = (low + high + 1) // 2
        if sum(max(f, min(n, level)) for n, f in zip(natural, floors)) <= available:
            low = level
        else:
            high = level - 1
    return [max(f, min(n, low)) for n, f in zip(natural, floors)]


SEPARATOR = "  "


#: columns a table leaves out, in this order, before it cuts text shorter than :data:`MIN_TEXT`
SPARE_COLUMNS = ("initiated_by", "correspondence", "flow", "unit_cost", "kind", "user_id", "group_code",
                 "document_type", "company_no", "salesperson_code", "campaign_no", "phone", "city")
#: the fewest cells a cut text column keeps while a spare column can go instead
MIN_TEXT = 24


def _layout(keys: list[str], measured: list[Mapping[str, Any]], width: int) -> tuple[list[str], list[int]]:
    """The columns a table shows and their widths: all of them in full with ``--wide``;
    else, when too wide, without the empty columns, then without spare columns while a text
    column would be cut shorter than :data:`MIN_TEXT`, the widest text cut first."""

    def natural_of(key: str) -> int:
        return max([display_width(header(key))] + [display_width(_table_cell(row.get(key))) for row in measured])

    natural = {k: natural_of(k) for k in keys}
    room = lambda shown: width - len(SEPARATOR) * (len(shown) - 1)  # noqa: E731
    if _OPTIONS["wide"] or sum(natural.values()) <= room(keys):
        return keys, [natural[k] for k in keys]
    keys = [k for k in keys if any(_table_cell(row.get(k)) for row in measured)] or keys
    fixed = {k: all(_fixed(row.get(k)) for row in measured) for k in keys}

    def fitted(shown: list[str]) -> list[int]:
        floors = [natural[k] if fixed[k] else min(natural[k], max(4, min(display_width(header(k)), 12)))
                  for k in shown]
        return fit([natural[k] for k in shown], floors, room(shown))

    widths = fitted(keys)
    for spare in SPARE_COLUMNS:
        cut_short = [w for k, w in zip(keys, widths) if w < natural[k] and w < MIN_TEXT]
        if not cut_short:
            break
        if spare in keys and len(keys) > 2:
            keys = [k for k in keys if k != spare]
            widths = fitted(keys)
    return keys, widths


def _table(rows: Iterator[Mapping[str, Any]], keys: list[str], out: IO[str]) -> int:
    """Write a table of ``rows``: columns measured on the first rows, then streamed."""
    measured = list(islice(rows, MEASURED_ROWS))
    keys, widths = _layout(keys, measured, table_width(out))
    wide = _OPTIONS["wide"]

    def line(values: list[str]) -> str:
        if wide:
            return SEPARATOR.join(_pad(v, w) for v, w in zip(values, widths)).rstrip()
        return SEPARATOR.join(_pad(cut(v, w), w) for v, w in zip(values, widths)).rstrip()

    out.write(line([header(k) for k in keys]) + "\n")
    out.write(SEPARATOR.join("-" * w for w in widths) + "\n")
    count = 0
    for row in chain(measured, rows):
        out.write(line([_table_cell(row.get(k)) for k in keys]) + "\n")
        count += 1
    return count


def render(
    rows: Iterable[Mapping[str, Any]],
    fmt: Format | str = Format.table,
    columns: Sequence[str] | None = None,
    *,
    table_columns: Sequence[str] | None = None,
    stream: IO[str] | None = None,
    empty: str | None = None,
) -> int:
    """Write rows in a format; returns how many were written.

    ``columns`` are the keys machine formats write (default: the first row's keys);
    ``table_columns`` narrows what the table shows. ``empty`` is a message printed to
    stderr instead of an empty table.
    """
    fmt = Format(fmt)
    out = stream or sys.stdout
    rows = iter(rows)
    count = 0
    if fmt is Format.table:
        first = next(rows, None)
        if first is None:
            if empty:
                print(empty, file=sys.stderr)
            return 0
        keys = list(table_columns or columns or first.keys())
        return _table(chain([first], rows), keys, out)
    if fmt is Format.csv:
        import csv

        writer = None
        for row in rows:
            if writer is None:
                keys = list(columns or row.keys())
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(keys)
            writer.writerow([_cell(row.get(k)) for k in keys])
            count += 1
        if writer is None and columns:
            out.write(",".join(columns) + "\n")
        return count
    first = True
    if fmt is Format.json:
        out.write("[")
    for row in rows:
        keys = columns or list(row.keys())
        text = json.dumps({k: plain(row.get(k)) for k in keys}, ensure_ascii=False)
        if fmt is Format.json:
            out.write(("\n  " if first else ",\n  ") + text)
        else:
            out.write(text + "\n")
        first = False
        count += 1
    if fmt is Format.json:
        out.write("\n]\n" if count else "]\n")
    return count


def render_record(
    record: Mapping[str, Any],
    fmt: Format | str = Format.table,
    columns: Sequence[str] | None = None,
    *,
    stream: IO[str] | None = None,
    extra_lines: Sequence[str] = (),
) -> None:
    """Write one record: a two-column field/value table, or one JSON object / line / CSV row.

    ``extra_lines`` (comment lines, for instance) follow the table only.
    """
    fmt = Format(fmt)
    out = stream or sys.stdout
    keys = list(columns or record.keys())
    if fmt is Format.table:
        width = max(len(k) for k in keys) if keys else 0
        for key in keys:
            value = record.get(key)
            text = _table_cell(value) if isinstance(value, datetime) else printable(_cell(value))
            out.write(f"{key.ljust(width)}  {text}\n")
        for line in extra_lines:
            out.write(printable(line) + "\n")
    elif fmt is Format.json:
        out.write(json.dumps({k: plain(record.get(k)) for k in keys}, ensure_ascii=False, indent=2) + "\n")
    else:
        render([record], fmt, keys, stream=out)


def render_bundle(document: Mapping[str, Any], files: Mapping[str, bytes], out: "Path | None",
                  *, name: str = "document.json") -> list[str]:
    """Write a JSON document with the files it names by relative path (``attachments/1-a.pdf``).

    ``out`` None: the document on stdout (files must be embedded in it, none given here).
    ``out`` ending in ``.zip``: a zip file holding ``name`` and the files. Otherwise ``out`` is
    a folder (made if missing) to write ``name`` and the files into. What is written is
    readable by its owner only: it is someone's personal data. Returns the paths written.
    """
    import os
    from pathlib import Path, PurePosixPath

    from ..errors import IlogError

    text = json.dumps(plain(document), ensure_ascii=False, indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
        return []
    for relative in files:  # the service names them; never let one climb out of ``out``
        parts = PurePosixPath(relative).parts
        if not parts or PurePosixPath(relative).is_absolute() or ".." in parts:
            raise IlogError(f"refusing to write {relative!r} outside {out}")

    def private(path: Path, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(path, 0o600)

    out = Path(out)
    try:
        if out.suffix.lower() == ".zip":
            import io
            import zipfile

            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(name, text)
                for relative, content in files.items():
                    archive.writestr(relative, content)
            private(out, buffer.getvalue())
            return [str(out)]
        out.mkdir(parents=True, exist_ok=True, mode=0o700)
        written = [out / name]
        private(out / name, text.encode("utf-8"))
        for relative, content in files.items():
            target = out.joinpath(*PurePosixPath(relative).parts)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            private(target, content)
            written.append(target)
        return [str(p) for p in written]
    except OSError as exc:
        raise IlogError(f"cannot write {getattr(exc, 'filename', None) or out}: {exc.strerror or exc}") from None


_EIGHTHS = " ▏▎▍▌▋▊▉"


def render_bar_chart(rows: Sequence[Mapping[str, Any]], label: str, value: str, *, width: int = 40,
                     stream: IO[str] | None = None, empty: str | None = None) -> int:
    """A plain-text horizontal bar chart of ``value`` per ``label``, for people (no colour).

    Bars are drawn in Unicode block characters to an eighth of a cell; the longest bar is
    ``width`` cells. Returns how many bars were drawn.
    """
    out = stream or sys.stdout
    rows = list(rows)
    if not rows:
        if empty:
            print(empty, file=sys.stderr)
        return 0
    labels = [printable(_cell(row.get(label))) or "(none)" for row in rows]
    numbers = [float(row.get(value) or 0) for row in rows]
    texts = [_cell(round(n, 2)) for n in numbers]
    top = max(numbers) or 1.0
    label_width = min(max(len(text) for text in labels), 30)
    out.write(f"{label} by {value}\n")
    for text, number, shown in zip(labels, numbers, texts):
        eighths = round(number / top * width * 8)
        bar = "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")
        if number > 0 and not bar:
            bar = _EIGHTHS[1]
        name = text if len(text) <= label_width else text[: label_width - 1] + "…"
        out.write(f"{name.ljust(label_width)} │{bar.ljust(width)} {shown}\n")
    return len(rows)
