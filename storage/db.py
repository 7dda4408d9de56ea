"""Engine set-up and migrations: SQLite (embedded default) or PostgreSQL, chosen by the URL alone.

Nothing here is global: callers create an engine from `Settings.database_url` at start-up, pass it
down, and `dispose` it at the end.

SQLite (WAL, busy_timeout, foreign keys, synchronous=NORMAL) keeps pysqlite's own transaction
handling on purpose: a read outside a write runs without holding a snapshot, and a transaction
begins at its first INSERT/UPDATE/DELETE, taking the write lock there and waiting up to
`busy_timeout` for it. So a session that has only read never blocks writers (even if a caller
keeps it open too long), and a read-then-write unit of work cannot fail with SQLITE_BUSY_SNAPSHOT
because another writer committed in between. Atomic multi-step changes therefore start with their
write (the queue's transitions are single statements). Migrations run inside an explicit
`BEGIN IMMEDIATE` so DDL is all-or-nothing. Keep transactions short.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def normalize_database_url(url: str) -> str:
    """Map `postgres://` and `postgresql://` to the psycopg 3 driver; keep every other URL as is."""
    url = url.strip()
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("postgres+"):
        return "postgresql+" + url[len("postgres+") :]
    return url


def _sqlite_file(url: str) -> Path | None:
    """Return the database file of a SQLite URL, or None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """Set the per-connection pragmas."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for a SQLite or PostgreSQL URL, configured for many threads and processes."""
    url = normalize_database_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif "poolclass" not in kwargs:
            # One shared connection, or every thread would see its own empty in-memory database.
            kwargs["poolclass"] = StaticPool
        connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        connect_args.update(kwargs.pop("connect_args", {}))
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def dispose(engine: Engine) -> None:
    """Close every pooled connection of the engine."""
    engine.dispose()


def alembic_config() -> Config:
    """Build an Alembic configuration whose scripts live inside the `storage` package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(engine_or_url: Engine | str, *, revision: str = "head") -> None:
    """Bring the database schema up to `revision` (Alembic `upgrade`)."""
    owned = isinstance(engine_or_url, str)
    engine = create_db_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        config = alembic_config()
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # pysqlite would run each DDL statement on its own; make the upgrade atomic.
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
        logger.info("database migrated to %s", revision)
    finally:
        if owned:
            engine.dispose()


def dialect_insert(dialect_name: str, table: Any) -> postgresql.Insert | sqlite.Insert:
    """Start an INSERT that supports `on_conflict_*` on the given dialect (SQLite or PostgreSQL)."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    if dialect_name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported database dialect: {dialect_name}")


def insert_once(session: Session, model: Any, *, unique: list[str], **values: Any) -> int | None:
    """INSERT a row unless one with the same `unique` columns exists; the new id, or None (both databases)."""
    table = model.__table__
    statement = (
        dialect_insert(session.get_bind().dialect.name, table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=unique)
        .returning(table.c.id)
    )
    return session.exec(statement).scalar_one_or_none()
