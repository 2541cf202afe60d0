"""Configuration shared by several OS users: the system file, the user's file, the
environment and flags, in that order; `ilog config show` names each value's source and
never shows a password; a broken config file is an error naming it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def files(isolated_env, monkeypatch):
    """(system config path, user config path), both absent until a test writes them."""
    system = Path(os.environ["ILOG_SYSTEM_CONFIG"])
    return system, isolated_env / "config.toml"


def shown(cli, *args: str) -> dict[str, dict]:
    run = cli(*args, "config", "show", "-f", "json", db=False)
    assert run.exit_code == 0, run.stderr
    return {row["setting"]: row for row in run.json()}


def test_precedence_system_file_user_file_env_flags(cli, files, monkeypatch):
    system, user = files
    system.write_text('database_url = "postgresql://ilog:sys-s3cret@db.example/ilog"\n'
                      'timezone = "Europe/Rome"\nuser = "print"\nbusy_timeout = 10\nconnect_timeout = 3\n')
    user.write_text('user = "anna"\nconnect_timeout = 7\n')
    monkeypatch.delenv("ILOG_USER")

    rows = shown(cli)
    assert rows["database_url"]["value"] == "postgresql://ilog:***@db.example/ilog"
    assert rows["database_url"]["source"] == str(system)
    assert (rows["timezone"]["value"], rows["timezone"]["source"]) == ("Europe/Rome", str(system))
    assert (rows["busy_timeout"]["value"], rows["busy_timeout"]["source"]) == (10, str(system))
    assert (rows["user"]["value"], rows["user"]["source"]) == ("anna", str(user))
    assert (rows["connect_timeout"]["value"], rows["connect_timeout"]["source"]) == (7, str(user))
    assert rows["attachment_max_bytes"]["source"] == "default"

    monkeypatch.setenv("ILOG_DATABASE_URL", "postgresql+psycopg://ilog:env-s3cret@other.example:5433/ilog")
    monkeypatch.setenv("ILOG_USER", "cron")
    rows = shown(cli)
    assert rows["database_url"] == {"setting": "database_url", "source": "env ILOG_DATABASE_URL",
                                    "value": "postgresql+psycopg://ilog:***@other.example:5433/ilog"}
    assert (rows["user"]["value"], rows["user"]["source"]) == ("cron", "env ILOG_USER")

    rows = shown(cli, "--db", "postgresql://admin:flag-s3cret@db.example/ilog", "--user", "root")
    assert (rows["database_url"]["value"], rows["database_url"]["source"]) == (
        "postgresql://admin:***@db.example/ilog", "flag --db")
    assert (rows["user"]["value"], rows["user"]["source"]) == ("root", "flag --user")
    assert rows["timezone"]["source"] == str(system)  # what nobody overrode still comes from the system file

    for fmt in ("table", "json", "jsonl", "csv"):
        run = cli("--db", "postgresql://admin:flag-s3cret@h/ilog", "config", "show", "-f", fmt, db=False)
        assert run.exit_code == 0
        assert "s3cret" not in run.stdout + run.stderr
        assert "***" in run.stdout


def test_table_names_each_value_and_its_source(cli, files):
    system, _ = files
    system.write_text('timezone = "Europe/Rome"\n')
    out = cli("config", "show", db=False).stdout
    line = next(line for line in out.splitlines() if line.startswith("timezone"))
    assert "Europe/Rome" in line and str(system) in line
    assert "env ILOG_USER" in next(line for line in out.splitlines() if line.startswith("user"))


def test_commands_use_the_database_the_system_file_names(cli, files, db_url):
    """The ERP's print user, cron and an admin: no --db, one system file, one database."""
    system, _ = files
    system.write_text(f"database_url = {db_url!r}\n".replace("'", '"'))
    assert cli("contact", "add", "Rossi SpA", "--no", "C1", db=False).exit_code == 0
    run = cli("--db", db_url, "contact", "list", "-f", "json", db=False)
    assert [c["no"] for c in run.json()] == ["C1"]


@pytest.mark.parametrize("which", ["system", "user"])
def test_an_unknown_key_is_an_error_naming_the_file(cli, files, which):
    path = files[0] if which == "system" else files[1]
    path.write_text('database_url = "x.db"\ndatabse_url = "typo.db"\n')
    for args in (("config", "show"), ("log",)):
        run = cli(*args, db=False)
        assert run.exit_code == 2
        assert run.stderr.startswith(f"ilog: error: config file {path}: unknown setting 'databse_url'")
        assert len(run.stderr.splitlines()) == 1


@pytest.mark.parametrize("text, message", [
    ('connect_timeout = "soon"\n', "connect_timeout must be a positive number, not 'soon'"),
    ("busy_timeout = 0\n", "busy_timeout must be a positive number, not 0"),
    ("database_url = 5\n", "database_url must be a string, not 5"),
    ('timezone = "Europe/Rome\n', "cannot read config file"),
])
def test_a_bad_value_is_an_error_naming_the_file(cli, files, text, message):
    system, _ = files
    system.write_text(text)
    run = cli("config", "show", db=False)
    assert run.exit_code == 2
    assert str(system) in run.stderr and message in run.stderr
    assert run.stdout == ""


def test_a_bad_environment_value_names_the_variable(cli, monkeypatch):
    monkeypatch.setenv("ILOG_CONNECT_TIMEOUT", "-1")
    run = cli("config", "show", db=False)
    assert run.exit_code == 2
    assert "environment variable ILOG_CONNECT_TIMEOUT: connect_timeout must be a positive number" in run.stderr


def test_an_unreadable_config_file_is_an_error_not_a_silent_default(cli, files):
    system, _ = files
    system.mkdir()  # exists, cannot be read as a file (chmod 000 would not stop root)
    run = cli("log", db=False)
    assert run.exit_code == 1
    assert run.stderr.startswith(f"ilog: error: cannot read config file {system}:")


@pytest.mark.parametrize("url, masked", [
    ("postgresql://ilog:s3cret@db.example/ilog", "postgresql://ilog:***@db.example/ilog"),
    ("postgresql+psycopg://u:p@ss:w@rd@h:5432/db?sslmode=require", "postgresql+psycopg://u:***@h:5432/db?sslmode=require"),
    ("postgresql://ilog@db.example/ilog?password=s3cret&sslmode=require",
     "postgresql://ilog@db.example/ilog?password=***&sslmode=require"),
    ("postgresql://db.example:5432/ilog", "postgresql://db.example:5432/ilog"),
    ("sqlite:////srv/ilog@2026/ilog.db", "sqlite:////srv/ilog@2026/ilog.db"),
    ("/var/lib/ilog/ilog.db", "/var/lib/ilog/ilog.db"),
])
def test_mask_url(url, masked):
    from ilog.store.urls import mask_url

    assert mask_url(url) == masked
