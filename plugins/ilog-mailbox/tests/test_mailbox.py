"""ilog-mailbox, installed: ``ilog mailbox import`` through the real CLI, with the plugin
loaded from its ``ilog`` entry point, on a real database (SQLite, or PostgreSQL when
``ILOG_TEST_DATABASE_URL`` names a server)."""

from __future__ import annotations

import email.message
import json
import mailbox
import os
import re
import stat
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ilog.testing import run_installed as ilog
from mailbox_samples import DELIVERED, EXPECTED_ENTRIES, LONG, VARIED, mail, write_maildir, write_mbox

OWN = "sales@example.com"


@pytest.fixture(autouse=True)
def env(ilog_env, monkeypatch):
    """An isolated ilog home (ilog.testing); only this plugin loads, from its entry point."""
    monkeypatch.setenv("ILOG_USER", "cron")
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "mailbox")
    return ilog_env


@pytest.fixture
def world(ilog_configured_db_url):
    ilog("init")
    ilog("contact", "add", "Rossi SpA", "--no", "C1", "--type", "company", "--email", "info@rossi.it")
    ilog("contact", "add", "Mario Rossi", "--no", "P1", "--company", "C1", "--email", "Mario@Rossi.it")
    ilog("contact", "add", "Ion Popescu", "--no", "P2", "--email", "ion@popescu.ro")
    ilog("template", "add", "EMAIL", "-d", "Email", "--kind", "email", "--flow", "outbound", "--correspondence", "email")
    ilog("template", "setup", "email", "EMAIL")
    return ilog_configured_db_url


def message(frm, to, subject, message_id=None, cc=None, date="Tue, 03 Mar 2026 10:00:00 +0100"):
    msg = email.message.EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Date"] = frm, to, subject, date
    if cc:
        msg["Cc"] = cc
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content("Hello")
    return msg


MESSAGES = [
    message("Mario Rossi <mario@rossi.it>", OWN, "=?utf-8?q?Richiesta_preventivo_=E2=82=AC?=", "<m1@rossi.it>"),
    message(OWN, "ion@popescu.ro, stranger@nowhere.example", "Your quote", "<m2@example.com>", cc="info@rossi.it"),
    message("spam@nowhere.example", OWN, "Win a prize", "<m3@nowhere.example>"),
    message(OWN, "mario@rossi.it", "No message id"),
]


@pytest.fixture
def mbox_file(tmp_path):
    path = tmp_path / "Sent.mbox"
    box = mailbox.mbox(path)
    for msg in MESSAGES:
        box.add(msg)
    box.close()
    return path


def entries():
    return sorted(json.loads(ilog("log", "-f", "json").stdout), key=lambda e: e["entry_no"])


def test_the_plugin_is_installed_with_its_entry_point(ilog_configured_db_url):
    rows = json.loads(ilog("plugins", "-f", "json").stdout)
    assert [(r["name"], r["source"], r["version"], r["hooks"]) for r in rows] == [
        ("mailbox", "entry point", "0.2.0", ["contact_erased", "register_commands"])]


def test_import_mbox_inbound_and_outbound(world, mbox_file):
    run = ilog("mailbox", "import", mbox_file, "--own-address", OWN)
    assert run.stdout.split() == ["1", "2", "3", "4"]
    got = [(e["contact_no"], e["flow"], e["initiated_by"], e["subject"], e["kind"], e["template_code"], e["source"])
           for e in entries()]
    assert got == [
        ("P1", "inbound", "them", "Richiesta preventivo €", "email", "EMAIL", "import"),
        ("P2", "outbound", "us", "Your quote", "email", "EMAIL", "import"),
        ("C1", "outbound", "us", "Your quote", "email", "EMAIL", "import"),
        ("P1", "outbound", "us", "No message id", "email", "EMAIL", "import"),
    ]
    first = entries()[0]
    assert first["occurred_at"].startswith("2026-03-03T09:00:00") and first["company_no"] == "C1"
    assert first["idempotency_key"] == "mailbox:P1:m1@rossi.it"
    assert "no contact has address spam@nowhere.example (1 message)" in run.stderr
    assert "no contact has address stranger@nowhere.example (1 message)" in run.stderr
    assert ("4 messages: 3 logged, 0 already logged, 0 not ours (between third parties), 1 without a matching "
            "contact, 0 failed") in run.stderr


