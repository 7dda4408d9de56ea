"""SQLModel tables (DESIGN section 3). Schema changes go through `storage/migrations`.

Conventions:
- Table names are plural (`user` is reserved in PostgreSQL).
- Telegram ids (users, chats, messages) are BIGINT.
- Timestamps are aware UTC datetimes (`storage.types.UTCDateTime`, see its docstring).
- Enumerations are stored as short strings, not database enum types, so adding a value never
  needs a migration; the `StrEnum`s below name the allowed values. Loaded rows hold plain `str`,
  which compares equal to the enum members.
- JSON columns hold plain lists/dicts; assign a new value to change one (no in-place mutation
  tracking).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Index,
    String,
    Text,
    TextClause,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow

# Named constraints keep SQLite batch migrations (which recreate tables) able to find them.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

# Job states that hold a dedupe key: at most one such job per key.
ACTIVE_JOB_STATES: tuple[str, ...] = ("queued", "running", "failed")
# Job states a worker may claim.
WAITING_JOB_STATES: tuple[str, ...] = ("queued", "failed")


def _json() -> JSON:
    """Return a JSON column type where Python None is SQL NULL."""
    return JSON(none_as_null=True)


def state_in(states: tuple[str, ...]) -> TextClause:
    """Return a literal `state IN (...)` predicate for partial indexes (same text on both databases)."""
    listed = ", ".join(f"'{state}'" for state in states)
    return text(f"state IN ({listed})")


class Role(StrEnum):
    """What a user is to the bot."""

    PATIENT = "patient"
    THERAPIST = "therapist"
    ADMIN = "admin"


class VideoSource(StrEnum):
    """How the video reached the bot."""

    VIDEO = "video"
    VIDEO_NOTE = "video_note"
    ANIMATION = "animation"
    DOCUMENT = "document"


class VideoStatus(StrEnum):
    """A video's life cycle."""

    AWAITING_CONSENT = "awaiting_consent"
    QUEUED = "queued"
    PROCESSING = "processing"
    ASSESSED = "assessed"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TurnStatus(StrEnum):
    """A follow-up question's life cycle."""

    PENDING = "pending"
    ANSWERED = "answered"
    SAFETY = "safety"
    FAILED = "failed"


class AlertKind(StrEnum):
    """Why a therapist is alerted."""

    PAIN_CRITICAL = "pain_critical"
    PAIN_RISE = "pain_rise"
    FALL = "fall"
    RED_FLAG = "red_flag"


class AlertSeverity(StrEnum):
    """How urgent an alert is."""

    CRITICAL = "critical"
    HIGH = "high"


class User(SQLModel, table=True):
    """A Telegram user; the id is also the private chat id."""

    __tablename__ = "users"

    id: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    role: str = Field(default=Role.PATIENT, sa_type=String(16))
    first_name: str | None = Field(default=None, sa_type=String(256))
    username: str | None = Field(default=None, sa_type=String(64))
    telegram_language: str | None = Field(default=None, sa_type=String(35))
    locale: str | None = Field(default=None, sa_type=String(35))
    timezone: str | None = Field(default=None, sa_type=String(64))
    consented_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    therapist_id: int | None = Field(default=None, sa_type=BigInteger, foreign_key="users.id", index=True)
    linked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    plan_paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    plan_paused_reason: str | None = Field(default=None, sa_type=String(64))
    blocked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Video(SQLModel, table=True):
    """One video message; a duplicate delivery of the same Telegram update never makes a second row."""

    __tablename__ = "videos"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_type=BigInteger, foreign_key="users.id", index=True)
    chat_id: int = Field(sa_type=BigInteger)
    message_id: int = Field(sa_type=BigInteger)
    source: str = Field(sa_type=String(16))
    file_id: str = Field(sa_type=String(256))
    file_unique_id: str = Field(sa_type=String(128))
    mime_type: str | None = Field(default=None, sa_type=String(128))
    file_name: str | None = Field(default=None, sa_type=String(256))
    declared_size: int | None = Field(default=None, sa_type=BigInteger)
    declared_duration: float | None = None
    caption: str | None = Field(default=None, sa_type=Text)
    status: str = Field(default=VideoStatus.QUEUED, sa_type=String(24), index=True)
    reject_reason: str | None = Field(default=None, sa_type=String(64))
    sha256: str | None = Field(default=None, sa_type=String(64), index=True)
    stored_path: str | None = Field(default=None, sa_type=String(512))
    size_bytes: int | None = Field(default=None, sa_type=BigInteger)
    duration_s: float | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    rotation: int | None = None
    codec: str | None = Field(default=None, sa_type=String(32))
    frames_path: str | None = Field(default=None, sa_type=String(512))
    status_message_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


