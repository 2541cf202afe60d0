"""Every hook, through the real CLI and the real Logbook: one pipeline for ``interact``,
``event`` and the API; vetoes and exceptions before the save change nothing; failures after
the commit are warnings naming the plugin."""

from __future__ import annotations

import pytest

from ilog import hookimpl
from ilog.errors import PluginError, ValidationFailed


class Recorder:
    """Records every hook call it receives, in order."""

    def __init__(self, name: str = "recorder"):
        self.__name__ = name
        self.calls: list[tuple] = []

    @hookimpl
    def enrich_interaction(self, interaction):
        self.calls.append(("enrich", interaction.source, interaction.entry_no))

    @hookimpl
    def validate_interaction(self, interaction):
        self.calls.append(("validate", interaction.source, interaction.subject))

    @hookimpl
    def interaction_saved(self, interaction, created):
        self.calls.append(("saved", interaction.source, interaction.entry_no, created))

    @hookimpl
    def interaction_cancelled(self, interaction):
        self.calls.append(("cancelled", interaction.entry_no, interaction.cancelled))

    @hookimpl
    def interaction_restored(self, interaction):
        self.calls.append(("restored", interaction.entry_no, interaction.cancelled))

    @hookimpl
    def interactions_purged(self, interactions):
        self.calls.append(("purged", sorted(i.entry_no for i in interactions)))

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


class Plugin:
    """A plugin built from keyword functions: Plugin("veto", validate_interaction=lambda interaction: "no")."""

    def __init__(self, name: str, **hooks):
        self.__name__ = name
        for hook, function in hooks.items():
            setattr(self, hook, hookimpl(function))


def boom(*_args, **_kwargs):
    raise RuntimeError("printer on fire")


@pytest.fixture
def recorder(plugins):
    rec = Recorder()
    plugins.append(rec)
    return rec


# -- one pipeline ----------------------------------------------------------------------------

def test_interact_event_and_api_run_the_same_pipeline(recorder, sample, logbook):
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    no = int(sample.ok("interact", "P1", "-t", "CALL", "-q").stdout)
    assert recorder.calls == [("enrich", "manual", None), ("validate", "manual", "Phone call"),
                              ("saved", "manual", no, True)]
    recorder.calls.clear()
    no = int(sample.ok("event", "sales.invoice", "--document-no", "INV-1", "--contact", "P1", "-q").stdout)
    assert recorder.calls == [("enrich", "event", None), ("validate", "event", "Sales invoice"),
                              ("saved", "event", no, True)]
    recorder.calls.clear()
    result = logbook.record_event("sales.invoice", document_no="INV-2", contact_no="P1")
    assert result.created and result.entry_no == no + 1
    assert recorder.calls == [("enrich", "event", None), ("validate", "event", "Sales invoice"),
                              ("saved", "event", no + 1, True)]


def test_enrich_changes_the_draft_and_validate_sees_the_change(plugins, sample):
    seen = []

    def enrich(interaction, logbook):
        interaction.subject = f"{interaction.subject} [{logbook.contacts.get(interaction.contact_no).name}]"
        interaction.salesperson_code = "JO"

    plugins.append(Plugin("enricher", enrich_interaction=enrich))
    plugins.append(Plugin("watcher", validate_interaction=lambda interaction: seen.append(interaction.subject)))
    no = sample.ok("interact", "P1", "-t", "CALL", "-q").stdout.strip()
    entry = sample.ok("show", no, "-f", "json").json()
    assert entry["subject"] == "Phone call [Mario Rossi]" and entry["salesperson_code"] == "JO"
    assert seen == ["Phone call [Mario Rossi]"]



