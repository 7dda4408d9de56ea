"""Column types shared by the models and the queue: UTC timestamps that compare alike everywhere.

Decision (timestamps): every timestamp is a timezone-aware UTC `datetime` in Python.
PostgreSQL stores it as `TIMESTAMP WITH TIME ZONE`. SQLite has no timestamp type, so the value
is normalised to UTC and stored as SQLAlchemy's fixed-width text form without an offset
(`2026-01-31 12:00:00.000000`); because every stored value has the same width and the same zone,
SQL comparisons (`run_at <= :now`, `ORDER BY run_at`) are plain text comparisons that give the
same answers as PostgreSQL. Reading gives back an aware UTC datetime on both databases.
Naive datetimes are refused: nobody can tell which zone they meant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime (the Python clock)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware-UTC timestamp: TIMESTAMPTZ on PostgreSQL, fixed-width UTC text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive values; hand SQLite a naive UTC value so its text form sorts correctly."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: storage needs timezone-aware UTC datetimes")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime whatever the driver gave back."""
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
