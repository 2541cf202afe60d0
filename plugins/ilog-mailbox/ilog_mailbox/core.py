"""The mail side of ilog-mailbox: plain functions and classes, no ilog import.

Everything that can be judged without the log lives here, unit-testable on its own:

- reading an mbox file (:func:`read_mbox`, with each message's byte offset and ``From ``
  line) or a Maildir (:func:`read_maildir`, with each file's name and delivery time);
- reading a message's headers the way mail clients do (:func:`read_headers`,
  :func:`decode_header`, :func:`decode_bytes`, :func:`clean_text`, :func:`cut_subject`);
- the message's date and where it came from (:func:`message_date`);
- who a message is for (:func:`direction`);
- the failed-message state file (:class:`FailedState`);
- the import loop (:func:`run_import`), which reaches the log only through a small
  :class:`Log` object that the plugin's ilog side (``ilog_mailbox/__init__.py``) provides.

The rules are written down in the plugin's README; the docstrings below say how each is
implemented. Nothing here may import ilog: a test imports this module with ilog blocked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Protocol

if TYPE_CHECKING:
    import email.message

#: the log's limit on a subject (characters); a longer subject is cut and ends with "…"
SUBJECT_LIMIT = 1000
#: the log's limit on an idempotency key (characters)
KEY_LIMIT = 200
#: messages' entries saved per transaction
CHUNK = 500

INBOUND, OUTBOUND, NOT_OURS = "inbound", "outbound", "not ours"
DATE_HEADER, DATE_FROM_LINE, DATE_DELIVERY, DATE_IMPORT = "header", "mbox From line", "delivery time", "import time"


class MailboxError(Exception):
    """The mailbox as a whole cannot be read: missing, not an mbox file, not a Maildir."""


class MessageRefused(Exception):
    """The log refused one message's entries (its checks, a plugin's veto, the database).

    Only the message fails; the import goes on with the next one.
    """


# -- reading mailboxes -----------------------------------------------------------------


@dataclass
class RawMessage:
    """One message as stored: its bytes and where it is.

    ``where`` is ``byte N`` (the offset of its ``From `` line in an mbox file) or
    ``file cur/NAME`` (its file in a Maildir).
    """

    where: str
    raw: bytes
    from_line: bytes | None = None
    delivered: datetime | None = None

    @cached_property
    def ident(self) -> str:
        """The message's identity in the failed-message state: a hash of its bytes.

        Stable when earlier messages are deleted (the mbox offset changes) or a mail
        client sets a flag (the Maildir file name changes).
        """
        import hashlib

        return "sha256:" + hashlib.sha256(self.raw).hexdigest()


def open_mailbox(path: Path) -> Iterator[RawMessage]:
    """The messages of an mbox file or a Maildir folder, read lazily, in order.

    Checks the mailbox at once (before the first message is asked for) and raises
    :class:`MailboxError` when it is missing, unreadable, or neither kind.
    """
    path = Path(path)
    if path.is_dir():
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise MailboxError(f"{path} is a folder but not a Maildir (no cur/ or new/)")
        return read_maildir(path)
    if not path.exists():
        raise MailboxError(f"mailbox {path} does not exist")
    try:
        with path.open("rb") as handle:
            first = handle.readline()
    except OSError as exc:
        raise MailboxError(f"cannot read mailbox {path}: {exc.strerror or exc}") from None
    if first and not first.startswith(b"From "):
        raise MailboxError(f"{path} is not an mbox file (it does not begin with a \"From \" line)")
    return read_mbox(path)


def read_mbox(path: Path) -> Iterator[RawMessage]:
    """The messages of an mbox file, streamed, with their byte offsets and ``From `` lines.

    Messages are split exactly as Python's :class:`mailbox.mbox` splits them (a new
    message at every line that starts with ``From ``; the blank line before it belongs
    to no message), so a message's bytes, and so the hash that identifies a message
    without a Message-ID, are the bytes ``mailbox.mbox(...).get_bytes(key)`` gives.
    """
    with Path(path).open("rb") as handle:
        start: int | None = None
        from_line = b""
        lines: list[bytes] = []
        last_empty = False
        position = 0
        for line in handle:
            if line.startswith(b"From "):
                if start is not None:
                    yield _mbox_message(start, from_line, lines, last_empty)
                start, from_line, lines, last_empty = position, line, [], False
            elif start is not None:
                lines.append(line)
                last_empty = line == b"\n"
            position += len(line)
        if start is not None:
            yield _mbox_message(start, from_line, lines, last_empty)


def _mbox_message(start: int, from_line: bytes, lines: list[bytes], last_empty: bool) -> RawMessage:
    raw = b"".join(lines)
    if last_empty:
        raw = raw[:-1]
    return RawMessage(f"byte {start}", raw, from_line=from_line)


def read_maildir(path: Path) -> Iterator[RawMessage]:
    """The messages of a Maildir (``new/`` and ``cur/``, not ``tmp/``), in delivery order.

    Files are taken by name (Maildir names begin with the delivery time stamp); files
    starting with ``.`` are skipped. A file a mail client moved from ``new/`` to ``cur/``
    while we read is found there; one deleted meanwhile is not read.
    """
    import os

    path = Path(path)
    files: dict[str, tuple[str, str]] = {}  # unique name -> (sub, file name); cur/ wins over new/
    for sub in ("new", "cur"):
        try:
            with os.scandir(path / sub) as entries:
                for entry in entries:
                    if not entry.name.startswith(".") and entry.is_file():
                        files[entry.name.split(":")[0]] = (sub, entry.name)
        except (FileNotFoundError, NotADirectoryError):
            continue
    for _unique, (sub, name) in sorted(files.items()):
        found = _read_maildir_file(path, sub, name)
        if found is None:
            continue
        sub, name, raw, mtime = found
        yield RawMessage(f"file {sub}/{name}", raw, delivered=delivery_time(name, mtime))


def _read_maildir_file(path: Path, sub: str, name: str) -> tuple[str, str, bytes, float] | None:
    import glob

    def read(sub: str, name: str) -> tuple[str, str, bytes, float] | None:
        file = path / sub / name
        try:
            return sub, name, file.read_bytes(), file.stat().st_mtime
        except FileNotFoundError:
            return None

    found = read(sub, name)
    if found is None and sub == "new":  # delivered as new/NAME, seen meanwhile: cur/NAME:2,FLAGS
        for moved in sorted((path / "cur").glob(glob.escape(name.split(":")[0]) + ":*")):
            found = read("cur", moved.name)
            if found is not None:
                break
    return found


def delivery_time(name: str, mtime: float) -> datetime:
    """A Maildir message's delivery time: the earlier of its name's time stamp and its mtime.

    A Maildir file name begins with the delivery time (``1709460000.M123P45.host``);
    Dovecot and Python set the file's modification time to the time the message was
    received. A mailbox copied without keeping times has a later mtime; one migrated
    over IMAP has a later name. The earlier of the two is right in both cases.
    """
    moments = [mtime]
    match = re.match(r"(\d{9,11})(?:\.|$)", name)
    if match:
        moments.append(float(match.group(1)))
    return datetime.fromtimestamp(min(moments), timezone.utc)


# -- headers ---------------------------------------------------------------------------


@dataclass
class Headers:
    """What the import needs from a message's headers, decoded and cleaned."""

    message_id: str
    sender: str | None
    recipients: list[str]
    subject: str | None
    date_text: str
    date: datetime | None
    charset: str | None = None


