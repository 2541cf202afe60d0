"""The composition root: settings -> Database + plugins -> Logbook.

``ilog.open()`` and the CLI both build their logbook here, so a script and a command on the
same machine see the same database, plugins, user and zone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .config import Settings, default_spool_path, load_settings
from .domain import dates

if TYPE_CHECKING:
    from .logbook import Logbook
    from .plugins.host import PluginHost


def creation(settings: Settings, *, create: bool) -> str | bool:
    """Where a missing SQLite file may be created: the default location always (with its
    folders), an explicit path only when asked (``ilog init``), never a missing folder."""
    if settings.sources.get("database_url") == "default":
        return "path"
    return "file" if create else False


def build_logbook(settings: Settings, host: "PluginHost", *, create: bool = False,
                  warn: Callable[[str], None] | None = None) -> "Logbook":
    """A logbook on the configured database with these plugins."""
    from .logbook import Logbook
    from .services.context import ServiceContext, stderr_warning
    from .store.database import Database

    db = Database(settings.database_url, busy_timeout=float(settings.get("busy_timeout")),  # type: ignore[arg-type]
                  connect_timeout=float(settings.get("connect_timeout")),  # type: ignore[arg-type]
                  create=creation(settings, create=create))  # type: ignore[arg-type]
    host.hook_timeout = float(settings.get("hook_timeout"))  # type: ignore[arg-type]
    ctx = ServiceContext(db=db, plugins=host, user=settings.user, warn=warn or stderr_warning,
                         attachment_max_bytes=settings.attachment_max_bytes, retention=settings.table("retention"),
                         delivery=settings.delivery, spool_path=default_spool_path())
    return Logbook(ctx)


def plugin_host(settings: Settings | None, *, load_plugins: bool = True, plugins: tuple[object, ...] = ()
                ) -> "PluginHost":
    from .plugins.host import make_plugin_host

    host = make_plugin_host(entrypoints=load_plugins,
                            plugins_dir=settings.plugins_dir if (load_plugins and settings) else None,
                            plugins_dir_required=bool(settings and settings.plugins_dir_configured),
                            plugins=plugins)
    if settings is not None:
        host.hook_timeout = float(settings.get("hook_timeout"))  # type: ignore[arg-type]
    return host


def open_logbook(url: str | None = None, *, user: str | None = None, load_plugins: bool = True,
                 create: bool = False, plugins: tuple[object, ...] = (),
                 warn: Callable[[str], None] | None = None) -> "Logbook":
    """The configured log (settings, environment), with the installed plugins (``ilog.open``)."""
    settings = load_settings(database_url=url, user=user)
    dates.set_zone(settings.get("timezone"))  # type: ignore[arg-type]
    host = plugin_host(settings, load_plugins=load_plugins, plugins=plugins)
    return build_logbook(settings, host, create=create, warn=warn)
