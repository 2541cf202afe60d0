"""ilog-mailbox: log the messages of an mbox file or a Maildir as email interactions.

``ilog mailbox import PATH --own-address ADDRESS`` judges each message on its own (the
rules are in the README):

- from a contact to one of your own addresses: inbound, initiated by them, for the sender;
- from one of your own addresses: outbound, initiated by us, for each contact in To/Cc;
- neither side one of your own addresses: not ours, skipped and counted;
- a message the log refuses (or that cannot be read) fails alone: it is named on stderr,
  remembered in a state file and skipped by later runs unless ``--retry-failed``; the
  run exits 1;
- when ``ilog contact erase`` erases a contact, the ``contact_erased`` hook forgets the
  failed messages remembered for it.

This file is the plugin's whole contact with ilog: the hook, the command's glue and
:class:`IlogLog`, which records through the Logbook. Everything else (reading mailboxes,
headers, dates, direction, the state file, the import loop) is :mod:`ilog_mailbox.core`,
which imports no ilog. The ilog names used here::

    ilog.hookimpl (register_commands, contact_erased), ilog.IlogError, ilog.BadValue, ilog.Refused,
    ilog.DatabaseError
    ilog.say, ilog.logbook_for(ctx)
    ilog.config.user_config_path(), ilog.config.default_database_path()
    logbook.contacts.by_email(address)[0].no
    logbook.templates.template_for_event("email"), logbook.templates.get(code).code
    logbook.entry_for_key(key)
    logbook.draft(contact_no, template_code, **values), logbook.prepare(draft)
    logbook.save_prepared(drafts) -> [result.entry_no, result.created]

This module imports nothing heavy at import time: the CLI imports it on every start.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any

import ilog

if TYPE_CHECKING:
    import typer

    from ilog.logbook import Logbook

    from .core import Entry

__version__ = "0.2.0"

ENV_OWN = "ILOG_MAILBOX_OWN_ADDRESSES"


@ilog.hookimpl
def register_commands(app: "typer.Typer") -> None:
    """Add ``ilog mailbox import``."""
    from typing import Annotated

    import typer

    mailbox_app = typer.Typer(name="mailbox", help="Log the messages of a mailbox as email interactions (ilog-mailbox).",
                              no_args_is_help=True)

    @mailbox_app.command("import")
    def import_(
        ctx: typer.Context,
        path: Annotated[Path, typer.Argument(help="An mbox file or a Maildir folder.")],
        own_address: Annotated[list[str] | None, typer.Option("--own-address", "-a", help="Your own address (repeat for several).")] = None,
        template: Annotated[str | None, typer.Option("--template", "-t", help="Template for the entries (default: the email event's).")] = None,
        retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Try again the messages that failed in earlier runs.")] = False,
        verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Name each message dated without its Date header, not ours, or skipped.")] = False,
        dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="Show what would be logged; change nothing.")] = False,
    ) -> None:
        """Log each message of an mbox file or Maildir for the contacts it is with.

        From a contact to one of your own addresses: inbound, for the sender. From one of
        your own addresses: outbound, for each contact in To/Cc. Other mail is not ours.
        The Message-ID is the idempotency key, so a cron re-run logs nothing twice. A
        message that fails is named on stderr and skipped by later runs (--retry-failed
        tries it again); the exit status is 1 when a message failed.

        Example: ilog mailbox import ~/Maildir --own-address sales@example.com
        """
        from ilog import logbook_for, say
        from ilog.config import default_database_path, user_config_path

        from . import core

        def tell(line: str) -> None:
            say(f"ilog: mailbox: {line}")

        settings = _settings(user_config_path().parent / "mailbox.toml")
        logbook = logbook_for(ctx)
        log = IlogLog(logbook, _template(logbook, template or settings.get("template")))
        try:
            messages = core.open_mailbox(path)
        except core.MailboxError as exc:
            raise ilog.BadValue(str(exc)) from None
        own = core.own_addresses(_own_address_values(own_address, settings))
        if not own:
            raise ilog.BadValue(f"no own addresses: give --own-address ADDRESS (or set {ENV_OWN}, or own_addresses "
                                "in mailbox.toml); they decide whether a message is inbound, outbound or not ours")
        failed, warning = core.FailedState.load(core.state_path(default_database_path().parent / "mailbox", path), path)
        if warning:
            tell(warning)
        report = core.run_import(messages, own, log, failed=failed, retry_failed=retry_failed, dry_run=dry_run,
                                 tell=tell, note=tell if verbose else lambda line: None,
                                 logged=lambda entry_nos: print(*entry_nos, sep="\n", flush=True))
        for address, count in sorted(report.unmatched_addresses.items()):
            tell(f"no contact has address {address} ({count} message{'s' if count > 1 else ''})")
        tell(report.summary(dry_run=dry_run))
        dates = report.dates_summary()
        if dates:
            tell(dates)
        if report.failed and not dry_run:
            tell(f"failed messages are remembered in {failed.path}: later runs skip them (--retry-failed tries "
                 "them again)")
        if report.failed:
            raise typer.Exit(1)

    app.add_typer(mailbox_app)


@ilog.hookimpl
def contact_erased(contact_no: str) -> None:
    """Forget the failed messages remembered for a contact ilog erased (every mailbox's state file)."""
    from ilog.config import default_database_path

    from . import core

    dropped = core.forget_contact(default_database_path().parent / "mailbox", contact_no)
    if dropped:
        ilog.say(f"ilog: mailbox: forgot {dropped} failed message{'s' if dropped > 1 else ''} "
                 f"remembered for contact {contact_no}")


def _settings(path: Path) -> dict[str, Any]:
    from . import core

    try:
        return core.read_settings(path)
    except ValueError as exc:
        raise ilog.BadValue(str(exc)) from None


def _own_address_values(given: list[str] | None, settings: dict[str, Any]) -> list[str]:
    """``--own-address`` values, else the environment, else ``mailbox.toml``."""
    import os

    if given:
        return list(given)
    if os.environ.get(ENV_OWN):
        return os.environ[ENV_OWN].split(",")
    return [str(v) for v in settings.get("own_addresses", [])]


def _template(logbook: "Logbook", given: str | None) -> str:
    code = given or logbook.templates.template_for_event("email")
    if not code:
        raise ilog.Refused("no template for the entries: give --template CODE or set one up for the email "
                           "event (ilog template setup email CODE)")
    return logbook.templates.get(code).code


class IlogLog:
    """:class:`ilog_mailbox.core.Log` on an ilog Logbook: the only code that records through ilog.

    Each entry goes through ilog's pipeline like ``ilog interact`` (``enrich_interaction``,
    ilog's checks, ``validate_interaction``; ``interaction_saved`` after the commit). What
    ilog refuses about one message becomes :class:`~ilog_mailbox.core.MessageRefused`, so
    that only that message fails; a database that cannot be reached stops the run.
    """

    def __init__(self, logbook: "Logbook", template: str):
        self.logbook = logbook
        self.template = template
        self._contacts: dict[str, str | None] = {}

    def contact_for(self, address: str) -> str | None:
        """The contact with this email address (the lowest number if several share it)."""
        if address not in self._contacts:
            matches = self.logbook.contacts.by_email(address)
            self._contacts[address] = matches[0].no if matches else None
        return self._contacts[address]

    def is_logged(self, key: str) -> bool:
        return self.logbook.entry_for_key(key) is not None

    def prepare(self, entries: list["Entry"]) -> list[Any]:
        from .core import MessageRefused

        drafts = []
        for entry in entries:
            try:
                draft = self.logbook.draft(entry.contact_no, self.template, subject=entry.subject,
                                           occurred_at=entry.occurred_at, flow=entry.flow,
                                           initiated_by=entry.initiated_by, correspondence="email", source="import",
                                           idempotency_key=entry.key)
                drafts.append(self.logbook.prepare(draft))
            except ilog.DatabaseError:
                raise
            except ilog.IlogError as exc:
                raise MessageRefused(exc.message) from exc
        return drafts

    def save(self, prepared: list[Any]) -> list[tuple[int | None, bool]]:
        from .core import MessageRefused

        try:
            results = self.logbook.save_prepared(prepared)
        except Exception as exc:
            if _refused_for_its_content(exc):
                first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
                raise MessageRefused(f"the database refused it: {first}") from exc
            raise
        return [(result.entry_no, result.created) for result in results]


def _refused_for_its_content(exc: Exception) -> bool:
    """Whether a save failed because of what was saved (not because the database is away).

    ilog's own refusals, and the errors PEP 249 calls DataError and IntegrityError
    (SQLAlchemy and the drivers keep those names), or a value the driver could not send
    (SQLAlchemy's StatementError that is not a database's error).
    """
    if isinstance(exc, ilog.IlogError):
        return not isinstance(exc, ilog.DatabaseError)
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"DataError", "IntegrityError"}) or ("StatementError" in names and "DBAPIError" not in names)