_POLICY: list[Any] = []


def _raw_policy() -> Any:
    """``compat32``, except that headers come back exactly as stored.

    Parsed from bytes, a header's 8-bit bytes are kept as surrogate escapes; this policy
    hands them over untouched, so :func:`decode_header` sees the original bytes and can
    try the charsets a mail client would, instead of the ``\\ufffd`` the default policy
    puts in their place.
    """
    if not _POLICY:
        import email.policy

        class RawHeaders(email.policy.Compat32):
            def header_fetch_parse(self, name: str, value: Any) -> Any:
                return value

        _POLICY.append(RawHeaders())
    return _POLICY[0]


def parse_message(raw: bytes) -> "email.message.Message":
    """A message parsed from bytes with :func:`_raw_policy` (the parser never raises)."""
    import email.parser

    return email.parser.BytesParser(policy=_raw_policy()).parsebytes(raw)


def raw_header(message: "email.message.Message", name: str) -> bytes | None:
    """A header's stored bytes (the first one of that name), or None when absent."""
    value = message.get(name)
    return None if value is None else _as_bytes(value)


def raw_headers(message: "email.message.Message", name: str) -> list[bytes]:
    return [_as_bytes(v) for v in message.get_all(name, [])]


def _as_bytes(value: Any) -> bytes:
    return str(value).encode("utf-8", "surrogateescape")