def test_rerun_records_nothing_twice(world, mbox_file):
    ilog("mailbox", "import", mbox_file, "-a", OWN)
    again = ilog("mailbox", "import", mbox_file, "-a", OWN)
    assert again.stdout == "" and "4 messages: 0 logged, 3 already logged," in again.stderr
    assert len(entries()) == 4
    # new mail arrives: only it is recorded
    box = mailbox.mbox(mbox_file)
    box.add(message("ion@popescu.ro", OWN, "Thanks", "<m5@popescu.ro>"))
    box.close()
    assert ilog("mailbox", "import", mbox_file, "-a", OWN).stdout == "5\n"


def test_maildir_and_own_addresses_from_the_environment(world, tmp_path, monkeypatch):
    folder = tmp_path / "Maildir"
    box = mailbox.Maildir(folder)
    box.add(message("ion@popescu.ro", "Sales <SALES@example.com>", "Order", "<d1@popescu.ro>"))
    box.add(message("sales@example.com", "ion@popescu.ro", "Re: Order", "<d2@example.com>"))
    box.close()
    monkeypatch.setenv("ILOG_MAILBOX_OWN_ADDRESSES", "other@example.com, sales@example.com")
    ilog("mailbox", "import", folder)
    assert {e["contact_no"] for e in entries()} == {"P2"}
    assert sorted((e["subject"], e["flow"]) for e in entries()) == [("Order", "inbound"), ("Re: Order", "outbound")]


def test_config_file_and_template_option(world, mbox_file, env):
    ilog("template", "add", "MAILIN", "--kind", "email", "--flow", "inbound")
    (env / "mailbox.toml").write_text(f'own_addresses = ["{OWN}"]\ntemplate = "MAILIN"\n')
    ilog("mailbox", "import", mbox_file)
    rows = entries()
    assert {e["template_code"] for e in rows} == {"MAILIN"} and rows[0]["flow"] == "inbound"
    other = mbox_file.with_name("other.mbox")
    box = mailbox.mbox(other)
    box.add(message("ion@popescu.ro", OWN, "Hi", "<o1@popescu.ro>"))
    box.close()
    ilog("mailbox", "import", other, "--template", "email")
    assert entries()[-1]["template_code"] == "EMAIL"


def test_refusals_change_nothing(world, mbox_file, tmp_path):
    ilog("template", "setup", "--unset", "email")
    run = ilog("mailbox", "import", mbox_file, ok=False)
    assert run.exit_code == 1 and "give --template CODE" in run.stderr
    run = ilog("mailbox", "import", tmp_path / "missing.mbox", "-t", "EMAIL", ok=False)
    assert run.exit_code == 2 and "does not exist" in run.stderr
    (tmp_path / "plain").mkdir()
    run = ilog("mailbox", "import", tmp_path / "plain", "-t", "EMAIL", ok=False)
    assert run.exit_code == 2 and "not a Maildir" in run.stderr
    run = ilog("mailbox", "import", mbox_file, "-t", "NOPE", ok=False)
    assert run.exit_code == 1 and "NOPE" in run.stderr
    assert entries() == []