def test_a_draft_changed_after_it_was_made_is_checked_again(plugins, sample, logbook, snapshot):
    """A draft is validated once when made; whatever an enrich hook or a caller assigns
    afterwards is checked (and normalised) again before the save, on every path."""
    from ilog.errors import BadValue

    def enrich(interaction):
        if interaction.source == "event":
            interaction.salesperson_code = "jo"  # normalised on the way in
            interaction.campaign_no = " camp "

    plugins.append(Plugin("enricher", enrich_interaction=enrich))
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    no = sample.ok("event", "sales.invoice", "--document-no", "INV-1", "--contact", "P1", "-q").stdout.strip()
    entry = sample.ok("show", no, "-f", "json").json()
    assert (entry["salesperson_code"], entry["campaign_no"]) == ("JO", "CAMP")

    draft = logbook.draft("P1", "CALL")
    assert draft.checked
    draft.salesperson_code = "anna"
    assert not draft.checked
    saved = logbook.save(draft)
    assert logbook.get(saved.entry_no).salesperson_code == "ANNA"

    before = snapshot()
    draft = logbook.draft("P1", "CALL")
    draft.version_no = "abc"
    with pytest.raises(BadValue, match="version"):
        logbook.save(draft)
    draft = logbook.draft("P1", "CALL")
    draft.cost = float("nan")
    with pytest.raises(BadValue):
        logbook.save(draft)
    assert snapshot() == before

def test_assigning_a_draft_the_value_it_has_keeps_it_checked_and_any_other_value_does_not(sample, logbook):
    """The core stamps an event's document fields on whatever draft a hook built: on the
    default draft, which was given them, that assigns what is there, and nothing is
    validated twice. Same type and equal, or it is checked again."""
    draft = logbook.draft("P1", "CALL", document_no="INV-1", version_no=1, cost=2.5)
    assert draft.checked
    draft.document_no, draft.version_no, draft.cost, draft.campaign_no = "INV-1", 1, 2.5, None
    assert draft.checked
    for name, other in (("version_no", True), ("version_no", 1.0), ("cost", 2), ("document_no", "INV-2"),
                        ("campaign_no", "")):
        again = logbook.draft("P1", "CALL", document_no="INV-1", version_no=1, cost=2.5)
        setattr(again, name, other)
        assert not again.checked, (name, other)


def test_an_events_entry_says_the_same_of_its_document_whoever_built_the_draft(sample, plugins):
    """The default draft is given the document fields; a hook's own draft gets them stamped
    and checked before the save: on both, the entry says the same of the document."""
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    first = sample.ok("event", "sales.invoice", "--document-no", "INV-1", "--contact", "P1", "--key", "k1",
                      "--version", "2", "-q").stdout.strip()

    def own_draft(event, logbook):
        return logbook.draft(event.contact_no, "CALL")

    plugins.append(Plugin("builder", interaction_from_document=own_draft))
    second = sample.ok("event", "sales.invoice", "--document-no", "INV-2", "--contact", "P1", "--key", "k2",
                       "--version", "2", "-q").stdout.strip()
    fields = ("source", "document_type", "document_no", "version_no", "idempotency_key")
    got = [{f: sample.ok("show", no, "-f", "json").json()[f] for f in fields} for no in (first, second)]
    assert got == [{"source": "event", "document_type": "sales.invoice", "document_no": f"INV-{i}",
                    "version_no": 2, "idempotency_key": f"k{i}"} for i in (1, 2)]


def test_saved_hook_gets_a_read_only_snapshot(plugins, sample):
    got = []

    def saved(interaction):
        got.append(interaction.entry_no)
        interaction.subject = "changed after the fact"

    plugins.append(Plugin("meddler", interaction_saved=saved))
    run = sample("interact", "P1", "-t", "CALL", "-q")
    assert run.exit_code == 0
    assert "plugin meddler failed in interaction_saved" in run.stderr and "read-only" in run.stderr
    assert sample.ok("show", got[0], "-f", "json").json()["subject"] == "Phone call"


