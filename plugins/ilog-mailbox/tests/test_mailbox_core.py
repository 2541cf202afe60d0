"""ilog_mailbox.core on its own: no ilog, no database. Each rule of the README, unit by unit."""

from __future__ import annotations

import json
import mailbox
import os
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from mailbox_samples import DELIVERED, OWN, VARIED, mail, write_maildir, write_mbox
from ilog_mailbox import core
from ilog_mailbox.core import (
    DATE_DELIVERY,
    DATE_FROM_LINE,
    DATE_HEADER,
    DATE_IMPORT,
    INBOUND,
    NOT_OURS,
    OUTBOUND,
    Entry,
    FailedState,
    MessageRefused,
    RawMessage,
)

UTC = timezone.utc


def test_core_imports_no_ilog():
    code = ("import sys; sys.modules['ilog'] = None\n"
            "import importlib.util, pathlib\n"
            f"spec = importlib.util.spec_from_file_location('core', {str(core.__file__)!r})\n"
            "module = sys.modules['core'] = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
            "module.read_headers(b'Subject: =?utf-8?q?x?=\\n\\n'); module.FailedState\n"
            "assert not any(m == 'ilog' or m.startswith('ilog.') for m in sys.modules if sys.modules[m])\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr


# -- headers as mail clients read them -----------------------------------------------------


@pytest.mark.parametrize(("raw", "declared", "text"), [
    ("Grüße aus München".encode("latin-1"), None, "Grüße aus München"),  # undeclared 8-bit: cp1252
    ("Grüße aus München".encode("utf-8"), "iso-8859-1", "Grüße aus München"),  # UTF-8 first
    ("Привет".encode("koi8-r"), "koi8-r", "Привет"),  # then the declared charset
    ("Привет".encode("koi8-r"), "utf-16", "Привет".encode("koi8-r").decode("cp1252")),  # UTF-16 is no header charset
    ("“smart” – quotes".encode("cp1252"), "iso-8859-1", "“smart” – quotes"),  # latin-1 label: windows-1252
    (b"caf\xe9", "x-no-such-charset", "café"),
    (b"undefined \x81\x8d in cp1252", None, "undefined    in cp1252"),  # never U+FFFD
])
def test_undeclared_8bit_falls_back_like_mail_clients(raw, declared, text):
    assert core.clean_text(core.decode_bytes(raw, declared)) == text
    assert "\ufffd" not in core.decode_header(raw, declared)


@pytest.mark.parametrize(("raw", "text"), [
    (b"=?utf-8?q?Richiesta_preventivo_=E2=82=AC?=", "Richiesta preventivo €"),
    (b"=?ISO-8859-1?Q?Gr=FC=DFe?= =?utf-8?b?4oKs?=", "Grüße€"),  # blank between words dropped
    (b"=?utf-8?q?M=C3?= =?utf-8?q?=BCnchen?=", "München"),  # a character split between two words
    (b"Re: =?utf-8?B?w6Q=?= and more", "Re: ä and more"),
    (b"=?utf-8*de?q?Stra=C3=9Fe?=", "Straße"),  # RFC 2231 language
    (b"=?unknown-8bit?q?caf=E9?=", "café"),  # unknown charset: the fallbacks
    (b"=?utf-8?b?not base64!?= stays", "=?utf-8?b?not base64!?= stays"),
    (b"folded\r\n  =?utf-8?q?line?=", "folded  line"),
])
def test_rfc2047_encoded_words(raw, text):
    assert core.decode_header(raw) == text


def test_nul_and_control_characters_are_removed_or_spaced():
    assert core.decode_header(b"Invoice \x00 42\x07!") == "Invoice  42 !"
    assert core.cut_subject(core.decode_header(b"Invoice \x00 42\x07!")) == "Invoice 42 !"
    assert core.clean_text("a\ud800b") == "a b"


def test_long_subject_is_cut_and_marked():
    cut = core.cut_subject("x" * 1500)
    assert len(cut) == 1000 and cut.endswith("…") and cut.startswith("x" * 999)
    assert core.cut_subject("y" * 1000) == "y" * 1000
    assert core.cut_subject("  \t ") is None


def test_read_headers_of_varied_messages():
    by_name = {m.name: core.read_headers(m.raw()) for m, _ in VARIED}
    assert by_name["latin1-undeclared"].subject == "Grüße aus München"
    assert by_name["koi8-declared"].subject == "Привет из Москвы" and by_name["koi8-declared"].charset == "koi8-r"
    assert by_name["rfc2047"].subject == "Grüße€ und München"
    assert by_name["rfc2047"].recipients == ["mario@rossi.it", "ion@popescu.ro"]  # an encoded comma splits nothing
    assert by_name["nul"].subject == "Invoice 42"
    assert by_name["plain"].sender == "mario@rossi.it" and by_name["plain"].message_id == "v1@rossi.it"
    assert len(by_name["long"].subject) == 1000 and by_name["long"].subject.endswith("…")
    assert by_name["no-date"].date is None and by_name["bad-date"].date is None and by_name["feb-31"].date is None
    assert by_name["plain"].date == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


# -- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "moment"), [
    (b"From MAILER-DAEMON Mon Mar  2 08:30:00 2026\n", datetime(2026, 3, 2, 8, 30, tzinfo=UTC)),
    (b"From ion@popescu.ro  Mon Mar 2 08:30 2026\n", datetime(2026, 3, 2, 8, 30, tzinfo=UTC)),
    (b"From ion@popescu.ro Mon Mar  2 08:30:00 2026 +0100\n", datetime(2026, 3, 2, 7, 30, tzinfo=UTC)),
    (b"From ion@popescu.ro Mon Mar  2 08:30:00 -0500 2026\n", datetime(2026, 3, 2, 13, 30, tzinfo=UTC)),
    (b"From someone Sat Jan  3 01:05:34 1996 remote from x\n", datetime(1996, 1, 3, 1, 5, 34, tzinfo=UTC)),
    (b"From MAILER-DAEMON\n", None),
    (b"From x Mon Feb 31 08:30:00 2026\n", None),
])
def test_from_line_dates(line, moment):
    assert core.from_line_date(line) == moment