def test_a_veto_fails_only_its_message(world, mbox_file, tmp_path, monkeypatch):
    """A plugin's veto is the log refusing that message: the others are logged, the run exits 1."""
    plugins_dir = tmp_path / "plugins"
    plugins_dir.mkdir()
    (plugins_dir / "policy.py").write_text(
        "import ilog\n\n@ilog.hookimpl\ndef validate_interaction(interaction):\n"
        "    if interaction.contact_no == 'C1':\n        return 'no mail to C1 may be logged'\n")
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "mailbox,policy")
    from ilog.testing import invoke

    run = invoke(["mailbox", "import", str(mbox_file), "-a", OWN], installed=True, plugins_dir=plugins_dir)
    assert run.exit_code == 1
    offset = mbox_file.read_bytes().index(b"From ", 1)  # the second message: to P2 and C1
    assert (f"ilog: mailbox: failed: byte {offset} (Message-ID <m2@example.com>): plugin policy: no mail to C1 "
            "may be logged\n") in run.stderr
    assert "4 messages: 2 logged, 0 already logged, 0 not ours (between third parties), 1 without a matching " \
           "contact, 1 failed" in run.stderr
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "mailbox")
    # a message is logged whole or not at all: not even P2's entry of the vetoed message
    assert [(e["contact_no"], e["subject"]) for e in entries()] == [("P1", "Richiesta preventivo €"),
                                                                    ("P1", "No message id")]


def test_dry_run_records_nothing(world, mbox_file):
    run = ilog("mailbox", "import", mbox_file, "-a", OWN, "--dry-run")
    assert run.stdout == "" and "4 messages: 3 would be logged," in run.stderr
    assert entries() == []