def test_idempotent_replay_notifies_saved_with_created_false(recorder, sample):
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    args = ["event", "sales.invoice", "--document-no", "INV-1", "--contact", "P1", "--key", "k-1", "-q"]
    first = sample.ok(*args).stdout.strip()
    recorder.calls.clear()
    assert sample.ok(*args).stdout.strip() == first
    assert recorder.calls == [("saved", "event", int(first), False)]


# -- vetoes and exceptions before the save ---------------------------------------------------

RECORDING_COMMANDS = {
    "interact": ["interact", "P1", "-t", "CALL"],
    "event": ["event", "sales.invoice", "--document-no", "INV-9", "--contact", "P1"],
    "segment log": ["segment", "log", "S1"],
}


@pytest.fixture
def mapped(sample):
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    sample.ok("segment", "create", "--no", "S1", "-d", "Spring mailing", "-t", "MAIL")
    sample.ok("segment", "add", "S1", "P1", "P2", "P3")
    return sample


def test_segment_log_runs_the_pipeline_for_every_line(recorder, mapped):
    mapped.ok("segment", "log", "S1")
    entries = sorted(e["entry_no"] for e in mapped.ok("log", "--segment", "S1", "-f", "json").json())
    assert len(entries) == 3
    assert recorder.names() == ["enrich", "validate"] * 3 + ["saved"] * 3
    assert [c[2] for c in recorder.calls if c[0] == "saved"] == entries
    assert {c[1] for c in recorder.calls} == {"segment"}


@pytest.mark.parametrize("command", sorted(RECORDING_COMMANDS))
def test_validator_veto_stops_the_command_and_changes_nothing(command, plugins, mapped, snapshot):
    plugins.append(Plugin("credit-check", validate_interaction=lambda interaction: "customer P1 is on credit hold"))
    plugins.append(Plugin("rules", validate_interaction=lambda interaction: ["no subject rule", None, "weekday rule"]))
    plugins.append(Plugin("happy", validate_interaction=lambda interaction: None))
    before = snapshot()
    run = mapped(*RECORDING_COMMANDS[command])
    assert run.exit_code == 1 and run.stdout == ""
    assert run.stderr.startswith("ilog: error:") and len(run.stderr.splitlines()) == 1
    assert "plugin credit-check: customer P1 is on credit hold" in run.stderr
    assert "plugin rules: no subject rule" in run.stderr and "plugin rules: weekday rule" in run.stderr
    assert "happy" not in run.stderr
    assert snapshot() == before


@pytest.mark.parametrize("hook", ["enrich_interaction", "validate_interaction"])
@pytest.mark.parametrize("command", sorted(RECORDING_COMMANDS))
def test_hook_raising_before_the_save_stops_the_command(command, hook, plugins, mapped, snapshot):
    after = Recorder("after")
    plugins.extend([after, Plugin("erp-sync", **{hook: boom})])
    before = snapshot()
    run = mapped(*RECORDING_COMMANDS[command])
    assert run.exit_code == 1 and run.stdout == ""
    assert run.stderr == f"ilog: error: plugin erp-sync failed in {hook}: RuntimeError: printer on fire\n"
    assert snapshot() == before
    assert "saved" not in after.names()


@pytest.mark.parametrize("hook", ["interaction_from_document", "resolve_contact"])
def test_event_hooks_raising_stop_the_event(hook, plugins, mapped, snapshot):
    plugins.append(Plugin("erp", **{hook: boom}))
    before = snapshot()
    who = ["--ref", "10000"] if hook == "resolve_contact" else ["--contact", "P1"]
    run = mapped("event", "sales.invoice", "--document-no", "INV-9", *who)
    assert run.exit_code == 1
    assert run.stderr == f"ilog: error: plugin erp failed in {hook}: RuntimeError: printer on fire\n"
    assert snapshot() == before


@pytest.fixture
def veto(plugins):
    plugins.append(Plugin("veto", validate_interaction=lambda interaction: "not today"))


