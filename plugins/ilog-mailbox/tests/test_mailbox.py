"""ilog-mailbox, installed: ``ilog mailbox import`` through the real CLI, with the plugin
loaded from its ``ilog`` entry point, on a real database (SQLite, or PostgreSQL when
``ILOG_TEST_DATABASE_URL`` names a server)."""

from __future__ import annotations

import email.message
import json
import mailbox
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

PG_BASE = os.environ.get("ILOG_TEST_DATABASE_URL", "")
OWN = "sales@example.com"


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    """An isolated ilog home; only this plugin loads, from its entry point."""
    for name in list(os.environ):
        if name.startswith("ILOG_") and name != "ILOG_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("ILOG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ILOG_SYSTEM_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("ILOG_USER", "cron")
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "mailbox")
    return tmp_path / "home"


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    if not PG_BASE.startswith("postgres"):
        url = str(tmp_path / "ilog.db")
        monkeypatch.setenv("ILOG_DATABASE_URL", url)
        yield url
        return
    import sqlalchemy as sa

    from ilog.db import normalise_url

    name = f"ilog_mbox_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(normalise_url(PG_BASE), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(normalise_url(PG_BASE)).set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv("ILOG_DATABASE_URL", url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def ilog(*args, ok=True):
    """The installed command line, in-process: plugins discovered as ``ilog`` itself discovers them."""
    from typer.testing import CliRunner

    from ilog.cli import build_app
    from ilog.plugins import make_plugin_host

    result = CliRunner().invoke(build_app(make_plugin_host()), [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, f"ilog {args} -> {result.exit_code}: {result.stderr}"
    return result


@pytest.fixture
def world(db_url):
    ilog("init")
    ilog("contact", "add", "Rossi SpA", "--no", "C1", "--type", "company", "--email", "info@rossi.it")
    ilog("contact", "add", "Mario Rossi", "--no", "P1", "--company", "C1", "--email", "Mario@Rossi.it")
    ilog("contact", "add", "Ion Popescu", "--no", "P2", "--email", "ion@popescu.ro")
    ilog("template", "add", "EMAIL", "-d", "Email", "--kind", "email", "--flow", "outbound", "--correspondence", "email")
    ilog("template", "setup", "email", "EMAIL")
    return db_url


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


def test_the_plugin_is_installed_with_its_entry_point(db_url):
    rows = json.loads(ilog("plugins", "-f", "json").stdout)
    assert [(r["name"], r["source"], r["version"], r["hooks"]) for r in rows] == [
        ("mailbox", "entry point", "0.1.0", ["register_commands"])]


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
    assert "4 messages, 4 recorded, 0 already recorded, 1 without a matching contact" in run.stderr


def test_rerun_records_nothing_twice(world, mbox_file):
    ilog("mailbox", "import", mbox_file, "-a", OWN)
    again = ilog("mailbox", "import", mbox_file, "-a", OWN)
    assert again.stdout == "" and "0 recorded, 4 already recorded" in again.stderr
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


def test_a_veto_saves_nothing_from_the_mailbox(world, mbox_file, tmp_path, monkeypatch):
    plugins_dir = tmp_path / "plugins"
    plugins_dir.mkdir()
    (plugins_dir / "policy.py").write_text(
        "import ilog\n\n@ilog.hookimpl\ndef validate_interaction(interaction):\n"
        "    if interaction.contact_no == 'C1':\n        return 'no mail to C1 may be logged'\n")
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "mailbox,policy")
    from typer.testing import CliRunner

    from ilog.cli import build_app
    from ilog.plugins import make_plugin_host

    run = CliRunner().invoke(build_app(make_plugin_host(plugins_dir=plugins_dir)),
                             ["mailbox", "import", str(mbox_file), "-a", OWN])
    assert run.exit_code == 1
    assert run.stderr == "ilog: error: plugin policy: no mail to C1 may be logged\n"
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "mailbox")
    assert entries() == []


def test_dry_run_records_nothing(world, mbox_file):
    run = ilog("mailbox", "import", mbox_file, "-a", OWN, "--dry-run")
    assert run.stdout == "" and "4 would record" in run.stderr
    assert entries() == []


def test_installed_console_script(world, mbox_file):
    """The ``ilog`` executable finds the plugin through its entry point."""
    exe = Path(sys.executable).with_name("ilog")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "ilog"]
    run = subprocess.run([*command, "mailbox", "import", str(mbox_file), "--own-address", OWN],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["1", "2", "3", "4"]
