"""Privacy: hand a person everything ilog holds about them, erase it, and keep entries no
longer than the retention policy says (GDPR articles 15, 17 and 20).

**Contact data** (``ilog contact data NO``): one document, read in one snapshot, with the
contact, every entry of it in any state with its comment lines, the attachments those
entries use (their files alongside), its segment lines, the logged segments its entries
came from, the idempotency keys pointing at its entries and the occurrence counts of its
documents, plus the numbers of what is linked but is someone else's (a company's persons,
their entries logged under it). Erasing the contact afterwards removes or changes only rows
that document lists.

**Erase** (``ilog contact erase NO``): the contact, its entries, their comments, keys and
document occurrences, the attachments nothing else uses, its segment lines; other contacts'
entries logged under it (a company) lose that link. With ``anonymize`` its entries stay, for
statistics, under the placeholder contact with every personal field emptied
(:mod:`ilog.domain.privacy`). Logged segments keep their counts.

*All or nothing per contact, in short transactions.* A contact's rows are not bounded (a
company printing invoices for ten years has tens of thousands of entries), so one
transaction could hold the write lock for seconds while print hooks wait. Instead:

1. one transaction checks the request and records a *pending* erasure per contact (persons
   first, then their company), naming the contact: from this commit on the erasure is
   decided. The same transaction removes a first batch of entries (up to 500, as the
   purge's first batch), and finishes every contact whose entries fit in it;
2. further batches (:func:`ilog.services.entries.in_batches`, the purge's loop and its
   bound on how long one transaction holds the lock) each remove some of the contact's
   entries and add what they removed to the record's counts;
3. the batch that finds nothing more also deletes the segment lines and the contact and
   empties the record's contact number, in the same transaction; then ``contact_erased``
   runs.

So a contact with fewer entries than a batch (nearly all persons) is erased in one
transaction: an interruption leaves it complete or erased completely. A larger one that is
interrupted after step 1 is *in progress*: ``ilog erasures`` shows it with its contact, and
the next ``contact erase`` (of any contact; :meth:`Privacy.finish_pending` in the API)
finishes it as well, so an erasure once decided always ends complete, and one not decided
changed nothing. Only while one is in progress can part of a contact be seen.

**Retention** (``ilog retention apply``): entries older than their rule (template, else
group, else default) are deleted in any state, by the purge's own batches
(:meth:`ilog.services.entries.Entries.delete_in_batches`), with ``interactions_purged``
after each batch.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import version
from ..domain import dates, values
from ..domain import privacy as rules
from ..domain.records import INTERACTION_FIELDS, Erasure
from ..errors import Interrupted, NotFound, Refused
from .attachments import safe_file_name
from .entries import in_batches

if TYPE_CHECKING:
    from ..store.unit import UnitOfWork
    from .context import ServiceContext
    from .entries import Entries

#: entries the transaction that decides an erasure may remove itself (the purge's first batch)
FIRST_BATCH = 500

#: the format of ``ilog contact data``: bump when a key changes meaning
DATA_FORMAT = "ilog contact data"
DATA_VERSION = 1


@dataclass
class ContactData:
    """What ``ilog contact data`` gives: the document, and the attachment files by the
    relative path the document names them by (``attachments/12-letter.pdf``)."""

    document: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class ErasureResult:
    """What an erasure did (or, with ``dry_run``, would do).

    ``contacts`` are the contacts erased, persons first; ``counts`` how many rows of each kind
    (for a dry run: would be); ``erasures`` the records left, one per contact; ``resumed``
    the records of earlier erasures that were in progress and this run finished.
    """

    contact_no: str
    mode: str
    contacts: list[str]
    counts: dict[str, int]
    dry_run: bool = False
    erasures: list[Erasure] = field(default_factory=list)
    resumed: list[Erasure] = field(default_factory=list)


class Privacy:
    """Contact data, erasure, anonymization and retention."""

    def __init__(self, ctx: "ServiceContext", entries: "Entries"):
        self.ctx = ctx
        self.entries = entries

    # -- what ilog holds about a contact ----------------------------------------------------

    def contact_data(self, no: str, *, embed: bool = False) -> ContactData:
        """Everything held about a contact, as one document of plain values (moments are
        datetimes; ``ilog contact data`` writes them as ISO 8601, like every JSON output).

        Attachments are listed with their metadata and ``file``, the path of their content
        in :attr:`ContactData.files`; with ``embed`` the content is in the document instead
        (``content_base64``), so that the document alone is complete.
        """
        no = values.code(no, "contact number")
        with self.ctx.db.unit(snapshot=True) as uow:  # the parts agree with each other
            contact = uow.contacts.get(no)
            if contact is None:
                raise NotFound(f"unknown contact {no!r}")
            entries = uow.privacy.entries_of(no)
            numbers = [e.entry_no for e in entries]
            comments = uow.comments.of_many(numbers)
            attachments = uow.privacy.attachments(e.attachment_id for e in entries if e.attachment_id is not None)
            logged = uow.privacy.logged_segments(e.logged_segment_no for e in entries if e.logged_segment_no)
            keys = uow.privacy.keys_of(numbers)
            documents = uow.privacy.documents((e.document_type or "", e.document_no) for e in entries if e.document_no)
            lines = uow.privacy.segment_lines_of(no)
            persons = uow.privacy.persons_of(no)
            company_entries = uow.privacy.company_entry_nos(no)
            pending = [e.to_dict() for e in uow.privacy.pending() if e.contact_no == no]
        files: dict[str, bytes] = {}
        used_by: dict[int, list[int]] = {}
        for entry in entries:
            if entry.attachment_id is not None:
                used_by.setdefault(entry.attachment_id, []).append(entry.entry_no)
        listed = []
        for item in attachments:
            content = bytes(item.pop("content"))  # a memoryview on PostgreSQL
            item["entries"] = used_by.get(item["id"], [])
            if embed:
                item["file"] = None
                item["content_base64"] = base64.b64encode(content).decode("ascii")
            else:
                item["file"] = f"attachments/{item['id']}-{safe_file_name(item['name'], 'attachment')}"
                files[item["file"]] = content
            listed.append(item)
        document = {
            "format": DATA_FORMAT,
            "format_version": DATA_VERSION,
            "ilog_version": version.__version__,
            "exported_at": dates.now(),
            "contact": contact.to_dict(),
            "persons": persons,
            "entries": [{**{name: getattr(e, name) for name in INTERACTION_FIELDS},
                         "comments": [{k: c[k] for k in ("line_no", "created_at", "user_id", "text")}
                                      for c in comments.get(e.entry_no, [])]} for e in entries],
            "company_entries": company_entries,
            "attachments": listed,
            "segment_lines": lines,
            "logged_segments": logged,
            "idempotency_keys": keys,
            "documents": documents,
            "erasure_in_progress": pending[0] if pending else None,
        }
        return ContactData(document, files)

    # -- erasure ---------------------------------------------------------------------------------

    def erase(self, no: str, *, anonymize: bool = False, with_persons: bool = False, dry_run: bool = False,
              batch_size: int = 5000) -> ErasureResult:
        """Erase a contact and everything of it (or, with ``anonymize``, keep its entries
        without personal data); see the module's docstring for what goes and how.

        A company with persons is refused unless ``with_persons`` (they are erased first, in
        the same mode). An erasure of this contact already in progress is finished (in the
        mode it began with); so is any other in progress. ``dry_run`` counts, changes nothing.
        """
        no = values.code(no, "contact number")
        rules.check_erasable(no)
        mode = "anonymize" if anonymize else "delete"
        with self.ctx.db.unit(write=not dry_run) as uow:
            contact = uow.contacts.get(no)
            if contact is None:
                raise NotFound(f"unknown contact {no!r}")
            pending = {e.contact_no: e for e in uow.privacy.pending()}
            if no in pending and pending[no].mode != mode:
                raise Refused(f"an erasure of contact {no} ({pending[no].mode}) is in progress: run it again "
                              f"{'with' if pending[no].mode == 'anonymize' else 'without'} --anonymize to finish it")
            persons = uow.privacy.persons_of(no)
            if persons and not with_persons and no not in pending:
                shown = ", ".join(persons[:5]) + (", ..." if len(persons) > 5 else "")
                raise Refused(f"company {no} has {len(persons)} person(s) ({shown}): give --with-persons to erase "
                              "them too, or move them to another company first")
            nos = [*persons, no]
            counts = uow.privacy.preview(nos, mode)
            if dry_run:
                return ErasureResult(no, mode, nos, counts, dry_run=True)
            started = uow.privacy.start([n for n in nos if n not in pending], mode, self.ctx.user, dates.now())
            # the first batch joins the transaction that decides the erasure: a contact with
            # fewer entries than a batch is erased, or not, in this one transaction
            at_once: list[tuple[str, Erasure]] = []
            budget = min(batch_size, FIRST_BATCH)
            for erasure_id, contact_no in zip(started, [n for n in nos if n not in pending]):
                handled, record = uow.privacy.erase_batch(erasure_id, budget, dates.now())
                if record is None:
                    break
                at_once.append((contact_no, record))
                budget -= handled
                if budget <= 0:
                    break
        for contact_no, record in at_once:
            self._tell(contact_no, record)
        finished = at_once + self.finish_pending(first=nos, batch_size=batch_size)
        mine = [record for n, record in finished if n in nos]
        total: dict[str, int] = {}
        for record in mine:
            total = rules.total(total, record.to_dict()["counts"])
        return ErasureResult(no, mode, nos, total, erasures=mine,
                             resumed=[record for n, record in finished if n not in nos])

    def finish_pending(self, *, first: Sequence[str] = (), batch_size: int = 5000) -> list[tuple[str, Erasure]]:
        """Finish every erasure in progress: those of the contacts ``first`` (in that order),
        then the others, oldest first. Returns (contact number, record) of each finished."""
        with self.ctx.db.unit() as uow:
            pending = uow.privacy.pending()
        order = {no: index for index, no in enumerate(first)}
        pending.sort(key=lambda e: (order.get(e.contact_no, len(order)), e.id))  # type: ignore[arg-type]
        finished = []
        for erasure in pending:
            record = self._finish(erasure.id, erasure.contact_no, batch_size)  # type: ignore[arg-type]
            if record is not None:
                finished.append((erasure.contact_no, record))
        return finished  # type: ignore[return-value]

    def _finish(self, erasure_id: int, contact_no: str, batch_size: int) -> Erasure | None:
        """Run one pending erasure to its end in batches, then tell ``contact_erased``. A Ctrl-C
        leaves it in progress (or finished, if the batch that finished it had committed) and
        says which."""
        finishing: list[Erasure] = []  # the record of the batch being committed, if it finishes
        done: list[Erasure] = []

        def step(uow: "UnitOfWork", size: int) -> int:
            handled, record = uow.privacy.erase_batch(erasure_id, size, dates.now())
            finishing[:] = [record] if record is not None else []
            return handled

        def committed() -> None:
            done.extend(finishing)

        try:
            in_batches(self.ctx.db, step, batch_size, committed=committed)
        except KeyboardInterrupt:
            if done:
                self._tell(contact_no, done[0])
                raise Interrupted(f"interrupted: contact {contact_no} was erased; nothing else was done") from None
            raise Interrupted(f"interrupted: the erasure of contact {contact_no} is in progress (`ilog erasures` "
                              f"shows it); run `ilog contact erase {contact_no}` again to finish it") from None
        if not done:
            return None  # another process finished it (and told the plugins)
        self._tell(contact_no, done[0])
        return done[0]

    def _tell(self, contact_no: str, record: Erasure) -> None:
        """``contact_erased``, after the commit that finished the contact's erasure."""
        if self.ctx.plugins.has("contact_erased"):
            self.ctx.plugins.notify("contact_erased", self.ctx.warn, contact_no=contact_no,
                                    counts=record.to_dict()["counts"], logbook=self.ctx.hooks_view())

    def erasures(self, contact_no: str | None = None) -> list[Erasure]:
        """The erasure records, oldest first; with ``contact_no``, only those of that number
        (found by its hash: the records do not keep the number)."""
        wanted = rules.contact_hash(contact_no) if contact_no else None
        with self.ctx.db.unit() as uow:
            return uow.privacy.erasures(wanted)

    # -- retention -------------------------------------------------------------------------------

    def policy(self) -> rules.RetentionPolicy:
        """The retention policy of the configuration (``[retention]``), its ages checked."""
        return rules.RetentionPolicy.from_settings(self.ctx.retention)

    def retention(self) -> list[dict[str, Any]]:
        """Each rule of the policy, in order of precedence, with how many entries it would
        delete now: ``rule``, ``age``, ``cutoff``, ``entries``, ``setting``, ``source``."""
        cutoffs = self.policy().cutoffs()
        with self.ctx.db.unit() as uow:
            counts = uow.entries.retention_counts(_spec(cutoffs))
        return [{"rule": rule.name, "age": rule.age, "cutoff": cutoff, "entries": counts.get(index, 0),
                 "setting": rule.setting, "source": rule.source}
                for index, (rule, cutoff) in enumerate(cutoffs)]

    def apply_retention(self, *, dry_run: bool = False, batch_size: int = 5000) -> int:
        """Delete every entry, in any state, older than its rule allows; returns how many
        (would be) deleted. The cut-offs are fixed when the run starts."""
        policy = self.policy()
        if not policy:
            raise Refused("no retention policy is configured: set [retention] default = \"10y\" (and ages per "
                          "template or group) in config.toml")
        spec = _spec(policy.cutoffs())
        if dry_run:
            with self.ctx.db.unit() as uow:
                return sum(uow.entries.retention_counts(spec).values())
        def batch(uow: Any, size: int, snapshots: bool) -> tuple[int, list[Any]]:
            deleted = uow.entries.retention_batch(spec, size, snapshots=snapshots)
            return len(deleted), deleted

        return self.entries.delete_in_batches(batch, batch_size, what="entries past their retention deleted")


def _spec(cutoffs: list[tuple[rules.RetentionRule, Any]]) -> list[tuple[str, str | None, Any]]:
    return [(rule.scope, rule.code, cutoff) for rule, cutoff in cutoffs]
