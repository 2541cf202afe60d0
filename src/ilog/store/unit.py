"""The unit of work: one transaction and the gateways that read and write in it.

A service opens a unit (``with ctx.db.unit(write=True) as uow:``) and reaches every table
through its gateways: ``uow.contacts``, ``uow.templates``, ``uow.entries``,
``uow.segments``, ``uow.privacy``... Two steps that must commit together take the same
unit; nothing else is shared between operations, so a logbook can serve several threads at once.

A unit is short, so a gateway may remember what it read for the unit's lifetime
(:attr:`UnitOfWork.memo`): a batch of 500 events reads each template once. (A write unit
holds the rows it wrote; on PostgreSQL a read unit's statements each see their own snapshot,
as they would in a READ COMMITTED transaction.)
"""

from __future__ import annotations

from functools import cached_property
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from .attachments import AttachmentStore
    from .contacts import ContactStore
    from .database import Database
    from .entries import CommentStore, EntryStore, KeyStore, OccurrenceStore
    from .numbers import NumberSeries
    from .privacy import PrivacyStore
    from .reports import ReportStore
    from .segments import SegmentStore
    from .teams import TeamStore
    from .templates import GroupStore, SetupStore, TemplateStore
    from .transfer import TransferStore


class UnitOfWork:
    """One transaction on one connection, with a gateway per kind of record."""

    def __init__(self, conn: Connection, db: "Database"):
        self.conn = conn
        self.db = db
        self.dialect = conn.dialect.name
        #: reads remembered for the unit's lifetime, by gateway and key
        self.memo: dict[Any, Any] = {}

    # -- gateways --------------------------------------------------------------------------

    @cached_property
    def numbers(self) -> "NumberSeries":
        from .numbers import NumberSeries

        return NumberSeries(self)

    @cached_property
    def contacts(self) -> "ContactStore":
        from .contacts import ContactStore

        return ContactStore(self)

    @cached_property
    def groups(self) -> "GroupStore":
        from .templates import GroupStore

        return GroupStore(self)

    @cached_property
    def templates(self) -> "TemplateStore":
        from .templates import TemplateStore

        return TemplateStore(self)

    @cached_property
    def setup(self) -> "SetupStore":
        from .templates import SetupStore

        return SetupStore(self)

    @cached_property
    def attachments(self) -> "AttachmentStore":
        from .attachments import AttachmentStore

        return AttachmentStore(self)

    @cached_property
    def entries(self) -> "EntryStore":
        from .entries import EntryStore

        return EntryStore(self)

    @cached_property
    def keys(self) -> "KeyStore":
        from .entries import KeyStore

        return KeyStore(self)

    @cached_property
    def occurrences(self) -> "OccurrenceStore":
        from .entries import OccurrenceStore

        return OccurrenceStore(self)

    @cached_property
    def comments(self) -> "CommentStore":
        from .entries import CommentStore

        return CommentStore(self)

    @cached_property
    def segments(self) -> "SegmentStore":
        from .segments import SegmentStore

        return SegmentStore(self)

    @cached_property
    def teams(self) -> "TeamStore":
        from .teams import TeamStore

        return TeamStore(self)

    @cached_property
    def reports(self) -> "ReportStore":
        from .reports import ReportStore

        return ReportStore(self)

    @cached_property
    def privacy(self) -> "PrivacyStore":
        from .privacy import PrivacyStore

        return PrivacyStore(self)

    @cached_property
    def transfer(self) -> "TransferStore":
        from .transfer import TransferStore

        return TransferStore(self)

    # -- statements every gateway uses ---------------------------------------------------------

    def execute(self, statement: Any, params: Any = None) -> Any:
        return self.conn.execute(statement, params) if params is not None else self.conn.execute(statement)

    def rollback(self) -> None:
        """Undo everything this unit did (a dry run); the unit ends with nothing written."""
        self.conn.rollback()

    def one_of(self, column: Any, values: list[Any]) -> Any:
        """``column IN (values)`` for thousands of values, as ONE bound parameter (a JSON array
        SQLite reads with ``json_each``, a PostgreSQL array): SQLAlchemy compiles an IN list
        value by value, which for an import batch of 5,000 keys cost more than the query."""
        if self.dialect == "postgresql":
            return column == sa.any_(sa.bindparam(None, list(values), type_=sa.ARRAY(column.type)))
        import json

        listed = sa.select(sa.literal_column("value")).select_from(
            sa.func.json_each(sa.bindparam(None, json.dumps(list(values)), type_=sa.Text)))
        return column.in_(listed.scalar_subquery())

    def upsert(self, table: sa.Table) -> Any:
        """An INSERT that supports ``on_conflict_do_nothing`` / ``on_conflict_do_update`` here."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    def bulk_insert(self, table: sa.Table, rows: list[dict], *, skip_existing: tuple[str, ...] = ()) -> None:
        """INSERT many rows (each with the same keys), ``skip_existing``: leaving out those whose
        key (these columns) is already there.

        What ``conn.execute(table.insert(), rows)`` does, without building and processing
        a parameter dict per row in Python: each column type's bind processor (the same
        SQLAlchemy applies, e.g. :class:`~ilog.store.types.UTCDateTime`) runs once per value
        over plain tuples. At 100,000 rows (a segment) that overhead cost more than the insert.
        SQLite gets one driver-level ``executemany``. PostgreSQL gets one ``COPY`` (multi-row
        INSERTs of ~800 rows with ``skip_existing``): an ``executemany`` is one statement per
        row there, so statement triggers (the summary's) would run once per row, and updating
        the same summary row once per entry within one transaction costs PostgreSQL a longer
        chain of row versions every time (100,000 entries of one segment: minutes).
        """
        if not rows:
            return
        dialect = self.conn.dialect
        keys = list(rows[0])
        stmt = self.upsert(table).on_conflict_do_nothing(index_elements=list(skip_existing)) if skip_existing \
            else table.insert()
        compiled = stmt.compile(dialect=dialect, column_keys=keys)
        names = list(compiled.positiontup) if compiled.positional else keys
        getter = itemgetter(*names)
        data = [list(getter(row)) for row in rows] if len(names) > 1 else [[getter(row)] for row in rows]
        for index, name in enumerate(names):
            process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is None:
                continue
            last = last_out = None  # rows of a batch often share one object (a date): process it once
            for values in data:
                value = values[index]
                if value is None:
                    continue
                if value is not last:
                    last, last_out = value, process(value)
                values[index] = last_out
        if dialect.name == "postgresql":
            self._insert_pages(table, names, data, skip_existing)
            return
        params = [tuple(v) for v in data] if compiled.positional else [dict(zip(names, v)) for v in data]
        self.conn.exec_driver_sql(compiled.string, params)

    def _insert_pages(self, table: sa.Table, names: list[str], data: list[list[Any]],
                      skip_existing: tuple[str, ...]) -> None:
        quote = self.conn.dialect.identifier_preparer.quote
        if not skip_existing:
            statement = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
            driver = self.conn.dialect.loaded_dbapi
            try:
                with self.conn.connection.dbapi_connection.cursor() as cursor, \
                        cursor.copy(statement) as copy:  # type: ignore[union-attr]
                    for values in data:
                        copy.write_row(values)
            except driver.Error as exc:  # as SQLAlchemy reports a refused statement
                raise sa.exc.DBAPIError.instance(statement, None, exc, driver.Error) from exc
            return
        page = max(1, min(1000, 30000 // len(names)))  # well under the protocol's 65,535 parameters
        row = "(" + ", ".join(["%s"] * len(names)) + ")"
        head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) VALUES "
        tail = f" ON CONFLICT ({', '.join(quote(c) for c in skip_existing)}) DO NOTHING" if skip_existing else ""
        for start in range(0, len(data), page):
            chunk = data[start:start + page]
            self.conn.exec_driver_sql(head + ", ".join([row] * len(chunk)) + tail,
                                      tuple(value for values in chunk for value in values))
