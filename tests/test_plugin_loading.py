"""Plugin discovery as ``ilog`` itself does it: entry points (real ``importlib.metadata``
over real ``.dist-info`` folders), the plugins directory, ``ILOG_LOAD_PLUGINS``, and the
errors a broken plugin must raise instead of being skipped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from ilog.errors import PluginError
from ilog.plugins.host import make_plugin_host

#: nothing here depends on the database: the PostgreSQL pass leaves it out (see conftest)
pytestmark = pytest.mark.any_backend

HOOKED = """
import ilog
__version__ = "{version}"

@ilog.hookimpl
def resolve_contact(ref):
    return "{answer}" if ref == "R" else None
"""


@pytest.fixture
def load_all(monkeypatch):
    """Plugin loading on, as for a user (conftest turns it off for every other test)."""
    monkeypatch.delenv("ILOG_LOAD_PLUGINS", raising=False)


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder on sys.path where tests install tiny distributions with ``ilog`` entry points."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    return root


def install(site: Path, monkeypatch, *, ep_name: str = "demo", version: str = "1.2.3", body: str | None = None) -> str:
    """A distribution ``ilog-<ep_name>`` with one module and one ``ilog`` entry point."""
    module = f"ilog_test_{ep_name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    (site / f"{module}.py").write_text(body if body is not None else HOOKED.format(version=version, answer="EP"))
    info = site / f"ilog_{ep_name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: ilog-{ep_name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[ilog]\n{ep_name} = {module}\n")
    monkeypatch.delitem(sys.modules, module, raising=False)
    return module


@pytest.fixture
def plugins_dir(tmp_path, monkeypatch):
    folder = tmp_path / "plugins"
    folder.mkdir()
    monkeypatch.setenv("ILOG_PLUGINS_DIR", str(folder))
    return folder


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    """``ilog ARGS`` exactly as the console script runs it (settings, discovery, app)."""
    from ilog.cli import main

    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 1), out, err


def first_resolver(host) -> str:
    return next(name for name, _f, _a in host.implementations("resolve_contact"))


# -- entry points -----------------------------------------------------------------------------

def test_entry_point_plugins_load_with_their_version(load_all, site, monkeypatch):
    module = install(site, monkeypatch)
    host = make_plugin_host()
    info = host.info["demo"]
    assert (info.source, info.version, info.location, info.hooks) == ("entry point", "1.2.3", module, ["resolve_contact"])
    assert host.first("resolve_contact", ref="R", event=None, logbook=None) == "EP"


def test_first_party_plugins_are_installed(load_all):
    host = make_plugin_host()
    from importlib.metadata import version

    for name, dist, hooks in (("mailbox", "ilog-mailbox", ["contact_erased", "register_commands"]),
                              ("dropfolder", "ilog-dropfolder", ["register_commands"])):
        assert host.info[name].source == "entry point" and host.info[name].version == version(dist)
        assert host.info[name].hooks == hooks


def test_a_broken_entry_point_is_an_error_naming_it(load_all, site, monkeypatch, capsys):
    module = install(site, monkeypatch, ep_name="broken", body="import ilog\nraise RuntimeError('no licence')\n")
    code, out, err = run_main(capsys, "plugins")
    assert code == 1 and out == ""
    assert err == f"ilog: error: plugin broken ({module}) failed to import: RuntimeError: no licence\n"


# -- the plugins directory --------------------------------------------------------------------

def test_directory_plugins_load_sorted_and_skip_private_files(load_all, plugins_dir):
    (plugins_dir / "b_second.py").write_text(HOOKED.format(version="2", answer="B"))
    (plugins_dir / "a_first.py").write_text(HOOKED.format(version="1", answer="A"))
    (plugins_dir / "_private.py").write_text("raise RuntimeError('never imported')\n")
    (plugins_dir / ".hidden.py").write_text("raise RuntimeError('never imported')\n")
    (plugins_dir / "notes.txt").write_text("not a plugin")
    host = make_plugin_host(entrypoints=False, plugins_dir=plugins_dir)
    assert [i.name for i in host.user_plugins()] == ["a_first", "b_second"]
    assert host.info["a_first"].source == "directory" and host.info["a_first"].version == "1"
    # pluggy calls the last registered first: b_second answers
    assert first_resolver(host) == "b_second"
    assert host.first("resolve_contact", ref="R", event=None, logbook=None) == "B"


def test_a_directory_plugin_overrides_an_installed_one(load_all, site, plugins_dir, monkeypatch):
    install(site, monkeypatch)
    (plugins_dir / "local.py").write_text(HOOKED.format(version="1", answer="DIR"))
    host = make_plugin_host(plugins_dir=plugins_dir)
    assert host.first("resolve_contact", ref="R", event=None, logbook=None) == "DIR"


@pytest.mark.parametrize("body, message", [
    ("import ilog\nimport no_such_module_xyz\n",
     "failed to import: ModuleNotFoundError: No module named 'no_such_module_xyz'"),
    ("def oops(:\n", "failed to import: SyntaxError"),
    ("import ilog\n\n@ilog.hookimpl\ndef interaction_saev(interaction):\n    pass\n",
     "implements unknown hook 'interaction_saev' (did you mean 'interaction_saved'?)"),
    ("import ilog\n\n@ilog.hookimpl\ndef interaction_saved(entry):\n    pass\n",
     "interaction_saved(entry): Argument(s) {'entry'} are declared in the hookimpl but can not be found in the hookspec"),
])
def test_a_broken_plugin_file_is_an_error_naming_the_file(body, message, load_all, plugins_dir, capsys, db_url):
    (plugins_dir / "good.py").write_text(HOOKED.format(version="1", answer="A"))
    bad = plugins_dir / "erp_hook.py"
    bad.write_text(body)
    code, out, err = run_main(capsys, "--db", db_url, "log")
    assert code == 1 and out == ""
    assert err.startswith(f"ilog: error: plugin file {bad}") and message in err
    assert len(err.splitlines()) == 1


def test_plugin_command_clashing_with_a_core_command_stops_the_cli(load_all, plugins_dir, capsys, db_url):
    (plugins_dir / "shadow.py").write_text(textwrap.dedent("""
        import ilog

        @ilog.hookimpl
        def register_commands(app):
            @app.command("log")
            def log():
                print("shadowed")
    """))
    message = ("ilog: error: plugin shadow ({}) registers command 'log', which is already taken by an ilog "
               "command: rename it or remove one of them\n").format(plugins_dir / "shadow.py")
    code, out, err = run_main(capsys, "--db", db_url, "log")
    assert (code, out, err) == (1, "", message)
    code, out, err = run_main(capsys, "--db", db_url, "init")  # nothing runs until it is fixed
    assert (code, out, err) == (1, "", message)
    code, out, err = run_main(capsys, "--help")  # but the help still shows what is there
    assert code == 0 and "  log " in out
    code, out, err = run_main(capsys, "--db", db_url, "plugins")  # and the listing names the culprit
    assert code == 1 and "shadow" in out and err == message


def test_a_plugins_directory_command_clashing_with_a_first_party_plugin_names_the_file(
        load_all, plugins_dir, capsys, db_url):
    """The file that came second is to blame, not the installed mailbox plugin."""
    (plugins_dir / "mymail.py").write_text(textwrap.dedent("""
        import ilog

        @ilog.hookimpl
        def register_commands(app):
            @app.command("mailbox")
            def mailbox():
                print("mine")
    """))
    code, out, err = run_main(capsys, "--db", db_url, "contact", "list")
    assert code == 1 and out == ""
    assert err == (f"ilog: error: plugin mymail ({plugins_dir / 'mymail.py'}) registers command 'mailbox', which "
                   "is already taken by plugin mailbox: rename it or remove one of them\n")
    code, out, err = run_main(capsys, "--db", db_url, "plugins", "-f", "json")
    assert code == 1 and {"mailbox", "mymail"} <= {row["name"] for row in json.loads(out)}
    code, out, _err = run_main(capsys, "mailbox", "--help")  # the first-party command is the one kept
    assert code == 0 and "mailbox" in out.lower() and "mine" not in out


def test_plugin_command_runs_through_the_cli(load_all, plugins_dir, capsys):
    (plugins_dir / "hello.py").write_text(textwrap.dedent('''
        import ilog

        @ilog.hookimpl
        def register_commands(app):
            @app.command("hello")
            def hello(name: str):
                """Greet. Example: ilog hello you"""
                print(f"hello {name}")
    '''))
    code, out, _err = run_main(capsys, "hello", "world")
    assert (code, out) == (0, "hello world\n")


# -- ILOG_LOAD_PLUGINS ------------------------------------------------------------------------

def test_load_plugins_empty_loads_none(site, plugins_dir, monkeypatch):
    install(site, monkeypatch)
    (plugins_dir / "local.py").write_text("raise RuntimeError('must not be imported')\n")
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "")
    assert make_plugin_host(plugins_dir=plugins_dir).user_plugins() == []


def test_load_plugins_list_loads_only_those(site, plugins_dir, monkeypatch):
    install(site, monkeypatch)
    (plugins_dir / "local.py").write_text(HOOKED.format(version="1", answer="DIR"))
    (plugins_dir / "other.py").write_text("raise RuntimeError('must not be imported')\n")
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "demo, local")
    assert sorted(i.name for i in make_plugin_host(plugins_dir=plugins_dir).user_plugins()) == ["demo", "local"]
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "demo")
    assert [i.name for i in make_plugin_host(plugins_dir=plugins_dir).user_plugins()] == ["demo"]
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "demo,typo")
    with pytest.raises(PluginError, match="ILOG_LOAD_PLUGINS names plugin 'typo', which is not installed"):
        make_plugin_host(plugins_dir=plugins_dir)


# -- ilog plugins -----------------------------------------------------------------------------

def test_ilog_plugins_lists_name_source_version_hooks(load_all, site, plugins_dir, monkeypatch, capsys, db_url):
    module = install(site, monkeypatch)
    (plugins_dir / "local.py").write_text(HOOKED.format(version="0.9", answer="DIR") + textwrap.dedent("""
        @ilog.hookimpl
        def interaction_saved(interaction):
            pass
    """))
    code, out, _ = run_main(capsys, "--db", db_url, "plugins", "--format", "json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["demo"] == {"name": "demo", "source": "entry point", "version": "1.2.3", "location": module,
                            "hooks": ["resolve_contact"]}
    assert rows["local"] == {"name": "local", "source": "directory", "version": "0.9",
                             "location": str(plugins_dir / "local.py"),
                             "hooks": ["interaction_saved", "resolve_contact"]}
    assert rows["mailbox"]["source"] == "entry point"
    assert "ilog.default" not in rows
    code, out, _ = run_main(capsys, "--db", db_url, "plugins")
    header = out.splitlines()[0].split()
    assert code == 0 and header == ["Name", "Source", "Version", "Location", "Hooks"]  # headers for people
    assert any(line.split()[:3] == ["local", "directory", "0.9"] for line in out.splitlines())


def test_ilog_plugins_says_when_plugins_are_disabled(capsys, db_url):
    # conftest sets ILOG_LOAD_PLUGINS="" for every test, as a user switching them off would
    code, out, err = run_main(capsys, "--db", db_url, "plugins")
    assert (code, out, err) == (0, "", "ilog: plugins are disabled (ILOG_LOAD_PLUGINS is empty)\n")
    code, out, _ = run_main(capsys, "--db", db_url, "plugins", "-f", "json")
    assert json.loads(out) == []


# -- never from the current directory ---------------------------------------------------------

def test_plugins_never_load_from_the_current_directory(tmp_path, db_url):
    here = tmp_path / "cwd"
    here.mkdir()
    marker = tmp_path / "imported"
    (here / "evil_plugin.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    info = here / "evil-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[ilog]\nevil = evil_plugin\n")
    (here / "plugins").mkdir()
    (here / "plugins" / "evil2.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    env = {k: v for k, v in os.environ.items() if k != "ILOG_LOAD_PLUGINS"}
    run = subprocess.run([sys.executable, "-m", "ilog", "--db", db_url, "plugins", "-f", "json"], cwd=here,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    names = [r["name"] for r in json.loads(run.stdout)]
    assert "evil" not in names and "evil2" not in names and not marker.exists()


def test_template_setup_marks_an_event_no_loaded_plugin_declares(load_all, plugins_dir, capsys, db_url, monkeypatch):
    (plugins_dir / "delivery.py").write_text(textwrap.dedent("""
        import ilog

        @ilog.hookimpl
        def document_events():
            return ["erp.delivery-note"]
    """))
    assert run_main(capsys, "--db", db_url, "init")[0] == 0
    assert run_main(capsys, "--db", db_url, "template", "add", "NOTE", "-d", "Delivery note")[0] == 0
    assert run_main(capsys, "--db", db_url, "template", "setup", "erp.delivery-note", "NOTE")[0] == 0
    code, out, _ = run_main(capsys, "--db", db_url, "template", "setup", "-f", "json")
    rows = {r["event"]: r for r in json.loads(out)}
    assert rows["erp.delivery-note"] == {"event": "erp.delivery-note", "template_code": "NOTE",
                                         "declared_by": "delivery"}
    assert rows["sales.invoice"]["declared_by"] == "ilog"
    monkeypatch.setenv("ILOG_LOAD_PLUGINS", "")  # the plugin is switched off: the mapping stays, marked
    code, out, _ = run_main(capsys, "--db", db_url, "template", "setup")
    line = next(line for line in out.splitlines() if line.startswith("erp.delivery-note"))
    assert line.split() == ["erp.delivery-note", "NOTE", "(no", "loaded", "plugin)"]
