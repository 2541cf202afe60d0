"""The shape of the code, checked: layers that import only downwards, no import circles, SQL
only in the store (the import-linter contracts in pyproject.toml), and a public API whose
names are pinned and are the only ones docs/plugins.md uses."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

#: nothing here depends on the database: the PostgreSQL pass leaves it out (see conftest)
pytestmark = pytest.mark.any_backend

ROOT = Path(__file__).resolve().parent.parent
LINT = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))


def lint(src: Path) -> subprocess.CompletedProcess:
    """lint-imports with pyproject.toml's contracts on the ``ilog`` package found in ``src``."""
    return subprocess.run([LINT, "--config", str(ROOT / "pyproject.toml"), "--no-cache"], capture_output=True,
                          text=True, timeout=300, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(src)})


def test_the_import_contracts_hold():
    run = lint(ROOT / "src")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "4 kept, 0 broken" in run.stdout


@pytest.mark.parametrize("module, source, broken", [
    # an upward import: the domain reaching for the command line
    ("domain/shortcut.py", "from ilog.cli import render\n", "Layers"),
    # a circle inside one layer, through a lazy import
    ("services/echo.py", "def f():\n    from ilog.services import reports\n", "No import circles"),
    # SQL outside the store
    ("services/raw.py", "import sqlalchemy\n", "Only the store speaks SQL"),
])
def test_the_contracts_catch_an_upward_import_a_circle_and_sql_outside_the_store(tmp_path, module, source, broken):
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "ilog", copy / "ilog", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "ilog" / module).write_text(source)
    if module == "services/echo.py":  # close the circle: reports imports echo back
        with (copy / "ilog" / "services" / "reports.py").open("a") as handle:
            handle.write("\n\ndef _echo():\n    from . import echo  # noqa: F401\n")
    run = lint(copy)
    assert run.returncode != 0
    assert f"{broken}" in run.stdout and "BROKEN" in run.stdout, run.stdout[-2000:]


#: what plugin and ERP-script authors may use: a change here is a change of the public API
PUBLIC_API = [
    "AlreadyExists", "BadValue", "ChangeResult", "Comment", "Contact", "DatabaseError", "DatabaseUnavailable",
    "DocumentEvent", "EventOutcome", "IlogError", "Interaction", "InteractionGroup", "Interrupted", "LogFilter",
    "Logbook", "LogbookView", "LoggedSegment", "NotFound", "PluginError", "ReadOnlyDatabase", "ReadOnlyRecord",
    "RecordResult", "Refused", "Segment", "SegmentLine", "Template", "ValidationFailed", "__version__", "hookimpl",
    "logbook_for", "open", "parse_age", "parse_datetime", "record_event", "say",
]


def test_the_public_api_is_exactly_this_list_and_every_name_resolves():
    import ilog

    assert sorted(ilog.__all__) == sorted(PUBLIC_API)
    for name in PUBLIC_API:
        assert getattr(ilog, name) is not None, name
    assert issubclass(ilog.ReadOnlyRecord, ilog.IlogError) and issubclass(ilog.ValidationFailed, ilog.PluginError)


def test_docs_plugins_md_uses_only_public_names():
    import ilog

    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    used = set(re.findall(r"\bilog\.([A-Za-z_]\w*)", text))
    used |= {n.strip() for group in re.findall(r"from ilog import ([\w, ]+)", text) for n in group.split(",")}
    assert used, "the page names no ilog API at all?"
    allowed = set(ilog.__all__) | {"__all__", "testing", "db"}  # the pytest plugin; file names (ilog.db)
    assert used <= allowed, sorted(used - allowed)


def test_the_record_models_are_sqlmodel_classes_and_the_tables_are_made_from_them():
    """One description of the data: every table ilog creates is a SQLModel table class, and
    each domain table derives from the record base the API returns."""
    from sqlmodel import SQLModel

    import ilog
    from ilog.domain import records
    from ilog.store import models, tables

    table_classes = [c for c in vars(models).values() if isinstance(c, type) and issubclass(c, SQLModel)
                     and getattr(c, "__table__", None) is not None]
    assert {c.__table__.name for c in table_classes} == set(tables.metadata.tables)
    for record, table in ((ilog.Contact, models.ContactTable), (ilog.Interaction, models.InteractionTable),
                          (ilog.Template, models.TemplateTable), (ilog.Segment, models.SegmentTable)):
        base = next(b for b in record.__mro__ if b.__name__.endswith("Base"))
        assert issubclass(table, base) and issubclass(record, base)
        assert set(base.model_fields) == {c.name for c in table.__table__.columns}
    assert issubclass(records.Interaction, SQLModel)


_DUMP_TABLES = """
import sys
import sqlalchemy
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable
from ilog.store import tables
out = []
for dialect in (sqlite.dialect(), postgresql.dialect()):
    for table in tables.metadata.sorted_tables:
        out.append(str(CreateTable(table).compile(dialect=dialect)))
        out += sorted(str(CreateIndex(index).compile(dialect=dialect)) for index in table.indexes)
        out += [repr((column.name, type(column.type).__name__, column.nullable, column.server_default is not None))
                for column in table.columns]
engine = sqlalchemy.create_engine("sqlite://")
tables.metadata.create_all(engine)  # with the summary's triggers, a listener on the MetaData
with engine.connect() as conn:
    out += [row[0] for row in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY 1")]
print("built" if "ilog.store.models" in sys.modules else "cached")
print("\\n".join(out))
"""


def test_the_cached_tables_are_the_tables_the_classes_make(tmp_path):
    """The tables' cache (ilog.store.tables) gives the same DDL as the SQLModel classes: built
    and written on the first start, read on the next without building the classes; a damaged
    cache file, or one that is not the user's own, is not used (and the first is written anew)."""
    env = dict(os.environ, ILOG_CACHE_DIR=str(tmp_path / "cache"))

    def dump() -> tuple[str, str]:
        proc = subprocess.run([sys.executable, "-c", _DUMP_TABLES], env=env, capture_output=True, text=True,
                              check=True)
        how, _, ddl = proc.stdout.partition("\n")
        return how, ddl

    how, built = dump()
    assert how == "built" and "CREATE TABLE interaction" in built and "CREATE INDEX" in built
    assert "interaction_summary_delete" in built
    [cache] = (tmp_path / "cache").glob("tables-*.pickle")
    assert dump() == ("cached", built)
    cache.write_bytes(b"not a pickle")
    assert dump() == ("built", built)
    assert dump() == ("cached", built)  # written anew
    if os.name == "posix" and os.getuid() == 0:
        os.chown(cache, 12345, 12345)
        assert dump() == ("built", built)
    # a cache that cannot be written (here the "directory" is a file): built, and nothing else changes
    (tmp_path / "not-a-dir").write_text("")
    env["ILOG_CACHE_DIR"] = str(tmp_path / "not-a-dir")
    assert dump() == ("built", built)
    assert (tmp_path / "not-a-dir").read_text() == ""
