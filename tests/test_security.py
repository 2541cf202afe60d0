"""Security promises: private SQLite files, passwords never shown, plugins only from where
they are configured, attachments written only where asked."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BACKEND
from helpers.proc import env, ilog

SECRET = "s3cr3t-Pa55"


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite files")
def test_a_new_sqlite_database_and_its_wal_are_private(tmp_path):
    path = tmp_path / "new" / "ilog.db"
    path.parent.mkdir()
    # a real process under the usual umask (group and others may read new files)
    for args in (["init"], ["contact", "add", "Acme"]):
        run = subprocess.run([sys.executable, "-c", "import os, sys, runpy; os.umask(0o022); "
                              "sys.argv = ['ilog', '--db', sys.argv[1], *sys.argv[2:]]; "
                              "runpy.run_module('ilog', run_name='__main__')", str(path), *args],
                             capture_output=True, env=env(), timeout=60)
        assert run.returncode == 0, run.stderr
    assert _mode(path) == 0o600
    # the WAL and shared-memory files exist while a connection is open: look then
    from ilog.testing import open_logbook

    old = os.umask(0o022)
    try:
        with open_logbook(str(path)) as logbook:
            with logbook.db.transaction(write=True) as conn:
                conn.exec_driver_sql("UPDATE contact SET phone = '1'")
                wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
                assert wal.exists() and shm.exists()
                assert (_mode(wal), _mode(shm)) == (0o600, 0o600)
    finally:
        os.umask(old)


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite files")
def test_the_default_database_in_the_data_directory_is_private(isolated_env):
    run = ilog("contact", "add", "Acme")
    assert run.returncode == 0, run.stderr
    database = isolated_env / "ilog.db"
    assert _mode(database) == 0o600


# -- passwords ---------------------------------------------------------------------------------

DEAD_URLS = [
    f"postgresql://ilog:{SECRET}@127.0.0.1:1/ilog",
    f"postgresql+psycopg://ilog:{SECRET}@127.0.0.1:1/ilog?sslmode=disable",
    f"postgresql://ilog@127.0.0.1:1/ilog?password={SECRET}",
    f"postgresql://ilog:p@ss:{SECRET}@127.0.0.1:1/ilog",
    f"postgresql://ilog:{SECRET}@127.0.0.1:notaport/ilog",
]


@pytest.mark.parametrize("url", DEAD_URLS)
def test_a_password_never_appears_in_errors(cli, url, monkeypatch, isolated_env):
    monkeypatch.setenv("ILOG_CONNECT_TIMEOUT", "2")
    for args in (["log"], ["interact", "P1", "-t", "CALL"], ["init"], ["db", "status"]):
        run = cli("--db", url, *args, db=False)
        assert run.exit_code == 1, (args, run.stderr)
        assert run.stderr.startswith("ilog: error: ") and len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert SECRET not in run.stdout + run.stderr, run.stderr
        assert "***" in run.stderr or "ilog@127.0.0.1" in run.stderr, run.stderr
    # and from a real process, as a print hook would run it: it fails (direct), or it is spooled
    # (auto, the default) and the password is in neither what it says nor the spool
    for delivery in ("direct", "auto"):
        run = ilog("--db", url, "event", "sales.invoice", "--document-no", "1", "--contact", "C1",
                   extra_env={"ILOG_CONNECT_TIMEOUT": "2", "ILOG_DELIVERY": delivery})
        said = (run.stdout + run.stderr).decode()
        assert SECRET not in said, said
        if delivery == "direct" or "cannot use database URL" in said:  # a URL that cannot work is not spooled
            assert run.returncode == 1, said
        else:
            assert run.returncode == 0 and "spooled as" in said and "***" in said, said
            assert SECRET.encode() not in (isolated_env / "spool.db").read_bytes()


@pytest.mark.parametrize("url", DEAD_URLS[:4])
def test_config_show_masks_passwords_from_every_source(cli, url, isolated_env, monkeypatch):
    (isolated_env / "config.toml").write_text(f'database_url = "{url}"\n')
    for source in ("file", "env", "flag"):
        if source == "env":
            monkeypatch.setenv("ILOG_DATABASE_URL", url)
        flag = ["--db", url] if source == "flag" else []
        for fmt in ("table", "json", "csv"):
            run = cli(*flag, "config", "show", "-f", fmt, db=False)
            assert run.exit_code == 0, run.stderr
            assert SECRET not in run.stdout + run.stderr
        shown = {row["setting"]: row for row in cli(*flag, "config", "show", "-f", "json", db=False).json()}
        assert "***" in shown["database_url"]["value"]


@pytest.mark.skipif(BACKEND != "postgresql", reason="a server that takes a password")
def test_a_password_never_appears_in_output_on_a_live_server(db_url):
    from sqlalchemy.engine import make_url

    url = make_url(db_url).set(password=SECRET).render_as_string(hide_password=False)
    assert SECRET in url  # the test server trusts local connections, whatever the password
    for args in (["init"], ["db", "status"], ["db", "status", "-f", "json"], ["config", "show"],
                 ["config", "show", "-f", "json"], ["contact", "add", "Acme"], ["log", "-f", "json"],
                 ["interact", "NOPE", "--kind", "note"], ["--debug", "db", "status"]):
        run = ilog("--db", url, *args)
        assert SECRET not in run.stdout.decode() + run.stderr.decode(), args


# -- plugins load only from entry points and the configured directory ------------------------

EVIL = """
from pathlib import Path
Path({marker!r}).write_text("evil code ran")
from ilog import hookimpl

