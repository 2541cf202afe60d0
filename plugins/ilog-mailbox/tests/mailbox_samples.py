"""Sample messages and mailbox writers for the ilog-mailbox tests (not a conftest.py: ilog's
own tests/conftest.py is imported by name, and a second rootless conftest would shadow it).

Mailboxes built from raw bytes, as real ones are: an mbox file and a Maildir holding the
same varied messages (no Date, a Date that is no date, 8-bit headers in three charsets,
RFC 2047 words, a NUL byte, third-party mail, mail to an unlisted address, a duplicate,
a 1500-character subject, a stranger).

The messages are written byte for byte (not through :mod:`email`), so that what the
plugin reads is what a mail server would have stored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

OWN = "sales@example.com"
LONG = "Preventivo " + "molto " * 250  # 1511 characters

#: 2026-03-02 08:30:00 UTC, the time stamp of the mbox "From " lines and Maildir names
DELIVERED = 1772440200
FROM_LINE_DATE = "Mon Mar  2 08:30:00 2026"


@dataclass
class Mail:
    name: str
    headers: list[tuple[str, bytes]]
    body: bytes = b"Hello\n"

    def raw(self) -> bytes:
        head = b"".join(name.encode() + b": " + value + b"\n" for name, value in self.headers)
        return head + b"\n" + self.body


def mail(name: str, frm: str, to: str, subject: bytes | str, message_id: str | None = None, *,
         date: str | None = "Tue, 03 Mar 2026 10:00:00 +0100", cc: str | None = None,
         extra: list[tuple[str, bytes]] = (), body: bytes = b"Hello\n") -> Mail:
    headers = [("From", frm.encode()), ("To", to.encode())]
    if cc:
        headers.append(("Cc", cc.encode()))
    headers.append(("Subject", subject if isinstance(subject, bytes) else subject.encode()))
    if date is not None:
        headers.append(("Date", date.encode()))
    if message_id:
        headers.append(("Message-ID", message_id.encode()))
    headers.extend(extra)
    return Mail(name, headers, body)


#: (message, what the import should make of it)
VARIED = [
    (mail("plain", "Mario Rossi <mario@rossi.it>", OWN, "Offerta", "<v1@rossi.it>"), "logged"),
    (mail("no-date", "ion@popescu.ro", OWN, "Senza data", "<v2@popescu.ro>", date=None), "logged"),
    (mail("bad-date", OWN, "Ion <ion@popescu.ro>", "Re: Senza data", "<v3@example.com>", date="not a date at all"),
     "logged"),
    (mail("feb-31", "ion@popescu.ro", OWN, "Febbraio", "<v4@popescu.ro>", date="Tue, 31 Feb 2026"), "logged"),
    (mail("latin1-undeclared", "ion@popescu.ro", OWN, "Grüße aus München".encode("latin-1"), "<v5@popescu.ro>"),
     "logged"),
    (mail("koi8-declared", "ion@popescu.ro", OWN, "Привет из Москвы".encode("koi8-r"), "<v6@popescu.ro>",
          extra=[("MIME-Version", b"1.0"), ("Content-Type", b"text/plain; charset=koi8-r")],
          body="Привет\n".encode("koi8-r")), "logged"),
    (mail("utf8-raw", "info@rossi.it", OWN, "Café ☕ für Sie".encode(), "<v7@rossi.it>"), "logged"),
    (mail("rfc2047", OWN, "mario@rossi.it", "=?iso-8859-1?q?Gr=FC=DFe?= =?utf-8?b?4oKs?= =?utf-8?q?_und_M=C3?= "
          "=?utf-8?q?=BCnchen?=", "<v8@example.com>", cc="Ion =?utf-8?q?Popescu=2C_Sr?= <ion@popescu.ro>"),
     "logged"),
    (mail("nul", "ion@popescu.ro", OWN, b"Invoice \x00 42", "<v9@popescu.ro>"), "logged"),
    (mail("third-party", "mario@rossi.it", "ion@popescu.ro", "Between contacts", "<v10@rossi.it>"), "not ours"),
    (mail("unlisted", "ion@popescu.ro", "info@example.com", "To an unlisted address", "<v11@popescu.ro>"),
     "not ours"),
    (mail("duplicate", "Mario Rossi <mario@rossi.it>", OWN, "Offerta", "<v1@rossi.it>"), "already logged"),
    (mail("long", "ion@popescu.ro", OWN, LONG, "<v13@popescu.ro>"), "logged"),
    (mail("stranger", "someone@nowhere.example", OWN, "Hello there", "<v14@nowhere.example>"),
     "without a matching contact"),
]

#: subject as logged, contact, flow
EXPECTED_ENTRIES = {
    "plain": ("Offerta", "P1", "inbound"),
    "no-date": ("Senza data", "P2", "inbound"),
    "bad-date": ("Re: Senza data", "P2", "outbound"),
    "feb-31": ("Febbraio", "P2", "inbound"),
    "latin1-undeclared": ("Grüße aus München", "P2", "inbound"),
    "koi8-declared": ("Привет из Москвы", "P2", "inbound"),
    "utf8-raw": ("Café ☕ für Sie", "C1", "inbound"),
    "nul": ("Invoice 42", "P2", "inbound"),
}


def write_mbox(path: Path, mails: list[Mail], from_line: str = f"From MAILER-DAEMON {FROM_LINE_DATE}") -> list[int]:
    """An mbox file as mail servers write it; returns each message's byte offset."""
    data, offsets = b"", []
    for item in mails:
        if data:
            data += b"\n"
        offsets.append(len(data))
        body = b"\n".join(b">" + line if line.startswith(b"From ") else line for line in item.raw().split(b"\n"))
        data += from_line.encode() + b"\n" + body
    path.write_bytes(data)
    return offsets


def write_maildir(path: Path, mails: list[Mail], *, delivered: int = DELIVERED, mtime: int | None = None) -> list[str]:
    """A Maildir with each message in cur/ (seen); returns the file names, in delivery order."""
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    names = []
    for index, item in enumerate(mails):
        name = f"{delivered + index}.M{index}P1.test.host:2,S"
        file = path / "cur" / name
        file.write_bytes(item.raw())
        os.utime(file, (mtime or delivered + index, mtime or delivered + index))
        names.append(name)
    return names
