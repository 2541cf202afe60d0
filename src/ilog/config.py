"""Where things live: the database URL, the plugins directory, the user, the time zone.

Each setting is resolved from, lowest precedence first:

1. the built-in default (an SQLite file in the user's data directory);
2. the system-wide file ``/etc/ilog/config.toml`` (``ILOG_SYSTEM_CONFIG`` names another);
3. the user's file ``<user config dir>/ilog/config.toml`` (``ILOG_CONFIG`` names another);
4. the environment (``ILOG_DATABASE_URL``, ``ILOG_PLUGINS_DIR``, ``ILOG_USER``, ...);
5. command-line flags (``--db``, ``--user``).

``ILOG_HOME`` puts the user's config file, default database and plugins directory in one
folder (handy for tests and for a service account). :func:`load_settings` remembers where
each value came from, for ``ilog config show``.

A config file that exists but cannot be read, has a syntax error, an unknown setting or a
value of the wrong type is an error naming the file: silently falling back to the default
SQLite file would send a print hook's entries to the wrong database.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BadValue, IlogError

#: setting name -> (environment variable, description)
SETTINGS: dict[str, tuple[str, str]] = {
    "database_url": ("ILOG_DATABASE_URL", "SQLAlchemy URL or SQLite file path of the log"),
    "plugins_dir": ("ILOG_PLUGINS_DIR", "directory of *.py plugin files"),
    "user": ("ILOG_USER", "user id stamped on new entries"),
    "timezone": ("ILOG_TIMEZONE", "IANA zone for reading and showing times"),
    "attachment_max_bytes": ("ILOG_ATTACHMENT_MAX_BYTES", "largest attachment accepted"),
    "connect_timeout": ("ILOG_CONNECT_TIMEOUT", "seconds to wait for a database server"),
    "busy_timeout": ("ILOG_BUSY_TIMEOUT", "seconds an SQLite writer waits for the lock"),
    "delivery": ("ILOG_DELIVERY", "direct, auto or spool: what `ilog event` does when the database is away"),
}

#: the values of ``delivery``: fail as before, spool when the database cannot be reached, always spool
DELIVERY_MODES = ("direct", "auto", "spool")

DEFAULT_ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024

#: settings that are numbers (the rest are text)
_NUMBERS: dict[str, type] = {"attachment_max_bytes": int, "connect_timeout": float, "busy_timeout": float}
#: settings that take one of a few words
_CHOICES: dict[str, tuple[str, ...]] = {"delivery": DELIVERY_MODES}


def home() -> Path | None:
    value = os.environ.get("ILOG_HOME")
    return Path(value) if value else None


def user_config_path() -> Path:
    if os.environ.get("ILOG_CONFIG"):
        return Path(os.environ["ILOG_CONFIG"])
    if home():
        return home() / "config.toml"
    from platformdirs import user_config_dir

    return Path(user_config_dir("ilog")) / "config.toml"


def system_config_path() -> Path:
    return Path(os.environ.get("ILOG_SYSTEM_CONFIG", "/etc/ilog/config.toml"))


def default_database_path() -> Path:
    if home():
        return home() / "ilog.db"
    from platformdirs import user_data_dir

    return Path(user_data_dir("ilog")) / "ilog.db"


def default_spool_path() -> Path:
    """The spool of events waiting for the database: next to the default database, for this
    OS user (``<data dir>/spool.db``; see :mod:`ilog.store.spool`)."""
    return default_database_path().parent / "spool.db"


def default_plugins_dir() -> Path:
    return user_config_path().parent / "plugins"


def login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


@dataclass
class Settings:
    """The effective settings, and where each came from (``default``, a file path, ``env``, ``flag``)."""

    values: dict[str, object] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def get(self, name: str, default: object = None) -> object:
        return self.values.get(name, default)

    def set(self, name: str, value: object, source: str) -> None:
        self.values[name] = value
        self.sources[name] = source

    @property
    def database_url(self) -> str:
        return str(self.values["database_url"])

    @property
    def user(self) -> str:
        return str(self.values["user"])

    @property
    def plugins_dir(self) -> Path | None:
        value = self.values.get("plugins_dir")
        return Path(str(value)) if value else None

    @property
    def delivery(self) -> str:
        return str(self.values.get("delivery") or "auto")

    @property
    def attachment_max_bytes(self) -> int:
        return int(self.values.get("attachment_max_bytes") or DEFAULT_ATTACHMENT_MAX_BYTES)


def _read_toml(path: Path) -> dict:
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:  # unreadable: say so rather than quietly use another database
        raise IlogError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    import tomllib

    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadValue(f"cannot read config file {path}: {exc}") from None
    unknown = sorted(set(parsed) - set(SETTINGS))
    if unknown:
        raise BadValue(f"config file {path}: unknown setting {unknown[0]!r} "
                       f"(known: {', '.join(SETTINGS)})")
    return {name: _check_value(name, value, f"config file {path}") for name, value in parsed.items()}


def _check_value(name: str, value: object, where: str) -> object:
    """A setting's value of the right type, or a BadValue naming where it came from."""
    kind = _NUMBERS.get(name)
    if kind is None:
        if not isinstance(value, str):
            raise BadValue(f"{where}: {name} must be a string, not {value!r}")
        allowed = _CHOICES.get(name)
        if allowed is not None:
            folded = value.strip().lower()
            if folded not in allowed:
                raise BadValue(f"{where}: {name} must be one of {', '.join(allowed)}, not {value!r}")
            return folded
        return value
    try:
        if isinstance(value, bool):
            raise ValueError
        number = kind(value)
    except (TypeError, ValueError):
        raise BadValue(f"{where}: {name} must be a positive number, not {value!r}") from None
    if number <= 0:
        raise BadValue(f"{where}: {name} must be a positive number, not {value!r}")
    return number


def load_settings(*, database_url: str | None = None, user: str | None = None) -> Settings:
    """Resolve every setting by the precedence above; the keyword arguments are the flags."""
    settings = Settings()
    settings.set("database_url", str(default_database_path()), "default")
    settings.set("plugins_dir", str(default_plugins_dir()), "default")
    settings.set("user", login_name(), "default")
    settings.set("timezone", None, "default")
    settings.set("attachment_max_bytes", DEFAULT_ATTACHMENT_MAX_BYTES, "default")
    settings.set("connect_timeout", 5, "default")
    settings.set("busy_timeout", 30, "default")
    settings.set("delivery", "auto", "default")
    for path in (system_config_path(), user_config_path()):
        for name, value in _read_toml(path).items():
            settings.set(name, value, str(path))
    for name, (env, _) in SETTINGS.items():
        value = os.environ.get(env)
        if value:
            settings.set(name, _check_value(name, value, f"environment variable {env}"), f"env {env}")
    if database_url:
        settings.set("database_url", database_url, "flag --db")
    if user:
        settings.set("user", user, "flag --user")
    return settings

