"""ilog-mailbox: log the messages of an mbox file or a Maildir as email interactions.

``ilog mailbox import PATH`` reads every message and looks for the contact whose email
address matches:

- a message *from* a contact to one of your own addresses is **inbound** (initiated by
  them), logged for the sender;
- any other message is **outbound** (initiated by us), logged for each recipient (To, Cc)
  that is a contact.

Your own addresses come from ``--own-address`` (repeatable), else ``ILOG_MAILBOX_OWN_ADDRESSES``
(comma-separated), else ``own_addresses`` in ``mailbox.toml`` next to ilog's config file.
With none configured, every message from a contact counts as inbound.

Each entry uses ``--template`` (else ``template`` in ``mailbox.toml``, else the template set
up for the ``email`` event) and goes through the same pipeline as ``ilog interact``
(``enrich_interaction``, ``validate_interaction``, ``interaction_saved``). Its idempotency
key is built from the Message-ID, so a cron re-run over the same mailbox records nothing
twice. Addresses no contact has are reported on stderr.

This module imports nothing heavy at import time: the CLI imports it on every start.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any

import ilog

if TYPE_CHECKING:
    import email.message

    import typer

    from ilog.logbook import Logbook
    from ilog.records import Interaction

__version__ = "0.1.0"

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
        dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="Show what would be recorded; change nothing.")] = False,
    ) -> None:
        """Log each message of an mbox file or Maildir for the contact whose address matches.

        Inbound when a contact wrote to one of your own addresses, outbound otherwise. The
        Message-ID is the idempotency key, so a cron re-run records nothing twice.
        Prints the new entry numbers; reports addresses no contact has on stderr.

        Example: ilog mailbox import ~/Maildir/Sent --own-address sales@example.com
        """
        from ilog.cli import say, state

        importer = Importer(state(ctx).logbook, own_addresses=own_address or None, template=template)
        report = importer.run(path, dry_run=dry_run)
        for entry_no in report.recorded:
            print(entry_no)
        for address, count in sorted(report.unmatched.items()):
            say(f"ilog: mailbox: no contact has address {address} ({count} message{'s' if count > 1 else ''})")
        verb = "would record" if dry_run else "recorded"
        say(f"ilog: mailbox: {report.messages} messages, {report.new} {verb}, {report.already} already recorded, "
            f"{report.unmatched_messages} without a matching contact")

    app.add_typer(mailbox_app)


def settings() -> dict[str, Any]:
    """``mailbox.toml`` next to ilog's user config file (``own_addresses``, ``template``)."""
    import tomllib

    from ilog.config import user_config_path

    path = user_config_path().parent / "mailbox.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ilog.BadValue(f"cannot read {path}: {exc}") from None
    unknown = sorted(set(data) - {"own_addresses", "template"})
    if unknown:
        raise ilog.BadValue(f"{path}: unknown setting {unknown[0]!r}")
    return data


def configured_own_addresses(given: list[str] | None) -> set[str]:
    """``--own-address`` values, else the environment, else ``mailbox.toml``."""
    import os

    if given:
        values = list(given)
    elif os.environ.get(ENV_OWN):
        values = os.environ[ENV_OWN].split(",")
    else:
        values = list(settings().get("own_addresses", []))
    return {normalise(v) for v in values if normalise(v)}


def normalise(address: str) -> str:
    from email.utils import parseaddr

    return parseaddr(address)[1].strip().lower()


def open_mailbox(path: Path):
    """The messages of an mbox file or a Maildir, parsed with the modern email policy."""
    import email
    import email.policy
    import mailbox

    def factory(handle):
        return email.message_from_binary_file(handle, policy=email.policy.default)

    if path.is_dir():
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise ilog.BadValue(f"{path} is a folder but not a Maildir (no cur/ or new/)")
        return mailbox.Maildir(path, factory=factory, create=False)
    if not path.is_file():
        raise ilog.BadValue(f"mailbox {path} does not exist")
    return mailbox.mbox(path, factory=factory, create=False)


def _header(message: "email.message.Message", name: str) -> str:
    """A header as text ("" when absent or beyond repair)."""
    try:
        value = message.get(name)
        return str(value) if value is not None else ""
    except Exception:  # noqa: BLE001 - a header the parser cannot decode counts as absent
        return ""


def addresses(message: "email.message.Message", *names: str) -> list[str]:
    from email.utils import getaddresses

    values = [_header(message, n) for n in names]
    found = [a.strip().lower() for _, a in getaddresses([v for v in values if v]) if "@" in a]
    return list(dict.fromkeys(found))


