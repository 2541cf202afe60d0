"""Hostile and broken input through the real CLI: each gives one ``ilog: error:`` line on
stderr, the documented exit status (2 for a bad value, 1 for a refusal or a plugin failure)
and an unchanged database (a checksum of every row of every table)."""

from __future__ import annotations

import pytest

from helpers.proc import ilog
from ilog import hookimpl


def one_error_line(run, status: int, *, stderr: str | None = None) -> str:
    """Assert exit ``status`` and exactly one ``ilog: error:`` line (no traceback); return it."""
    err = run.stderr if stderr is None else stderr
    assert run.exit_code == status, (run.exit_code, err, run.stdout)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ilog: error: "), err
    assert "Traceback" not in err
    return lines[0]


# -- dates ------------------------------------------------------------------------------------

BAD_DATES = ["2026-02-30", "24:61", "2026-01-01T24:61", "tomorow", "03/04/2026", "4.3.2026", "", "  ",
             "2026-13-01", "-3x", "0000-01-01", "10000-01-01", "1e9", "today; DROP TABLE interaction"]


@pytest.mark.parametrize("text", BAD_DATES)
def test_invalid_and_ambiguous_dates_exit_2_naming_the_text(sample, snapshot, text):
    before = snapshot()
    for args in (["interact", "P1", "-t", "CALL", "--date", text],
                 ["log", "--from", text],
                 ["event", "sales.invoice", "--document-no", "X", "--contact", "P1", "--date", text],
                 ["purge-cancelled", "--before", text, "--yes"]):
        line = one_error_line(sample(*args), 2)
        if text.strip():
            assert repr(text) in line or text in line, line
    assert snapshot() == before


@pytest.mark.parametrize("age", ["90", "90x", "d", "-1d", "1.5y", "tomorow"])
def test_invalid_ages_exit_2(sample, snapshot, age):
    before = snapshot()
    one_error_line(sample("purge-cancelled", "--older-than", age, "--yes"), 2)
    assert snapshot() == before


def test_a_time_in_the_daylight_saving_gap_is_refused(sample, snapshot, monkeypatch):
    monkeypatch.setenv("ILOG_TIMEZONE", "Europe/Berlin")
    before = snapshot()
    line = one_error_line(sample("interact", "P1", "-t", "CALL", "--date", "2026-03-29T02:30"), 2)
    assert "2026-03-29T02:30" in line and "daylight-saving" in line
    assert snapshot() == before
    # the same wall time a day later exists, and is stored in UTC
    sample.ok("interact", "P1", "-t", "CALL", "--date", "2026-03-30T02:30")
    stored = sample.ok("show", "1", "-f", "json").json()["occurred_at"]
    assert stored == "2026-03-30T02:30:00+02:00"


def test_the_daylight_saving_gap_is_refused_in_a_real_process(sample, snapshot, db_url):
    before = snapshot()
    run = ilog("interact", "P1", "-t", "CALL", "--date", "2026-03-29T02:30", db=db_url,
               extra_env={"ILOG_TIMEZONE": "Europe/Berlin"})
    err = run.stderr.decode()
    assert run.returncode == 2 and err.startswith("ilog: error: ") and len(err.strip().splitlines()) == 1, err
    assert run.stdout == b""
    assert snapshot() == before


# -- text: NUL, invalid UTF-8, huge values, SQL-looking strings ---------------------------------

TEXT_OPTIONS = [
    ["interact", "P1", "-t", "CALL", "--subject", "{}"],
    ["interact", "P1", "-t", "CALL", "--key", "{}"],
    ["interact", "P1", "-t", "CALL", "--document-no", "{}"],
    ["interact", "{}", "-t", "CALL"],
    ["event", "sales.invoice", "--contact", "P1", "--document-no", "{}"],
    ["event", "sales.invoice", "--contact", "P1", "--document-no", "D1", "--key", "{}"],
    ["contact", "add", "{}"],
    ["contact", "add", "Name", "--phone", "{}"],
    ["contact", "edit", "P1", "--name", "{}"],
    ["template", "add", "T9", "--description", "{}"],
    ["comment", "1", "{}"],
    ["segment", "create", "--description", "{}"],
]


def _fill(args: list[str], value: str) -> list[str]:
    return [value if a == "{}" else a for a in args]


