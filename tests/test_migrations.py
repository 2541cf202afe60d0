"""Schema versions: a database of the first released schema (version 1, frozen in
tests/data/schema_v1.*.sql) upgrades in place with every row intact; a newer database is
read-only; an older one asks for `ilog init`; many processes create or upgrade it once."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import BACKEND

DATA = Path(__file__).parent / "data"
SCHEMA = 5  #: the schema version this ilog writes (ilog.store.tables.SCHEMA_VERSION, checked below)
T0 = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)


def engine_for(url: str) -> sa.engine.Engine:
    from ilog.store.urls import normalise_url

    return sa.create_engine(normalise_url(url), poolclass=sa.pool.NullPool)


def dump(url: str, tables, columns: dict[str, list[str]] | None = None) -> dict[str, list]:
    """Every row of the given tables in primary-key order: the ``columns`` given per table, else
    those the database has now (so a later version's added columns can be left out)."""
    engine = engine_for(url)
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        out = {}
        for t in tables:
            names = columns[t.name] if columns else [c["name"] for c in inspector.get_columns(t.name)]
            out[t.name] = [tuple(r) for r in conn.execute(
                sa.select(*[t.c[n] for n in names]).order_by(*t.primary_key.columns))]
    engine.dispose()
    return out


def columns_of(url: str, tables) -> dict[str, list[str]]:
    engine = engine_for(url)
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        out = {t.name: [c["name"] for c in inspector.get_columns(t.name)] for t in tables}
    engine.dispose()
    return out


def set_version(url: str, version: int) -> None:
    from ilog.store import tables as models

    engine = engine_for(url)
    with engine.begin() as conn:
        conn.execute(models.meta.update().where(models.meta.c.key == "schema_version").values(value=str(version)))
    engine.dispose()


def schema_of(url: str) -> dict:
    """Tables, columns, keys and indexes as the database itself reports them."""
    engine = engine_for(url)
    with engine.connect() as conn:
        insp = sa.inspect(conn)
        schema = {}
        for table in sorted(insp.get_table_names()):
            schema[table] = {
                # the type's text and its zone: TIMESTAMP and TIMESTAMP WITH TIME ZONE print alike
                "columns": [(c["name"], str(c["type"]), getattr(c["type"], "timezone", None), c["nullable"],
                             str(c.get("default"))) for c in insp.get_columns(table)],
                "pk": insp.get_pk_constraint(table),
                "fks": sorted(insp.get_foreign_keys(table), key=lambda f: str(f)),
                "indexes": sorted(({**i, "dialect_options": {k: str(v) for k, v in i.get("dialect_options", {}).items()}}
                                   for i in insp.get_indexes(table)), key=lambda i: i["name"]),
                "unique": sorted(insp.get_unique_constraints(table), key=lambda u: str(u)),
            }
        schema["(triggers)"] = triggers_of(conn)
    engine.dispose()
    return schema


def triggers_of(conn) -> list:
    """The triggers (and, on PostgreSQL, their functions) as the database reports them."""
    if conn.dialect.name == "sqlite":
        return sorted(tuple(r) for r in conn.exec_driver_sql(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"))
    triggers = conn.exec_driver_sql(
        "SELECT tgname, tgrelid::regclass::text, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal")
    functions = conn.exec_driver_sql(
        "SELECT proname, '', pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema() AND left(proname, 5) = 'ilog_'")
    return sorted(tuple(r) for r in [*triggers, *functions])


V1_TABLES = ("ilog_meta", "number_series", "contact", "interaction_group", "attachment", "interaction_template",
             "template_setup", "interaction", "interaction_comment", "idempotency_key", "document_occurrence",
             "segment", "segment_line", "logged_segment")


def make_v1_database(url: str) -> None:
    """A database exactly as ilog's first release made it, with a little of everything in it."""
    from ilog.store import tables as m

    script = (DATA / f"schema_v1.{BACKEND}.sql").read_text()
    statements = [s for s in (chunk.strip() for chunk in script.split(";\n")) if s]
    engine = engine_for(url)
    with engine.begin() as conn:
        for statement in statements:
            body = "\n".join(line for line in statement.splitlines() if not line.startswith("--"))
            if body.strip():
                conn.exec_driver_sql(body)
        for code, last in (("entry", 4), ("contact", 1)):
            conn.execute(m.number_series.update().where(m.number_series.c.code == code).values(last_no=last))
        conn.execute(m.contact.insert(), [
            dict(no="C1", type="company", name="Rossi SpA", company_no=None, email="info@rossi.it",
                 created_at=T0, updated_at=T0),
            dict(no="CT000001", type="person", name="Mario Rossi", company_no="C1", email="mario@rossi.it",
                 created_at=T0, updated_at=T0),
        ])
        conn.execute(m.interaction_group.insert(), [dict(code="SALES", description="Sales")])
        conn.execute(m.attachment.insert(), [dict(id=1, sha256="ab" * 32, name="inv.pdf", media_type="application/pdf",
                                                  size=4, content=b"%PDF", created_at=T0)])
        template = dict(description="Invoice", group_code="SALES", kind="letter", flow="outbound", initiated_by="us",
                        unit_cost=0.5, unit_duration_min=0, attempt_failed=False, correspondence="hard-copy",
                        created_at=T0)
        conn.execute(m.interaction_template.insert(), [dict(template, code="INVOICE"),
                                                      dict(template, code="CALL", kind="phone-call",
                                                           correspondence="none", description="Call")])
        conn.execute(m.template_setup.insert(), [dict(event="sales.invoice", template_code="INVOICE")])
        entry = dict(contact_no="CT000001", company_no="C1", kind="letter", flow="outbound", initiated_by="us",
                     attempt_failed=False, cost=0.5, duration_min=0.0, user_id="erp", evaluation="none",
                     cancelled=False, postponed=False, state="done", correspondence="hard-copy", created_at=T0,
                     template_code="INVOICE", group_code="SALES")
        for row in [
            dict(entry, entry_no=1, occurred_at=T0, subject="Invoice INV-1", document_type="sales.invoice",
                 document_no="INV-1", occurrence=1, source="event", idempotency_key="print-1", attachment_id=1),
            dict(entry, entry_no=2, occurred_at=T0, subject="Invoice INV-1", document_type="sales.invoice",
                 document_no="INV-1", occurrence=2, source="event"),
            dict(entry, entry_no=4, occurred_at=T0, subject="Called Mario", template_code="CALL", kind="phone-call",
                 correspondence="none", source="manual", user_id="anna", cancelled=True, cancelled_at=T0),
        ]:
            conn.execute(m.interaction.insert().values(**row))
        conn.execute(m.interaction_comment.insert(), [dict(entry_no=1, line_no=1, created_at=T0, user_id="anna",
                                                           text="paid")])
        conn.execute(m.idempotency_key.insert(), [dict(key="print-1", entry_no=1, created_at=T0),
                                                  dict(key="purged-3", entry_no=3, created_at=T0)])
        conn.execute(m.document_occurrence.insert(), [dict(document_type="sales.invoice", document_no="INV-1",
                                                           last_occurrence=2)])
        conn.execute(m.segment.insert(), [dict(no="SEG00001", description="Fair", state="logged", created_at=T0)])
        conn.execute(m.segment_line.insert(), [dict(segment_no="SEG00001", line_no=1, contact_no="C1")])
        conn.execute(m.logged_segment.insert(), [dict(no="LSEG00001", segment_no="SEG00001", entry_count=0,
                                                      logged_at=T0, cancelled=False)])
    engine.dispose()


@pytest.fixture
def v1_url(db_url):
    make_v1_database(db_url)
    return db_url


def test_every_version_after_the_first_has_a_step():
    from ilog.store.migrations import STEPS
    from ilog.store.tables import SCHEMA_VERSION

    assert sorted(STEPS) == list(range(2, SCHEMA_VERSION + 1)) and SCHEMA_VERSION == SCHEMA


def test_a_new_database_is_created_at_the_newest_version(cli):
    from ilog.store.tables import SCHEMA_VERSION

    assert "created database" in cli.ok("init").stderr
    status = cli.ok("db", "status", "-f", "json").json()
    assert status["schema_version"] == SCHEMA_VERSION
    assert [(h["version"], h["action"]) for h in status["history"]] == [(SCHEMA_VERSION, "created")]
    assert "up to date" in cli.ok("db", "status").stdout


def test_an_older_database_asks_for_init_and_changes_nothing(v1_url, cli, snapshot):
    before = snapshot()
    for args in (("log",), ("interact", "C1", "-t", "CALL"), ("contact", "add", "New")):
        run = cli(*args)
        assert run.exit_code == 1, args
        assert run.stderr.splitlines() == [
            f"ilog: error: the database is at schema version 1, this ilog needs {SCHEMA}: run `ilog init` to upgrade it"]
    status = cli.ok("db", "status", "-f", "json").json()
    assert status["schema_version"] == 1 and status["status"].startswith("older than this ilog")
    assert snapshot() == before


@pytest.mark.parametrize("command", ["init", "db upgrade"])
def test_a_version_1_database_upgrades_in_place_keeping_every_row(v1_url, cli, command):
    from ilog.store import tables as models

    tables = [models.metadata.tables[name] for name in V1_TABLES]
    v1_columns = columns_of(v1_url, tables)
    before = dump(v1_url, tables, v1_columns)
    run = cli.ok(command)
    assert "upgraded database" in run.stderr and f"from schema version 1 to {SCHEMA}" in run.stderr
    assert "up to date" in cli.ok(command).stderr  # safe to run again

    status = cli.ok("db", "status", "-f", "json").json()
    assert status["schema_version"] == models.SCHEMA_VERSION == SCHEMA
    assert [(h["version"], h["action"]) for h in status["history"]] == [(v, "upgraded") for v in range(2, SCHEMA + 1)]
    after = dump(v1_url, tables, v1_columns)
    after["ilog_meta"] = [row for row in after["ilog_meta"] if row[0] != "schema_version"]
    before["ilog_meta"] = [row for row in before["ilog_meta"] if row[0] != "schema_version"]
    assert after == before

    # version 5: the summary holds the entries that were there (the cancelled one does not count)
    by_month = cli.ok("stats", "--by", "month", "-f", "json").json()
    assert [(r["month"], r["count"], r["cost"]) for r in by_month] == [("2026-01", 2, 1.0)]

    # the upgraded log goes on where it stopped: numbers, keys, occurrences, links
    log = cli.ok("log", "C1", "--rollup", "--include-cancelled", "-f", "json").json()
    assert sorted(e["entry_no"] for e in log) == [1, 2, 4]
    assert cli.ok("interact", "CT000001", "-t", "CALL", "-q").stdout.strip() == "5"
    event = ("event", "sales.invoice", "--document-no", "INV-1", "--contact", "CT000001")
    replay = cli.ok(*event, "--key", "print-1")
    assert replay.stdout.strip() == "1" and "already recorded" in replay.stderr
    assert cli.ok(*event, "--key", "purged-3").stdout.strip() == "3"  # a purged entry's key still holds
    assert cli.ok(*event, "-q").stdout.strip() == "6"
    assert cli.ok("show", "6", "-f", "json").json()["occurrence"] == 3
    assert cli.ok("contact", "add", "Anna Verdi", "--company", "C1").stdout.strip() == "CT000002"
    assert [e["entry_no"] for e in cli.ok("log", "--user", "anna", "--include-cancelled", "-f", "json").json()] == [4]
    # version 3: every entry that existed has an owner, the user who logged it
    every = cli.ok("log", "--include-cancelled", "--postponed", "-f", "json").json()
    every += cli.ok("log", "--include-cancelled", "-f", "json").json()
    assert every and all(e["owner"] == e["user_id"] for e in every)


def test_an_upgraded_database_has_exactly_the_schema_of_a_new_one(v1_url, new_db_url, cli):
    from ilog.store.database import Database
    from ilog.store.migrations import upgrade

    cli.ok("init")
    fresh = new_db_url()
    db = Database(fresh)
    assert upgrade(db) == (None, SCHEMA)
    db.dispose()
    upgraded, created = schema_of(v1_url), schema_of(fresh)
    assert set(upgraded) == set(created)
    for table in created:
        assert upgraded[table] == created[table], table
    indexes = {i["name"]: i["column_names"] for i in created["interaction"]["indexes"]}
    assert indexes["ix_interaction_user_id_occurred_at"] == ["user_id", "occurred_at"]


def test_a_newer_database_is_readable_but_never_written(cli, snapshot, db_url):
    cli.ok("contact", "add", "Rossi SpA", "--no", "C1", "--type", "company")
    cli.ok("template", "add", "CALL", "--kind", "phone-call", "--flow", "outbound")
    set_version(db_url, SCHEMA + 1)
    before = snapshot()
    from ilog import __version__

    message = (f"ilog: error: the database is at schema version {SCHEMA + 1}, newer than this ilog ({__version__}, "
               f"schema version {SCHEMA}): refusing to write; upgrade ilog")
    for args in (("contact", "add", "Other"), ("interact", "C1", "-t", "CALL"), ("cancel", "1", "--yes")):
        run = cli(*args)
        assert (run.exit_code, run.stderr.splitlines()) == (1, [message]), args
    run = cli("init")
    assert run.exit_code == 1 and "refusing to change it; upgrade ilog" in run.stderr
    assert [c["no"] for c in cli.ok("contact", "list", "-f", "json").json()] == ["C1"]
    assert cli.ok("log", "-f", "json").json() == []
    status = cli.ok("db", "status", "-f", "json").json()
    assert (status["schema_version"], status["ilog_schema_version"]) == (SCHEMA + 1, SCHEMA)
    assert status["status"].startswith("newer than this ilog")
    assert snapshot() == before


def _together(count: int, work) -> list:
    """Run ``work(i)`` in ``count`` threads released at the same moment; re-raise any failure."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_many_processes_on_a_new_database_create_it_once(db_url):
    from ilog.testing import open_logbook
    from ilog.store.migrations import status

    def add(i: int) -> str:
        with open_logbook(db_url, user=f"host{i}") as logbook:
            return logbook.contacts.add(f"Contact {i}").no

    numbers = _together(6, add)
    assert sorted(numbers) == [f"CT{n:06d}" for n in range(1, 7)]
    with open_logbook(db_url) as logbook:
        assert [(h["version"], h["action"]) for h in status(logbook.db)["history"]] == [(SCHEMA, "created")]


def test_many_hosts_upgrading_at_once_upgrade_once(v1_url):
    from ilog.store.database import Database
    from ilog.store.migrations import status, upgrade

    def run(_: int) -> tuple:
        db = Database(v1_url)
        try:
            return upgrade(db)
        finally:
            db.dispose()

    # each step is its own transaction: a host that starts between two steps finds the version
    # the first host reached so far, and only the steps after it are left (the history below
    # proves each ran once)
    results = _together(5, run)
    assert all(after == SCHEMA and 1 <= before <= SCHEMA for before, after in results) and (1, SCHEMA) in results
    db = Database(v1_url)
    assert [(h["version"], h["action"]) for h in status(db)["history"]] == [(v, "upgraded") for v in range(2, SCHEMA + 1)]
    db.dispose()