def test_installed_console_script(world, mbox_file):
    """The ``ilog`` executable finds the plugin through its entry point."""
    exe = Path(sys.executable).with_name("ilog")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "ilog"]
    run = subprocess.run([*command, "mailbox", "import", str(mbox_file), "--own-address", OWN],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["1", "2", "3", "4"]


# -- real mailboxes: varied messages, in an mbox file and a Maildir ---------------------------


@pytest.fixture
def varied_mbox(tmp_path) -> Path:
    path = tmp_path / "varied.mbox"
    write_mbox(path, [m for m, _ in VARIED])
    return path


@pytest.fixture
def varied_maildir(tmp_path) -> Path:
    path = tmp_path / "VariedMaildir"
    write_maildir(path, [m for m, _ in VARIED])
    return path


@pytest.fixture
def veto_plugins(tmp_path) -> Path:
    """A plugins directory whose ``policy`` plugin refuses every subject containing REJECT."""
    folder = tmp_path / "policy-plugins"
    folder.mkdir()
    (folder / "policy.py").write_text(
        "import ilog\n\n@ilog.hookimpl\ndef validate_interaction(interaction):\n"
        "    if 'REJECT' in (interaction.subject or ''):\n        return 'subjects with REJECT may not be logged'\n")
    return folder


VARIED_SUMMARY = ("14 messages: 10 logged, 1 already logged, 2 not ours (between third parties), "
                  "1 without a matching contact, 0 failed")


def ilog_with(plugins_dir, *args):
    """The CLI in-process with a plugins directory (ILOG_LOAD_PLUGINS chooses which load)."""
    from ilog.testing import invoke

    return invoke(list(args), installed=True, plugins_dir=plugins_dir)


def summary_counts(stderr):
    """The numbers of the summary line: messages, then each outcome."""
    line = next(li for li in stderr.splitlines() if re.match(r"ilog: mailbox: \d+ messages?: ", li))
    numbers = [int(n) for n in re.findall(r"(\d+) ", line.split(": ", 1)[1] + " ")]
    return numbers[0], numbers[1:]


def by_subject():
    return {e["subject"]: e for e in entries()}


def check_varied_entries(rows):
    subjects = [e["subject"] for e in rows]
    for name, (subject, contact_no, flow) in EXPECTED_ENTRIES.items():
        entry = next(e for e in rows if e["subject"] == subject)
        assert (entry["contact_no"], entry["flow"]) == (contact_no, flow), name
        assert entry["initiated_by"] == ("them" if flow == "inbound" else "us")
    # RFC 2047 words in the subject; outbound for each contact recipient (To and Cc)
    assert sorted((e["contact_no"], e["flow"]) for e in rows if e["subject"] == "Grüße€ und München") == [
        ("P1", "outbound"), ("P2", "outbound")]
    # the 1500-character subject, cut and marked
    long = [s for s in subjects if s.startswith("Preventivo molto")]
    assert len(long) == 1 and len(long[0]) == 1000 and long[0].endswith("…") and len(LONG) > 1000
    # nothing between third parties, nothing to an unlisted address, the duplicate once
    assert "Between contacts" not in subjects and "To an unlisted address" not in subjects
    assert subjects.count("Offerta") == 1 and len(rows) == 11
    assert not any("\ufffd" in s or "\x00" in s for s in subjects)


def test_varied_mbox_is_judged_message_by_message(world, varied_mbox):
    run = ilog("mailbox", "import", varied_mbox, "--own-address", OWN)
    assert f"ilog: mailbox: {VARIED_SUMMARY}\n" in run.stderr
    total, outcomes = summary_counts(run.stderr)
    assert total == len(VARIED) == sum(outcomes)
    assert "no contact has address someone@nowhere.example (1 message)" in run.stderr
    assert "ilog: mailbox: no usable Date header: dated 3 from the mbox From line (--verbose names them)" in run.stderr
    assert "info@example.com" not in run.stderr  # not ours is not "without a matching contact"
    rows = entries()
    check_varied_entries(rows)
    assert [int(n) for n in run.stdout.split()] == [e["entry_no"] for e in rows]
    # dates: the header's; else the mbox "From " line's (Mon Mar  2 08:30:00 2026, UTC)
    subjects = by_subject()
    assert subjects["Offerta"]["occurred_at"].startswith("2026-03-03T09:00:00")
    for subject in ("Senza data", "Re: Senza data", "Febbraio"):
        assert subjects[subject]["occurred_at"].startswith("2026-03-02T08:30:00"), subject
    again = ilog("mailbox", "import", varied_mbox, "--own-address", OWN)
    assert again.stdout == "" and ("14 messages: 0 logged, 11 already logged, 2 not ours (between third parties), "
                                   "1 without a matching contact, 0 failed") in again.stderr


def test_verbose_names_each_message_dated_without_its_date_header(world, tmp_path):
    path = tmp_path / "dates.mbox"
    offsets = write_mbox(path, [mail("a", "ion@popescu.ro", OWN, "No date", "<d1@p>", date=None),
                                mail("b", "ion@popescu.ro", OWN, "Bad date", "<d2@p>", date="Tue, 31 Feb 2026")])
    run = ilog("mailbox", "import", path, "-a", OWN, "--verbose")
    assert (f"ilog: mailbox: byte {offsets[0]} (Message-ID <d1@p>): no Date header; dated from the mbox From line: "
            "2026-03-02T08:30:00+00:00\n") in run.stderr
    assert (f"ilog: mailbox: byte {offsets[1]} (Message-ID <d2@p>): Date 'Tue, 31 Feb 2026' is not a date; dated "
            "from the mbox From line: 2026-03-02T08:30:00+00:00\n") in run.stderr
    # no date in the "From " line either: the import time
    bare = tmp_path / "bare.mbox"
    write_mbox(bare, [mail("c", "ion@popescu.ro", OWN, "Undated", "<d3@p>", date="not a date at all")],
               from_line="From MAILER-DAEMON")
    before = datetime.now(timezone.utc)
    run = ilog("mailbox", "import", bare, "-a", OWN, "-v")
    assert "dated from the import time" in run.stderr and "dated 1 from the import time" in run.stderr
    assert datetime.fromisoformat(by_subject()["Undated"]["occurred_at"]) >= before.replace(microsecond=0)


def test_varied_maildir_is_judged_message_by_message(world, varied_maildir):
    run = ilog("mailbox", "import", varied_maildir, "--own-address", OWN, "-v")
    assert f"ilog: mailbox: {VARIED_SUMMARY}\n" in run.stderr
    assert "no usable Date header: dated 3 from the delivery time" in run.stderr
    names = sorted(p.name for p in (varied_maildir / "cur").iterdir())
    assert (f"ilog: mailbox: file cur/{names[1]} (Message-ID <v2@popescu.ro>): no Date header; dated from the "
            "delivery time") in run.stderr
    assert f"ilog: mailbox: not ours: file cur/{names[9]} (Message-ID <v10@rossi.it>)" in run.stderr
    rows = entries()
    check_varied_entries(rows)
    subjects = by_subject()
    for index, subject in ((1, "Senza data"), (2, "Re: Senza data"), (3, "Febbraio")):
        moment = datetime.fromtimestamp(DELIVERED + index, timezone.utc)
        assert datetime.fromisoformat(subjects[subject]["occurred_at"]) == moment, subject


def test_the_same_message_in_mbox_and_maildir_is_logged_once(world, varied_mbox, varied_maildir):
    ilog("mailbox", "import", varied_mbox, "-a", OWN)
    run = ilog("mailbox", "import", varied_maildir, "-a", OWN)
    assert run.stdout == "" and "0 logged, 11 already logged" in run.stderr


def test_no_own_addresses_is_refused(world, varied_mbox):
    run = ilog("mailbox", "import", varied_mbox, ok=False)
    assert run.exit_code == 2 and "no own addresses: give --own-address ADDRESS" in run.stderr
    assert entries() == []


def reject_mailbox(tmp_path, kind):
    mails = [mail("ok", "ion@popescu.ro", OWN, "Order 1", "<r1@popescu.ro>"),
             mail("bad", "ion@popescu.ro", OWN, "REJECT this \x00 one".encode(), "<r2@popescu.ro>"),
             mail("ok2", OWN, "mario@rossi.it", "Order 2", "<r3@example.com>")]
    if kind == "mbox":
        path = tmp_path / "reject.mbox"
        offsets = write_mbox(path, mails)
        return path, f"byte {offsets[1]}"
    path = tmp_path / "RejectMaildir"
    names = write_maildir(path, mails)
    return path, f"file cur/{names[1]}"


@pytest.mark.parametrize("kind", ["mbox", "maildir"])
def test_a_failed_message_is_reported_remembered_and_skipped(world, env, tmp_path, monkeypatch, veto_plugins, kind):
    path, where = reject_mailbox(tmp_path, kind)
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "mailbox,policy")
    run = ilog_with(veto_plugins, "mailbox", "import", path, "-a", OWN)
    assert run.exit_code == 1
    assert (f"ilog: mailbox: failed: {where} (Message-ID <r2@popescu.ro>): plugin policy: subjects with REJECT may "
            "not be logged\n") in run.stderr
    assert "3 messages: 2 logged, 0 already logged, 0 not ours (between third parties), 0 without a matching " \
           "contact, 1 failed\n" in run.stderr
    assert run.stdout.split() == ["1", "2"]
    states = list((env / "mailbox").glob("failed-*.json"))
    assert len(states) == 1 and stat.S_IMODE(states[0].stat().st_mode) == 0o600
    assert f"failed messages are remembered in {states[0]}" in run.stderr
    remembered = json.loads(states[0].read_text())
    assert remembered["mailbox"] == str(path.resolve())
    assert [(v["where"], v["message_id"]) for v in remembered["failed"].values()] == [(where, "r2@popescu.ro")]
    # later runs skip it, exit 0
    again = ilog_with(veto_plugins, "mailbox", "import", path, "-a", OWN, "-v")
    assert again.exit_code == 0, again.stderr
    assert "3 messages: 0 logged, 2 already logged, 0 not ours (between third parties), 0 without a matching " \
           "contact, 0 failed, 1 skipped (failed before; --retry-failed tries again)" in again.stderr
    assert f"ilog: mailbox: skipped: {where} (Message-ID <r2@popescu.ro>): failed before" in again.stderr
    # --retry-failed tries it again: still vetoed, still failed
    retry = ilog_with(veto_plugins, "mailbox", "import", path, "-a", OWN, "--retry-failed")
    assert retry.exit_code == 1 and "1 failed" in retry.stderr and "skipped" not in retry.stderr
    # the policy is gone: --retry-failed logs it (NUL removed) and forgets it
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "mailbox")
    fixed = ilog("mailbox", "import", path, "-a", OWN, "--retry-failed")
    assert fixed.stdout.split() == ["3"] and "1 logged, 2 already logged" in fixed.stderr
    assert by_subject()["REJECT this one"]["contact_no"] == "P2"
    assert not states[0].exists()


