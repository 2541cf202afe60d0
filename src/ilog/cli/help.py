"""How the help reads, in one place: the word each value stands for, the sections of
``ilog --help``, and what the shell completes for each parameter.

Nothing here is declared on the commands themselves: :func:`placeholder` derives the word
shown for a value (``--from DATE``, ``ENTRY...``, ``--template CODE``) from the parameter's
name and the command it belongs to, and :func:`completion_source` says which list a
parameter's values come from (contact numbers, template codes, a list of choices), so a new
option named ``--due`` or ``--contact`` reads and completes like the others with no edit.
:mod:`ilog.cli.compat` applies both to the commands when they are built. This module imports
nothing: ``ilog --help`` stays quick.
"""

from __future__ import annotations

from collections.abc import Sequence

#: a parameter's name -> the word its value is shown as (options and arguments alike)
PLACEHOLDERS: dict[str, str] = {
    **dict.fromkeys(("date", "date_from", "date_to", "due", "due_before", "since", "until", "before", "at"), "DATE"),
    **dict.fromkeys(("older_than", "no_interaction_since"), "AGE"),
    **dict.fromkeys(("template", "with_template", "without_template", "group", "with_group", "without_group",
                     "salesperson", "country", "code", "codes"), "CODE"),
    **dict.fromkeys(("contact", "contact_arg", "contacts", "company", "companies"), "CONTACT"),
    **dict.fromkeys(("entry", "entries", "entry_no", "entry_nos"), "ENTRY"),
    **dict.fromkeys(("file", "files", "attach", "out", "errors", "from_file", "input_file", "path", "output"), "FILE"),
    **dict.fromkeys(("directory", "done_dir", "failed_dir", "folder"), "DIR"),
    **dict.fromkeys(("description", "subject", "text", "search", "address", "address_2", "city", "sheet", "name",
                     "reason"), "TEXT"),
    **dict.fromkeys(("limit", "batch_size", "version", "count", "chunk_size"), "N"),
    **dict.fromkeys(("cost", "unit_cost"), "AMOUNT"),
    **dict.fromkeys(("duration", "unit_duration"), "MIN"),
    **dict.fromkeys(("fmt", "input_format"), "FORMAT"),
    **dict.fromkeys(("user", "user_id", "owner", "owners", "to", "member", "members"), "USER"),
    **dict.fromkeys(("email", "own_address"), "EMAIL"),
    **dict.fromkeys(("phone", "mobile"), "PHONE"),
    **dict.fromkeys(("evaluation", "value"), "VALUE"),
    **dict.fromkeys(("segment", "segment_no"), "SEGMENT"),
    **dict.fromkeys(("event", "unset", "name_event"), "EVENT"),
    **dict.fromkeys(("document_no", "campaign", "no", "opportunity", "post_code"), "NO"),
    "kind": "KIND", "kinds": "KIND", "flow": "FLOW", "initiated_by": "WHO", "correspondence": "TYPE",
    "document_type": "TYPE", "type": "TYPE", "by": "FIELD", "measure": "MEASURE", "state_": "STATE",
    "state": "STATE", "match": "FIELD", "on_existing": "ACTION", "key": "KEY", "ref": "REF",
    "external_id": "ID", "delimiter": "CHAR", "mapping": "HEADER=FIELD", "logged_no": "LOGGED", "db": "URL",
    "shell": "SHELL", "team": "TEAM", "encoding": "ENCODING",
}

#: (the command's first word, parameter) -> word, where a name means something else there
COMMAND_PLACEHOLDERS: dict[tuple[str, str], str] = {
    ("contact", "no"): "CONTACT", ("contact", "name"): "NAME", ("segment", "no"): "SEGMENT",
    ("template", "template"): "TEMPLATE", ("event", "name"): "EVENT", ("team", "name"): "TEAM",
}


def placeholder(command_path: Sequence[str], name: str | None, *, argument: bool, type_name: str = "") -> str:
    """The word a value of parameter ``name`` of ``ilog <command_path>`` is shown as."""
    name = name or ""
    head = command_path[0] if command_path else ""
    word = COMMAND_PLACEHOLDERS.get((head, name)) or PLACEHOLDERS.get(name)
    if word:
        return word
    if type_name in ("int", "float"):
        return "N"
    if type_name in ("Path", "PosixPath", "WindowsPath"):
        return "FILE"
    return name.rstrip("_").upper() or "VALUE"


