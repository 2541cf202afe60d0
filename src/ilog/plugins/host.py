"""Finding, loading and calling plugins.

:func:`make_plugin_host` registers, in this order: ilog's own defaults, the ``ilog``
entry points of installed packages, then the ``*.py`` files of the plugins directory
(sorted by name; files starting with ``_`` or ``.`` are skipped). pluggy calls the last
registered first, so a plugins-directory file overrides an installed plugin, which
overrides ilog's defaults. ``ILOG_LOAD_PLUGINS`` set to an empty string loads no plugin;
set to ``a,b`` it loads only those (entry-point names or file stems). A plugin that
fails to import, or that implements a hook name that does not exist, is an error naming
it: a silently skipped auto-record plugin would silently lose records.

Hooks are called one implementation at a time (:meth:`PluginHost.call`) rather than
through ``pm.hook.<name>(...)``: so that an error can name the plugin that raised it, and
so that after a commit one failing plugin does not stop the others.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from ..errors import DatabaseUnavailable, IlogError, Interrupted, PluginError
from . import hookspecs

DEFAULT_NAME = "ilog.default"


@dataclass
class PluginInfo:
    name: str
    source: str  # "builtin", "entry point", "directory"
    location: str | None = None
    #: the version, or the distribution to read it from when asked (parsing METADATA costs
    #: milliseconds at every start-up; only ``ilog plugins`` shows versions)
    _version: Any = None
    hooks: list[str] = field(default_factory=list)

    @property
    def version(self) -> str | None:
        if self._version is not None and not isinstance(self._version, str):
            self._version = self._version.version
        return self._version

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "version": self.version,
            "location": self.location,
            "hooks": list(self.hooks),
        }


class PluginHost:
    """The plugin manager and what ilog knows of each plugin."""

    def __init__(self, pm: pluggy.PluginManager):
        self.pm = pm
        self.info: dict[str, PluginInfo] = {}
        #: ``ILOG_LOAD_PLUGINS=""``: plugins were switched off, not absent
        self.disabled = False
        #: what went wrong while plugins registered commands (``ilog plugins`` still shows it)
        self.problems: list[str] = []

    def register(self, plugin: object, name: str, source: str, location: str | None = None,
                 version: Any = None) -> None:
        try:
            self.pm.register(plugin, name=name)
        except ValueError as exc:  # a name registered twice
            raise PluginError(f"plugin {name!r} ({location or source}) cannot be registered: {exc}") from None
        except pluggy.PluginValidationError as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            detail = lines[-1] if lines else "invalid hook implementation"
            if len(lines) > 1 and lines[1].startswith("hookimpl definition:"):
                detail = f"{lines[1].removeprefix('hookimpl definition:').strip()}: {detail}"
            raise PluginError(f"{_label(name, source, location)}: {detail}") from None
        hooks = sorted(c.name for c in self.pm.get_hookcallers(plugin) or [])
        self.info[name] = PluginInfo(name, source, location, version, hooks)

    def check(self) -> None:
        """Refuse hook implementations whose name is not a hook (a misspelling)."""
        known = set(hookspecs.hook_names())
        for hook_name in sorted(vars(self.pm.hook)):
            if hook_name in known:
                continue
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                if impl.optionalhook:
                    continue
                where = self.info.get(impl.plugin_name)
                label = _label(impl.plugin_name, where.source if where else "", where.location if where else None)
                close = difflib.get_close_matches(hook_name, sorted(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise PluginError(f"{label} implements unknown hook {hook_name!r}{hint}")

    def user_plugins(self) -> list[PluginInfo]:
        return [i for n, i in self.info.items() if n != DEFAULT_NAME]

    def has(self, hook: str) -> bool:
        return bool(getattr(self.pm.hook, hook).get_hookimpls())

    def implementations(self, hook: str, *, registration_order: bool = False
                        ) -> Iterator[tuple[str, Callable[..., Any], list[str]]]:
        """(plugin name, function, argument names) in pluggy's calling order (last registered
        first), or in the order the plugins were registered."""
        impls = getattr(self.pm.hook, hook).get_hookimpls()
        for impl in (impls if registration_order else reversed(impls)):
            if impl.hookwrapper or impl.wrapper:
                raise PluginError(f"plugin {impl.plugin_name}: hook wrappers are not supported ({hook})")
            yield impl.plugin_name, impl.function, list(impl.argnames)

    def call(self, hook: str, *, firstresult: bool = False, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation before a save; an exception becomes a PluginError naming it."""
        results = []
        for name, function, argnames in self.implementations(hook):
            try:
                result = function(*[kwargs[a] for a in argnames])
            except (PluginError, DatabaseUnavailable):  # the database went away under the hook: not its fault
                raise
            except IlogError as exc:  # e.g. a lookup through the logbook that found nothing
                if name == DEFAULT_NAME:
                    raise
                raise PluginError(f"plugin {name} failed in {hook}: {exc.message}") from exc
            except Exception as exc:
                raise PluginError(f"plugin {name} failed in {hook}: {_describe(exc)}") from exc
            if result is not None:
                results.append((name, result))
                if firstresult:
                    break
        return results

    def first(self, hook: str, **kwargs: Any) -> Any:
        results = self.call(hook, firstresult=True, **kwargs)
        return results[0][1] if results else None

    def notify(self, hook: str, warn: Callable[[str], None], **kwargs: Any) -> None:
        """Call every implementation after a commit; each failure is a warning, the others still run.

        Inside :func:`deferred_notifications` (what a command does) the calls are queued and run
        once the command has printed what it saved, so a slow plugin never holds back the entry
        numbers an ERP waits for. Each implementation gets at most :attr:`hook_timeout` seconds;
        one that overruns is abandoned with a warning naming it.
        """
        pending = _PENDING.get()
        if pending is not None:
            pending.append(lambda: self._notify_now(hook, warn, kwargs, pending.abandoned), _entry_numbers(kwargs))
            return
        self._notify_now(hook, warn, kwargs, {})

    #: seconds an after-commit hook may take before it is abandoned (setting ``hook_timeout``)
    hook_timeout: float | None = 10.0

    def _notify_now(self, hook: str, warn: Callable[[str], None], kwargs: dict[str, Any],
                    abandoned: dict[str, int]) -> None:
        """``abandoned``: plugins that overran earlier in this command, and how many calls they
        missed since (a notifier that hangs is not waited for again on every line of a segment)."""
        for name, function, argnames in self.implementations(hook):
            if name in abandoned:
                abandoned[name] += 1
                continue
            args = [kwargs[a] for a in argnames]
            try:
                finished = _call_within(function, args, self.hook_timeout)
            except Exception as exc:  # noqa: BLE001 - nothing can undo the commit
                warn(f"plugin {name} failed in {hook} (the change is saved): {_describe(exc)}")
                continue
            if not finished:
                abandoned[name] = 0
                warn(f"plugin {name} did not finish {hook} within {self.hook_timeout:g} s (hook_timeout): "
                     "abandoned, and not called again by this command; the change is saved")