@pytest.mark.parametrize("args", TEXT_OPTIONS, ids=lambda a: " ".join(a[:2]))
def test_nul_bytes_are_refused(sample, snapshot, args):
    sample.ok("interact", "P1", "-t", "CALL")
    before = snapshot()
    line = one_error_line(sample(*_fill(args, "a\x00b")), 2)
    assert "NUL" in line
    assert snapshot() == before


@pytest.mark.parametrize("args", TEXT_OPTIONS, ids=lambda a: " ".join(a[:2]))
def test_invalid_utf8_in_argv_is_refused_cleanly(sample, snapshot, db_url, args):
    """Bytes that are not UTF-8 (a Latin-1 ERP, say) reach Python as lone surrogates."""
    sample.ok("interact", "P1", "-t", "CALL")
    before = snapshot()
    argv = [a.encode() for a in args]
    argv = [b"M\xfcller \xff" if a == b"{}" else a for a in argv]
    run = ilog(*argv, db=db_url)
    err = run.stderr.decode("utf-8", "replace")
    assert run.returncode == 2, err
    assert err.startswith("ilog: error: ") and len(err.strip().splitlines()) == 1, err
    assert "UTF-8" in err and "Traceback" not in err
    assert snapshot() == before


def test_invalid_utf8_user_name_is_refused(sample, snapshot, db_url):
    before = snapshot()
    run = ilog("--user", b"\xff\xfe", "interact", "P1", "-t", "CALL", db=db_url)
    err = run.stderr.decode("utf-8", "replace")
    assert run.returncode == 2 and err.startswith("ilog: error: ") and len(err.strip().splitlines()) == 1, err
    assert snapshot() == before


@pytest.mark.parametrize("args", TEXT_OPTIONS, ids=lambda a: " ".join(a[:2]))
def test_five_megabyte_values_hit_a_clear_size_limit(sample, snapshot, args):
    sample.ok("interact", "P1", "-t", "CALL")
    before = snapshot()
    line = one_error_line(sample(*_fill(args, "x" * 5_000_000)), 2)
    assert "too long" in line and "at most" in line
    assert len(line) < 300  # the value is not echoed back
    assert snapshot() == before


INJECTIONS = [
    "Robert'); DROP TABLE interaction;--",
    "' OR '1'='1",
    "1; DELETE FROM contact WHERE 1=1",
    "%' OR 1=1 --",
    "_%\\",
    "\"; PRAGMA writable_schema=1; --",
    "$$; SELECT pg_sleep(10); $$",
    "\u202eevil\u202c ✓ 🧾 Zażółć",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_sql_looking_strings_are_stored_verbatim(sample, text):
    no = sample.ok("interact", "P1", "-t", "CALL", "--subject", text, "--document-no", text[:50],
                   "--key", text, "-q").stdout.strip()
    entry = sample.ok("show", no, "-f", "json").json()
    assert (entry["subject"], entry["document_no"], entry["idempotency_key"]) == (text, text[:50], text)
    contact = sample.ok("contact", "add", text, "--phone", text[:30]).stdout.strip()
    assert sample.ok("contact", "show", contact, "-f", "json").json()["name"] == text
    # search treats the text as text: LIKE wildcards and quotes match only themselves
    found = sample.ok("log", "--search", text, "-f", "json").json()
    assert [e["entry_no"] for e in found] == [int(no)]
    assert sample.ok("log", "--search", "%", "-f", "json").json() == (found if "%" in text else [])
    # every table is still there
    assert sample.ok("contact", "show", "P1", "-f", "json").json()["no"] == "P1"


# -- plugins that raise ----------------------------------------------------------------------


class Raiser:
    """A plugin whose one hook raises."""

    def __init__(self, hook: str):
        self.__name__ = f"raise_in_{hook}"
        self.hook = hook

        def boom(*_args, **_kwargs):
            raise RuntimeError(f"boom in {hook}")

        boom.__name__ = hook
        # pluggy matches implementations by attribute name; declare the arguments the spec has
        import inspect

        from ilog.plugins import hookspecs

        spec = getattr(hookspecs, hook)
        params = list(inspect.signature(spec).parameters)
        namespace: dict = {}
        exec(f"def {hook}({', '.join(params)}):\n    _boom()", {"_boom": boom}, namespace)  # noqa: S102
        setattr(self, hook, hookimpl(namespace[hook]))


class ResolveRef:
    __name__ = "resolve_ref"

    @staticmethod
    @hookimpl
    def resolve_contact(ref):
        return "P1" if ref == "ERP-P1" else None


BEFORE_SAVE = {
    "enrich_interaction": ["interact", "P1", "-t", "CALL"],
    "validate_interaction": ["interact", "P1", "-t", "CALL"],
    "interaction_from_document": ["event", "sales.invoice", "--document-no", "D1", "--contact", "P1"],
    "resolve_contact": ["event", "sales.invoice", "--document-no", "D1", "--ref", "ERP-P1"],
    "document_events": ["event", "acme.delivery-note", "--document-no", "D1", "--contact", "P1"],
}


@pytest.mark.parametrize("hook", sorted(BEFORE_SAVE))
def test_a_plugin_raising_before_the_save_changes_nothing(plugins, sample, snapshot, hook):
    sample.ok("template", "setup", "sales.invoice", "INVOICE")
    plugins.append(Raiser(hook))
    before = snapshot()
    line = one_error_line(sample(*BEFORE_SAVE[hook]), 1)
    assert f"raise_in_{hook}" in line and f"boom in {hook}" in line
    assert snapshot() == before


AFTER_COMMIT = {
    "interaction_saved": ["interact", "P1", "-t", "CALL"],
    "interaction_cancelled": ["cancel", "1"],
    "interaction_restored": ["restore", "1"],
    "interactions_purged": ["purge-cancelled", "--before", "tomorrow", "--yes"],
    "contact_erased": ["contact", "erase", "P1", "--yes"],
}


@pytest.mark.parametrize("hook", sorted(AFTER_COMMIT))
def test_a_plugin_raising_after_the_commit_warns_and_exits_0(plugins, sample, snapshot, hook):
    sample.ok("interact", "P1", "-t", "CALL")
    if hook in ("interaction_restored", "interactions_purged"):
        sample.ok("cancel", "1")
    plugins.append(Raiser(hook))
    before = snapshot()
    run = sample(*AFTER_COMMIT[hook])
    assert run.exit_code == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if line.startswith("ilog: warning:")]
    assert len(warnings) == 1 and f"raise_in_{hook}" in warnings[0] and f"boom in {hook}" in warnings[0], run.stderr
    assert "Traceback" not in run.stderr
    assert snapshot() != before  # the change is committed all the same


