"""The hook specifications: this module is ilog's plugin contract.

A plugin is any module or object with functions named after these hooks and marked
with :data:`ilog.hookimpl`. It declares only the arguments it needs (pluggy passes the
rest by name). Plugins come from the ``ilog`` entry-point group and from ``*.py`` files
in the plugins directory; see :mod:`ilog.plugins.host` for the order they run in.

Rules every hook shares:

- A hook that raises *before* the save (``resolve_contact``, ``interaction_from_document``,
  ``enrich_interaction``, ``validate_interaction``) stops the command: ``ilog: error:``
  names the plugin and the reason, exit status 1, nothing is written. For a segment or a
  batch that is the whole segment. (A hook whose read through ``logbook`` failed because the
  database went away raises :class:`ilog.DatabaseUnavailable`, which is passed on as it is:
  ``ilog event`` then spools the event, as for any other read.)
- A hook that raises *after* the commit (``interaction_saved``, ``interaction_cancelled``,
  ``interaction_restored``, ``interactions_purged``, ``contact_erased``) cannot undo it: its error becomes a
  warning on stderr naming the plugin, the other plugins still run, and the exit status
  stays 0 (an ERP script that saw a failure would retry and record twice). On the
  command line they run after the command has printed (and flushed) what it saved, each
  for at most ``hook_timeout`` seconds (default 10; ``ILOG_HOOK_TIMEOUT``): one that
  overruns is abandoned with a warning naming it.
- Which paths run which hooks is one table in ``docs/plugins.md``. ``ilog log import``
  and ``ilog contact import`` run none: they restore records, they do not log anew.
- Hooks after a commit receive read-only snapshots (:class:`ilog.Interaction` with
  ``frozen()`` applied); assigning to one raises :class:`ilog.ReadOnlyRecord`.
- ``logbook`` is an :class:`ilog.LogbookView`: the logbook's reads (``logbook.get``,
  ``logbook.find``, ``logbook.contacts.by_external_id``, ``logbook.draft``...) and nothing
  that writes. Before a save it reads through the operation's own transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # keep importing this module cheap
    import typer

    from ..domain.records import DocumentEvent, Interaction
    from ..logbook import LogbookView as Logbook

hookspec = pluggy.HookspecMarker("ilog")
#: marker for plugin hook implementations (also ``ilog.hookimpl``)
hookimpl = pluggy.HookimplMarker("ilog")


@hookspec
def register_commands(app: "typer.Typer") -> None:
    """Add commands to the ``ilog`` command line.

    Called once while the CLI is built, before arguments are parsed.

    :param app: the root Typer application; call ``app.command()`` or ``app.add_typer()``.
    :return: ignored.

    Plugins are asked in the order they were registered (installed plugins by entry-point
    name, then plugins-directory files by file name). A command or group name that is
    already taken stays with whoever registered it first; the plugin that came second is
    named in an error every command but ``ilog plugins`` and ``--help`` stops with (exit 1),
    so nothing is silently shadowed and the user can still see what clashes.
    An exception stops the CLI with ``ilog: error:`` naming the plugin, exit status 1.
    """


@hookspec
def document_events() -> list[str] | None:
    """Declare extra document event names this plugin handles (beyond the built-in ones).

    Called when event names are listed (``ilog template setup``) or validated
    (``ilog event``, ``template setup EVENT TEMPLATE``).

    :return: a list of event names such as ``"erp.delivery-note"``, or None.

    An exception stops the command with ``ilog: error:`` naming the plugin, exit 1.
    """


@hookspec(firstresult=True)
def resolve_contact(ref: str, event: "DocumentEvent | None", logbook: "Logbook") -> str | None:
    """Turn an ERP reference (``ilog event --ref R``, or the API's ``ref=``) into a contact number.

    Called once per event or API call that names a reference instead of a contact.
    Stops at the first non-None result; the last registered plugin is asked first.

    :param ref: the reference as the ERP gave it (a customer number, a VAT id...).
    :param event: the document event being recorded, or None outside an event.
    :param logbook: the service, for read queries such as ``logbook.contacts.find(...)``.
    :return: the contact number, or None to let the next plugin answer. When nobody
        answers, the command fails with "cannot resolve reference", exit 1.

    An exception stops the command (``ilog: error:`` naming the plugin, exit 1); nothing is written.
    """


@hookspec(firstresult=True)
def interaction_from_document(event: "DocumentEvent", logbook: "Logbook") -> "Interaction | None":
    """Build the unsaved interaction for a document event.

    Called once per ``ilog event`` (and per line of ``ilog event --input``, and per
    :func:`ilog.record_event` call), after the contact is resolved. Stops at the first
    non-None result. ilog's own implementation answers last: it uses the template set up
    for the event (``ilog template setup``) and returns None when none is mapped, in which
    case nothing is recorded, a message goes to stderr and the exit status is 0.

    :param event: the :class:`ilog.DocumentEvent` (event name, document type,
        number and version, contact number, date, subject, idempotency key, ``extra``).
    :param logbook: the service; ``logbook.draft(contact_no, template_code, ...)`` builds a
        draft with a template's values the way ilog's own implementation does.
    :return: an unsaved :class:`ilog.Interaction`, or None to let the next decide.
        ilog then sets the document fields, the occurrence and the idempotency key itself
        (``event.document_fields()``: source, document type and number, version, key); a
        draft built with them, ``logbook.draft(..., **event.document_fields())``, is not
        validated a second time for them.

    An exception stops the command (``ilog: error:`` naming the plugin, exit 1); nothing is written.
    """


@hookspec
def enrich_interaction(interaction: "Interaction", logbook: "Logbook") -> None:
    """Change a draft interaction in place before it is validated and saved.

    Called before every new entry is saved: manual (``interact``, ``resume``), automatic
    (``event``, ``event --input``, the API's ``record_event``), segment lines (``segment
    log``) and plugins that log through ``logbook.prepare``/``save_prepared`` (the mailbox),
    once per interaction, after ilog has copied the template's values onto it. Not called
    by ``ilog log import``, which restores entries rather than logging them anew.

    :param interaction: the mutable draft; its ``entry_no`` is still None.
    :param logbook: the service, for read queries.
    :return: ignored; change the draft's attributes instead.

    An exception stops the command (``ilog: error:`` naming the plugin, exit 1); nothing is written.
    """


@hookspec
def validate_interaction(interaction: "Interaction", logbook: "Logbook") -> "str | list[str] | None":
    """Accept or veto an interaction just before it is inserted.

    Called after every ``enrich_interaction`` has run, for every interaction about to be
    saved. Every plugin is asked, and all their messages are gathered.

    :param interaction: the final draft (do not change it here).
    :param logbook: the service, for read queries.
    :return: None to accept, or a message or a list of messages to refuse. If any plugin
        refuses, nothing is saved (for a segment: no line), and the command fails with
        ``ilog: error:`` listing each message with its plugin's name, exit 1.

    An exception counts as a refusal naming the plugin, exit 1; nothing is written.
    """


@hookspec
def interaction_saved(interaction: "Interaction", created: bool, logbook: "Logbook") -> None:
    """React to a saved interaction (print a label, push it to another system...).

    Called after the transaction committed, once per interaction, in entry order.

    :param interaction: a read-only snapshot of the saved entry, ``entry_no`` set.
    :param created: True for a new entry (and for a postponed entry ``ilog resume`` has
        just logged: ``postponed`` is then False); False when an idempotency key matched an
        entry saved earlier (the snapshot is that earlier entry; nothing new was written).
    :param logbook: the service.
    :return: ignored.

    An exception becomes a warning on stderr naming the plugin; the entry stays saved and
    the exit status stays 0.
    """


@hookspec
def interaction_cancelled(interaction: "Interaction", logbook: "Logbook") -> None:
    """React to a cancelled interaction.

    Called after the cancel committed, once per entry that changed (``ilog cancel``,
    ``ilog segment cancel``).

    :param interaction: a read-only snapshot, ``cancelled`` True.
    :param logbook: the service.
    :return: ignored.

    An exception becomes a warning on stderr naming the plugin; exit status stays 0.
    """


@hookspec
def interaction_restored(interaction: "Interaction", logbook: "Logbook") -> None:
    """React to an interaction whose cancellation was undone.

    Called after the restore committed, once per entry that changed (``ilog restore``,
    ``ilog segment cancel --restore``).

    :param interaction: a read-only snapshot, ``cancelled`` False.
    :param logbook: the service.
    :return: ignored.

    An exception becomes a warning on stderr naming the plugin; exit status stays 0.
    """


@hookspec
def interactions_purged(interactions: "list[Interaction]", logbook: "Logbook") -> None:
    """React to entries deleted by ``ilog purge-cancelled`` or ``ilog retention apply`` (archive them, say).

    Called after each batch of the purge or of the retention policy committed, with the
    snapshots taken before the delete (``ilog contact erase`` does not call it: see
    ``contact_erased``).

    :param interactions: read-only snapshots of the deleted entries.
    :param logbook: the service.
    :return: ignored.

    An exception becomes a warning on stderr naming the plugin; the entries stay deleted
    and the exit status stays 0.
    """


@hookspec
def contact_erased(contact_no: str, counts: "dict[str, int]", logbook: "Logbook") -> None:
    """Erase this plugin's own copies of a contact's data (caches, state files, archives).

    Called once per contact ``ilog contact erase`` erased (or anonymized), after the
    transaction that finished its erasure committed: the contact and its entries are gone
    from the log (with ``--with-persons``, once for each person, then for the company). An
    erasure interrupted and finished by a later run is told then, by that run.

    :param contact_no: the number of the erased contact (nothing in the log keeps it now:
        the erasure record holds only its hash).
    :param counts: how many rows of each kind were erased, by kind: ``contacts``,
        ``entries`` (or ``entries_anonymized``), ``comments``, ``attachments``,
        ``segment_lines``, ``idempotency_keys``, ``document_occurrences``,
        ``company_links_removed``; kinds with none are left out.
    :param logbook: the service (the contact can no longer be read through it).
    :return: ignored.

    An exception becomes a warning on stderr naming the plugin; the contact stays erased
    and the exit status stays 0.
    """


#: hooks whose failure cannot undo anything: errors become warnings
AFTER_COMMIT_HOOKS = frozenset(
    {"interaction_saved", "interaction_cancelled", "interaction_restored", "interactions_purged", "contact_erased"}
)


def hook_names() -> list[str]:
    """The names of every hook in this contract."""
    return [name for name, value in globals().items() if hasattr(value, "ilog_spec")]