def test_erasing_a_contact_forgets_the_failed_messages_remembered_for_it(world, env, tmp_path, monkeypatch,
                                                                          veto_plugins):
    path, where = reject_mailbox(tmp_path, "mbox")
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "mailbox,policy")
    assert ilog_with(veto_plugins, "mailbox", "import", path, "-a", OWN).exit_code == 1
    state = next((env / "mailbox").glob("failed-*.json"))
    assert [v["contacts"] for v in json.loads(state.read_text())["failed"].values()] == [["P2"]]
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "mailbox")
    # another contact's erasure leaves it
    run = ilog("contact", "erase", "P1", "--yes")
    assert "forgot" not in run.stderr and state.exists()
    # the contact's own: forgotten, after the erasure committed
    run = ilog("contact", "erase", "P2", "--yes")
    assert "ilog: mailbox: forgot 1 failed message remembered for contact P2" in run.stderr
    assert not state.exists()
    assert [e["contact_no"] for e in entries()] == []  # P1's and P2's entries went with them
    # the next run judges the message again: nobody has the address now
    again = ilog("mailbox", "import", path, "-a", OWN, ok=False)
    assert again.exit_code == 0 and "0 failed" in again.stderr and "skipped" not in again.stderr


def test_dry_run_reports_failures_but_remembers_nothing(world, env, tmp_path, monkeypatch, veto_plugins):
    path, where = reject_mailbox(tmp_path, "mbox")
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "mailbox,policy")
    run = ilog_with(veto_plugins, "mailbox", "import", path, "-a", OWN, "--dry-run")
    assert run.exit_code == 1 and f"failed: {where}" in run.stderr and "2 would be logged" in run.stderr
    assert not (env / "mailbox").exists()
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "mailbox")
    assert entries() == []