class Pending:
    """After-commit notifications queued while a command runs, and the entries they are about."""

    def __init__(self) -> None:
        self.calls: list[Callable[[], None]] = []
        self.entry_nos: list[int] = []
        self.abandoned: dict[str, int] = {}  # plugin -> calls it missed after overrunning

    def append(self, call: Callable[[], None], entry_nos: list[int]) -> None:
        self.calls.append(call)
        self.entry_nos.extend(entry_nos)

    def run(self, warn: Callable[[str], None] | None = None) -> None:
        """Run what was queued; Ctrl-C here says the entries are saved, with their numbers."""
        calls, self.calls = self.calls, []
        try:
            for call in calls:
                call()
            for name, missed in self.abandoned.items():
                if missed and warn is not None:
                    warn(f"plugin {name} was not told of {missed} more change(s) after it overran")
        except KeyboardInterrupt:
            numbers = ", ".join(str(n) for n in dict.fromkeys(self.entry_nos)) or "none"
            raise Interrupted(f"interrupted while plugins were being told; the changes are saved (entries "
                              f"{numbers}): some plugins may not have been told") from None


_PENDING: ContextVar[Pending | None] = ContextVar("ilog_pending_notifications", default=None)


@contextmanager
def deferred_notifications() -> Iterator[Pending]:
    """Queue after-commit hooks until :meth:`Pending.run` (a command runs them after printing)."""
    pending = Pending()
    token = _PENDING.set(pending)
    try:
        yield pending
    finally:
        _PENDING.reset(token)