def test_a_veto_through_the_api_raises_validation_failed(veto, logbook, mapped, snapshot):
    before = snapshot()
    with pytest.raises(ValidationFailed) as info:
        logbook.record_event("sales.invoice", document_no="INV-1", contact_no="P1")
    assert info.value.messages == ["plugin veto: not today"]
    assert isinstance(info.value, PluginError) and snapshot() == before


# -- after the commit ------------------------------------------------------------------------

def test_hook_raising_after_the_commit_is_a_warning_and_others_still_run(plugins, mapped):
    rec = Recorder()
    plugins.extend([rec, Plugin("label-printer", interaction_saved=boom)])  # the last registered runs first
    for name, args in RECORDING_COMMANDS.items():
        if name == "segment log":
            continue  # prints the logged segment number; see test_segment_log_after_commit_failure
        rec.calls.clear()
        run = mapped(*args, "-q")
        assert run.exit_code == 0
        no = int(run.stdout)
        assert run.stderr == ("ilog: warning: plugin label-printer failed in interaction_saved "
                              "(the change is saved): RuntimeError: printer on fire\n")
        assert rec.calls[-1][0] == "saved" and rec.calls[-1][2] == no
        assert mapped.ok("show", no, "-f", "json").json()["entry_no"] == no


def test_segment_log_after_commit_failure_is_a_warning(plugins, mapped):
    rec = Recorder()
    plugins.extend([rec, Plugin("label-printer", interaction_saved=boom)])
    run = mapped("segment", "log", "S1", "-q")
    assert run.exit_code == 0 and run.stderr.count("plugin label-printer failed in interaction_saved") == 3
    assert len(mapped.ok("log", "--segment", "S1", "-f", "json").json()) == 3
    assert rec.names().count("saved") == 3


def test_cancel_restore_and_purge_hooks(plugins, sample):
    rec = Recorder()
    plugins.extend([rec, Plugin("archiver", interaction_cancelled=boom, interaction_restored=boom,
                                interactions_purged=boom)])
    first = int(sample.ok("interact", "P1", "-t", "CALL", "-q", "--date", "2020-01-02").stdout)
    second = int(sample.ok("interact", "P2", "-t", "CALL", "-q", "--date", "2020-01-03").stdout)
    rec.calls.clear()
    run = sample("cancel", first, second, "--yes")
    assert run.exit_code == 0 and run.stderr.count("plugin archiver failed in interaction_cancelled") == 2
    assert rec.calls == [("cancelled", first, True), ("cancelled", second, True)]
    rec.calls.clear()
    run = sample("restore", second, "--yes")
    assert run.exit_code == 0 and "plugin archiver failed in interaction_restored" in run.stderr
    assert rec.calls == [("restored", second, False)]
    rec.calls.clear()
    run = sample("purge-cancelled", "--before", "2021-01-01", "--yes")
    assert run.exit_code == 0 and "plugin archiver failed in interactions_purged" in run.stderr
    assert rec.calls == [("purged", [first])]
    assert sample("show", first).exit_code == 1 and sample("show", second).exit_code == 0


# -- document events -------------------------------------------------------------------------

def test_resolve_contact_first_answer_wins_last_registered_asked_first(plugins, mapped):
    asked = []

    def by_prefix(ref):
        asked.append("by-prefix")
        return "P2" if ref.startswith("K-") else None

    def by_table(ref, event):
        asked.append("by-table")
        assert event.event == "sales.invoice"
        return {"10000": "P1", "K-1": "P3"}.get(ref)

    plugins.extend([Plugin("by-table", resolve_contact=by_table), Plugin("by-prefix", resolve_contact=by_prefix)])
    no = mapped.ok("event", "sales.invoice", "--document-no", "INV-1", "--ref", "K-1", "-q").stdout.strip()
    assert asked == ["by-prefix"] and mapped.ok("show", no, "-f", "json").json()["contact_no"] == "P2"
    asked.clear()
    no = mapped.ok("event", "sales.invoice", "--document-no", "INV-2", "--ref", "10000", "-q").stdout.strip()
    assert asked == ["by-prefix", "by-table"] and mapped.ok("show", no, "-f", "json").json()["contact_no"] == "P1"
    run = mapped("event", "sales.invoice", "--document-no", "INV-3", "--ref", "99999")
    assert run.exit_code == 1 and "cannot resolve reference '99999'" in run.stderr


