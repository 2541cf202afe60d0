"""Reading contact files row by row: CSV, XLSX and XML (two layouts), all streamed.

A :class:`Source` gives a header and rows of text values with the line (CSV, XML) or row
(XLSX, XML Spreadsheet) number a person would look for in the file. Each source can be
read twice: :meth:`Source.check` reads everything once without keeping it, so a file that
is broken at line 900,000 (an unclosed quote, invalid UTF-8, a NUL byte, malformed XML,
an entity attack) is refused before a single row is written; :meth:`Source.rows` then
reads it again for the import. Memory stays bounded: nothing keeps more than one row.

CSV is read strictly (``csv.reader(strict=True)``) from UTF-8, with or without a BOM;
standard input is copied to a temporary file first so that it too can be read twice.
XLSX is read with openpyxl in read-only mode; a formula is imported as its text
(``=1+1``), never evaluated. XML is parsed with defusedxml: DTD entities and external
references are refused.

The two XML layouts:

- ilog's own: ``<contacts><contact><no>C1</no><name>Rossi SpA</name>...</contact></contacts>``
  (child element names are column names, mapped like CSV headers; attributes of
  ``<contact>`` count as columns too);
- "XML Spreadsheet 2003" as Excel saves it: ``Workbook/Worksheet/Table/Row/Cell/Data`` in
  the ``urn:schemas-microsoft-com:office:spreadsheet`` namespace, first row = header.
"""

from __future__ import annotations

import csv
import shutil
import sys
import tempfile
from collections import deque
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from ...errors import BadValue

FORMATS = ("csv", "jsonl", "xlsx", "xml")
_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".xlsx": "xlsx",
               ".xlsm": "xlsx", ".xml": "xml"}
#: what a text file is read as when it is not valid UTF-8 and no --encoding was given:
#: the encoding Excel and most Windows ERPs write ("ANSI")
FALLBACK_ENCODING = "cp1252"
_DELIMITERS = ",;\t|"
SS = "urn:schemas-microsoft-com:office:spreadsheet"
_CHUNK = 1 << 16

Row = tuple[int, list[str]]


def detect_format(name: str, given: str | None) -> str:
    """The format given, else the one the file's extension says."""
    if given:
        folded = given.strip().lower()
        if folded not in FORMATS:
            raise BadValue(f"invalid input format {given!r}: choose from {', '.join(FORMATS)}")
        return folded
    if name == "-":
        return "csv"
    suffix = Path(name).suffix.lower()
    if suffix == ".xls":
        raise BadValue(f"{name}: old Excel .xls files are not read; save it as .xlsx, CSV or XML Spreadsheet")
    if suffix not in _EXTENSIONS:
        raise BadValue(f"cannot tell the format of {name!r} from its extension: give --input-format csv|xlsx|xml")
    return _EXTENSIONS[suffix]


def open_source(name: str, *, input_format: str | None = None, delimiter: str | None = None,
                sheet: str | None = None, stdin: IO[bytes] | None = None, encoding: str | None = None) -> "Source":
    """The source for a file name (``-`` is CSV or JSON Lines on standard input)."""
    fmt = detect_format(name, input_format)
    if name == "-":
        if fmt not in ("csv", "jsonl"):
            raise BadValue("standard input is read as CSV or JSON Lines only")
        stream = _spool(stdin or sys.stdin.buffer)
        return (CsvSource if fmt == "csv" else JsonLinesSource)("<stdin>", stream, delimiter, encoding)
    path = Path(name)
    if not path.is_file():
        raise BadValue(f"cannot read {name!r}: no such file")
    if fmt in ("csv", "jsonl"):
        return (CsvSource if fmt == "csv" else JsonLinesSource)(name, path.open("rb"), delimiter, encoding)
    if delimiter:
        raise BadValue("--delimiter is for CSV files")
    if encoding:
        raise BadValue("--encoding is for CSV and JSON Lines files (XLSX and XML say their own)")
    if fmt == "xlsx":
        return XlsxSource(name, path, sheet)
    return XmlSource(name, path, sheet)