def test_a_message_the_reader_chokes_on_fails_alone(world, varied_mbox, monkeypatch):
    from ilog_mailbox import core

    real = core.read_headers

    def choke(raw):
        if b"<v5@popescu.ro>" in raw:
            raise AssertionError("header parser bug")
        return real(raw)

    monkeypatch.setattr(core, "read_headers", choke)
    run = ilog("mailbox", "import", varied_mbox, "-a", OWN, ok=False)
    assert run.exit_code == 1
    assert re.search(r"failed: byte \d+ \(Message-ID <v5@popescu.ro>\): cannot read the message: AssertionError: "
                     r"header parser bug", run.stderr)
    assert "14 messages: 9 logged, 1 already logged, 2 not ours (between third parties), 1 without a matching " \
           "contact, 1 failed" in run.stderr


def test_installed_command_reports_a_failed_message_and_exits_1(world, env, tmp_path, veto_plugins):
    path, where = reject_mailbox(tmp_path, "mbox")
    exe = Path(sys.executable).with_name("ilog")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "ilog"]
    environment = {**os.environ, "ILOG_LOAD_PLUGINS": "mailbox,policy", "ILOG_PLUGINS_DIR": str(veto_plugins)}
    run = subprocess.run([*command, "mailbox", "import", str(path), "-a", OWN], capture_output=True, text=True,
                         timeout=120, env=environment)
    assert run.returncode == 1, run.stderr
    assert run.stdout.split() == ["1", "2"]
    lines = run.stderr.splitlines()
    assert lines[0] == (f"ilog: mailbox: failed: {where} (Message-ID <r2@popescu.ro>): plugin policy: subjects with "
                        "REJECT may not be logged")
    assert lines[1] == ("ilog: mailbox: 3 messages: 2 logged, 0 already logged, 0 not ours (between third parties), "
                        "0 without a matching contact, 1 failed")
    assert lines[2].startswith(f"ilog: mailbox: failed messages are remembered in {env / 'mailbox'}/failed-")
    assert len(lines) == 3
    again = subprocess.run([*command, "mailbox", "import", str(path), "-a", OWN], capture_output=True, text=True,
                           timeout=120, env=environment)
    assert again.returncode == 0 and "1 skipped (failed before" in again.stderr


