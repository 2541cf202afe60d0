"""The one place that knows how output looks: table, json, jsonl and csv.

Commands hand rows (dicts) to :func:`render` or one record to :func:`render_record`.
Machine formats write every given column with stable snake_case keys and the data exactly
as stored; dates become ISO 8601 in the user's zone. ``json`` and ``jsonl`` and ``csv``
stream, so a million-row export does not need a million rows in memory. Tables and
messages are for a terminal: control characters in stored text (escape sequences, bells,
carriage returns, newlines) are shown escaped (:func:`printable`), never sent raw. Nothing
here writes colour or progress.
"""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path


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
    text = printable(_cell(value))
    return text if len(text) <= 60 else text[:57] + "..."


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
        materialised = list(rows)
        if not materialised:
            if empty:
                print(empty, file=sys.stderr)
            return 0
        keys = list(table_columns or columns or materialised[0].keys())
        from tabulate import tabulate

        body = [[_table_cell(row.get(k)) for k in keys] for row in materialised]
        out.write(tabulate(body, headers=keys, tablefmt="simple", disable_numparse=True) + "\n")
        return len(materialised)
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
