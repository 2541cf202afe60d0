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
        value = value.astimezone(timezone.utc)
        return datetime.combine(value, value.time())  # naive; replace(tzinfo=None) is 4x slower

    def bind_processor(self, dialect):
        # one call per value, as result_processor below: a segment log or an import binds
        # a few moments per row. On SQLite the text is isoformat's when the dialect's own
        # format gives the same (SQLAlchemy's default: 2026-06-30 12:00:00.000000)
        to_utc = self.process_bind_param
        impl = self.impl_instance.bind_processor(dialect)
        if impl is None:
            return lambda value: to_utc(value, dialect)
        samples = [datetime(2026, 6, 30, 12, 0, 5, 7), datetime(999, 1, 2, 3, 4, 5)]
        if all(impl(s) == s.isoformat(" ", "microseconds") for s in samples):
            def text(value):
                value = to_utc(value, dialect)
                return None if value is None else value.isoformat(" ", "microseconds")

            return text
        return lambda value: impl(to_utc(value, dialect))

    def result_processor(self, dialect, coltype):
        # one call per value where TypeDecorator makes two (the driver type's parse, then
        # process_result_value), and no datetime.replace(tzinfo=...): on Python 3.11 it costs
        # four times a parse, and a page of history holds ~100 moments
        parse = self.impl_instance.result_processor(dialect, coltype)
        utc, combine, from_text = timezone.utc, datetime.combine, datetime.fromisoformat
        if parse is None:  # the driver returns datetimes (psycopg)
            return lambda value: None if value is None else combine(value, value.time(), utc)

        def aware(value):
            if value is None:
                return None
            try:  # what SQLAlchemy stores on SQLite: 2026-06-30 12:00:00.000000
                moment = from_text(value + "+00:00")
                if moment.tzinfo is utc:  # not so for a date alone: Python drops the offset
                    return moment
            except (TypeError, ValueError):
                pass
            moment = parse(value)  # another form: the dialect's own parser
            if moment.tzinfo is not None:  # written with an offset: that moment, in UTC
                return moment.astimezone(utc)
            return combine(moment, moment.time(), utc)

        return aware

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
