"""The durable job queue, kept in the application's own database (DESIGN section 4, notes/queue.md).

The promise: **at-least-once execution**. A job may run more than once (a worker can die after
doing the work but before recording it, or lose its lease while still working), so every effect
of a job must be idempotent: look for the stored assessment before calling the model, record
each Telegram message id before sending the next part, and so on.

States::

    queued --claim--> running --complete--> done
       ^                 |--fail(transient, attempts left)--> failed --(run_at passes)--> claim
       |                 |--fail(permanent or attempts spent)--> dead
       +---release-------+--lease expired, attempts left (rescue)--> queued
                         +--lease expired, attempts spent (rescue)--> dead
    queued | failed | running --cancel_for_chat--> cancelled

Rules this module keeps:
- Every transition is one `UPDATE ... WHERE id=:id AND state=:expected` (plus the lease fence
  for a running job) whose row count is checked: 0 rows means a lost race and is reported.
- A claim is one statement (PostgreSQL `FOR UPDATE SKIP LOCKED` in a materialised CTE; SQLite a
  single `UPDATE ... WHERE id IN (SELECT ...) RETURNING`), takes at most `limit` jobs (the free
  slots) and gives no chat more than `per_chat_cap` running jobs.
- A claim spends an attempt; `release` (graceful shutdown) gives it back, a rescue of an expired
  lease keeps it spent, so a video that kills its worker ends `dead` after `max_attempts` claims.
- `heartbeat`, `set_stage`, `complete`, `fail` and `release` are fenced by state, lease owner and
  attempt: a worker whose lease was rescued (or whose job was cancelled) gets False and must stop
  without writing anything else.
- Workers call `rescue_expired` now and then (e.g. every poll, or every lease/2): until a dead
  worker's lease is rescued its job still counts against its chat's cap.
- One clock: PostgreSQL's `now()`; the Python UTC clock on SQLite; an injected `clock` overrides
  both (tests fabricate states with it).
- Synchronous and short: each call is its own small transaction (except `enqueue`, which joins
  the caller's). Async callers use `asyncio.to_thread`; never hold a transaction across an await.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    and_,
    bindparam,
    case,
    literal,
    null,
    select,
    text,
    update,
)
from sqlmodel import Session

from storage.db import dialect_insert
from storage.models import ACTIVE_JOB_STATES, Job, state_in
from storage.queue_owner import owner_is_dead, this_host
from storage.queue_reports import QueueReports
from storage.queue_sql import append_error_sql, claim_sql
from storage.queue_types import (
    DEFAULT_PRIORITY,
    ClaimedJob,
    DeadJob,
    JobKind,
    JobState,
    QueueTick,
    backoff_s,
)
from storage.types import UTCDateTime, utcnow

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_PRIORITY", "ClaimedJob", "DeadJob", "JobKind", "JobQueue", "JobState", "backoff_s"]

jobs = Job.__table__  # type: ignore[attr-defined]

# The longest error text kept per attempt; errors are codes and exception summaries, never patient text.
MAX_ERROR_CHARS = 2000


class JobQueue(QueueReports):
    """The durable job queue over one engine (SQLite or PostgreSQL)."""

    def __init__(
        self,
        engine: Engine,
        *,
        lease_s: float,
        max_attempts: int = 3,
        per_chat_cap: int = 1,
        backoff_base_s: float = 5,
        backoff_cap_s: float = 300,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Configure the queue; nothing touches the database until a method is called."""
        if lease_s <= 0 or max_attempts < 1 or per_chat_cap < 1:
            raise ValueError("lease_s must be > 0, max_attempts and per_chat_cap >= 1")
        self.engine = engine
        self.lease_s = float(lease_s)
        self.max_attempts = max_attempts
        self.per_chat_cap = per_chat_cap
        self.backoff_base_s = float(backoff_base_s)
        self.backoff_cap_s = float(backoff_cap_s)
        self._clock = clock
        self._dialect = engine.dialect.name

    # -- clock ---------------------------------------------------------------------------------

    def _tick(self, dialect: str | None = None) -> QueueTick:
        """Read the clock once: the injected one, else the database's on PostgreSQL, else Python's."""
        if self._clock is not None:
            value = self._clock()
            if value.tzinfo is None:
                raise ValueError("the injected clock must return aware UTC datetimes")
            return QueueTick(value)
        if (dialect or self._dialect) == "postgresql":
            return QueueTick(None)
        return QueueTick(utcnow())

    def backoff_s(self, attempt: int) -> float:
        """Return the retry delay after the given attempt, with this queue's base and cap."""
        return backoff_s(attempt, base_s=self.backoff_base_s, cap_s=self.backoff_cap_s)

    # -- enqueue -------------------------------------------------------------------------------

    def enqueue(
        self,
        session: Session,
        *,
        kind: JobKind | str,
        chat_id: int,
        user_id: int,
        dedupe_key: str,
        priority: int | None = None,
        video_id: int | None = None,
        turn_id: int | None = None,
        run_at: datetime | None = None,
    ) -> int | None:
        """Add a job inside the caller's transaction; None when an active job has this dedupe key."""
        kind = JobKind(kind)
        dialect = session.get_bind().dialect.name
        tick = self._tick(dialect)
        statement = (
            dialect_insert(dialect, jobs)
            .values(
                kind=kind.value,
                state=JobState.QUEUED.value,
                chat_id=chat_id,
                user_id=user_id,
                video_id=video_id,
                turn_id=turn_id,
                dedupe_key=dedupe_key,
                priority=DEFAULT_PRIORITY[kind] if priority is None else priority,
                attempt=0,
                max_attempts=self.max_attempts,
                run_at=tick.now if run_at is None else literal(run_at, UTCDateTime()),
                stage="queued",
                errors=[],
                created_at=tick.now,
                updated_at=tick.now,
            )
            # The conflict target is the partial unique index: only active jobs hold a key.
            .on_conflict_do_nothing(index_elements=["dedupe_key"], index_where=state_in(ACTIVE_JOB_STATES))
            .returning(jobs.c.id)
        )
        job_id = session.exec(statement).scalar_one_or_none()
        if job_id is not None:
            logger.debug("job %s enqueued (%s)", job_id, kind.value)
        return job_id

    # -- claim ---------------------------------------------------------------------------------

    def claim(self, worker_id: str, limit: int) -> list[ClaimedJob]:
        """Atomically take up to `limit` runnable jobs (priority, then age), respecting the per-chat cap."""
        if limit <= 0:
            return []
        tick = self._tick()
        now_sql, params = tick.sql(self._dialect)
        if tick.value is None:
            lease_sql = "now() + make_interval(secs => :lease_s)"
            params["lease_s"] = self.lease_s
        else:
            lease_sql = ":lease_until" if self._dialect == "sqlite" else "CAST(:lease_until AS TIMESTAMPTZ)"
            params["lease_until"] = tick.value + timedelta(seconds=self.lease_s)
        statement = text(claim_sql(self._dialect, now_sql, lease_sql)).bindparams(
            *(bindparam(name, type_=UTCDateTime()) for name in ("now", "lease_until") if name in params)
        )
        params.update(worker=worker_id, cap=self.per_chat_cap, limit=limit)
        with self.engine.begin() as connection:
            rows = connection.execute(statement, params).all()
        rows.sort(key=lambda row: (row.priority, row.run_at, row.id))
        claimed = [
            ClaimedJob(
                id=row.id,
                kind=JobKind(row.kind),
                chat_id=row.chat_id,
                user_id=row.user_id,
                video_id=row.video_id,
                turn_id=row.turn_id,
                attempt=row.attempt,
                max_attempts=row.max_attempts,
                lease_owner=worker_id,
            )
            for row in rows
        ]
        for job in claimed:
            logger.debug("job %s claimed by %s (attempt %s)", job.id, worker_id, job.attempt)
        return claimed

    # -- fenced transitions of a running job ---------------------------------------------------

    @staticmethod
    def _fence(job: ClaimedJob) -> ColumnElement[bool]:
        """Match the job only while this worker still holds this attempt's lease."""
        return and_(
            jobs.c.id == job.id,
            jobs.c.state == JobState.RUNNING.value,
            jobs.c.lease_owner == job.lease_owner,
            jobs.c.attempt == job.attempt,
        )

    def _rowcount(self, statement: Any) -> int:
        """Run one statement in its own short transaction and return how many rows it changed."""
        with self.engine.begin() as connection:
            return connection.execute(statement).rowcount

    def heartbeat(self, job: ClaimedJob) -> bool:
        """Extend the lease; False means it was lost and the worker must stop."""
        tick = self._tick()
        statement = (
            update(jobs)
            .where(self._fence(job))
            .values(lease_expires_at=tick.plus(self.lease_s), heartbeat_at=tick.now, updated_at=tick.now)
        )
        return self._lost_unless(self._rowcount(statement) == 1, job, "heartbeat")

    def set_stage(self, job: ClaimedJob, stage: str) -> bool:
        """Record the progress stage (downloading, preparing, analysing, delivering); False: lease lost."""
        tick = self._tick()
        statement = update(jobs).where(self._fence(job)).values(stage=stage, updated_at=tick.now)
        return self._lost_unless(self._rowcount(statement) == 1, job, "set_stage")

    def complete(self, job: ClaimedJob) -> bool:
        """Mark the job done; False means the lease was lost (someone else owns the job now)."""
        tick = self._tick()
        statement = (
            update(jobs)
            .where(self._fence(job))
            .values(
                state=JobState.DONE.value,
                stage="done",
                lease_expires_at=None,
                finished_at=tick.now,
                updated_at=tick.now,
            )
        )
        return self._lost_unless(self._rowcount(statement) == 1, job, "complete")

    def fail(
        self, job: ClaimedJob, error: str, *, transient: bool, retry_after_s: float | None = None
    ) -> JobState | None:
        """Record a failed attempt: retry later (transient, attempts left) or dead; None: lease lost.

        `error` must be a code or exception summary without patient text; it is kept per attempt.
        `retry_after_s` (e.g. Telegram's retry_after) replaces the computed backoff.
        """
        error = error[:MAX_ERROR_CHARS]
        tick = self._tick()
        retry = transient and job.attempt < job.max_attempts
        values: dict[str, Any] = {
            "lease_expires_at": None,
            "last_error": error,
            "errors": append_error_sql(self._dialect, tick, error=error, transient=transient),
            "updated_at": tick.now,
        }
        if retry:
            delay = self.backoff_s(job.attempt) if retry_after_s is None else max(0.0, retry_after_s)
            values.update(state=JobState.FAILED.value, lease_owner=None, run_at=tick.plus(delay))
            new_state = JobState.FAILED
        else:
            values.update(state=JobState.DEAD.value, finished_at=tick.now)
            new_state = JobState.DEAD
        statement = update(jobs).where(self._fence(job)).values(**values)
        if not self._lost_unless(self._rowcount(statement) == 1, job, "fail"):
            return None
        logger.info("job %s attempt %s failed -> %s", job.id, job.attempt, new_state.value)
        return new_state

    def release(self, job: ClaimedJob) -> bool:
        """Give an unfinished job back to the queue without spending its attempt (graceful shutdown)."""
        tick = self._tick()
        statement = (
            update(jobs)
            .where(self._fence(job))
            .values(
                state=JobState.QUEUED.value,
                attempt=jobs.c.attempt - 1,
                lease_owner=None,
                lease_expires_at=None,
                updated_at=tick.now,
            )
        )
        return self._lost_unless(self._rowcount(statement) == 1, job, "release")

    @staticmethod
    def _lost_unless(ok: bool, job: ClaimedJob, action: str) -> bool:
        """Log a lost lease (ids only) and pass the result through."""
        if not ok:
            logger.warning("job %s: %s refused, lease lost (attempt %s)", job.id, action, job.attempt)
        return ok

    # -- maintenance any worker may run --------------------------------------------------------

    def rescue_expired(self, *, dead_owners: bool = True) -> list[int]:
        """Requeue expired leases and leases of provably dead local processes (storage.queue_owner); dead ids."""
        tick = self._tick()
        dead = self._rescue(jobs.c.lease_expires_at < tick.now, tick, "lease expired")
        if dead_owners:
            gone = self.dead_local_owners()
            if gone:
                dead += self._rescue(jobs.c.lease_owner.in_(gone), self._tick(), "lease owner died")
        return sorted(dead)

    def dead_local_owners(self) -> list[str]:
        """Return the lease owners of running jobs that ran on this host and are provably dead."""
        host = this_host()
        statement = (
            select(jobs.c.lease_owner)
            .where(jobs.c.state == JobState.RUNNING.value, jobs.c.lease_owner.like(f"{host}:%"))
            .distinct()
        )
        with self.engine.connect() as connection:
            owners = connection.execute(statement).scalars().all()
        return [owner for owner in owners if owner and owner_is_dead(owner, host)]

    def _rescue(self, condition: ColumnElement[bool], tick: QueueTick, reason: str) -> list[int]:
        """Requeue (or bury, attempts spent) running jobs matching `condition`, keeping the attempt spent."""
        spent = jobs.c.attempt >= jobs.c.max_attempts
        statement = (
            update(jobs)
            .where(jobs.c.state == JobState.RUNNING.value, condition)
            .values(
                state=case((spent, JobState.DEAD.value), else_=JobState.QUEUED.value),
                finished_at=case((spent, tick.now), else_=null()),
                lease_owner=None,
                lease_expires_at=None,
                last_error=reason,
                errors=append_error_sql(self._dialect, tick, error=reason, transient=True),
                updated_at=tick.now,
            )
            .returning(jobs.c.id, jobs.c.state)
        )
        with self.engine.begin() as connection:
            rows = connection.execute(statement).all()
        dead = [row.id for row in rows if row.state == JobState.DEAD.value]
        if rows:
            logger.warning("rescued %s leases (%s), %s now dead", len(rows), reason, len(dead))
        return dead

    def cancel_for_chat(self, chat_id: int) -> int:
        """Cancel every waiting or running job of a chat; a running worker then loses its fence."""
        tick = self._tick()
        statement = (
            update(jobs)
            .where(jobs.c.chat_id == chat_id, jobs.c.state.in_(ACTIVE_JOB_STATES))
            .values(
                state=JobState.CANCELLED.value,
                lease_expires_at=None,
                finished_at=tick.now,
                updated_at=tick.now,
            )
        )
        return self._rowcount(statement)

    def mark_notified(self, job_id: int) -> bool:
        """Record that the patient was told about a dead or cancelled job; True only for the first caller.

        Calling it before sending makes the message at-most-once across workers; after sending,
        at-least-once. Either way only one worker wins this update.
        """
        tick = self._tick()
        statement = (
            update(jobs)
            .where(
                jobs.c.id == job_id,
                jobs.c.state.in_((JobState.DEAD.value, JobState.CANCELLED.value)),
                jobs.c.notified_at.is_(None),
            )
            .values(notified_at=tick.now, updated_at=tick.now)
        )
        return self._rowcount(statement) == 1

    # -- reading -------------------------------------------------------------------------------