def declared_charset(message: "email.message.Message") -> str | None:
    """The charset the message declares for its text: the body's, or the first text part's."""
    try:
        for part in message.walk():
            if part.is_multipart():
                continue
            if part.get_content_maintype() == "text":
                return part.get_content_charset() or None
    except Exception:  # noqa: BLE001 - a Content-Type beyond repair declares nothing
        return None
    return None


def read_headers(raw: bytes) -> Headers:
    """The Message-ID, sender, recipients (To, Cc), subject and Date of a message."""
    from email.utils import getaddresses

    message = parse_message(raw)
    charset = declared_charset(message)

    def text(name: str, *, encoded_words: bool = True) -> str:
        value = raw_header(message, name)
        if value is None:
            return ""
        return decode_header(value, charset) if encoded_words else clean_text(decode_bytes(unfold(value), charset))

    def addresses(*names: str) -> list[str]:
        values = [clean_text(decode_bytes(unfold(v), charset)) for n in names for v in raw_headers(message, n)]
        found = [a.strip().lower() for _, a in getaddresses(values) if "@" in a]
        return list(dict.fromkeys(found))

    sender = addresses("From")
    date_text = " ".join(text("Date", encoded_words=False).split())
    return Headers(
        message_id=" ".join(text("Message-ID", encoded_words=False).split()).strip("<>").strip(),
        sender=sender[0] if sender else None,
        recipients=addresses("To", "Cc"),
        subject=cut_subject(text("Subject")),
        date_text=date_text,
        date=header_date(date_text),
        charset=charset,
    )


_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*)$", re.IGNORECASE | re.MULTILINE)


def sniff_message_id(raw: bytes) -> str:
    """The Message-ID found in a message's bytes without parsing it (for reporting a failure)."""
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    match = _MESSAGE_ID.search(head)
    if not match:
        return ""
    return clean_text(decode_bytes(match.group(1).strip(), None)).strip().strip("<>").strip()


def unfold(value: bytes) -> bytes:
    """A header's value on one line (folding line breaks removed, RFC 5322 2.2.3)."""
    return re.sub(rb"\r?\n(?=[ \t])", b"", value).replace(b"\r", b"").replace(b"\n", b"")


_ENCODED_WORD = re.compile(rb"=\?([^?\s]*)\?([qQbB])\?([^?]*?)\?=")


def decode_header(value: bytes, declared: str | None = None) -> str:
    """A header's text as a mail client shows it.

    RFC 2047 encoded words are decoded with their own charset (adjacent words in one
    charset are joined before decoding, so a character split between two words survives;
    the white space between two encoded words is dropped). Bytes outside encoded words,
    undeclared 8-bit text, are decoded as :func:`decode_bytes` does. The result is
    :func:`clean_text`-ed.
    """
    value = unfold(value)
    pieces: list[tuple[str | None, bytes]] = []  # (charset of an encoded word or None, bytes)
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        literal = value[position:match.start()]
        position = match.end()
        payload = _word_payload(match.group(2), match.group(3))
        if payload is None:  # not a valid encoded word: keep it as it is
            pieces.append((None, literal + match.group(0)))
            continue
        previous_is_word = bool(pieces) and pieces[-1][0] is not None
        if literal and not (previous_is_word and not literal.strip(b" \t")):
            pieces.append((None, literal))
            previous_is_word = False
        charset = match.group(1).decode("ascii", "replace").split("*")[0].lower()
        if previous_is_word and pieces[-1][0] == charset:
            pieces[-1] = (charset, pieces[-1][1] + payload)
        else:
            pieces.append((charset, payload))
    if position < len(value):
        pieces.append((None, value[position:]))
    return clean_text("".join(decode_bytes(data, declared, first=charset) for charset, data in pieces))