def _entry_numbers(kwargs: dict[str, Any]) -> list[int]:
    if "interaction" in kwargs:
        return [kwargs["interaction"].entry_no]
    return [i.entry_no for i in kwargs.get("interactions", ())]


def _call_within(function: Callable[..., Any], args: list[Any], timeout: float | None) -> bool:
    """Call ``function(*args)`` for at most ``timeout`` seconds; False if it was abandoned."""
    if not timeout:
        function(*args)
        return True
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            function(*args)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            outcome.append(exc)

    worker = threading.Thread(target=run, name="ilog-hook", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return False
    if outcome and outcome[0] is not None:
        raise outcome[0]
    return True


def _label(name: str, source: str, location: str | None) -> str:
    """How an error names a plugin: the file for a plugins-directory script."""
    if source == "directory" and location:
        return f"plugin file {location}"
    return f"plugin {name} ({location})" if location and location != name else f"plugin {name}"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _selection() -> set[str] | None:
    value = os.environ.get("ILOG_LOAD_PLUGINS")
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


class _Distribution:
    """An installed distribution found by :func:`_ilog_entry_points`; its version is read from
    its metadata only when asked (``ilog plugins``)."""

    def __init__(self, path: str):
        self.path = path

    @property
    def version(self) -> str | None:
        from importlib.metadata import PathDistribution

        return PathDistribution(Path(self.path)).version


@dataclass
class _EntryPoint:
    name: str
    value: str  #: ``module`` or ``module:attribute.path`` (extras in brackets ignored)

    def load(self) -> Any:
        module, _, attribute = self.value.split("[", 1)[0].partition(":")
        found: Any = importlib.import_module(module.strip())
        for part in attribute.strip().split(".") if attribute.strip() else ():
            found = getattr(found, part)
        return found


def _read_group(path: str, group: str) -> list[tuple[str, str]]:
    """The (name, value) lines of one ``[group]`` of an ``entry_points.txt``."""
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError:
        return []
    found, section = [], None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == group and "=" in line:
            name, value = line.split("=", 1)
            found.append((name.strip(), value.strip()))
    return found


def _ilog_entry_points() -> list[tuple[Any, Any]]:
    """(entry point, distribution) of the ``ilog`` group, by name, ignoring the current directory.

    ``python -m ilog`` puts the current directory on ``sys.path``: a ``.dist-info`` lying
    there must not plant a plugin into every ilog run from that directory.

    Read as :mod:`importlib.metadata` reads them (the ``entry_points.txt`` of each
    ``.dist-info`` / ``.egg-info`` folder on ``sys.path``, the first distribution of a name
    winning), without importing it: that import alone is a fifth of ``ilog --help``. A
    ``sys.path`` entry that is not a folder (a zip) is left to importlib.metadata itself.
    """
    here = os.path.realpath(os.getcwd())
    entries = [entry or "." for entry in sys.path]
    if any(os.path.isfile(entry) for entry in entries):
        return _ilog_entry_points_from_metadata(here)
    found, seen = [], set()
    for entry in entries:
        if os.path.realpath(entry) == here:
            continue
        try:
            names = sorted(os.listdir(entry))
        except OSError:
            continue
        for name in names:
            stem, dot, kind = name.rpartition(".")
            if not dot or kind.lower() not in ("dist-info", "egg-info"):
                continue
            key = stem.split("-", 1)[0].lower().replace("-", "_").replace(".", "_")
            if key in seen:
                continue
            seen.add(key)
            folder = os.path.join(entry, name)
            for ep_name, value in _read_group(os.path.join(folder, "entry_points.txt"), "ilog"):
                found.append((_EntryPoint(ep_name, value), _Distribution(folder)))
    return sorted(found, key=lambda pair: pair[0].name)


def _ilog_entry_points_from_metadata(here: str) -> list[tuple[Any, Any]]:
    from importlib.metadata import entry_points

    found = []
    for ep in entry_points(group="ilog"):
        dist = ep.dist
        if dist is not None and os.path.realpath(str(dist.locate_file(""))) == here:
            continue
        found.append((ep, dist))
    return sorted(found, key=lambda pair: pair[0].name)


def _load_entry_points(host: PluginHost, wanted: set[str] | None) -> None:
    for ep, dist in _ilog_entry_points():
        if wanted is not None and ep.name not in wanted:
            continue
        try:
            plugin = ep.load()
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted while loading plugin {ep.name} ({ep.value}); nothing was done") from None
        except BaseException as exc:  # SystemExit too: a plugin must not end ilog silently
            raise PluginError(f"plugin {ep.name} ({ep.value}) failed to import: {_describe(exc)}") from None
        host.register(plugin, ep.name, "entry point", ep.value, dist)  # its version is read when asked


def _load_directory(host: PluginHost, directory: Path, wanted: set[str] | None, *, required: bool) -> None:
    if not directory.is_dir():
        if required:  # a configured directory that is not there: its validators would be skipped silently
            what = "is not a directory" if directory.exists() else "does not exist"
            raise PluginError(f"the plugins directory {directory} {what} (ILOG_PLUGINS_DIR or plugins_dir in "
                              "the configuration): create it or change the setting")
        return
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith(("_", ".")):
            continue
        if wanted is not None and path.stem not in wanted:
            continue
        module_name = f"ilog_plugins_dir.{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        except KeyboardInterrupt:
            sys.modules.pop(module_name, None)
            raise Interrupted(f"interrupted while loading plugin file {path}; nothing was done") from None
        except BaseException as exc:  # SystemExit too: a plugin must not end ilog silently
            sys.modules.pop(module_name, None)
            raise PluginError(f"plugin file {path} failed to import: {_describe(exc)}") from None
        host.register(module, path.stem, "directory", str(path), getattr(module, "__version__", None))


def make_plugin_host(*, entrypoints: bool = True, plugins_dir: Path | None = None,
                     plugins: tuple[object, ...] = (), plugins_dir_required: bool = False) -> PluginHost:
    """A fresh plugin manager: defaults, entry points, plugins directory, then ``plugins`` given here.

    ``plugins_dir_required``: the directory was configured (not the default), so its absence
    is an error rather than "no plugin files".
    """
    from . import defaults

    pm = pluggy.PluginManager("ilog")
    pm.add_hookspecs(hookspecs)
    host = PluginHost(pm)
    host.register(defaults, DEFAULT_NAME, "builtin", "ilog.plugins.defaults")
    wanted = _selection()
    host.disabled = wanted is not None and not wanted
    if wanted is None or wanted:
        if entrypoints:
            _load_entry_points(host, wanted)
        if plugins_dir is not None:
            _load_directory(host, Path(plugins_dir), wanted, required=plugins_dir_required)
        if wanted and entrypoints and plugins_dir is not None:  # looked everywhere
            missing = sorted(wanted - set(host.info))
            if missing:
                raise PluginError(f"ILOG_LOAD_PLUGINS names plugin {missing[0]!r}, which is not installed "
                                  "(see `ilog plugins`)")
    for index, plugin in enumerate(plugins):
        name = getattr(plugin, "__name__", None) or type(plugin).__name__
        host.register(plugin, f"{name}-{index}" if name in host.info else name, "in-process")
    host.check()
    return host