def message_key(message: "email.message.Message", raw: bytes, contact_no: str) -> str:
    """The idempotency key: the Message-ID (a hash of the message when it has none) and the contact."""
    import hashlib

    message_id = _header(message, "Message-ID").strip().strip("<>").strip()
    ident = message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    key = f"mailbox:{contact_no}:{ident}"
    if len(key) > 200:
        key = f"mailbox:{contact_no}:sha256:{hashlib.sha256(ident.encode('utf-8', 'replace')).hexdigest()}"
    return key


def message_date(message: "email.message.Message"):
    from datetime import timezone
    from email.utils import parsedate_to_datetime

    from ilog import dates

    text = _header(message, "Date")
    try:
        moment = parsedate_to_datetime(text) if text else None
    except (TypeError, ValueError, IndexError):
        moment = None
    if moment is None:
        return dates.now()
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Report:
    def __init__(self) -> None:
        self.messages = 0
        self.recorded: list[int] = []
        self.new = 0
        self.already = 0
        self.unmatched_messages = 0
        self.unmatched: dict[str, int] = {}


class Importer:
    """Turns the messages of one mailbox into interactions, through the Logbook."""

    def __init__(self, logbook: "Logbook", *, own_addresses: list[str] | None = None, template: str | None = None):
        self.logbook = logbook
        self.own = configured_own_addresses(own_addresses)
        self.template = self._template(template)
        self._contacts: dict[str, str | None] = {}

    def _template(self, given: str | None) -> str:
        code = given or settings().get("template") or self.logbook.templates.template_for_event("email")
        if not code:
            raise ilog.Refused("no template for the entries: give --template CODE or set one up for the email "
                               "event (ilog template setup email CODE)")
        return self.logbook.templates.get(code).code

    def contact_for(self, address: str) -> str | None:
        """The contact with this email address (the lowest number if several share it)."""
        if address not in self._contacts:
            matches = self.logbook.contacts.by_email(address)
            self._contacts[address] = matches[0].no if matches else None
        return self._contacts[address]

    def drafts_for(self, message: "email.message.Message", raw: bytes, report: Report) -> list["Interaction"]:
        sender = addresses(message, "From")
        recipients = addresses(message, "To", "Cc")
        sender_address = sender[0] if sender else None
        sender_contact = self.contact_for(sender_address) if sender_address and sender_address not in self.own else None
        if sender_contact and (not self.own or self.own & set(recipients)):
            targets, flow, initiated_by = [sender_contact], "inbound", "them"
            missing: list[str] = []
        else:
            counterparts = [a for a in recipients if a not in self.own]
            targets = [c for c in dict.fromkeys(self.contact_for(a) for a in counterparts) if c]
            missing = [a for a in counterparts if self.contact_for(a) is None]
            if sender_address and sender_address not in self.own and not sender_contact:
                missing.insert(0, sender_address)
            flow, initiated_by = "outbound", "us"
        for address in missing:
            report.unmatched[address] = report.unmatched.get(address, 0) + 1
        if not targets:
            report.unmatched_messages += 1
            return []
        subject = " ".join(_header(message, "Subject").split())[:1000] or None
        moment = message_date(message)
        drafts = []
        for contact_no in targets:
            draft = self.logbook.draft(contact_no, self.template, subject=subject, occurred_at=moment, flow=flow,
                                       initiated_by=initiated_by, correspondence="email", source="import",
                                       idempotency_key=message_key(message, raw, contact_no))
            drafts.append(draft)
        return drafts

    def run(self, path: Path, *, dry_run: bool = False) -> Report:
        """Read the whole mailbox, then save every new entry in one transaction (all or nothing)."""
        report = Report()
        box = open_mailbox(Path(path))
        pending: list["Interaction"] = []
        keys: set[str] = set()
        try:
            for msg_key in box.keys():
                raw = box.get_bytes(msg_key)
                message = box[msg_key]
                report.messages += 1
                for draft in self.drafts_for(message, raw, report):
                    if draft.idempotency_key in keys or self.logbook.entry_for_key(draft.idempotency_key) is not None:
                        report.already += 1
                        continue
                    keys.add(draft.idempotency_key)
                    pending.append(self.logbook.prepare(draft))
        finally:
            box.close()
        report.new = len(pending)
        if pending and not dry_run:
            for result in self.logbook.save_prepared(pending):
                if result.created:
                    report.recorded.append(result.entry_no)
                else:  # another run got there first
                    report.already += 1
                    report.new -= 1
        return report