def _word_payload(encoding: bytes, text: bytes) -> bytes | None:
    import binascii

    try:
        if encoding in (b"q", b"Q"):
            return binascii.a2b_qp(text, header=True)
        text = text.strip()
        if len(text) % 4 == 1:  # one stray character cannot be base64
            text = text[:-1]
        return binascii.a2b_base64(text + b"=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def decode_bytes(data: bytes, declared: str | None = None, *, first: str | None = None) -> str:
    """Bytes as text, trying charsets the way mail clients do; never U+FFFD.

    ``first`` (an encoded word's charset), then UTF-8, then ``declared`` (the message's
    own charset), then windows-1252. A charset label for ISO-8859-1 or US-ASCII means
    windows-1252 (as browsers and mail clients read it); a label Python does not know,
    or a charset that is not ASCII-compatible (UTF-16...), is passed over. The few byte
    values windows-1252 leaves undefined become their Latin-1 characters (controls, which
    :func:`clean_text` turns into spaces).
    """
    if not data:
        return ""
    for label in (first, "utf-8", declared, "cp1252"):
        codec = _codec(label)
        if codec is None:
            continue
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    text = data.decode("cp1252", "surrogateescape")
    return re.sub("[\udc80-\udcff]", lambda m: chr(ord(m.group()) - 0xDC00), text)


def _codec(label: str | None) -> str | None:
    import codecs

    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip('"').lower()).name
        if "a: b".encode(name) != b"a: b":  # UTF-16, UTF-32...: not for headers
            return None
    except (LookupError, UnicodeError, ValueError, TypeError):
        return None
    return "cp1252" if name in ("ascii", "iso8859-1", "latin-1") else name