def _spool(stream: IO[bytes]) -> IO[bytes]:
    """Standard input copied to a temporary file (bounded memory), so it can be read twice."""
    spooled = tempfile.TemporaryFile()
    shutil.copyfileobj(stream, spooled, _CHUNK)
    spooled.seek(0)
    return spooled


def cell_text(value: Any) -> str:
    """A spreadsheet value as the text ilog imports (numbers without a useless ``.0``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    text = getattr(value, "text", None)  # openpyxl ArrayFormula
    return str(text if isinstance(text, str) else value)


def _blank(values: list[str]) -> bool:
    """Whether every value is empty or white space (one join, not a generator per row)."""
    return not "".join(values).strip()


class Source:
    """A contact file: ``header`` (after :meth:`check`) and :meth:`rows`."""

    #: what numbers point at: "line" in CSV and XML, "row" in spreadsheets
    unit = "line"

    def __init__(self, name: str):
        self.name = name
        self.header: list[str] = []
        #: progress: how far the current read got, out of ``total`` (bytes or rows)
        self.position = 0
        self.total: int | None = None

    def _read(self) -> Iterator[Row]:
        """All non-blank records, header included, with their numbers."""
        raise NotImplementedError

    def check(self) -> int:
        """Read the whole file once, refusing a broken one; sets ``header``; returns the row count."""
        count = -1
        for _number, values in self._read():
            if count < 0:
                self.header = [v.strip() for v in values]
            count += 1
        if count < 0:
            raise BadValue(f"{self.name} is empty: no header row")
        return count

    def rows(self) -> Iterator[Row]:
        """The data rows (not the header), with their line or row numbers."""
        records = self._read()
        next(records, None)
        yield from records

    def where(self, number: int) -> str:
        return f"{self.name}, {self.unit} {number}"

    def close(self) -> None:
        pass


class TextSource(Source):
    """A text file read line by line in its encoding: a byte-order mark, or ``--encoding``, or
    UTF-8; a file that is not valid UTF-8 but reads as Windows-1252 is read so, and
    :attr:`notices` says which encoding was assumed."""

    def __init__(self, name: str, stream: IO[bytes], encoding: str | None):
        super().__init__(name)
        self.stream = stream
        self.stream.seek(0, 2)
        self.total = self.stream.tell()
        self.stream.seek(0)
        self.notices: list[str] = []
        self.encoding = self._encoding(encoding)

    def _encoding(self, given: str | None) -> str:
        head = self.stream.read(4)
        self.stream.seek(0)
        if given:
            import codecs

            try:
                name = codecs.lookup(given).name
            except LookupError:
                raise BadValue(f"unknown encoding {given!r}: give e.g. utf-8, cp1252, latin-1, utf-16") from None
            return "utf-8-sig" if name == "utf-8" else "utf-16" if name.startswith("utf-16") and head[:2] in (
                b"\xff\xfe", b"\xfe\xff") else name
        if head.startswith(b"\xef\xbb\xbf"):
            return "utf-8-sig"
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return "utf-16"
        bad_line = self._first_line_not_utf8()
        if bad_line is None:
            return "utf-8"
        if self._decodes(FALLBACK_ENCODING):
            self.notices.append(f"{self.name} is not valid UTF-8 (line {bad_line}): read it as Windows-1252 "
                                f"({FALLBACK_ENCODING}); give --encoding to say which encoding it is")
            return FALLBACK_ENCODING
        raise BadValue(f"{self.where(bad_line)}: not valid UTF-8, nor Windows-1252; give its encoding "
                       "(--encoding latin-1, utf-16...) or save the file as UTF-8")

    def _first_line_not_utf8(self) -> int | None:
        import codecs

        decoder = codecs.getincrementaldecoder("utf-8")()
        line = 1
        self.stream.seek(0)
        try:
            while chunk := self.stream.read(_CHUNK):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    return line + chunk.count(b"\n", 0, exc.start)
                line += chunk.count(b"\n")
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return line
        finally:
            self.stream.seek(0)
        return None

    def _decodes(self, encoding: str) -> bool:
        import codecs

        decoder = codecs.getincrementaldecoder(encoding)()
        self.stream.seek(0)
        try:
            while chunk := self.stream.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return True
        except UnicodeDecodeError:
            return False
        finally:
            self.stream.seek(0)

    def _lines(self, counter: list[int]) -> Iterator[str]:
        """Decoded physical lines; ``counter[0]`` is the number of the last one given."""
        import io

        self.stream.seek(0)
        self.position = 0
        text = io.TextIOWrapper(self.stream, encoding=self.encoding, errors="strict", newline="")
        try:
            for line in text:
                counter[0] += 1
                self.position = self.stream.tell()
                if "\x00" in line:
                    raise BadValue(f"{self.where(counter[0])}: contains a NUL byte (not a text file?)")
                yield line
        except UnicodeDecodeError:
            raise BadValue(f"{self.where(counter[0] + 1)}: not valid {self.encoding} text") from None
        finally:
            if not self.stream.closed:  # a reader abandoned after the file was closed
                text.detach()

    def close(self) -> None:
        self.stream.close()


class CsvSource(TextSource):
    def __init__(self, name: str, stream: IO[bytes], delimiter: str | None, encoding: str | None = None):
        super().__init__(name, stream, encoding)
        if delimiter is not None:
            delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter.lower(), delimiter)
            if len(delimiter) != 1 or delimiter in "\"\r\n":
                raise BadValue(f"invalid delimiter {delimiter!r}: give one character (or 'tab')")
        self.delimiter = delimiter or self._sniff()

    def _sniff(self) -> str:
        sample: list[str] = []
        counter = [0]
        for line in self._lines(counter):
            if line.strip():
                sample.append(line)
            if len(sample) >= 20:
                break
        self.stream.seek(0)
        if not sample:
            return ","
        header = sample[0]
        try:
            found = csv.Sniffer().sniff("".join(sample), delimiters=_DELIMITERS).delimiter
        except csv.Error:
            found = None
        if found and found in header:
            return found
        counts = {d: header.count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","

    def _read(self) -> Iterator[Row]:
        counter = [0]
        reader = csv.reader(self._lines(counter), delimiter=self.delimiter, strict=True)
        start = 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                message = str(exc)
                if "unexpected end of data" in message:
                    message = "a quoted field is never closed (a \" without its closing \")"
                raise BadValue(f"{self.where(start)}: {message}") from None
            if not _blank(values):
                yield start, values
            start = counter[0] + 1


class JsonLinesSource(TextSource):
    """One JSON object per line (what ``contact export -f jsonl`` writes): the keys of the first
    object are the header; an object with a key the first one lacks is a bad row, by its line."""

    delimiter = ","

    def __init__(self, name: str, stream: IO[bytes], delimiter: str | None, encoding: str | None = None):
        if delimiter:
            raise BadValue("--delimiter is for CSV files")
        super().__init__(name, stream, encoding)

    def _read(self) -> Iterator[Row]:
        import json

        counter = [0]
        header: list[str] | None = None
        for line in self._lines(counter):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise BadValue(f"{self.where(counter[0])}: not JSON ({exc})") from None
            if not isinstance(record, dict):
                raise BadValue(f"{self.where(counter[0])}: not a JSON object")
            if header is None:
                header = list(record)
                yield counter[0], header
            values = [cell_text(record.get(key)) for key in header]
            extra = [key for key in record if key not in header]
            if extra:  # more values than the header: the import reports the row, never drops them silently
                values += [cell_text(record[key]) or "?" for key in extra]
            yield counter[0], values


class XlsxSource(Source):
    unit = "row"

    def __init__(self, name: str, path: Path, sheet: str | None):
        super().__init__(name)
        self.path = path
        self.sheet = sheet

    def _read(self) -> Iterator[Row]:
        import zipfile

        import openpyxl

        try:
            book = openpyxl.load_workbook(self.path, read_only=True, data_only=False)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise BadValue(f"{self.name} is not a readable .xlsx workbook ({exc})") from None
        try:
            if self.sheet is None:
                sheet = book.worksheets[0]
            elif self.sheet in book.sheetnames:
                sheet = book[self.sheet]
            else:
                raise BadValue(f"{self.name} has no sheet {self.sheet!r}: it has {', '.join(book.sheetnames)}")
            self.total = sheet.max_row
            self.position = 0
            for number, cells in enumerate(sheet.iter_rows(min_row=1, values_only=True), 1):
                self.position = number
                values = [cell_text(v) for v in cells]
                while values and not values[-1]:
                    values.pop()
                if not _blank(values):
                    yield number, values
        finally:
            book.close()


class _XmlTarget:
    """An ElementTree parser target that turns either layout into rows as they close."""

    def __init__(self, source: "XmlSource"):
        self.source = source
        self.parser: Any = None
        self.rows: deque[tuple[int, dict[str, str] | list[str]]] = deque()
        self.path: list[str] = []
        self.layout: str | None = None
        self.sheets: list[str] = []
        # contacts layout
        self.record: dict[str, str] | None = None
        self.record_line = 0
        self.field: str | None = None
        self.text: list[str] = []
        # spreadsheet layout
        self.in_sheet = False
        self.sheet_done = False
        self.row_no = 0
        self.cells: list[str] = []
        self.col = 0
        self.in_data = False
        self.merge = 0

    def _line(self) -> int:
        return self.parser.parser.CurrentLineNumber

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        ns, local = _split(tag)
        depth = len(self.path)
        self.path.append(local)
        if depth == 0:
            if local == "contacts":
                self.layout = "contacts"
            elif local == "Workbook" and ns == SS:
                self.layout = "spreadsheet"
            else:
                raise BadValue(f"{self.source.name}: root element <{local}> is neither <contacts> nor an "
                               "XML Spreadsheet 2003 <Workbook>")
            return
        if self.layout == "contacts":
            if depth == 1:
                if local != "contact":
                    raise BadValue(f"{self.source.where(self._line())}: unexpected element <{local}> "
                                   "(expected <contact>)")
                self.record = {_split(k)[1]: v for k, v in attrs.items()}
                self.record_line = self._line()
            elif depth == 2:
                self.field = local
                self.text = []
            return
        # spreadsheet
        if depth == 1 and local == "Worksheet" and ns == SS:
            name = attrs.get(f"{{{SS}}}Name", "")
            self.sheets.append(name)
            wanted = self.source.sheet
            self.in_sheet = not self.sheet_done and (name == wanted if wanted is not None else True)
            self.row_no = 0
        elif not self.in_sheet or ns != SS or self.in_data:
            return  # other sheets, Excel's own elements, rich text inside <Data> (html:B...)
        elif local == "Row" and depth == 3:
            index = attrs.get(f"{{{SS}}}Index")
            self.row_no = _index(index, self.source, self._line()) if index else self.row_no + 1
            self.cells = []
            self.col = 0
        elif local == "Cell" and depth == 4:
            index = attrs.get(f"{{{SS}}}Index")
            self.col = _index(index, self.source, self._line()) if index else self.col + 1
            while len(self.cells) < self.col:
                self.cells.append("")
            merge = attrs.get(f"{{{SS}}}MergeAcross")
            self.merge = int(merge) if merge and merge.isdigit() else 0
        elif local == "Data" and depth == 5:
            self.in_data = True
            self.text = []

    def end(self, tag: str) -> None:
        ns, local = _split(tag)
        self.path.pop()
        depth = len(self.path)
        if self.layout == "contacts":
            if depth == 2 and self.record is not None and self.field is not None:
                self.record[self.field] = "".join(self.text)
                self.field = None
            elif depth == 1 and self.record is not None:
                self.rows.append((self.record_line, self.record))
                self.record = None
            return
        if not self.in_sheet:
            return
        if local == "Data" and depth == 5 and ns == SS:
            self.in_data = False
            self.cells[self.col - 1] = "".join(self.text)
        elif local == "Cell" and depth == 4 and ns == SS:
            self.col += self.merge
        elif local == "Row" and depth == 3 and ns == SS:
            self.rows.append((self.row_no, self.cells))
        elif local == "Worksheet" and depth == 1:
            self.in_sheet = False
            self.sheet_done = True

    def data(self, text: str) -> None:
        if self.field is not None or self.in_data:
            self.text.append(text)

    def close(self) -> None:
        return None


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _index(text: str, source: "XmlSource", line: int) -> int:
    if not text.isdigit() or int(text) < 1:
        raise BadValue(f"{source.where(line)}: invalid ss:Index {text!r}")
    return int(text)


class XmlSource(Source):
    def __init__(self, name: str, path: Path, sheet: str | None):
        super().__init__(name)
        self.path = path
        self.sheet = sheet
        self.total = path.stat().st_size

    def _events(self) -> Iterator[tuple[int, dict[str, str] | list[str]]]:
        from xml.etree.ElementTree import ParseError

        from defusedxml import DefusedXmlException
        from defusedxml.ElementTree import DefusedXMLParser

        target = _XmlTarget(self)
        parser = DefusedXMLParser(target=target, forbid_dtd=False, forbid_entities=True, forbid_external=True)
        target.parser = parser
        self.position = 0
        self.layout = None
        try:
            with self.path.open("rb") as stream:
                while True:
                    chunk = stream.read(_CHUNK)
                    self.position += len(chunk)
                    if not chunk:
                        parser.close()
                        break
                    parser.feed(chunk)
                    self.layout = target.layout
                    while target.rows:
                        yield target.rows.popleft()
        except DefusedXmlException as exc:
            raise BadValue(f"{self.name}: refused unsafe XML ({type(exc).__name__}: entity declarations and "
                           "external references are not allowed)") from None
        except ParseError as exc:
            line = exc.position[0] if getattr(exc, "position", None) else "?"
            raise BadValue(f"{self.name}, line {line}: malformed XML ({exc.msg if hasattr(exc, 'msg') else exc})") from None
        while target.rows:
            yield target.rows.popleft()
        self.layout = target.layout
        if target.layout == "spreadsheet":
            if not target.sheets:
                raise BadValue(f"{self.name}: the workbook has no worksheet")
            if self.sheet is not None and self.sheet not in target.sheets:
                raise BadValue(f"{self.name} has no sheet {self.sheet!r}: it has {', '.join(target.sheets)}")

    def check(self) -> int:
        columns: dict[str, None] = {}
        header: list[str] | None = None
        count = 0
        for _number, values in self._events():
            if isinstance(values, dict):
                columns.update(dict.fromkeys(values))
                count += 1
            elif not _blank(values := _trim(values)):
                if header is None:
                    header = [v.strip() for v in values]
                else:
                    count += 1
        if self.layout == "contacts":
            self.unit = "line"
            self.header = list(columns)
        else:
            self.unit = "row"
            self.header = header or []
        if not self.header:
            raise BadValue(f"{self.name} has no contacts" if self.layout == "contacts"
                           else f"{self.name} is empty: no header row")
        return count

    def rows(self) -> Iterator[Row]:
        header_seen = False
        for number, values in self._events():
            if isinstance(values, dict):
                yield number, [values.get(c, "") for c in self.header]
            elif not _blank(values := _trim(values)):
                if header_seen:
                    yield number, values
                header_seen = True


def _trim(values: list[str]) -> list[str]:
    values = list(values)
    while values and not values[-1]:
        values.pop()
    return values
