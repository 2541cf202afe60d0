"""A stateful property test of the core service (Hypothesis ``RuleBasedStateMachine``).

Hypothesis drives a real :class:`ilog.logbook.Logbook` on the backend under test with random
sequences of: interact (with and without repeated idempotency keys), document events, cancel,
restore, complete, purge, segment log and segment cancel/restore, and persons moving between
companies. A plain Python model runs alongside. After every step:

- the log holds exactly the entries the model holds (so nothing uncancelled is ever deleted,
  and a purge deletes exactly the cancelled entries before its cut-off);
- entry numbers strictly increase and are never given twice, even after a purge;
- an idempotency key never yields two entries, even after its entry was purged;
- a company's roll-up equals its own entries plus those of the persons who belonged to it
  when each entry was logged;
- an idempotency key reused for another recording is refused, and changes nothing;
- values at the edges of what ilog keeps (the first and last showable moments, huge amounts,
  the longest subject) are stored and read back exactly; one step beyond is a BadValue that
  changes nothing.

Every example starts from an empty database: a new SQLite file, or on PostgreSQL an emptied
schema (fewer examples there: creating the schema costs more).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from conftest import BACKEND, THOROUGH, examples
from helpers.databases import fresh_database

COMPANIES = ("C1", "C2")
PERSONS = ("P1", "P2", "P3", "P4")
CONTACTS = COMPANIES + PERSONS
KEYS = ("k1", "k2", "k3", "k4")
DAYS = tuple(datetime(y, m, 1, 9, 0, tzinfo=timezone.utc) for y, m in ((2025, 1), (2025, 6), (2026, 1)))
CUTOFFS = (datetime(2025, 3, 1, tzinfo=timezone.utc), datetime(2025, 9, 1, tzinfo=timezone.utc),
           datetime(2100, 1, 1, tzinfo=timezone.utc))

#: examples per run: few enough for CI; ``ILOG_HYPOTHESIS_PROFILE=thorough`` runs 500 (see conftest)
EXAMPLES = examples(12 if BACKEND == "postgresql" else 40)
STEPS = 40 if THOROUGH else (25 if BACKEND == "postgresql" else 30)

#: values at the edges of what ilog keeps, valid and one step beyond
EDGES = {
    "occurred_at": (datetime(1, 1, 2, tzinfo=timezone.utc), datetime(9999, 12, 30, 23, 59, tzinfo=timezone.utc)),
    "duration_min": (0.0, 1e300), "cost": (0.0, 1e300), "subject": ("", "é" * 1000),
}
BEYOND = {
    "occurred_at": ("9999-12-31T23:59", "0001-01-01T00:00"), "duration_min": ("1e400", -1, "nan"),
    "cost": (float("inf"), -0.5), "subject": ("x" * 1001, "nul\x00"), "version_no": (2**31, 1.5, -1),
}


@dataclass
class Entry:
    contact_no: str
    company_no: str | None
    occurred_at: datetime
    cancelled: bool = False
    state: str = "done"
    logged_segment_no: str | None = None


def test_the_log_keeps_its_promises_whatever_the_sequence(db_url, tmp_path):
    from ilog import errors
    from ilog.testing import open_logbook
    from ilog.plugins.host import make_plugin_host
    from ilog import LogFilter

    fresh = fresh_database(db_url, tmp_path)
    ALL = dict(cancelled="include", postponed="include")

    class LogbookMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.lb = open_logbook(fresh(), user="machine")
            self.entries: dict[int, Entry] = {}
            self.company_of: dict[str, str | None] = {}
            self.keys: dict[str, int] = {}
            self.key_recorded: dict[str, tuple] = {}  # key -> what it recorded (contact, document or template)
            self.max_given = 0
            self.logged: dict[str, bool] = {}  # logged segment -> cancelled

        def teardown(self):
            self.lb.close()

        @initialize()
        def world(self):
            lb = self.lb
            for no in COMPANIES:
                lb.contacts.add(f"Company {no}", no=no, type="company")
                self.company_of[no] = no
            for i, no in enumerate(PERSONS):
                company = COMPANIES[i % 2] if i < 3 else None
                lb.contacts.add(f"Person {no}", no=no, company_no=company)
                self.company_of[no] = company
            lb.templates.add("CALL", description="Call", kind="phone-call")
            lb.templates.add("TASK", description="To do", kind="task")
            lb.templates.add("INVOICE", description="Invoice", kind="letter")
            lb.templates.set_event("sales.invoice", "INVOICE")

        # -- helpers ----------------------------------------------------------------------

        def _new(self, entry_no: int, contact: str, day: datetime, **extra) -> None:
            assert entry_no > self.max_given, f"entry number {entry_no} given again (max so far {self.max_given})"
            self.max_given = entry_no
            self.entries[entry_no] = Entry(contact, self.company_of[contact], day, **extra)

        def _pick(self, index: int, predicate=lambda e: True) -> int | None:
            candidates = sorted(n for n, e in self.entries.items() if predicate(e))
            return candidates[index % len(candidates)] if candidates else None

        def _record(self, call, key: str | None, what: tuple, contact: str, day: datetime, **extra) -> None:
            """Record through ``call``; a key seen before gives its entry back for the same
            recording (``what``: the contact and document or template) and is refused for another."""
            if key is not None and key in self.keys and self.key_recorded[key] != what:
                with pytest.raises(errors.Refused, match="idempotency key"):
                    call()
                return
            result = call()
            if key is not None and key in self.keys:
                assert (result.entry_no, result.created) == (self.keys[key], False)
                return
            assert result.created
            self._new(result.entry_no, contact, day, **extra)
            if key is not None:
                self.keys[key] = result.entry_no
                self.key_recorded[key] = what

        # -- rules ------------------------------------------------------------------------

        @rule(contact=st.sampled_from(CONTACTS), day=st.sampled_from(DAYS), key=st.none() | st.sampled_from(KEYS),
              open_=st.booleans())
        def interact(self, contact, day, key, open_):
            template = "TASK" if open_ else "CALL"
            due = {"due_at": datetime(2030, 1, 1, tzinfo=timezone.utc)} if open_ else {}
            self._record(lambda: self.lb.interact(contact, template, occurred_at=day, idempotency_key=key, **due),
                         key, ("entry", contact, template), contact, day, state="open" if open_ else "done")

        @rule(contact=st.sampled_from(CONTACTS), doc=st.integers(1, 3), day=st.sampled_from(DAYS),
              key=st.sampled_from(KEYS))
        def event(self, contact, doc, day, key):
            self._record(lambda: self.lb.record_event("sales.invoice", f"INV-{doc}", contact_no=contact, key=key,
                                                      occurred_at=day),
                         key, ("document", contact, doc), contact, day)

        @rule(contact=st.sampled_from(CONTACTS), field=st.sampled_from(sorted(EDGES)), edge=st.integers(0, 1))
        def interact_at_an_edge(self, contact, field, edge):
            """The extremes ilog keeps are stored and read back exactly."""
            value = EDGES[field][edge]
            day = value if field == "occurred_at" else DAYS[0]
            result = self.lb.interact(contact, "CALL", occurred_at=day, **({} if field == "occurred_at" else {field: value}))
            assert result.created
            self._new(result.entry_no, contact, day)
            assert getattr(self.lb.get(result.entry_no), field) == value

        @rule(contact=st.sampled_from(CONTACTS), field=st.sampled_from(sorted(BEYOND)), which=st.integers(0, 2))
        def a_value_beyond_is_refused_and_changes_nothing(self, contact, field, which):
            value = BEYOND[field][which % len(BEYOND[field])]
            with pytest.raises(errors.BadValue):
                if field == "version_no":
                    self.lb.record_event("sales.invoice", "INV-X", contact_no=contact, version_no=value)
                else:
                    self.lb.interact(contact, "CALL", **{field: value})

        @rule(index=st.integers(0, 1000))
        def cancel(self, index):
            no = self._pick(index)
            if no is None:
                return
            if self.entries[no].cancelled:
                with pytest.raises(errors.Refused):
                    self.lb.cancel([no])
            else:
                assert self.lb.cancel([no]).changed == [no]
                self.entries[no].cancelled = True

        @rule(index=st.integers(0, 1000))
        def restore(self, index):
            no = self._pick(index)
            if no is None:
                return
            entry = self.entries[no]
            if not entry.cancelled or self.logged.get(entry.logged_segment_no):
                with pytest.raises(errors.Refused):
                    self.lb.restore([no])
            else:
                assert self.lb.restore([no]).changed == [no]
                entry.cancelled = False

        @rule(index=st.integers(0, 1000))
        def complete(self, index):
            no = self._pick(index)
            if no is None:
                return
            entry = self.entries[no]
            if entry.cancelled or entry.state != "open":
                with pytest.raises(errors.Refused):
                    self.lb.complete([no])
            else:
                assert self.lb.complete([no]).changed == [no]
                entry.state = "done"

        @rule(cutoff=st.sampled_from(CUTOFFS), dry_run=st.booleans())
        def purge(self, cutoff, dry_run):
            due = {n for n, e in self.entries.items() if e.cancelled and e.occurred_at < cutoff}
            assert self.lb.purge_cancelled(cutoff, dry_run=dry_run) == len(due)
            if not dry_run:
                for n in due:
                    del self.entries[n]

        @rule(person=st.sampled_from(PERSONS), company=st.none() | st.sampled_from(COMPANIES))
        def person_moves(self, person, company):
            if company is None:
                self.lb.contacts.edit(person, detach=True)
            else:
                self.lb.contacts.edit(person, company_no=company, move=True)
            self.company_of[person] = company

        @rule(contacts=st.lists(st.sampled_from(CONTACTS), min_size=1, max_size=6, unique=True),
              day=st.sampled_from(DAYS))
        def segment_log(self, contacts, day):
            segments = self.lb.segments
            segment = segments.create("Mailing", template_code="CALL", date=day)
            segments.add(segment.no, contacts)
            result = segments.log(segment.no)
            assert result.logged_segment_no not in self.logged
            logged = self.lb.find(LogFilter(logged_segment_no=result.logged_segment_no, newest_first=False, **ALL))
            assert sorted(e.contact_no for e in logged) == sorted(contacts)  # every line, all at once
            for e in logged:
                self._new(e.entry_no, e.contact_no, day, logged_segment_no=result.logged_segment_no)
            self.logged[result.logged_segment_no] = False

        @precondition(lambda self: self.logged)
        @rule(index=st.integers(0, 1000), restore=st.booleans())
        def segment_cancel(self, index, restore):
            numbers = sorted(self.logged)
            no = numbers[index % len(numbers)]
            if self.logged[no] != restore:  # cancelling a cancelled one, restoring an uncancelled one
                with pytest.raises(errors.Refused):
                    self.lb.segments.cancel(no, restore=restore)
                return
            self.lb.segments.cancel(no, restore=restore)
            self.logged[no] = not restore
            for entry in self.entries.values():
                if entry.logged_segment_no == no:
                    entry.cancelled = not restore

        # -- invariants ---------------------------------------------------------------------

        @invariant()
        def log_equals_model(self):
            rows = {e.entry_no: (e.contact_no, e.company_no, e.cancelled, e.state)
                    for e in self.lb.find(LogFilter(**ALL))}
            model = {n: (e.contact_no, e.company_no, e.cancelled, e.state) for n, e in self.entries.items()}
            assert rows == model

        @invariant()
        def each_key_one_entry(self):
            import sqlalchemy as sa

            from ilog.store import tables as models

            with self.lb.db.transaction(write=False) as conn:
                stored = dict(conn.execute(sa.select(models.idempotency_key.c.key,
                                                     models.idempotency_key.c.entry_no)).all())
                keyed = conn.execute(sa.select(models.interaction.c.idempotency_key, sa.func.count())
                                     .where(models.interaction.c.idempotency_key.is_not(None))
                                     .group_by(models.interaction.c.idempotency_key)).all()
            assert stored == self.keys
            assert all(count == 1 for _, count in keyed)

        @invariant()
        def stats_by_day_is_the_live_log_by_local_day(self):
            """The summary the triggers keep says what the log says, in a +5:45 zone too."""
            from ilog.domain import dates

            dates.set_zone("Asia/Kathmandu")
            try:
                expected: dict[str, list] = {}
                for e in self.lb.find(LogFilter(**ALL)):
                    if not e.cancelled and not e.postponed:
                        total = expected.setdefault(dates.to_local(e.occurred_at).date().isoformat(), [0, 0.0])
                        total[0] += 1
                        total[1] += e.cost
                found = {r["day"]: [r["count"], r["cost"]] for r in self.lb.stats("day")}
            finally:
                dates.set_zone(None)
            assert found == {day: [n, round(cost, 6)] for day, (n, cost) in expected.items()}

        @invariant()
        def rollup_is_own_plus_persons_as_logged(self):
            for company in COMPANIES:
                found = {e.entry_no for e in self.lb.find(LogFilter(contact_no=company, rollup=True, **ALL))}
                expected = {n for n, e in self.entries.items() if company in (e.contact_no, e.company_no)}
                assert found == expected

    run_state_machine_as_test(LogbookMachine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