def test_a_plugin_raising_in_register_commands_stops_start_up_cleanly(tmp_path, db_url):
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir()
    (plugin_dir / "broken_cmds.py").write_text(
        "from ilog import hookimpl\n\n@hookimpl\ndef register_commands(app):\n    raise RuntimeError('no commands today')\n")
    run = ilog("log", db=db_url, extra_env={"ILOG_PLUGINS_DIR": str(plugin_dir), "ILOG_LOAD_PLUGINS": "broken_cmds"})
    err = run.stderr.decode()
    assert run.returncode == 1 and err.startswith("ilog: error: ") and len(err.strip().splitlines()) == 1, err
    assert "broken_cmds" in err and "no commands today" in err


def test_a_plugin_file_that_fails_to_import_is_an_error_not_skipped(tmp_path, db_url):
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir()
    (plugin_dir / "typo.py").write_text("import this_module_does_not_exist\n")
    run = ilog("log", db=db_url, extra_env={"ILOG_PLUGINS_DIR": str(plugin_dir), "ILOG_LOAD_PLUGINS": "typo"})
    err = run.stderr.decode()
    assert run.returncode == 1 and err.startswith("ilog: error: ") and "typo.py" in err, err


# -- broken and hostile import files ---------------------------------------------------------

GOOD = "Good One,g@example.com\n"
BROKEN_FILES = {  # name -> (bytes, the line the error names)
    "unterminated-quote.csv": (f'name,email\n{GOOD}"Unterminated,u@example.com\nAfter,a@example.com\n'.encode(), 3),
    "nul-byte.csv": (f"name,email\n{GOOD}Nul\x00Name,n@example.com\n".encode(), 3),
    # not UTF-8 and not Windows-1252 either (0x81 is no character there): refused, never guessed
    "not-utf-8.csv": (f"name,email\n{GOOD}".encode() + b"M\x81ller,m@example.com\n", 3),
    "huge-field.csv": (f"name,email\n{GOOD}{'x' * 200_000},h@example.com\n".encode(), 3),
    "malformed.xml": (b"<?xml version='1.0'?>\n<contacts>\n<contact><name>A</name></contact>\n<contact><name>B</nam>"
                      b"</contact>\n</contacts>\n", 4),
}