class Job(SQLModel, table=True):
    """One unit of queued work (see storage.queue); only the queue writes its state columns."""

    __tablename__ = "jobs"
    __table_args__ = (
        # One active job per natural key; done/dead/cancelled jobs free the key again.
        Index(
            "uq_jobs_dedupe_key_active",
            "dedupe_key",
            unique=True,
            sqlite_where=state_in(ACTIVE_JOB_STATES),
            postgresql_where=state_in(ACTIVE_JOB_STATES),
        ),
        # The claim order, over waiting jobs only.
        Index(
            "ix_jobs_claim_order",
            "priority",
            "run_at",
            "id",
            sqlite_where=state_in(WAITING_JOB_STATES),
            postgresql_where=state_in(WAITING_JOB_STATES),
        ),
        Index("ix_jobs_state_lease", "state", "lease_expires_at"),
        Index("ix_jobs_chat_state", "chat_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(16))
    state: str = Field(default="queued", sa_type=String(16))
    chat_id: int = Field(sa_type=BigInteger)
    user_id: int = Field(sa_type=BigInteger, index=True)
    video_id: int | None = Field(default=None, foreign_key="videos.id", index=True)
    turn_id: int | None = Field(default=None, foreign_key="turns.id")
    dedupe_key: str = Field(sa_type=String(128))
    priority: int = 10
    attempt: int = 0
    max_attempts: int = 3
    run_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, sa_type=String(128))
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The last stage an attempt recorded (kept across retries; `state` says whether the job runs).
    stage: str | None = Field(default="queued", sa_type=String(32))
    last_error: str | None = Field(default=None, sa_type=Text)
    errors: list[dict[str, Any]] = Field(default_factory=list, sa_type=_json())
    notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Assessment(SQLModel, table=True):
    """The model's feedback on one video, and which messages delivered it."""

    __tablename__ = "assessments"

    id: int | None = Field(default=None, primary_key=True)
    video_id: int = Field(foreign_key="videos.id", unique=True)
    job_id: int | None = None
    model_id: str = Field(sa_type=String(256))
    language: str = Field(sa_type=String(35))
    parsed: bool = False
    result: dict[str, Any] | None = Field(default=None, sa_type=_json())
    # What the pose stage measured (bot.pose.stage.measurements_json), None when it did not run.
    measurements: dict[str, Any] | None = Field(default=None, sa_type=_json())
    text: str = Field(sa_type=Text)
    raw_output: str | None = Field(default=None, sa_type=Text)
    exercise_hint: str | None = Field(default=None, sa_type=String(256))
    delivered_message_ids: list[int] = Field(default_factory=list, sa_type=_json())
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Turn(SQLModel, table=True):
    """A follow-up question about a video and its answer."""

    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("chat_id", "question_message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    video_id: int = Field(foreign_key="videos.id", index=True)
    user_id: int = Field(sa_type=BigInteger, index=True)
    chat_id: int = Field(sa_type=BigInteger)
    question_message_id: int = Field(sa_type=BigInteger)
    question: str = Field(sa_type=Text)
    # Asked by voice: `question` is the transcript, shown back in the answer.
    spoken: bool = False
    moment_s: float | None = None
    answer: str | None = Field(default=None, sa_type=Text)
    answer_message_id: int | None = Field(default=None, sa_type=BigInteger)
    status: str = Field(default=TurnStatus.PENDING, sa_type=String(16))
    needs_therapist: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PainReport(SQLModel, table=True):
    """A pain score (0-10) a patient logged."""

    __tablename__ = "pain_reports"
    __table_args__ = (CheckConstraint("score >= 0 AND score <= 10", name="score_range"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_type=BigInteger, index=True)
    # One pain report per feedback (a second tap corrects the first); free-standing reports have none.
    assessment_id: int | None = Field(default=None, foreign_key="assessments.id", unique=True)
    score: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Alert(SQLModel, table=True):
    """A red flag raised for a therapist; one per event (event_key)."""

    __tablename__ = "alerts"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(sa_type=BigInteger, index=True)
    therapist_id: int | None = Field(default=None, sa_type=BigInteger)
    kind: str = Field(sa_type=String(24))
    severity: str = Field(sa_type=String(16))
    reason: str = Field(sa_type=String(256))
    event_key: str = Field(sa_type=String(128), unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    patient_notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Invite(SQLModel, table=True):
    """A single-use therapist invite; only the token's sha256 is stored."""

    __tablename__ = "invites"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_type=String(64), unique=True)
    therapist_id: int = Field(sa_type=BigInteger, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by: int | None = Field(default=None, sa_type=BigInteger)


class Prescription(SQLModel, table=True):
    """An exercise a therapist prescribed to a patient."""

    __tablename__ = "prescriptions"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(sa_type=BigInteger, index=True)
    therapist_id: int | None = Field(default=None, sa_type=BigInteger)
    exercise: str = Field(sa_type=String(256))
    focus: str | None = Field(default=None, sa_type=Text)
    sessions_per_week: int | None = None
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


class WeeklySummary(SQLModel, table=True):
    """One therapist's weekly summary about one patient; unique per week so it is sent once."""

    __tablename__ = "weekly_summaries"
    __table_args__ = (UniqueConstraint("therapist_id", "patient_id", "week_start"),)

    id: int | None = Field(default=None, primary_key=True)
    therapist_id: int = Field(sa_type=BigInteger)
    patient_id: int = Field(sa_type=BigInteger, index=True)
    week_start: date
    status: str = Field(default="pending", sa_type=String(16))
    text: str | None = Field(default=None, sa_type=Text)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditLog(SQLModel, table=True):
    """Who looked at or changed whose data (ids and an action code, never content)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = Field(default=None, sa_type=BigInteger, index=True)
    patient_id: int | None = Field(default=None, sa_type=BigInteger, index=True)
    action: str = Field(sa_type=String(64))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