_CONTROLS = re.compile("[\x01-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text the log accepts: NUL bytes removed, other control characters made spaces.

    (Lone surrogates, which no database stores, become spaces too; decoding never makes
    them, this is a last guard.)
    """
    return _CONTROLS.sub(" ", text.replace("\x00", ""))


def cut_subject(text: str, limit: int = SUBJECT_LIMIT) -> str | None:
    """A subject on one line (runs of white space made one space); None when empty.

    A subject longer than ``limit`` is cut to ``limit`` characters, the last one "…".
    """
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit - 1].rstrip() + "…"
    return text or None


# -- dates -----------------------------------------------------------------------------


def header_date(text: str) -> datetime | None:
    """A Date header's moment (RFC 5322 and its obsolete forms), or None when not a date.

    A date without a time zone (``-0000``) is taken as UTC. ``Tue, 31 Feb 2026`` and
    ``not a date at all`` are not dates.
    """
    from email.utils import parsedate_to_datetime

    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                       "nov", "dec"), 1)}
_FROM_DATE = re.compile(
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\s+"
    r"(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s+(?:([+-]\d{4}|[a-z]{3,4})\s+)?(\d{4})(?:\s+([+-]\d{4}))?",
    re.IGNORECASE)


def from_line_date(line: bytes | None) -> datetime | None:
    """The date of an mbox ``From `` line (``From sender Tue Mar  3 10:00:00 2026``), or None.

    The ctime-style date after the envelope sender, with or without seconds, with or
    without a numeric zone before or after the year; without one it is UTC (Python,
    Postfix and procmail write UTC).
    """
    if not line:
        return None
    text = line.decode("ascii", "replace")[5:]
    parts = text.split(None, 1)
    match = _FROM_DATE.search(parts[1] if len(parts) > 1 else text) or _FROM_DATE.search(text)
    if not match:
        return None
    month, day, hour, minute, second, zone1, year, zone2 = match.groups()
    zone = next((z for z in (zone1, zone2) if z and z[0] in "+-"), None)
    tz = timezone.utc
    try:
        if zone:
            from datetime import timedelta

            offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
            tz = timezone(offset if zone[0] == "+" else -offset)
        return datetime(int(year), _MONTHS[month.lower()[:3]], int(day), int(hour), int(minute), int(second or 0),
                        tzinfo=tz)
    except ValueError:
        return None


def message_date(headers: Headers, message: RawMessage, now: datetime) -> tuple[datetime, str]:
    """The moment of a message and where it came from.

    The Date header; else the mbox ``From `` line's date; else the Maildir delivery time;
    else ``now`` (the import time).
    """
    if headers.date is not None:
        return headers.date, DATE_HEADER
    moment = from_line_date(message.from_line)
    if moment is not None:
        return moment, DATE_FROM_LINE
    if message.delivered is not None:
        return message.delivered, DATE_DELIVERY
    return now, DATE_IMPORT


# -- who a message is for --------------------------------------------------------------


def read_settings(path: Path) -> dict[str, Any]:
    """``mailbox.toml`` (``own_addresses``, ``template``); {} when absent, ValueError when bad."""
    import tomllib

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    unknown = sorted(set(data) - {"own_addresses", "template"})
    if unknown:
        raise ValueError(f"{path}: unknown setting {unknown[0]!r}")
    if not isinstance(data.get("own_addresses", []), list):
        raise ValueError(f"{path}: own_addresses must be a list of addresses")
    if not isinstance(data.get("template", ""), str):
        raise ValueError(f"{path}: template must be a template code")
    return data


def normalise(address: str) -> str:
    from email.utils import parseaddr

    return parseaddr(address)[1].strip().lower()


def own_addresses(values: Iterable[str]) -> set[str]:
    """Own addresses, normalised (``Sales <SALES@example.com>`` is ``sales@example.com``)."""
    return {a for a in (normalise(v) for v in values) if a}


def direction(sender: str | None, recipients: list[str], own: set[str]) -> tuple[str, list[str]]:
    """Whether a message is ours, and the addresses of the other side.

    - from one of our own addresses: ``outbound``, to each recipient (To, Cc) that is not
      one of ours;
    - else, to one of our own addresses (To, Cc): ``inbound``, from the sender;
    - else (neither side ours: two contacts writing to each other, a list digest, mail to
      an address of ours that is not listed): ``not ours``, nobody.
    """
    if sender is not None and sender in own:
        return OUTBOUND, [a for a in recipients if a not in own]
    if own.intersection(recipients):
        return INBOUND, [sender] if sender else []
    return NOT_OURS, []


def message_key(message_id: str, raw_ident: str, contact_no: str) -> str:
    """The idempotency key: ``mailbox:CONTACT:MESSAGE-ID`` (a hash of the message without one).

    A key longer than the log allows uses a hash of the Message-ID instead.
    """
    import hashlib

    ident = message_id or raw_ident
    key = f"mailbox:{contact_no}:{ident}"
    if len(key) > KEY_LIMIT:
        key = f"mailbox:{contact_no}:sha256:{hashlib.sha256(ident.encode('utf-8', 'replace')).hexdigest()}"
    return key


# -- the failed-message state ----------------------------------------------------------


def state_path(state_dir: Path, mailbox: Path) -> Path:
    """The state file of a mailbox: ``STATE_DIR/failed-<hash of its absolute path>.json``."""
    import hashlib

    resolved = str(Path(mailbox).resolve())
    digest = hashlib.sha256(resolved.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return Path(state_dir) / f"failed-{digest}.json"


class FailedState:
    """The messages of one mailbox that failed, remembered between runs.

    Keyed by :attr:`RawMessage.ident`; each entry keeps where the message was, its
    Message-ID, the reason, when it first and last failed, and the contacts it was for
    (``contacts``: known when the log refused its entries, empty when it could not be read),
    so that :func:`forget_contact` can drop what concerns an erased contact. :meth:`save`
    writes the file atomically (a temporary file in the same folder, then a rename), mode
    0600, and removes it when nothing is remembered.
    """

    VERSION = 1

    def __init__(self, path: Path, mailbox: Path, entries: dict[str, dict[str, Any]] | None = None):
        self.path = Path(path)
        self.mailbox = str(Path(mailbox).resolve())
        self.entries: dict[str, dict[str, Any]] = dict(entries or {})
        self.changed = False

    @classmethod
    def load(cls, path: Path, mailbox: Path) -> tuple["FailedState", str | None]:
        """The state in ``path`` (empty when there is none), and a warning if it was unreadable."""
        import json

        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            entries = data["failed"]
            if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
                raise ValueError("'failed' is not a mapping of messages")
        except FileNotFoundError:
            return cls(path, mailbox), None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            state = cls(path, mailbox)
            state.changed = True  # rewrite it
            return state, f"cannot read the failed-message state {path} ({exc}): starting afresh"
        return cls(path, mailbox, entries), None

    def __contains__(self, ident: str) -> bool:
        return ident in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def record(self, ident: str, where: str, message_id: str, reason: str, at: datetime,
               contacts: Iterable[str] = ()) -> None:
        stamp = at.isoformat(timespec="seconds")
        first = self.entries.get(ident, {}).get("first_failed", stamp)
        self.entries[ident] = {"where": where, "message_id": message_id, "reason": reason,
                               "first_failed": first, "last_failed": stamp, "contacts": sorted(set(contacts))}
        self.changed = True

    def concerns(self, ident: str, contact_no: str) -> bool:
        """Whether a remembered failure is about this contact: it names the contact among those
        the message was for, or (a failure remembered before ``contacts`` were kept) its
        reason or Message-ID mentions the number. Forgetting one too many only means the
        message is tried again."""
        entry = self.entries.get(ident, {})
        if "contacts" in entry:
            return contact_no in entry["contacts"]
        token = re.compile(rf"(?<![\w-]){re.escape(contact_no)}(?![\w-])", re.I)
        return bool(token.search(str(entry.get("reason", ""))) or token.search(str(entry.get("message_id", ""))))

    def forget(self, ident: str) -> None:
        if self.entries.pop(ident, None) is not None:
            self.changed = True

    def keep_only(self, seen: set[str]) -> None:
        """Forget the messages that are no longer in the mailbox."""
        for ident in [i for i in self.entries if i not in seen]:
            self.forget(ident)

    def save(self) -> None:
        import json
        import os
        import tempfile

        if not self.changed:
            return
        if not self.entries:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            self.changed = False
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = json.dumps({"version": self.VERSION, "mailbox": self.mailbox, "failed": self.entries},
                          indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass
            raise
        self.changed = False


def forget_contact(state_dir: Path, contact_no: str) -> int:
    """Drop every remembered failure that concerns a contact (it was erased from the log),
    in every state file of ``state_dir``; returns how many were dropped. A file left with
    nothing is removed; one that cannot be read is left as it is."""
    import json

    dropped = 0
    for path in sorted(Path(state_dir).glob("failed-*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            state = FailedState(path, Path(data["mailbox"]), data["failed"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        for ident in [i for i in state.entries if state.concerns(i, contact_no)]:
            state.forget(ident)
            dropped += 1
        state.save()
    return dropped


# -- the import ------------------------------------------------------------------------


@dataclass
class Entry:
    """One interaction to log for one message and one contact."""

    contact_no: str
    subject: str | None
    occurred_at: datetime
    flow: str
    initiated_by: str
    key: str


class Log(Protocol):
    """What the import needs from the log (the plugin's ilog side implements it).

    ``prepare`` and ``save`` raise :class:`MessageRefused` when the log refuses a
    message's entries; any other exception stops the import (the database is down...).
    """

    def contact_for(self, address: str) -> str | None: ...

    def is_logged(self, key: str) -> bool: ...

    def prepare(self, entries: list[Entry]) -> list[Any]: ...

    def save(self, prepared: list[Any]) -> list[tuple[int | None, bool]]: ...


@dataclass
class Report:
    """What an import did. Every message read is counted in exactly one of the outcomes."""

    messages: int = 0
    logged: int = 0
    already: int = 0
    not_ours: int = 0
    unmatched: int = 0
    failed: int = 0
    skipped_failed: int = 0
    entry_nos: list[int] = field(default_factory=list)
    unmatched_addresses: dict[str, int] = field(default_factory=dict)
    dates: dict[str, int] = field(default_factory=dict)

    @property
    def outcomes(self) -> int:
        return self.logged + self.already + self.not_ours + self.unmatched + self.failed + self.skipped_failed

    def summary(self, *, dry_run: bool = False) -> str:
        logged = "would be logged" if dry_run else "logged"
        text = (f"{self.messages} message{'' if self.messages == 1 else 's'}: {self.logged} {logged}, "
                f"{self.already} already logged, {self.not_ours} not ours (between third parties), "
                f"{self.unmatched} without a matching contact, {self.failed} failed")
        if self.skipped_failed:
            text += f", {self.skipped_failed} skipped (failed before; --retry-failed tries again)"
        return text

    def dates_summary(self) -> str | None:
        """How many logged messages had no usable Date header, by what dated them instead."""
        parts = [f"{self.dates[s]} from the {s}" for s in (DATE_FROM_LINE, DATE_DELIVERY, DATE_IMPORT)
                 if self.dates.get(s)]
        if not parts:
            return None
        return f"no usable Date header: dated {', '.join(parts)} (--verbose names them)"


def describe(message: RawMessage, message_id: str) -> str:
    """``byte 1234 (Message-ID <x@y>)``: how reports name a message."""
    return f"{message.where} ({f'Message-ID <{message_id}>' if message_id else 'no Message-ID'})"


@dataclass
class _Pending:
    message: RawMessage
    headers: Headers
    prepared: list[Any]
    date_source: str
    moment: datetime
    contacts: list[str]


def run_import(
    messages: Iterable[RawMessage],
    own: set[str],
    log: Log,
    *,
    failed: FailedState | None = None,
    retry_failed: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
    tell: Callable[[str], None] = lambda line: None,
    note: Callable[[str], None] = lambda line: None,
    logged: Callable[[list[int]], None] = lambda entry_nos: None,
    chunk: int = CHUNK,
) -> Report:
    """Judge each message on its own and log the entries of those that are ours.

    ``tell`` gets the lines a person must see (each failed message), ``note`` the details
    of ``--verbose`` (dates not from the header, messages not ours, messages skipped),
    ``logged`` the new entry numbers after each commit. Entries are saved ``chunk`` at a
    time; if a chunk is refused, its messages are saved one by one so that only the bad
    one fails. A message that fails is recorded in ``failed`` (unless ``dry_run``) and
    skipped by later runs unless ``retry_failed``.
    """
    now = now or datetime.now(timezone.utc)
    report = Report()
    pending: list[_Pending] = []
    pending_entries = 0
    keys: set[str] = set()
    seen: set[str] = set()

    def fail(message: RawMessage, message_id: str, reason: str, contacts: Iterable[str] = ()) -> None:
        report.failed += 1
        tell(f"failed: {describe(message, message_id)}: {reason}")
        if failed is not None and not dry_run:
            failed.record(message.ident, message.where, message_id, reason, now, contacts)

    def settle(message: RawMessage) -> None:
        if failed is not None and not dry_run:
            failed.forget(message.ident)

    def flush() -> None:
        nonlocal pending_entries
        items, pending[:] = list(pending), []
        pending_entries = 0
        if not items:
            return
        if dry_run:
            outcomes: list[Any] = [[(None, True)] * len(item.prepared) for item in items]
        else:
            try:
                results = log.save([p for item in items for p in item.prepared])
                outcomes, start = [], 0
                for item in items:
                    outcomes.append(results[start:start + len(item.prepared)])
                    start += len(item.prepared)
            except MessageRefused:
                outcomes = []
                for item in items:  # one by one: only the bad message fails
                    try:
                        outcomes.append(log.save(item.prepared))
                    except MessageRefused as exc:
                        outcomes.append(exc)
        for item, outcome in zip(items, outcomes):
            if isinstance(outcome, MessageRefused):
                fail(item.message, item.headers.message_id, str(outcome), item.contacts)
                continue
            settle(item.message)
            new = [no for no, created in outcome if created]
            if not new:  # another run logged it meanwhile
                report.already += 1
                continue
            report.logged += 1
            numbers = [no for no in new if no is not None]
            report.entry_nos.extend(numbers)
            if numbers:
                logged(numbers)
            if item.date_source != DATE_HEADER:
                report.dates[item.date_source] = report.dates.get(item.date_source, 0) + 1
                why = f"Date {item.headers.date_text!r} is not a date" if item.headers.date_text else "no Date header"
                note(f"{describe(item.message, item.headers.message_id)}: {why}; dated from the {item.date_source}: "
                     f"{item.moment.isoformat(timespec='seconds')}")

    complete = False
    try:
        for message in messages:
            report.messages += 1
            seen.add(message.ident)
            if failed is not None and message.ident in failed and not retry_failed:
                report.skipped_failed += 1
                reason = failed.entries[message.ident].get("reason", "")
                note(f"skipped: {describe(message, failed.entries[message.ident].get('message_id', ''))}: "
                     f"failed before ({reason}); --retry-failed tries again")
                continue
            # 1. the message itself: anything that goes wrong here is this message's failure
            try:
                headers = read_headers(message.raw)
                flow, counterparts = direction(headers.sender, headers.recipients, own)
                moment, date_source = message_date(headers, message, now)
            except Exception as exc:  # noqa: BLE001 - one bad message must not block the mailbox
                fail(message, sniff_message_id(message.raw), f"cannot read the message: {type(exc).__name__}: {exc}")
                continue
            if flow == NOT_OURS:
                report.not_ours += 1
                settle(message)
                note(f"not ours: {describe(message, headers.message_id)}: from {headers.sender or 'nobody'} "
                     f"to {', '.join(headers.recipients) or 'nobody'}")
                continue
            # 2. who it is for, and what the log has already (a database error stops the run)
            contacts: list[str] = []
            for address in counterparts:
                contact_no = log.contact_for(address)
                if contact_no is None:
                    report.unmatched_addresses[address] = report.unmatched_addresses.get(address, 0) + 1
                elif contact_no not in contacts:
                    contacts.append(contact_no)
            if not contacts:
                report.unmatched += 1
                settle(message)
                continue
            initiated_by = "them" if flow == INBOUND else "us"
            entries = [Entry(c, headers.subject, moment, flow, initiated_by,
                             message_key(headers.message_id, message.ident, c)) for c in contacts]
            entries = [e for e in entries if e.key not in keys and not log.is_logged(e.key)]
            if not entries:
                report.already += 1
                settle(message)
                continue
            # 3. the log's checks and the plugins' say (a refusal fails this message only)
            try:
                prepared = log.prepare(entries)
            except MessageRefused as exc:
                fail(message, headers.message_id, str(exc), [e.contact_no for e in entries])
                continue
            keys.update(e.key for e in entries)
            pending.append(_Pending(message, headers, prepared, date_source, moment, [e.contact_no for e in entries]))
            pending_entries += len(prepared)
            if pending_entries >= chunk:
                flush()
        flush()
        complete = True
    finally:
        if failed is not None and not dry_run:
            if complete:
                failed.keep_only(seen)
            failed.save()
    return report