@pytest.mark.parametrize("name", sorted(BROKEN_FILES))
def test_a_broken_file_is_refused_before_anything_is_written(sample, snapshot, tmp_path, name):
    content, line = BROKEN_FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    before = snapshot()
    run = sample("contact", "import", str(path))
    errors = [x for x in run.stderr.splitlines() if x.startswith("ilog: error:")]
    assert run.exit_code in (1, 2) and len(errors) == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert name in errors[0] and (f"line {line}" in errors[0] or f"line {line}" in run.stderr), run.stderr
    assert snapshot() == before


def test_ragged_rows_are_reported_with_their_lines_and_all_or_nothing_writes_nothing(sample, snapshot, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text(f"name,email\n{GOOD}Ragged,r@example.com,extra\nShort\nFine,f@example.com\n")
    before = snapshot()
    run = sample("contact", "import", str(path), "--all-or-nothing")
    assert run.exit_code == 1, run.stderr
    assert "line 3" in run.stderr and "line 4" in run.stderr
    assert [x for x in run.stderr.splitlines() if x.startswith("ilog: error:")] == [
        "ilog: error: 2 rows failed; nothing imported (--all-or-nothing)"]
    assert snapshot() == before
    # without --all-or-nothing the good rows import and the bad ones are reported, never guessed
    run = sample("contact", "import", str(path))
    assert run.exit_code == 1 and "line 3" in run.stderr and "line 4" in run.stderr
    names = {c["name"] for c in sample.ok("contact", "list", "-f", "json").json()}
    assert {"Good One", "Fine"} <= names and not {"Ragged", "Short"} & names


@pytest.mark.parametrize("bom", [b"\xef\xbb\xbf", b""])
def test_a_byte_order_mark_is_not_part_of_the_first_header(sample, tmp_path, bom):
    path = tmp_path / "bom.csv"
    path.write_bytes(bom + b"name,email\nBom Person,b@example.com\n")
    sample.ok("contact", "import", str(path))
    found = [c for c in sample.ok("contact", "list", "-f", "json").json() if c["name"] == "Bom Person"]
    assert len(found) == 1 and found[0]["email"] == "b@example.com"
    assert not any("\ufeff" in str(v) for v in found[0].values())


XML_ATTACKS = {
    "billion-laughs.xml": """<?xml version="1.0"?>
<!DOCTYPE contacts [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"> <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"> <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"> <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
]>
<contacts><contact><name>&g;</name><email>x@example.com</email></contact></contacts>
""",
    "quadratic-blowup.xml": '<?xml version="1.0"?>\n<!DOCTYPE contacts [<!ENTITY a "' + "x" * 50_000 + '">]>\n'
                            "<contacts><contact><name>" + "&a;" * 2_000 + "</name></contact></contacts>\n",
    "external-entity.xml": """<?xml version="1.0"?>
<!DOCTYPE contacts [ <!ENTITY xxe SYSTEM "file://{secret}"> ]>
<contacts><contact><name>&xxe;</name><email>x@example.com</email></contact></contacts>
""",
    "parameter-entity.xml": """<?xml version="1.0"?>
<!DOCTYPE contacts [ <!ENTITY % remote SYSTEM "file://{secret}"> %remote; ]>
<contacts><contact><name>P</name><email>x@example.com</email></contact></contacts>
""",
    "external-dtd-entity.xml": """<?xml version="1.0"?>
<!DOCTYPE contacts SYSTEM "file://{dtd}">
<contacts><contact><name>&fromdtd;</name><email>x@example.com</email></contact></contacts>
""",
}


@pytest.mark.parametrize("name", sorted(XML_ATTACKS))
def test_xml_entity_attacks_are_refused(sample, snapshot, tmp_path, name):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY fromdtd SYSTEM "file://{secret}">')
    path = tmp_path / name
    path.write_text(XML_ATTACKS[name].replace("{secret}", str(secret)).replace("{dtd}", str(dtd)))
    before = snapshot()
    run = sample("contact", "import", str(path))
    assert run.exit_code in (1, 2), run.stderr
    errors = [x for x in run.stderr.splitlines() if x.startswith("ilog: error:")]
    assert len(errors) == 1 and "Traceback" not in run.stderr, run.stderr
    assert "TOP-SECRET" not in run.stdout + run.stderr
    assert snapshot() == before
