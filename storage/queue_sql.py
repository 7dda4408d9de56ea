"""The queue's SQL that SQLAlchemy's expression language does not say well: the claim and the error log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, ColumnElement, Text, cast, func, literal, literal_column
from sqlalchemy.dialects.postgresql import JSONB

from storage.models import WAITING_JOB_STATES, Job, state_in
from storage.queue_types import QueueTick
from storage.types import utcnow

jobs = Job.__table__  # type: ignore[attr-defined]


def claim_sql(dialect: str, now_sql: str, lease_sql: str) -> str:
    """Build the one claim statement for the given database.

    A video job that has only its delivery left (stage 'delivering', paced by the chat) does not count against
    its chat's cap for the chat's next video, which may be prepared meanwhile (its feedback comes later). It
    still counts for an answer, so a question asked meanwhile is answered after the feedback it may be about.
    """
    waiting = state_in(WAITING_JOB_STATES).text
    ranked = f"""
        SELECT j.id, j.priority, j.run_at,
               row_number() OVER (PARTITION BY j.chat_id ORDER BY j.priority, j.run_at, j.id)
                 + coalesce(CASE WHEN j.kind = 'assess' THEN r.at_work ELSE r.n END, 0) AS slot
        FROM jobs AS j
        LEFT JOIN (
            SELECT chat_id, count(*) AS n,
                   sum(CASE WHEN kind = 'assess' AND coalesce(stage, '') = 'delivering' THEN 0 ELSE 1 END) AS at_work
            FROM jobs WHERE state = 'running' GROUP BY chat_id
        ) AS r
          ON r.chat_id = j.chat_id
        WHERE j.{waiting} AND j.run_at <= {now_sql}
    """  # noqa: S608  (fixed text; values are bound)
    assignments = f"""
        state = 'running', attempt = jobs.attempt + 1, lease_owner = :worker,
        lease_expires_at = {lease_sql}, heartbeat_at = {now_sql}, updated_at = {now_sql}
    """
    returning = (
        "jobs.id, jobs.kind, jobs.chat_id, jobs.user_id, jobs.video_id, jobs.turn_id, "
        "jobs.attempt, jobs.max_attempts, jobs.priority, jobs.run_at"
    )
    if dialect == "postgresql":
        # PostgreSQL forbids FOR UPDATE beside window functions in one SELECT, so the ranking
        # is a subquery and the lock is taken in the outer query. The state and run_at tests
        # are repeated there because a row locked after a concurrent commit is re-checked only
        # against the locking query's own conditions.
        return f"""
            WITH picked AS MATERIALIZED (
                SELECT jobs.id FROM jobs
                WHERE jobs.id IN (SELECT id FROM ({ranked}) AS ranked WHERE slot <= :cap)
                  AND jobs.{waiting} AND jobs.run_at <= {now_sql}
                ORDER BY jobs.priority, jobs.run_at, jobs.id
                LIMIT :limit
                FOR UPDATE SKIP LOCKED
            )
            UPDATE jobs SET {assignments}
            FROM picked WHERE jobs.id = picked.id
            RETURNING {returning}
        """  # noqa: S608
    # SQLite: the UPDATE holds the only write lock, so selecting and updating in one
    # statement cannot race (never read-then-update: SQLite ignores FOR UPDATE).
    return f"""
        UPDATE jobs SET {assignments}
        WHERE jobs.id IN (
            SELECT id FROM ({ranked}) AS ranked WHERE slot <= :cap
            ORDER BY priority, run_at, id
            LIMIT :limit
        )
        RETURNING {returning}
    """  # noqa: S608


def append_error_sql(dialect: str, tick: QueueTick, *, error: str, transient: bool) -> ColumnElement[Any]:
    """Build SQL that appends {attempt, at, error, transient} to the row's `errors` list."""
    if dialect == "postgresql":
        entry = func.jsonb_build_object(
            literal_column("'attempt'"),
            jobs.c.attempt,
            literal_column("'at'"),
            tick.now,
            literal_column("'error'"),
            cast(literal(error), Text),
            literal_column("'transient'"),
            cast(literal(transient), Boolean),
        )
        current = func.coalesce(cast(jobs.c.errors, JSONB), literal_column("'[]'::jsonb"))
        return cast(current.op("||")(func.jsonb_build_array(entry)), JSON)
    at = (tick.value or utcnow()).isoformat()
    entry = func.json_object(
        "attempt",
        jobs.c.attempt,
        "at",
        at,
        "error",
        error,
        "transient",
        func.json("true" if transient else "false"),
    )
    return func.json_insert(func.coalesce(jobs.c.errors, literal_column("'[]'")), "$[#]", entry)