def test_interaction_from_document_overrides_the_template_setup(plugins, sample):
    def from_document(event, logbook):
        if event.event != "sales.quote":
            return None  # let the template setup decide
        return logbook.draft(event.contact_no, "MAIL", subject=f"Quote {event.document_no} sent")

    plugins.append(Plugin("quotes", interaction_from_document=from_document))
    no = sample.ok("event", "sales.quote", "--document-no", "Q-7", "--contact", "P3", "-q").stdout.strip()
    entry = sample.ok("show", no, "-f", "json").json()
    assert (entry["template_code"], entry["subject"], entry["document_type"], entry["document_no"],
            entry["occurrence"], entry["source"]) == ("MAIL", "Quote Q-7 sent", "sales.quote", "Q-7", 1, "event")
    run = sample("event", "sales.invoice", "--document-no", "INV-1", "--contact", "P3")
    assert run.exit_code == 0 and run.stdout == "" and "no template is set up" in run.stderr


def test_document_events_declared_by_a_plugin(plugins, sample):
    plugins.append(Plugin("erp", document_events=lambda: ["erp.delivery-note", "sales.invoice"]))
    listed = [row["event"] for row in sample.ok("template", "setup", "-f", "json").json()]
    assert listed.count("sales.invoice") == 1 and listed[-1] == "erp.delivery-note"
    sample.ok("template", "setup", "erp.delivery-note", "INVOICE")
    no = sample.ok("event", "erp.delivery-note", "--document-no", "DN-1", "--contact", "P1", "-q").stdout.strip()
    assert sample.ok("show", no, "-f", "json").json()["document_type"] == "erp.delivery-note"
    plugins.clear()
    assert sample("event", "erp.delivery-note", "--document-no", "DN-1", "--contact", "P1").exit_code == 2


def test_document_events_raising_names_the_plugin(plugins, sample):
    plugins.append(Plugin("erp", document_events=boom))
    run = sample("template", "setup")
    assert run.exit_code == 1 and run.stderr == "ilog: error: plugin erp failed in document_events: RuntimeError: printer on fire\n"


# -- commands --------------------------------------------------------------------------------

def test_register_commands_adds_a_command(plugins, sample):
    import typer

    def register(app):
        @app.command("hello")
        def hello(name: str) -> None:
            """Greet.

            Example: ilog hello world
            """
            print(f"hello {name}")

    plugins.append(Plugin("greeter", register_commands=register))
    assert sample.ok("hello", "ilog").stdout == "hello ilog\n"
    assert typer  # the plugin's command is a plain Typer command


@pytest.mark.parametrize("name", ["event", "log", "template"])
def test_a_plugin_command_clashing_with_a_core_command_is_an_error(name, plugins, cli):
    plugins.append(Plugin("shadow", register_commands=lambda app: app.command(name)(lambda: print("shadowed"))))
    run = cli("log")
    assert run.exit_code == 1 and run.stdout == ""
    assert run.stderr == (f"ilog: error: plugin shadow registers command '{name}', which is already taken by "
                          "an ilog command: rename it or remove one of them\n")


def test_two_plugins_registering_the_same_command_names_the_second(plugins, cli):
    plugins.append(Plugin("one", register_commands=lambda app: app.command("sync")(lambda: print("one"))))
    plugins.append(Plugin("two", register_commands=lambda app: app.command("sync")(lambda: print("two"))))
    run = cli("sync")
    assert run.exit_code == 1 and run.stdout == ""
    assert "plugin two registers command 'sync', which is already taken by plugin one" in run.stderr
