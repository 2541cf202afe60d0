"""Column types the Python types alone do not give: moments in UTC, 64-bit entry numbers."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as naive UTC; returned aware (UTC) on every backend."""

    impl = DateTime
    cache_ok = True

    def __reduce__(self):
        # made anew when unpickled (the tables' cache, ilog.store.tables): SQLAlchemy's own
        # pickling of a TypeDecorator brings back its memoized implementation as a class
        return (type(self), ())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database layer")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def result_processor(self, dialect, coltype):
        # one call per value where TypeDecorator makes two (the driver type's parse, then
        # process_result_value); same result: a page of history holds ~250 moments
        parse = self.impl_instance.result_processor(dialect, coltype)
        utc = timezone.utc
        if parse is None:  # the driver returns datetimes (psycopg)
            return lambda value: None if value is None else value.replace(tzinfo=utc)
        return lambda value: None if value is None else parse(value).replace(tzinfo=utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL results on SQLite
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc)


def aware(value):
    """An aggregate (``MAX(occurred_at)``) of a UTC column comes back without the column type's processing."""
    return UTCDateTime().process_result_value(value, None) if value is not None else None


#: entry numbers and ids: BIGINT on PostgreSQL, INTEGER (64-bit, the rowid) on SQLite
EntryNumber = BigInteger().with_variant(Integer(), "sqlite")