def test_date_comes_from_the_message_in_order():
    now = datetime(2030, 1, 1, tzinfo=UTC)
    delivered = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    good = core.read_headers(mail("x", "a@b.c", OWN, "s").raw())
    bad = core.read_headers(mail("x", "a@b.c", OWN, "s", date="Tue, 31 Feb 2026").raw())
    from_line = b"From x Sun Mar  1 12:00:00 2026\n"
    assert core.message_date(good, RawMessage("byte 0", b"", from_line), now) == (
        datetime(2026, 3, 3, 9, 0, tzinfo=UTC), DATE_HEADER)
    assert core.message_date(bad, RawMessage("byte 0", b"", from_line), now) == (
        datetime(2026, 3, 1, 12, 0, tzinfo=UTC), DATE_FROM_LINE)
    assert core.message_date(bad, RawMessage("file cur/x", b"", delivered=delivered), now) == (delivered, DATE_DELIVERY)
    assert core.message_date(bad, RawMessage("byte 0", b"", b"From MAILER-DAEMON\n"), now) == (now, DATE_IMPORT)


def test_maildir_delivery_time_is_the_earlier_of_name_and_mtime():
    assert core.delivery_time(f"{DELIVERED}.M1P2.host:2,S", DELIVERED + 9999) == datetime.fromtimestamp(DELIVERED, UTC)
    assert core.delivery_time(f"{DELIVERED}.M1P2.host", DELIVERED - 60) == datetime.fromtimestamp(DELIVERED - 60, UTC)
    assert core.delivery_time("no-stamp-here", DELIVERED) == datetime.fromtimestamp(DELIVERED, UTC)


# -- reading mailboxes ---------------------------------------------------------------------


def test_mbox_messages_are_the_bytes_python_mailbox_gives(tmp_path):
    """Same split as mailbox.mbox, so hashes of messages without a Message-ID stay the same."""
    path = tmp_path / "a.mbox"
    offsets = write_mbox(path, [m for m, _ in VARIED])
    box = mailbox.mbox(path, create=False)
    ours = list(core.read_mbox(path))
    assert [m.raw for m in ours] == [box.get_bytes(k) for k in box.keys()]
    assert [m.where for m in ours] == [f"byte {o}" for o in offsets]
    data = path.read_bytes()
    assert all(data[o:].startswith(b"From ") for o in offsets)
    box.close()