@hookimpl
def enrich_interaction(interaction):
    interaction.subject = "hijacked"
"""


def _console_script() -> str:
    found = Path(sys.executable).with_name("ilog")
    return str(found) if found.exists() else shutil.which("ilog")


def test_plugins_never_load_from_the_current_directory(tmp_path, db_url, isolated_env):
    cwd = tmp_path / "work"
    (cwd / "plugins").mkdir(parents=True)
    marker = tmp_path / "evil-ran"
    for place in (cwd / "evil.py", cwd / "plugins" / "evil.py", cwd / "ilog_plugins.py", cwd / "conftest.py"):
        place.write_text(EVIL.format(marker=str(marker)))
    environment = env()
    environment.pop("ILOG_LOAD_PLUGINS")  # load every plugin there is
    environment.pop("ILOG_PLUGINS_DIR", None)
    for argv in ([_console_script()], [sys.executable, "-m", "ilog"]):
        for args in (["plugins", "-f", "json"], ["contact", "add", "Acme", "--no", "A"],
                     ["interact", "A", "--kind", "note", "--subject", "mine"]):
            run = subprocess.run([*argv, "--db", db_url, *args], capture_output=True, cwd=cwd, env=environment,
                                 timeout=60)
            assert run.returncode in (0, 1), run.stderr
            assert not marker.exists(), f"{argv} {args} imported a plugin from the current directory"
        listed = json.loads(subprocess.run([*argv, "plugins", "-f", "json"], capture_output=True, cwd=cwd,
                                           env=environment, timeout=60).stdout)
        assert "evil" not in {p["name"] for p in listed}
    # the configured plugins directory is where plugin files do load from
    plugin_dir = isolated_env / "plugins"
    plugin_dir.mkdir(exist_ok=True)
    shutil.copy(cwd / "evil.py", plugin_dir / "evil.py")
    run = subprocess.run([_console_script(), "plugins", "-f", "json"], capture_output=True, cwd=cwd,
                         env=environment, timeout=60)
    assert "evil" in {p["name"] for p in json.loads(run.stdout)} and marker.exists()


# -- attachment get writes only where asked ---------------------------------------------------

HOSTILE_NAMES = ["../../x", "/etc/passwd-ilog-test", "..", ".", "", "a/../../b", "..\\..\\win", "con", "~/.bashrc",
                 "sub/dir/name.pdf", "-rf", "name\nwith newline.pdf"]
if BACKEND == "sqlite":  # PostgreSQL cannot even store a NUL
    HOSTILE_NAMES.append("\x00nul")


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_attachment_get_never_writes_outside_the_chosen_path(logbook, cli, tmp_path, monkeypatch, name):
    import sqlalchemy as sa

    from ilog.store import tables as models

    logbook.contacts.add("Acme", no="A", type="company")
    source = tmp_path / "invoice.pdf"
    source.write_bytes(b"%PDF-1.4 pretend")
    result = logbook.interact("A", None, kind="note", attach=source)
    with logbook.db.transaction(write=True) as conn:  # a stored name as hostile as a plugin or an old import could make it
        conn.execute(sa.update(models.attachment).values(name=name))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    cwd = tmp_path / "a" / "b" / "cwd"
    out_dir = tmp_path / "a" / "b" / "out"
    for folder in (cwd, out_dir, tmp_path / "home"):
        folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(cwd)
    outside = [Path("/etc/passwd-ilog-test"), Path("/x"), Path("/b")]
    chosen = out_dir / "copy.pdf"
    for args, allowed in ((["--out", str(chosen)], {chosen}), (["--out", str(out_dir)], None), ([], None)):
        before = _tree(tmp_path)
        run = cli("attachment", "get", str(result.entry_no), *args)
        new = _tree(tmp_path) - before
        assert not any(p.exists() for p in outside)
        if run.exit_code != 0:  # refusing a name it cannot use is fine: one line, nothing written
            assert run.stderr.startswith("ilog: error:") and len(run.stderr.strip().splitlines()) == 1
            assert not new, new
            continue
        if not args:  # no --out: the bytes go to stdout, no file is made
            assert not new and run.stdout == "%PDF-1.4 pretend"
            continue
        if allowed is not None:
            assert new == allowed
        else:
            assert len(new) == 1 and next(iter(new)).parent == out_dir, (args, new)
        assert next(iter(new)).read_bytes() == b"%PDF-1.4 pretend"
        for path in new:
            path.unlink()


def _tree(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}
