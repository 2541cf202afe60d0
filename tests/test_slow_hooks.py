"""A slow after-commit notifier, as plugin authors write them: a plugins-directory file that
POSTs every saved entry to a local HTTP server this test runs. The installed ``ilog`` prints
the entry numbers before it tells the plugins, abandons a notifier that overruns
``hook_timeout`` (once per command, naming it), and a Ctrl-C while plugins are being told says
which entries are saved.

No timing is asserted: the server holds each request until the test lets it go, so "printed
before the hook returned" is an order of events, not a duration."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from tests.helpers import proc

#: nothing here depends on the database: the PostgreSQL pass leaves it out (see conftest)
pytestmark = pytest.mark.any_backend

NOTIFIER = """
import json
import urllib.request

import ilog


@ilog.hookimpl
def interaction_saved(interaction):
    body = json.dumps({{"entry_no": interaction.entry_no}}).encode()
    urllib.request.urlopen(urllib.request.Request("{url}", data=body), timeout=120).read()
"""


class HeldServer:
    """An HTTP server whose every POST waits until :meth:`release` (or forever)."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.arrived = threading.Event()
        self.released = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.received.append(body["entry_no"])
                server.arrived.set()
                server.released.wait(120)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/saved"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    held = HeldServer()
    yield held
    held.close()


@pytest.fixture
def notifier(tmp_path, server) -> dict[str, str]:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "notifier.py").write_text(textwrap.dedent(NOTIFIER.format(url=server.url)))
    return {"ILOG_PLUGINS_DIR": str(folder), "ILOG_LOAD_PLUGINS": "notifier"}


def start(db_url: str, env: dict[str, str], *args: str) -> subprocess.Popen:
    """The installed CLI (``python -m ilog``) with stdout and stderr piped as text."""
    return subprocess.Popen([sys.executable, "-m", "ilog", "--db", db_url, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=proc.env(**env),
                            preexec_fn=proc.ctrl_c_reaches_it)


def entry_nos(sample) -> list[int]:
    return sorted(e["entry_no"] for e in sample.ok("log", "-f", "json").json())


def test_the_entry_number_is_printed_before_the_notifier_is_called(sample, db_url, server, notifier):
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    child = start(db_url, {**notifier, "ILOG_HOOK_TIMEOUT": "0"}, "event", "sales.invoice", "--document-no",
                  "INV-1", "--contact", "P1")
    try:
        first_line = child.stdout.readline()  # the ERP reads the number while the notifier is held
        assert first_line == "1\n", child.stderr.read()
        assert server.arrived.wait(60) and server.received == [1]
        assert child.poll() is None  # still telling the plugin (no limit: hook_timeout 0)
        server.release()
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert (child.returncode, out, err) == (0, "", "ilog: logged entry 1\n")
    assert entry_nos(sample) == [1]


def test_a_notifier_that_overruns_is_abandoned_once_per_command_naming_it(sample, db_url, server, notifier):
    no = sample.ok("segment", "create", "-d", "Six calls", "-t", "CALL", "-q").stdout.strip()
    for n in range(4, 8):
        sample.ok("contact", "add", f"Extra {n}", "--no", f"X{n}")
    sample.ok("segment", "add", no, "P1", "P2", "X4", "X5", "X6", "X7")
    child = start(db_url, {**notifier, "ILOG_HOOK_TIMEOUT": "0.5"}, "segment", "log", no, "-q")
    out, err = child.communicate(timeout=120)  # the server never answers; 6 x 3 s was 18 s before
    assert child.returncode == 0
    assert out == "1\n2\n3\n4\n5\n6\n"
    assert err.splitlines() == [
        "ilog: warning: plugin notifier did not finish interaction_saved within 0.5 s (hook_timeout): "
        "abandoned, and not called again by this command; the change is saved",
        "ilog: warning: plugin notifier was not told of 5 more change(s) after it overran",
    ]
    assert server.received == [1]  # asked once, not once per line
    assert entry_nos(sample) == [1, 2, 3, 4, 5, 6]


def test_the_hook_timeout_setting_is_read_from_the_configuration(sample, db_url, server, notifier, ilog_env):
    (ilog_env / "config.toml").write_text("hook_timeout = 0.25\n")
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    child = start(db_url, notifier, "event", "sales.invoice", "--document-no", "INV-2", "--contact", "P1")
    out, err = child.communicate(timeout=60)
    assert (child.returncode, out) == (0, "1\n")
    assert "within 0.25 s (hook_timeout)" in err
    shown = {r["setting"]: r for r in sample.ok("config", "show", "-f", "json").json()}
    assert shown["hook_timeout"] == {"setting": "hook_timeout", "value": 0.25,
                                     "source": str(ilog_env / "config.toml")}


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process")
def test_ctrl_c_while_plugins_are_told_names_the_saved_entries(sample, db_url, server, notifier):
    no = sample.ok("segment", "create", "-d", "Two calls", "-t", "CALL", "-q").stdout.strip()
    sample.ok("segment", "add", no, "P1", "P2")
    child = start(db_url, {**notifier, "ILOG_HOOK_TIMEOUT": "0"}, "segment", "log", no, "-q")
    try:
        assert child.stdout.readline() == "1\n" and child.stdout.readline() == "2\n"
        assert server.arrived.wait(60)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 130 and out == ""
    assert err == ("ilog: interrupted while plugins were being told; the changes are saved (entries 1, 2): "
                   "some plugins may not have been told\n")
    assert entry_nos(sample) == [1, 2]  # a retry with the same key would record nothing new


def test_through_the_api_the_same_limit_applies(db_url, server, notifier, monkeypatch, sample, capfd):
    """In-process (an ERP script): the hook runs inside the call, and is abandoned the same way."""
    import ilog

    monkeypatch.setenv("ILOG_PLUGINS_DIR", notifier["ILOG_PLUGINS_DIR"])
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "notifier")
    monkeypatch.setenv("ILOG_HOOK_TIMEOUT", "0.25")
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    capfd.readouterr()
    with ilog.open(db_url) as logbook:
        result = logbook.record_event("sales.invoice", document_no="INV-3", contact_no="P1")
    assert result.entry_no == 1 and server.received == [1]
    assert capfd.readouterr().err == (
        "ilog: warning: plugin notifier did not finish interaction_saved within 0.25 s (hook_timeout): "
        "abandoned, and not called again by this command; the change is saved\n")