def test_maildir_reads_new_and_cur_in_delivery_order(tmp_path):
    folder = tmp_path / "Maildir"
    names = write_maildir(folder, [m for m, _ in VARIED[:3]])
    os.rename(folder / "cur" / names[1], folder / "new" / names[1].split(":")[0])
    (folder / "cur" / ".hidden").write_bytes(b"x")
    (folder / "tmp" / "partial").write_bytes(b"x")
    got = list(core.read_maildir(folder))
    assert [m.where for m in got] == [f"file cur/{names[0]}", f"file new/{names[1].split(':')[0]}",
                                      f"file cur/{names[2]}"]
    assert got[0].delivered == datetime.fromtimestamp(DELIVERED, UTC)


def test_open_mailbox_refuses_what_is_no_mailbox(tmp_path):
    with pytest.raises(core.MailboxError, match="does not exist"):
        core.open_mailbox(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(core.MailboxError, match="not a Maildir"):
        core.open_mailbox(tmp_path / "plain")
    (tmp_path / "note.txt").write_text("Subject: hi\n\nnot an mbox\n")
    with pytest.raises(core.MailboxError, match="not an mbox file"):
        core.open_mailbox(tmp_path / "note.txt")
    (tmp_path / "empty.mbox").write_bytes(b"")
    assert list(core.open_mailbox(tmp_path / "empty.mbox")) == []


# -- direction -----------------------------------------------------------------------------


@pytest.mark.parametrize(("sender", "recipients", "result"), [
    ("mario@rossi.it", [OWN], (INBOUND, ["mario@rossi.it"])),
    ("mario@rossi.it", ["x@y.z", OWN], (INBOUND, ["mario@rossi.it"])),
    (OWN, ["mario@rossi.it", "other@example.com", "ion@popescu.ro"], (OUTBOUND, ["mario@rossi.it", "ion@popescu.ro"])),
    ("mario@rossi.it", ["ion@popescu.ro"], (NOT_OURS, [])),  # two contacts writing to each other
    ("ion@popescu.ro", ["info@example.com"], (NOT_OURS, [])),  # to an address not listed as ours
    ("digest@lists.example", ["list@lists.example"], (NOT_OURS, [])),
    (None, [OWN], (INBOUND, [])),
])
def test_direction(sender, recipients, result):
    assert core.direction(sender, recipients, {OWN, "other@example.com"}) == result


def test_own_addresses_are_normalised():
    assert core.own_addresses(["Sales <SALES@Example.com>", " ", "info@example.com "]) == {OWN, "info@example.com"}


def test_message_key():
    assert core.message_key("m1@rossi.it", "sha256:ab", "P1") == "mailbox:P1:m1@rossi.it"
    assert core.message_key("", "sha256:ab", "P1") == "mailbox:P1:sha256:ab"
    long_key = core.message_key("x" * 300, "sha256:ab", "P1")
    assert len(long_key) <= 200 and long_key.startswith("mailbox:P1:sha256:")


# -- the failed-message state --------------------------------------------------------------


def test_state_file_is_written_atomically_with_mode_0600(tmp_path):
    box = tmp_path / "x.mbox"
    path = core.state_path(tmp_path / "state", box)
    assert path.parent == tmp_path / "state" and path.name.startswith("failed-") and path.suffix == ".json"
    assert core.state_path(tmp_path / "state", tmp_path / "." / "x.mbox") == path  # keyed by the absolute path
    state, warning = FailedState.load(path, box)
    assert warning is None and len(state) == 0
    state.save()
    assert not path.exists()  # nothing to remember, no file
    at = datetime(2026, 3, 3, tzinfo=UTC)
    state.record("sha256:1", "byte 0", "m1@x", "vetoed", at)
    state.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(path.parent) == [path.name]  # no temporary file left behind
    data = json.loads(path.read_text())
    assert data["mailbox"] == str(box.resolve())
    assert data["failed"]["sha256:1"] == {"where": "byte 0", "message_id": "m1@x", "reason": "vetoed",
                                          "first_failed": at.isoformat(), "last_failed": at.isoformat(),
                                          "contacts": []}
    again, _ = FailedState.load(path, box)
    assert "sha256:1" in again
    again.record("sha256:1", "byte 9", "m1@x", "vetoed again", at + timedelta(days=1))
    assert again.entries["sha256:1"]["first_failed"] == at.isoformat()
    again.forget("sha256:1")
    again.save()
    assert not path.exists()


def test_forgetting_a_contact_drops_its_failures_in_every_state_file_and_nothing_else(tmp_path):
    at = datetime(2026, 3, 3, tzinfo=UTC)
    folder = tmp_path / "state"
    one, _ = FailedState.load(core.state_path(folder, tmp_path / "a.mbox"), tmp_path / "a.mbox")
    one.record("sha256:1", "byte 0", "m1@x", "plugin policy: vetoed", at, ["P1"])
    one.record("sha256:2", "byte 9", "m2@x", "plugin policy: vetoed", at, ["P1", "P2"])
    one.record("sha256:3", "byte 19", "m3@x", "plugin policy: vetoed", at, ["P2"])
    one.record("sha256:4", "byte 29", "", "cannot read the message: ValueError: x", at)
    one.save()
    two, _ = FailedState.load(core.state_path(folder, tmp_path / "b.mbox"), tmp_path / "b.mbox")
    two.record("sha256:5", "byte 0", "m5@x", "vetoed", at, ["P1"])
    two.save()
    # a failure remembered before contacts were kept: matched by the number in its reason
    legacy = json.loads(one.path.read_text())
    legacy["failed"]["sha256:6"] = {"where": "byte 39", "message_id": "m6@x", "reason": "no mail to P1 may go",
                                    "first_failed": at.isoformat(), "last_failed": at.isoformat()}
    legacy["failed"]["sha256:7"] = {"where": "byte 49", "message_id": "m7@x", "reason": "no mail to P12 may go",
                                    "first_failed": at.isoformat(), "last_failed": at.isoformat()}
    one.path.write_text(json.dumps(legacy))

    assert core.forget_contact(folder, "P1") == 4
    left = json.loads(one.path.read_text())["failed"]
    assert sorted(left) == ["sha256:3", "sha256:4", "sha256:7"]
    assert not two.path.exists()  # nothing left in it: the file goes
    assert core.forget_contact(folder, "P1") == 0
    assert core.forget_contact(tmp_path / "no-such-folder", "P1") == 0


def test_unreadable_state_file_starts_afresh(tmp_path):
    path = tmp_path / "failed.json"
    path.write_text("{not json")
    state, warning = FailedState.load(path, tmp_path / "x.mbox")
    assert len(state) == 0 and "cannot read the failed-message state" in warning


# -- the import loop, on a fake log --------------------------------------------------------


class FakeLog:
    """Contacts by address; refuses (prepare or save) the messages whose subject says so."""

    def __init__(self, contacts, *, logged=(), broken_save=None):
        self.contacts = contacts
        self.logged = set(logged)
        self.saved: list[list[Entry]] = []
        self.broken_save = broken_save
        self.next_no = 1

    def contact_for(self, address):
        return self.contacts.get(address)

    def is_logged(self, key):
        return key in self.logged

    def prepare(self, entries):
        if any("VETO" in (e.subject or "") for e in entries):
            raise MessageRefused("plugin policy: vetoed")
        return list(entries)

    def save(self, prepared):
        if self.broken_save is not None:
            self.broken_save(prepared)
        self.saved.append(prepared)
        results = []
        for entry in prepared:
            results.append((self.next_no, True))
            self.logged.add(entry.key)
            self.next_no += 1
        return results


CONTACTS = {"mario@rossi.it": "P1", "ion@popescu.ro": "P2", "info@rossi.it": "C1"}


def raws(*mails):
    return [RawMessage(f"byte {i * 100}", m.raw(), b"From x Mon Mar  2 08:30:00 2026\n") for i, m in enumerate(mails)]


def test_counts_add_up_for_varied_messages():
    log = FakeLog(CONTACTS)
    report = core.run_import(raws(*[m for m, _ in VARIED]), {OWN}, log)
    expected = [outcome for _, outcome in VARIED]
    assert (report.logged, report.already, report.not_ours, report.unmatched, report.failed) == (
        expected.count("logged"), expected.count("already logged"), expected.count("not ours"),
        expected.count("without a matching contact"), 0)
    assert report.messages == len(VARIED) == report.outcomes
    assert report.unmatched_addresses == {"someone@nowhere.example": 1}
    assert report.dates == {DATE_FROM_LINE: 3}
    assert report.summary() == ("14 messages: 10 logged, 1 already logged, 2 not ours (between third parties), "
                                "1 without a matching contact, 0 failed")


def test_a_refused_message_fails_alone_and_is_remembered(tmp_path):
    mails = [mail("a", "ion@popescu.ro", OWN, "Fine", "<a@p>"), mail("b", "ion@popescu.ro", OWN, "VETO me", "<b@p>"),
             mail("c", "ion@popescu.ro", OWN, "Fine too", "<c@p>")]
    state = FailedState(tmp_path / "state.json", tmp_path / "x.mbox")
    lines: list[str] = []
    report = core.run_import(raws(*mails), {OWN}, FakeLog(CONTACTS), failed=state, tell=lines.append)
    assert (report.logged, report.failed) == (2, 1)
    assert lines == ["failed: byte 100 (Message-ID <b@p>): plugin policy: vetoed"]
    remembered = json.loads((tmp_path / "state.json").read_text())["failed"]
    assert [(v["message_id"], v["contacts"]) for v in remembered.values()] == [("b@p", ["P2"])]
    # the next run skips it, and says so with --verbose
    notes: list[str] = []
    log = FakeLog(CONTACTS, logged={"mailbox:P2:a@p", "mailbox:P2:c@p"})
    report = core.run_import(raws(*mails), {OWN}, log, failed=state, note=notes.append)
    assert (report.already, report.skipped_failed, report.failed) == (2, 1, 0)
    assert any(n.startswith("skipped: byte 100 (Message-ID <b@p>): failed before") for n in notes)
    # --retry-failed tries again; once it is logged, it is forgotten
    log.prepare = lambda entries: list(entries)  # the policy changed
    report = core.run_import(raws(*mails), {OWN}, log, failed=state, retry_failed=True)
    assert (report.logged, report.already, report.failed) == (1, 2, 0)
    assert not (tmp_path / "state.json").exists()


def test_a_message_that_cannot_be_read_fails_alone(monkeypatch):
    real = core.read_headers

    def fragile(raw):
        if b"Boom" in raw:
            raise IndexError("parser bug")
        return real(raw)

    monkeypatch.setattr(core, "read_headers", fragile)
    lines: list[str] = []
    mails = [mail("a", "ion@popescu.ro", OWN, "Boom", "<boom@p>"), mail("b", "ion@popescu.ro", OWN, "Fine", "<b@p>")]
    report = core.run_import(raws(*mails), {OWN}, FakeLog(CONTACTS), tell=lines.append)
    assert (report.logged, report.failed) == (1, 1)
    assert lines == ["failed: byte 0 (Message-ID <boom@p>): cannot read the message: IndexError: parser bug"]


def test_a_chunk_the_database_refuses_is_saved_message_by_message():
    def refuse_bad(prepared):
        if any("BAD" in (e.subject or "") for e in prepared):
            raise MessageRefused("the database refused it: bad bytes")

    mails = [mail(str(i), "ion@popescu.ro", OWN, "BAD" if i == 2 else f"ok {i}", f"<{i}@p>") for i in range(5)]
    lines: list[str] = []
    log = FakeLog(CONTACTS, broken_save=refuse_bad)
    numbers: list[int] = []
    report = core.run_import(raws(*mails), {OWN}, log, tell=lines.append, logged=numbers.extend, chunk=3)
    assert (report.logged, report.failed) == (4, 1)
    assert lines == ["failed: byte 200 (Message-ID <2@p>): the database refused it: bad bytes"]
    assert numbers == [1, 2, 3, 4] and [len(s) for s in log.saved] == [1, 1, 2]


def test_a_database_that_is_away_stops_the_run_and_fails_no_message(tmp_path):
    def away(prepared):
        raise ConnectionError("server closed the connection")

    state = FailedState(tmp_path / "state.json", tmp_path / "x.mbox")
    state.record("sha256:gone", "byte 0", "old@x", "old", datetime(2026, 1, 1, tzinfo=UTC))
    mails = [mail("a", "ion@popescu.ro", OWN, "Fine", "<a@p>")]
    with pytest.raises(ConnectionError):
        core.run_import(raws(*mails), {OWN}, FakeLog(CONTACTS, broken_save=away), failed=state)
    assert "sha256:gone" in state and len(state) == 1  # an unfinished run forgets nothing and adds nothing


def test_dry_run_remembers_nothing(tmp_path):
    state = FailedState(tmp_path / "state.json", tmp_path / "x.mbox")
    mails = [mail("b", "ion@popescu.ro", OWN, "VETO", "<b@p>"), mail("a", "ion@popescu.ro", OWN, "Fine", "<a@p>")]
    log = FakeLog(CONTACTS)
    report = core.run_import(raws(*mails), {OWN}, log, failed=state, dry_run=True)
    assert (report.logged, report.failed) == (1, 1) and log.saved == []
    assert len(state) == 0 and not (tmp_path / "state.json").exists()
    assert report.summary(dry_run=True).startswith("2 messages: 1 would be logged,")
