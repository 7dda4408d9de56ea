"""Reading the job queue without changing it: dead jobs to report, places in line, counts by state."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, func, literal, select, tuple_

from storage.models import WAITING_JOB_STATES, Job
from storage.queue_types import DeadJob, JobKind, JobState
from storage.types import UTCDateTime

jobs = Job.__table__  # type: ignore[attr-defined]


class QueueReports:
    """The queue's read-only queries; `JobQueue` inherits them."""

    engine: Engine

    def dead_unnotified(self, limit: int) -> list[DeadJob]:
        """Return dead jobs whose patient has not been told yet, oldest first."""
        statement = (
            select(jobs)
            .where(jobs.c.state == JobState.DEAD.value, jobs.c.notified_at.is_(None))
            .order_by(jobs.c.finished_at, jobs.c.id)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(statement).all()
        return [
            DeadJob(
                id=row.id,
                kind=JobKind(row.kind),
                chat_id=row.chat_id,
                user_id=row.user_id,
                video_id=row.video_id,
                turn_id=row.turn_id,
                attempt=row.attempt,
                max_attempts=row.max_attempts,
                last_error=row.last_error,
            )
            for row in rows
        ]

    def position(self, job_id: int) -> int | None:
        """Return the 1-based place in line among waiting jobs, or None when the job is not waiting."""
        target = select(jobs.c.priority, jobs.c.run_at, jobs.c.id).where(
            jobs.c.id == job_id, jobs.c.state.in_(WAITING_JOB_STATES)
        )
        with self.engine.connect() as connection:
            row = connection.execute(target).first()
            if row is None:
                return None
            ahead = select(func.count()).where(
                jobs.c.state.in_(WAITING_JOB_STATES),
                tuple_(jobs.c.priority, jobs.c.run_at, jobs.c.id)
                <= tuple_(literal(row.priority), literal(row.run_at, UTCDateTime()), literal(row.id)),
            )
            return int(connection.execute(ahead).scalar_one())

    def counts(self) -> dict[str, int]:
        """Count the jobs in each state (for status pages, benchmarks and tests)."""
        statement = select(jobs.c.state, func.count()).group_by(jobs.c.state)
        with self.engine.connect() as connection:
            rows = connection.execute(statement).all()
        return {str(state): int(count) for state, count in rows}

    def get_states(self, job_ids: Sequence[int]) -> dict[int, str]:
        """Return the current state of each given job."""
        statement = select(jobs.c.id, jobs.c.state).where(jobs.c.id.in_(list(job_ids)))
        with self.engine.connect() as connection:
            return {int(row.id): str(row.state) for row in connection.execute(statement)}