#: commands whose ``--format`` shows one record (field and value), never a table to fit:
#: they take no ``--wide`` (every other command with ``--format`` does)
RECORD_VIEWS: frozenset[str] = frozenset({
    "show", "interact", "event", "resume", "contact show", "contact add", "contact edit", "template show",
    "template edit", "segment create", "segment edit", "segment line", "db status", "config show",
    "attachment show", "team show", "contact data",
})


# -- the sections of ``ilog --help`` --------------------------------------------------------------

#: section title -> the commands it lists, in order (a subcommand as "contact import")
SECTIONS: dict[str, tuple[str, ...]] = {
    "Daily work": ("interact", "log", "show", "timeline", "comment", "complete", "postponed", "resume", "cancel",
                   "restore", "evaluate", "assign", "event", "stats", "attachment"),
    "Set-up": ("init", "contact", "group", "template", "team", "config", "completion"),
    "Segments": ("segment",),
    "Import and export": ("contact import", "contact export", "log export", "log import", "db copy", "mailbox"),
    "Maintenance": ("purge-cancelled", "retention", "erasures", "spool", "db", "plugins"),
}
#: where a command in no section is listed (a plugin's)
OTHER_SECTION = "More commands (plugins)"


# -- what the shell completes -----------------------------------------------------------------------

#: parameter name -> what its values are: a list in the database ("contacts", "templates",
#: "groups", "segments", "logged", "events") or a list of choices ("choice:NAME", see
#: :data:`CHOICES`)
COMPLETIONS: dict[str, str] = {
    **dict.fromkeys(("contact", "contact_arg", "contacts", "company"), "contacts"),
    **dict.fromkeys(("template", "with_template", "without_template"), "templates"),
    **dict.fromkeys(("group", "with_group", "without_group"), "groups"),
    "segment": "segments", "logged_no": "logged",
    **dict.fromkeys(("event", "unset"), "events"),
    "kind": "choice:KINDS", "flow": "choice:FLOWS", "initiated_by": "choice:INITIATED_BY",
    "evaluation": "choice:EVALUATIONS", "value": "choice:EVALUATIONS", "correspondence": "choice:CORRESPONDENCE",
    "type": "choice:CONTACT_TYPES", "state_": "choice:SEGMENT_STATES", "by": "choice:STATS_BY",
    "measure": "choice:MEASURES", "match": "choice:MATCH", "on_existing": "choice:ON_EXISTING",
    "input_format": "choice:INPUT_FORMATS", "shell": "choice:SHELLS",
}
#: (the command's first word, parameter) -> source, where a name means something else there
COMMAND_COMPLETIONS: dict[tuple[str, str], str] = {
    ("contact", "no"): "contacts", ("segment", "no"): "segments", ("template", "code"): "templates",
    ("template", "template"): "templates", ("group", "code"): "groups", ("event", "name"): "events",
}
#: choice list name -> where it is defined ("module:attribute"), imported only while completing
CHOICES: dict[str, str] = {
    **{name: f"ilog.domain.choices:{name}" for name in (
        "KINDS", "FLOWS", "INITIATED_BY", "EVALUATIONS", "CORRESPONDENCE", "CONTACT_TYPES", "SEGMENT_STATES")},
    "STATS_BY": "ilog.services.reports:STATS_BY",
    "MEASURES": "ilog.cli.help:MEASURES",
    "MATCH": "ilog.services.transfer.contact_import:MATCH_KEYS",
    "ON_EXISTING": "ilog.services.transfer.contact_import:ON_EXISTING",
    "INPUT_FORMATS": "ilog.services.transfer.readers:FORMATS",
    "EXPORT_FORMATS": "ilog.cli.help:EXPORT_FORMATS",
    "SHELLS": "ilog.cli.help:SHELLS",
}
#: what ``stats --chart --measure`` draws, the formats of an export, the shells completion supports
MEASURES = ("count", "cost", "duration")
EXPORT_FORMATS = ("csv", "jsonl", "json")
SHELLS = ("bash", "zsh", "fish")


def completion_source(command_path: Sequence[str], name: str | None) -> str | None:
    """Where the shell finds the values of parameter ``name`` of ``ilog <command_path>``, or None."""
    if not name:
        return None
    head = command_path[0] if command_path else ""
    if (head, name) in COMMAND_COMPLETIONS:
        return COMMAND_COMPLETIONS[(head, name)]
    if name == "fmt" and list(command_path[-1:]) == ["export"]:
        return "choice:EXPORT_FORMATS"
    return COMPLETIONS.get(name)
