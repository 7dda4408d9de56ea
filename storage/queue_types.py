"""What the job queue hands out and reads back: states, kinds, claimed and dead jobs, its clock."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Interval, func, literal

from storage.types import UTCDateTime


class JobState(StrEnum):
    """Where a job is in its life cycle."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # waiting to retry at run_at
    DEAD = "dead"
    CANCELLED = "cancelled"


class JobKind(StrEnum):
    """What a job does."""

    ASSESS = "assess"
    ANSWER = "answer"


# Lower runs first: a person waiting for an answer beats a queue of new videos.
DEFAULT_PRIORITY: dict[str, int] = {JobKind.ANSWER: 0, JobKind.ASSESS: 10}


@dataclass(frozen=True)
class ClaimedJob:
    """A job this worker holds the lease on; pass it back to every fenced call."""

    id: int
    kind: JobKind
    chat_id: int
    user_id: int
    video_id: int | None
    turn_id: int | None
    attempt: int
    max_attempts: int
    lease_owner: str


@dataclass(frozen=True)
class DeadJob:
    """A job that ended dead and whose patient has not been told yet."""

    id: int
    kind: JobKind
    chat_id: int
    user_id: int
    video_id: int | None
    turn_id: int | None
    attempt: int
    max_attempts: int
    last_error: str | None


def backoff_s(attempt: int, *, base_s: float = 5.0, cap_s: float = 300.0) -> float:
    """Return a capped exponential backoff with equal jitter: [d/2, d], d = min(cap, base * 2^(attempt-1))."""
    ceiling = min(cap_s, base_s * 2 ** max(0, attempt - 1))
    # Jitter only spreads retries apart; it is not a security value.
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311


class QueueTick:
    """One reading of the queue's clock, as SQL expressions for a single statement."""

    def __init__(self, value: datetime | None) -> None:
        """`value` None means the database's own `now()` (PostgreSQL only)."""
        self.value = value

    @property
    def now(self) -> ColumnElement[datetime]:
        """Return the current time as SQL."""
        if self.value is None:
            return func.now()
        return literal(self.value, UTCDateTime())

    def plus(self, seconds: float) -> ColumnElement[datetime]:
        """Return the current time plus `seconds`, as SQL."""
        if self.value is None:
            return func.now() + literal(timedelta(seconds=seconds), Interval())
        return literal(self.value + timedelta(seconds=seconds), UTCDateTime())

    def sql(self, dialect: str) -> tuple[str, dict[str, Any]]:
        """Return the current time as a SQL fragment for hand-written statements, with its binds."""
        if self.value is None:
            return "now()", {}
        if dialect == "sqlite":
            return ":now", {"now": self.value}
        return "CAST(:now AS TIMESTAMPTZ)", {"now": self.value}
