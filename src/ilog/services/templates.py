"""Interaction groups, interaction templates, document events and the template setup."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..domain import dates, rules, values
from ..domain.choices import BUILTIN_EVENTS
from ..domain.records import TEMPLATE_EDITABLE, InteractionGroup, Template
from ..domain.words import plural
from ..errors import AlreadyExists, BadValue, NotFound, Refused
from .attachments import read_file

if TYPE_CHECKING:
    from ..store.unit import UnitOfWork
    from .context import ServiceContext


@dataclass
class SetLoaded:
    """What :meth:`Templates.load_set` added, and how many it found already there."""

    groups: int = 0
    templates: int = 0
    events: int = 0
    kept: int = 0


def _search(text: str | None) -> str | None:
    return values.text(text, "search text", 250) if text else None


class Templates:
    """Groups, templates and the auto-recording map."""

    def __init__(self, ctx: "ServiceContext"):
        self.ctx = ctx

    # -- groups ----------------------------------------------------------------------------

    def add_group(self, code: str, description: str | None = None, *, exist_ok: bool = False) -> InteractionGroup:
        group = values.validated(InteractionGroup, {"code": code, "description": description})
        with self.ctx.db.unit(write=True) as uow:
            existing = uow.groups.get(group.code)
            if existing is not None:
                if exist_ok:
                    rules.check_same(f"interaction group {group.code}", existing.model_dump(),
                                     {"description": group.description})
                    return existing
                raise AlreadyExists(f"interaction group {group.code} already exists")
            uow.groups.insert(group)
        return group

    def groups(self, *, text: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Groups by code (their code or description containing ``text``), with how many templates each has."""
        text, limit = _search(text), values.limit(limit) if limit is not None else None
        with self.ctx.db.unit() as uow:
            return uow.groups.with_template_counts(text, limit)

    def group_count(self, *, text: str | None = None) -> int:
        with self.ctx.db.unit() as uow:
            return uow.groups.count(_search(text))

    def get_group(self, code: str) -> InteractionGroup:
        code = values.code(code, "group code")
        with self.ctx.db.unit() as uow:
            return self._group(uow, code)

    def edit_group(self, code: str, *, description: str | None = None) -> InteractionGroup:
        """Change a group's description."""
        code = values.code(code, "group code")
        with self.ctx.db.unit(write=True) as uow:
            current = self._group(uow, code)
            if description is None:
                raise BadValue("give --description")
            edited = values.validated(InteractionGroup, {"code": current.code, "description": description})
            uow.groups.update(code, {"description": edited.description})
            return self._group(uow, code)

    def remove_group(self, code: str, *, dry_run: bool = False) -> InteractionGroup:
        code = values.code(code, "group code")
        with self.ctx.db.unit(write=True) as uow:
            group = self._group(uow, code)
            used = uow.groups.template_count(code)
            if used:
                raise Refused(f"interaction group {code} is used by {plural(used, 'template')}")
            if not dry_run:
                uow.groups.delete(code)
            return group

    @staticmethod
    def _group(uow: "UnitOfWork", code: str) -> InteractionGroup:
        group = uow.groups.get(code)
        if group is None:
            raise NotFound(f"unknown interaction group {code!r}")
        return group

    # -- templates -------------------------------------------------------------------------

    @staticmethod
    def require(uow: "UnitOfWork", code: str) -> Template:
        template = uow.templates.get(code)
        if template is None:
            raise NotFound(f"unknown template {code!r}")
        return template

    def get(self, code: str, *, uow: "UnitOfWork | None" = None) -> Template:
        code = values.code(code, "template code")
        with self.ctx.reading(uow) as u:
            return self.require(u, code)

    def list(self, group_code: str | None = None, *, text: str | None = None, limit: int | None = None,
             uow: "UnitOfWork | None" = None) -> list[Template]:
        """Templates by code: of a group, their code or description containing ``text``."""
        group = values.code(group_code, "group code") if group_code else None
        text, limit = _search(text), values.limit(limit) if limit is not None else None
        with self.ctx.reading(uow) as u:
            return u.templates.list(group, text=text, limit=limit)

    def count(self, group_code: str | None = None, *, text: str | None = None) -> int:
        """How many templates :meth:`list` would list without a limit."""
        group = values.code(group_code, "group code") if group_code else None
        with self.ctx.db.unit() as uow:
            return uow.templates.count(group, text=_search(text))

    def _changes(self, uow: "UnitOfWork", given: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(given) - set(TEMPLATE_EDITABLE))
        if unknown:
            raise BadValue(f"unknown template field {unknown[0]!r}")
        changes = {k: v for k, v in given.items() if v is not None}
        if changes.get("group_code"):
            self._group(uow, values.code(changes["group_code"], "group code"))
        return changes

    def _store_file(self, uow: "UnitOfWork", content: tuple[str, bytes] | None) -> int | None:
        return uow.attachments.store(*content, dates.now()) if content else None

    def add(self, code: str, *, exist_ok: bool = False, attach: str | Path | None = None, **given: Any) -> Template:
        """Add a template; unset fields take Business Central's defaults (kind other, no flow...)."""
        content = read_file(Path(attach), self.ctx.attachment_max_bytes) if attach else None
        with self.ctx.db.unit(write=True) as uow:
            changes = self._changes(uow, given)
            template = values.validated(Template, {"code": code, "created_at": dates.now(), **changes})
            existing = uow.templates.get(template.code)
            if existing is not None:
                if exist_ok:
                    rules.check_same(f"template {template.code}", existing.to_dict(),
                                     {name: getattr(template, name) for name in changes})
                    return existing
                raise AlreadyExists(f"template {template.code} already exists")
            template.attachment_id = self._store_file(uow, content)
            uow.templates.insert(template)
        return template

    def edit(self, code: str, *, attach: str | Path | None = None, detach: bool = False, **given: Any) -> Template:
        """Change a template. Entries logged earlier keep the values they were logged with."""
        code = values.code(code, "template code")
        content = read_file(Path(attach), self.ctx.attachment_max_bytes) if attach else None
        with self.ctx.db.unit(write=True) as uow:
            current = self.require(uow, code)
            changes = self._changes(uow, given)
            edited = values.validated(Template, {**current.to_dict(), **changes})
            update = {name: getattr(edited, name) for name in changes}
            if content:
                update["attachment_id"] = self._store_file(uow, content)
            elif detach:
                update["attachment_id"] = None
            if update:
                uow.templates.update(code, update)
            return self.require(uow, code)

    def remove(self, code: str, *, dry_run: bool = False) -> Template:
        """Delete a template no entry, segment or template setup uses (``dry_run``: check only)."""
        code = values.code(code, "template code")
        with self.ctx.db.unit(write=True) as uow:
            template = self.require(uow, code)
            uses = uow.templates.uses(code)
            if uses["entries"]:
                raise Refused(f"template {code} is used by {plural(uses['entries'], 'log entry', 'log entries')}: "
                              "it cannot be removed")
            if uses["events"]:
                raise Refused(f"template {code} is set up for event {uses['events'][0]}: unset it first")
            if uses["segments"]:
                raise Refused(f"template {code} is used by segments: it cannot be removed")
            if not dry_run:
                uow.templates.delete(code)
            return template

    # -- moving templates between databases ------------------------------------------------

    def export(self) -> list[dict[str, Any]]:
        """Groups, templates and the template setup as records (``ilog template export``), in
        the order an import needs: each record has a ``record`` key (group, template, setup)."""
        with self.ctx.db.unit() as uow:
            groups = [{"record": "group", "code": g["code"], "description": g["description"]}
                      for g in uow.groups.with_template_counts()]
            templates = [{"record": "template", **{k: v for k, v in t.to_dict().items()
                                                   if k not in ("attachment_id", "created_at")}}
                         for t in uow.templates.list()]
            setup = [{"record": "setup", "event": e, "template_code": t} for e, t in sorted(uow.setup.mapping().items())]
        return groups + templates + setup

    def import_(self, records: list[dict[str, Any]], *, update: bool = False, dry_run: bool = False) -> dict[str, int]:
        """Load what :meth:`export` wrote, all or nothing. A group, template or event mapping
        that exists here with the same values is left as it is; with other values it is refused
        (naming what differs) unless ``update``. Template attachments are not carried over."""
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        with self.ctx.db.unit(write=True) as uow:
            for index, record in enumerate(records, 1):
                kind = record.get("record") if isinstance(record, dict) else None
                given = {k: v for k, v in record.items() if k != "record"} if isinstance(record, dict) else {}
                try:
                    outcome = self._import_one(uow, kind, given, update)
                except (BadValue, Refused, NotFound) as exc:
                    raise type(exc)(f"record {index} ({kind}): {exc.message}; nothing imported") from None
                counts[outcome] += 1
            if dry_run:
                uow.rollback()
        return counts

    def _import_one(self, uow: "UnitOfWork", kind: Any, given: dict[str, Any], update: bool) -> str:
        """One record of a template export: created, updated or unchanged."""
        if kind == "group":
            new = values.validated(InteractionGroup, given)
            old = uow.groups.get(new.code)
            differ = [] if old is None else [f for f in ("description",) if getattr(old, f) != getattr(new, f)]
            what = f"group {new.code}"
            write_new = lambda: uow.groups.insert(new)  # noqa: E731
            write_change = lambda: uow.groups.update(new.code, {"description": new.description})  # noqa: E731
        elif kind == "template":
            new = values.validated(Template, {**given, "created_at": dates.now()})
            if new.group_code and uow.groups.get(new.group_code) is None:
                raise NotFound(f"template {new.code} names group {new.group_code}, which is not here")
            old = uow.templates.get(new.code)
            fields = [f for f in TEMPLATE_EDITABLE]
            differ = [] if old is None else [f for f in fields if getattr(old, f) != getattr(new, f)]
            what = f"template {new.code}"
            write_new = lambda: uow.templates.insert(new)  # noqa: E731
            write_change = lambda: uow.templates.update(new.code, {f: getattr(new, f) for f in fields})  # noqa: E731
        elif kind == "setup":
            event = self.check_event_name(given.get("event") or "")
            code = values.code(given.get("template_code"), "template code")
            self.require(uow, code)
            current = uow.setup.template_for(event)
            old, differ, what = current, ([] if current in (None, code) else ["template_code"]), f"event {event}"
            write_new = write_change = lambda: uow.setup.set(event, code)  # noqa: E731
        else:
            raise BadValue(f"unknown record {kind!r}: a template export has group, template and setup records")
        if old is None:
            write_new()
            return "created"
        if not differ:
            return "unchanged"
        if not update:
            raise Refused(f"{what} is here with other values ({', '.join(differ)}); --update replaces them")
        write_change()
        return "updated"

    # -- a set of groups, templates and events at once ---------------------------------------

    def load_set(self, groups: Iterable[tuple[str, str | None]], templates: Iterable[dict[str, Any]],
                 events: dict[str, str]) -> SetLoaded:
        """Add the groups, templates and event map of a set (``ilog init --starter``) in one
        transaction, each through the same rules as :meth:`add_group`, :meth:`add` and
        :meth:`set_event`. What exists is left as it is (an admin's changes stay): a group or
        template with the same code, an event already mapped. Running it twice changes nothing."""
        loaded = SetLoaded()
        now = dates.now()
        with self.ctx.db.unit(write=True) as uow:
            for code, description in groups:
                group = values.validated(InteractionGroup, {"code": code, "description": description})
                if uow.groups.get(group.code) is None:
                    uow.groups.insert(group)
                    loaded.groups += 1
                else:
                    loaded.kept += 1
            for fields in templates:
                fields = dict(fields)
                code = fields.pop("code")
                changes = self._changes(uow, fields)
                template = values.validated(Template, {"code": code, "created_at": now, **changes})
                if uow.templates.get(template.code) is None:
                    uow.templates.insert(template)
                    loaded.templates += 1
                else:
                    loaded.kept += 1
            mapped = uow.setup.mapping()
            for event, code in events.items():
                event = self.check_event_name(event)
                if event in mapped:
                    loaded.kept += 1
                    continue
                self.require(uow, values.code(code, "template code"))
                uow.setup.set(event, values.code(code, "template code"))
                loaded.events += 1
        return loaded

    # -- document events and the template setup ----------------------------------------------

    def event_names(self) -> list[str]:
        """Every event name: the built-in ones, then those plugins declare (``document_events``)."""
        return list(self._declared_events())

    def _declared_events(self) -> dict[str, str]:
        """Event name -> who declares it: ``ilog`` or the plugin's name."""
        names = dict.fromkeys(BUILTIN_EVENTS, "ilog")
        for plugin, declared in self.ctx.plugins.call("document_events"):
            if isinstance(declared, str):  # one name, not a list of characters
                declared = [declared]
            for name in declared or ():
                name = str(name).strip().lower()
                if name and name not in names:
                    names[name] = plugin
        return names

    def check_event_name(self, name: str) -> str:
        folded = values.text(name or "", "event", 100, strip=True).lower()
        if folded in BUILTIN_EVENTS or folded in self.event_names():
            return folded
        raise BadValue(f"unknown event {name!r}: see `ilog template setup` for the event names")

    def setup(self) -> list[dict[str, Any]]:
        """The auto-recording map: every event name, the template mapped to it (or None), and who
        declares the event; a mapped event that no loaded plugin declares says so (its plugin
        is not installed, or ``ILOG_LOAD_PLUGINS`` leaves it out)."""
        with self.ctx.db.unit() as uow:
            mapped = uow.setup.mapping()
        names = self._declared_events()
        rows = [{"event": e, "template_code": mapped.get(e), "declared_by": by} for e, by in names.items()]
        rows += [{"event": e, "template_code": t, "declared_by": "(no loaded plugin)"}
                 for e, t in sorted(mapped.items()) if e not in names]
        return rows

    def set_event(self, event: str, template_code: str) -> None:
        event = self.check_event_name(event)
        code = values.code(template_code, "template code")
        with self.ctx.db.unit(write=True) as uow:
            self.require(uow, code)
            uow.setup.set(event, code)

    def unset_event(self, event: str) -> bool:
        """Remove an event's template; returns False when none was set. An event that is
        neither known nor set up is a bad value (a typo must not look done)."""
        folded = values.text(event or "", "event", 100, strip=True).lower()
        with self.ctx.db.unit(write=True) as uow:
            if uow.setup.template_for(folded) is None:
                self.check_event_name(event)
                return False
            return uow.setup.unset(folded)

    def template_for_event(self, event: str, *, uow: "UnitOfWork | None" = None) -> str | None:
        with self.ctx.reading(uow) as u:
            return u.setup.template_for(event)
