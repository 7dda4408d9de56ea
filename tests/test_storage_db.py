"""Engine set-up, migrations and column types on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, SQLModel, select

from storage.db import alembic_config, create_db_engine, migrate, normalize_database_url
from storage.models import AuditLog, Job, PainReport, User
from tests.fixtures.db import db_backend


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/rehab", "postgresql+psycopg://u:p@db:5432/rehab"),
        ("postgres://u@db/rehab", "postgresql+psycopg://u@db/rehab"),
        ("postgresql+psycopg://u@db/rehab?sslmode=require", "postgresql+psycopg://u@db/rehab?sslmode=require"),
        ("postgres+psycopg://u@db/rehab", "postgresql+psycopg://u@db/rehab"),
        ("sqlite:///relative.db", "sqlite:///relative.db"),
        ("sqlite:////absolute/path.db", "sqlite:////absolute/path.db"),
        ("  sqlite:///data/rehab.db\n", "sqlite:///data/rehab.db"),
    ],
)
def test_normalize_database_url(given: str, expected: str) -> None:
    assert normalize_database_url(given) == expected


def test_sqlite_pragmas_and_parent_directory(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "deeper" / "rehab.db"
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert path.exists()
    finally:
        engine.dispose()


def test_sqlite_relative_url_creates_file_under_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    migrate("sqlite:///data/relative.db")
    assert (tmp_path / "data" / "relative.db").exists()


def test_sqlite_in_memory_is_shared_between_threads() -> None:
    import threading

    engine = create_db_engine("sqlite://")
    try:
        migrate(engine)
        seen = []
        thread = threading.Thread(target=lambda: seen.append(inspect(engine).has_table("jobs")))
        thread.start()
        thread.join()
        assert seen == [True]
    finally:
        engine.dispose()


def test_migrated_schema_matches_models(db_url: str, db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
        tables = set(inspect(connection).get_table_names())
    assert tables == set(SQLModel.metadata.tables) | {"alembic_version"}
    assert {"users", "videos", "jobs", "assessments", "turns", "pain_reports", "alerts", "invites"} <= tables
    assert {"prescriptions", "weekly_summaries", "audit_log"} <= tables
    # Running it again is a no-op.
    migrate(db_engine)
    with db_engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_partial_unique_index_is_partial(db_url: str, db_engine: Engine) -> None:
    """Finished jobs may share a dedupe key; two active ones may not."""
    now = datetime.now(UTC)
    base = {"kind": "assess", "chat_id": 1, "user_id": 1, "dedupe_key": "same", "run_at": now}
    base |= {"created_at": now, "updated_at": now, "errors": []}
    table = Job.__table__
    with db_engine.begin() as connection:
        connection.execute(table.insert().values(state="done", **base))
        connection.execute(table.insert().values(state="dead", **base))
        connection.execute(table.insert().values(state="queued", **base))
    with pytest.raises(IntegrityError), db_engine.begin() as connection:
        connection.execute(table.insert().values(state="running", **base))
    if db_backend(db_url) == "sqlite":
        with db_engine.connect() as connection:
            sql = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'uq_jobs_dedupe_key_active'"
            ).scalar_one()
        assert "WHERE state IN ('queued', 'running', 'failed')" in sql


def test_timestamps_are_aware_utc_and_compare_alike(db_engine: Engine) -> None:
    """Values written with different offsets come back as UTC and sort by the instant."""
    plus_five = timezone(timedelta(hours=5))
    instants = [
        datetime(2030, 1, 1, 12, 0, tzinfo=UTC),
        datetime(2030, 1, 1, 16, 30, tzinfo=plus_five),  # 11:30 UTC: earlier than the first
        datetime(2030, 1, 1, 12, 0, 0, 1, tzinfo=UTC),
    ]
    with Session(db_engine) as session:
        for index, at in enumerate(instants):
            session.add(AuditLog(actor_id=index, action="test", created_at=at))
        session.commit()
        ordered = session.exec(select(AuditLog).order_by(AuditLog.created_at)).all()
        assert [row.actor_id for row in ordered] == [1, 0, 2]
        assert all(row.created_at.tzinfo is not None for row in ordered)
        assert ordered[0].created_at == datetime(2030, 1, 1, 11, 30, tzinfo=UTC)
        later = session.exec(
            select(AuditLog).where(AuditLog.created_at > datetime(2030, 1, 1, 11, 45, tzinfo=UTC))
        ).all()
        assert sorted(row.actor_id for row in later) == [0, 2]


def test_naive_datetimes_are_refused(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        session.add(AuditLog(action="naive", created_at=datetime(2030, 1, 1, 12, 0)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.commit()


def test_pain_score_check_constraint(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        session.add(User(id=5))
        session.add(PainReport(user_id=5, score=10))
        session.commit()
        session.add(PainReport(user_id=5, score=11))
        with pytest.raises(IntegrityError):
            session.commit()


def test_foreign_keys_are_enforced(db_engine: Engine) -> None:
    """SQLite enforces foreign keys only with the pragma on; both databases must refuse orphans."""
    with Session(db_engine) as session:
        session.add(User(id=1, therapist_id=999))
        with pytest.raises(IntegrityError):
            session.commit()
