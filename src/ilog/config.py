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

Besides the flat settings, a file may hold the tables of :data:`TABLES` (files only, no
environment variable): ``[retention]`` with ``default = "10y"`` and the sub-tables
``[retention.templates]`` and ``[retention.groups]`` (``CALL = "2y"``). Each key is a
setting of its own under its dotted name (``retention.templates.CALL``), so the system
file may set the default and a user's file one template, each with its source. This module
checks only their shape and types (a table of strings); what the values mean (an age) is
checked where they are used (:mod:`ilog.domain.privacy`), naming the key and its file.

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
    "hook_timeout": ("ILOG_HOOK_TIMEOUT", "seconds a plugin may take after a commit before it is abandoned"),
    "delivery": ("ILOG_DELIVERY", "direct, auto or spool: what `ilog event` does when the database is away"),
}

#: the values of ``delivery``: fail as before, spool when the database cannot be reached, always spool
DELIVERY_MODES = ("direct", "auto", "spool")

DEFAULT_ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024

#: settings that are numbers (the rest are text)
_NUMBERS: dict[str, type] = {"attachment_max_bytes": int, "connect_timeout": float, "busy_timeout": float,
                              "hook_timeout": float}
#: settings that take one of a few words
_CHOICES: dict[str, tuple[str, ...]] = {"delivery": DELIVERY_MODES}

#: tables of settings a config file may hold: table -> {key: str | dict}, where ``str`` is one
#: text value and ``dict`` a sub-table of text values keyed by code. ``retention``: how long
#: entries are kept (``ilog retention``)
TABLES: dict[str, dict[str, type]] = {
    "retention": {"default": str, "templates": dict, "groups": dict},
}


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


def cache_dir() -> Path:
    """Where ilog keeps what it can make again (the tables' cache, :mod:`ilog.store.tables`):
    ``ILOG_CACHE_DIR``, else ``<ILOG_HOME>/cache``, else the user's cache directory."""
    if os.environ.get("ILOG_CACHE_DIR"):
        return Path(os.environ["ILOG_CACHE_DIR"])
    if home():
        return home() / "cache"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("ilog"))


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
    def plugins_dir_configured(self) -> bool:
        """Whether the plugins directory was set (a file, the environment), not the default."""
        return self.sources.get("plugins_dir") != "default"

    @property
    def delivery(self) -> str:
        return str(self.values.get("delivery") or "auto")

    @property
    def attachment_max_bytes(self) -> int:
        return int(self.values.get("attachment_max_bytes") or DEFAULT_ATTACHMENT_MAX_BYTES)

    def table(self, name: str) -> dict[str, object]:
        """A table of :data:`TABLES` as nested dicts of ``(value, source)``:
        ``{"default": ("10y", "/etc/ilog/config.toml"), "templates": {"CALL": ("2y", ...)}}``."""
        found: dict[str, object] = {}
        prefix = f"{name}."
        for dotted, value in self.values.items():
            if not dotted.startswith(prefix) or value is None:
                continue
            key, _, code = dotted[len(prefix):].partition(".")
            pair = (value, self.sources.get(dotted, "default"))
            if code:
                found.setdefault(key, {})[code] = pair  # type: ignore[index]
            else:
                found[key] = pair
        return found

    def table_names(self) -> list[str]:
        """The dotted names of every table setting that has a value, in order (``config show``)."""
        return sorted(n for n, v in self.values.items() if "." in n and v is not None)


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
    unknown = sorted(set(parsed) - set(SETTINGS) - set(TABLES))
    if unknown:
        raise BadValue(f"config file {path}: unknown setting {unknown[0]!r} "
                       f"(known: {', '.join([*SETTINGS, *TABLES])})")
    found: dict[str, object] = {}
    for name, value in parsed.items():
        if name in TABLES:
            found.update(_flat_table(name, value, f"config file {path}"))
        else:
            found[name] = _check_value(name, value, f"config file {path}")
    return found


def _flat_table(name: str, value: object, where: str) -> dict[str, str]:
    """A table of :data:`TABLES` as dotted settings (``retention.templates.CALL``), its shape checked."""
    if not isinstance(value, dict):
        raise BadValue(f"{where}: {name} must be a table ([{name}]), not {value!r}")
    keys = TABLES[name]
    flat: dict[str, str] = {}
    for key, item in value.items():
        kind = keys.get(key)
        if kind is None:
            raise BadValue(f"{where}: unknown setting {f'{name}.{key}'!r} (known: "
                           f"{', '.join(f'{name}.{k}' for k in keys)})")
        if kind is dict:
            if not isinstance(item, dict):
                raise BadValue(f"{where}: {name}.{key} must be a table ([{name}.{key}]), not {item!r}")
            for code, text in item.items():
                if not isinstance(text, str):
                    raise BadValue(f"{where}: {name}.{key}.{code} must be a string, not {text!r}")
                flat[f"{name}.{key}.{code}"] = text
        elif not isinstance(item, str):
            raise BadValue(f"{where}: {name}.{key} must be a string, not {item!r}")
        else:
            flat[f"{name}.{key}"] = item
    return flat


#: number settings where 0 means "no limit"
_ZERO_MEANS_NO_LIMIT = frozenset({"hook_timeout"})


def _wanted(name: str) -> str:
    return "number of 0 (no limit) or more" if name in _ZERO_MEANS_NO_LIMIT else "positive number"


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
        raise BadValue(f"{where}: {name} must be a {_wanted(name)}, not {value!r}") from None
    if not 0 <= number < float("inf") or (number == 0 and name not in _ZERO_MEANS_NO_LIMIT):
        raise BadValue(f"{where}: {name} must be a {_wanted(name)}, not {value!r}")
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
    settings.set("hook_timeout", 10, "default")
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