def cpython_email_messages():
    try:
        import test.test_email
    except ImportError:
        return []
    return sorted((Path(test.test_email.__file__).parent / "data").glob("msg_*.txt"))


@pytest.mark.skipif(not cpython_email_messages(), reason="CPython's test/test_email/data is not installed")
@pytest.mark.parametrize("kind", ["mbox", "maildir"])
def test_cpython_email_test_messages(ilog_configured_db_url, tmp_path, kind):
    """Every message of CPython's e-mail tests, as a mailbox: nothing crashes, the counts add up."""
    files = cpython_email_messages()
    ilog("init")
    for no, address in (("B1", "barry@python.org"), ("A1", "aperson@dom.ain"), ("D1", "bbb@ddd.com"),
                        ("C1", "cc@dd.org"), ("W1", "webmaster@python.org")):
        ilog("contact", "add", address, "--no", no, "--email", address)
    ilog("template", "add", "EMAIL", "--kind", "email")
    if kind == "mbox":
        path = tmp_path / "cpython.mbox"
        box = mailbox.mbox(path)
    else:
        path = tmp_path / "CPython"
        box = mailbox.Maildir(path)
    for file in files:
        box.add(file.read_bytes())
    box.close()
    own = ["ppp@zzz.org", "bbb@zzz.org", "cravindogs@cravindogs.com", "aa@bb.org", "bperson@dom.ain"]
    run = ilog("mailbox", "import", path, "-t", "EMAIL", *[a for o in own for a in ("-a", o)], "-v", ok=False)
    assert run.exit_code == 0, run.stderr
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr
    total, outcomes = summary_counts(run.stderr)
    logged, already, not_ours, unmatched, failed = outcomes
    assert total == len(files) == sum(outcomes) and failed == 0
    assert logged >= 10 and not_ours > 0 and unmatched > 0
    subjects = [e["subject"] or "" for e in entries()]
    assert len(subjects) >= logged and not any("\ufffd" in s or "\x00" in s for s in subjects)
    assert ilog("mailbox", "import", path, "-t", "EMAIL", *[a for o in own for a in ("-a", o)]).stdout == ""


def test_the_ilog_side_fails_a_message_only_for_what_it_holds():
    """A save the database refuses for its content fails the message; a database that is away stops the run."""
    import sqlalchemy as sa

    import ilog
    from ilog_mailbox import IlogLog
    from ilog_mailbox.core import MessageRefused

    class Logbook:
        def __init__(self, exc):
            self.exc = exc

        def save_prepared(self, drafts):
            raise self.exc

    refused = [sa.exc.DataError("INSERT", {}, Exception("invalid byte sequence for encoding \"UTF8\": 0x00")),
               sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key")),
               sa.exc.StatementError("cannot encode", "INSERT", {}, UnicodeEncodeError("utf-8", "\ud800", 0, 1, "x")),
               ilog.BadValue("subject contains a NUL byte")]
    for exc in refused:
        with pytest.raises(MessageRefused, match="the database refused it"):
            IlogLog(Logbook(exc), "EMAIL").save(["draft"])
    away = [sa.exc.OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly")),
            ilog.DatabaseError("the database is not initialised"), RuntimeError("a bug")]
    for exc in away:
        with pytest.raises(type(exc)):
            IlogLog(Logbook(exc), "EMAIL").save(["draft"])
