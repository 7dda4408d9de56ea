"""Queue conformance suite: the same tests on SQLite and PostgreSQL (see notes/queue.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update
from sqlmodel import Session

from storage.models import Job, User, Video
from storage.queue import ClaimedJob, JobKind, JobQueue, JobState, backoff_s
from tests.fixtures.db import FakeClock

jobs = Job.__table__


def add_job(queue: JobQueue, engine: Engine, key: str, *, chat_id: int = 1, **kwargs) -> int:
    """Enqueue one job in its own committed transaction."""
    kwargs.setdefault("kind", JobKind.ASSESS)
    with Session(engine) as session:
        job_id = queue.enqueue(session, chat_id=chat_id, user_id=chat_id, dedupe_key=key, **kwargs)
        session.commit()
    assert job_id is not None
    return job_id


def row(engine: Engine, job_id: int):
    """The job's row as it is in the table now."""
    with engine.connect() as connection:
        return connection.execute(select(jobs).where(jobs.c.id == job_id)).one()


def fabricate(engine: Engine, job_id: int, **values) -> None:
    """Write a state straight into the table, as a crashed worker would have left it."""
    with engine.begin() as connection:
        connection.execute(update(jobs).where(jobs.c.id == job_id).values(**values))


@pytest.fixture
def queue(db_engine: Engine, fake_clock: FakeClock) -> JobQueue:
    """A queue on the test database with an injected clock and a 30 s lease."""
    return JobQueue(db_engine, lease_s=30, max_attempts=3, clock=fake_clock)


def test_happy_path(queue: JobQueue, db_engine: Engine) -> None:
    job_id = add_job(queue, db_engine, "a", video_id=None)
    assert row(db_engine, job_id).state == JobState.QUEUED

    [job] = queue.claim("w1", 5)
    assert isinstance(job, ClaimedJob)
    assert (job.id, job.kind, job.attempt, job.max_attempts, job.lease_owner) == (
        job_id,
        JobKind.ASSESS,
        1,
        3,
        "w1",
    )
    assert row(db_engine, job_id).state == JobState.RUNNING
    assert queue.claim("w2", 5) == []

    assert queue.heartbeat(job)
    assert queue.set_stage(job, "analysing")
    assert row(db_engine, job_id).stage == "analysing"
    assert queue.complete(job)
    done = row(db_engine, job_id)
    assert done.state == JobState.DONE
    assert done.finished_at is not None and done.finished_at.tzinfo is not None
    # A second completion is a lost race, reported as such.
    assert not queue.complete(job)
    assert queue.claim("w1", 5) == []


def test_claim_limit_zero_and_empty(queue: JobQueue, db_engine: Engine) -> None:
    assert queue.claim("w1", 3) == []
    add_job(queue, db_engine, "a")
    assert queue.claim("w1", 0) == []
    assert len(queue.claim("w1", 1)) == 1


def test_dedupe_while_active_then_free_after_done(queue: JobQueue, db_engine: Engine) -> None:
    first = add_job(queue, db_engine, "assess:1:10")
    with Session(db_engine) as session:
        assert queue.enqueue(session, kind="assess", chat_id=1, user_id=1, dedupe_key="assess:1:10") is None
        session.commit()
    [job] = queue.claim("w1", 1)
    with Session(db_engine) as session:  # still active while running
        assert queue.enqueue(session, kind="assess", chat_id=1, user_id=1, dedupe_key="assess:1:10") is None
    assert queue.fail(job, "net", transient=True) == JobState.FAILED
    with Session(db_engine) as session:  # and while waiting to retry
        assert queue.enqueue(session, kind="assess", chat_id=1, user_id=1, dedupe_key="assess:1:10") is None
    fabricate(db_engine, first, state=JobState.DONE.value)
    second = add_job(queue, db_engine, "assess:1:10")
    assert second != first


def test_dedupe_freed_by_cancel_and_dead(queue: JobQueue, db_engine: Engine) -> None:
    add_job(queue, db_engine, "k", chat_id=5)
    assert queue.cancel_for_chat(5) == 1
    add_job(queue, db_engine, "k", chat_id=5)
    [job] = queue.claim("w1", 1)
    assert queue.fail(job, "bad input", transient=False) == JobState.DEAD
    add_job(queue, db_engine, "k", chat_id=5)


def test_rollback_leaves_no_job_and_no_video(queue: JobQueue, db_engine: Engine) -> None:
    with Session(db_engine) as session:
        session.add(User(id=42))
        session.commit()
    with Session(db_engine) as session:
        video = Video(user_id=42, chat_id=42, message_id=7, source="video", file_id="f", file_unique_id="u")
        session.add(video)
        session.flush()
        job_id = queue.enqueue(session, kind="assess", chat_id=42, user_id=42, dedupe_key="v7", video_id=video.id)
        assert job_id is not None
        session.rollback()
    with db_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(jobs)).scalar_one() == 0
        assert connection.execute(select(func.count()).select_from(Video.__table__)).scalar_one() == 0
    # The key was never taken: enqueueing it again works.
    add_job(queue, db_engine, "v7", chat_id=42)


def test_priority_answer_before_assess(queue: JobQueue, db_engine: Engine, fake_clock: FakeClock) -> None:
    assess = add_job(queue, db_engine, "assess", chat_id=1)
    fake_clock.advance(1)
    answer = add_job(queue, db_engine, "answer", chat_id=2, kind=JobKind.ANSWER)
    assert row(db_engine, answer).priority == 0
    assert row(db_engine, assess).priority == 10
    [first] = queue.claim("w1", 1)
    assert first.id == answer and first.kind == JobKind.ANSWER
    [second] = queue.claim("w1", 1)
    assert second.id == assess


def test_oldest_first_within_a_priority(queue: JobQueue, db_engine: Engine, fake_clock: FakeClock) -> None:
    ids = []
    for index in range(4):
        ids.append(add_job(queue, db_engine, f"k{index}", chat_id=100 + index))
        fake_clock.advance(1)
    claimed = queue.claim("w1", 4)
    assert [job.id for job in claimed] == ids


def test_per_chat_cap(queue: JobQueue, db_engine: Engine, fake_clock: FakeClock) -> None:
    for index in range(10):
        add_job(queue, db_engine, f"a{index}", chat_id=1000)
        fake_clock.advance(0.1)
    b_job = add_job(queue, db_engine, "b0", chat_id=2000)

    claimed = queue.claim("w1", 2)
    assert sorted(job.chat_id for job in claimed) == [1000, 2000]
    assert b_job in {job.id for job in claimed}
    # Chat A is at its cap while its job runs: nobody gets another of its jobs.
    assert queue.claim("w2", 5) == []
    a_job = next(job for job in claimed if job.chat_id == 1000)
    assert queue.complete(a_job)
    [next_a] = queue.claim("w2", 5)
    assert next_a.chat_id == 1000


def test_per_chat_cap_above_one(db_engine: Engine, fake_clock: FakeClock) -> None:
    queue = JobQueue(db_engine, lease_s=30, per_chat_cap=2, clock=fake_clock)
    for index in range(5):
        add_job(queue, db_engine, f"a{index}", chat_id=1)
    assert len(queue.claim("w1", 10)) == 2
    assert queue.claim("w1", 10) == []


def test_position(queue: JobQueue, db_engine: Engine, fake_clock: FakeClock) -> None:
    ids = []
    for index in range(3):
        ids.append(add_job(queue, db_engine, f"k{index}", chat_id=10 + index))
        fake_clock.advance(1)
    assert [queue.position(job_id) for job_id in ids] == [1, 2, 3]
    answer = add_job(queue, db_engine, "answer", chat_id=99, kind=JobKind.ANSWER)
    assert queue.position(answer) == 1
    assert [queue.position(job_id) for job_id in ids] == [2, 3, 4]
    claimed = queue.claim("w1", 1)
    assert claimed[0].id == answer
    assert queue.position(answer) is None
    assert [queue.position(job_id) for job_id in ids] == [1, 2, 3]
    assert queue.position(123456) is None


def test_fenced_writes_after_rescue(queue: JobQueue, db_engine: Engine, fake_clock: FakeClock) -> None:
    job_id = add_job(queue, db_engine, "k")
    [old] = queue.claim("w1", 1)
    fake_clock.advance(31)  # w1 stalls past its lease
    assert queue.rescue_expired() == []
    assert row(db_engine, job_id).state == JobState.QUEUED
    [new] = queue.claim("w2", 1)
    assert new.id == job_id and new.attempt == 2

    assert not queue.heartbeat(old)
    assert not queue.set_stage(old, "delivering")
    assert not queue.complete(old)
    assert queue.fail(old, "late", transient=True) is None
    assert not queue.release(old)
    current = row(db_engine, job_id)
    assert (current.state, current.lease_owner, current.attempt) == (JobState.RUNNING, "w2", 2)

    assert queue.complete(new)
    assert row(db_engine, job_id).state == JobState.DONE


def test_fence_includes_attempt_for_same_worker(queue: JobQueue, db_engine: Engine, fake_clock: FakeClock) -> None:
    add_job(queue, db_engine, "k")
    [old] = queue.claim("w1", 1)
    fake_clock.advance(31)
    queue.rescue_expired()
    [new] = queue.claim("w1", 1)  # the same worker id takes it again (e.g. after a restart)
    assert new.attempt == old.attempt + 1
    assert not queue.complete(old)
    assert queue.complete(new)


def test_heartbeat_extends_lease(queue: JobQueue, db_engine: Engine, fake_clock: FakeClock) -> None:
    job_id = add_job(queue, db_engine, "k")
    [job] = queue.claim("w1", 1)
    for _ in range(4):
        fake_clock.advance(20)
        assert queue.heartbeat(job)
        assert queue.rescue_expired() == []
    lease = row(db_engine, job_id).lease_expires_at
    assert lease == fake_clock() + timedelta(seconds=30)
    assert queue.complete(job)


def test_fabricated_lease_expired_35s_ago(queue: JobQueue, db_engine: Engine, fake_clock: FakeClock) -> None:
    job_id = add_job(queue, db_engine, "k")
    fabricate(
        db_engine,
        job_id,
        state="running",
        attempt=1,
        lease_owner="crashed-worker",
        lease_expires_at=fake_clock() - timedelta(seconds=35),
        heartbeat_at=fake_clock() - timedelta(seconds=65),
    )
    assert queue.rescue_expired() == []
    rescued = row(db_engine, job_id)
    assert rescued.state == JobState.QUEUED
    assert rescued.lease_owner is None
    assert rescued.last_error == "lease expired"
    assert [entry["error"] for entry in rescued.errors] == ["lease expired"]
    assert rescued.errors[0]["attempt"] == 1
    # Idempotent: a second rescuer finds nothing to do.
    assert queue.rescue_expired() == []
    [job] = queue.claim("w2", 1)
    assert job.id == job_id and job.attempt == 2
    assert queue.complete(job)


def test_unexpired_lease_is_not_rescued(queue: JobQueue, db_engine: Engine, fake_clock: FakeClock) -> None:
    job_id = add_job(queue, db_engine, "k")
    fabricate(db_engine, job_id, state="running", attempt=1, lease_owner="w", lease_expires_at=fake_clock())
    assert queue.rescue_expired() == []
    assert row(db_engine, job_id).state == JobState.RUNNING


def test_fabricated_poison_job_dies_and_is_reported_once(
    queue: JobQueue, db_engine: Engine, fake_clock: FakeClock
) -> None:
    job_id = add_job(queue, db_engine, "poison", chat_id=77)
    fabricate(
        db_engine,
        job_id,
        state="running",
        attempt=3,
        lease_owner="crashed-worker",
        lease_expires_at=fake_clock() - timedelta(seconds=35),
    )
    assert queue.rescue_expired() == [job_id]
    dead = row(db_engine, job_id)
    assert dead.state == JobState.DEAD and dead.finished_at is not None
    assert queue.claim("w1", 5) == []

    [reported] = queue.dead_unnotified(10)
    assert (reported.id, reported.chat_id, reported.attempt, reported.last_error) == (
        job_id,
        77,
        3,
        "lease expired",
    )
    assert queue.mark_notified(job_id)
    assert not queue.mark_notified(job_id)
    assert queue.dead_unnotified(10) == []


def test_transient_failure_backs_off(db_engine: Engine, fake_clock: FakeClock) -> None:
    queue = JobQueue(db_engine, lease_s=30, max_attempts=3, backoff_base_s=10, backoff_cap_s=60, clock=fake_clock)
    job_id = add_job(queue, db_engine, "k")
    [job] = queue.claim("w1", 1)
    assert queue.fail(job, "TimedOut", transient=True) == JobState.FAILED
    failed = row(db_engine, job_id)
    assert failed.state == JobState.FAILED
    assert failed.lease_owner is None and failed.lease_expires_at is None
    # Equal jitter around base * 2^0 = 10 s.
    delay = (failed.run_at - fake_clock()).total_seconds()
    assert 5 <= delay <= 10
    assert queue.claim("w1", 1) == []
    fake_clock.advance(delay - 0.5)
    assert queue.claim("w1", 1) == []
    fake_clock.advance(1)
    [retry] = queue.claim("w1", 1)
    assert retry.id == job_id and retry.attempt == 2
    assert queue.fail(retry, "TimedOut again", transient=True) == JobState.FAILED
    errors = row(db_engine, job_id).errors
    assert [(entry["attempt"], entry["error"], entry["transient"]) for entry in errors] == [
        (1, "TimedOut", True),
        (2, "TimedOut again", True),
    ]
    assert all(entry["at"] for entry in errors)


def test_retry_after_overrides_backoff(queue: JobQueue, db_engine: Engine, fake_clock: FakeClock) -> None:
    job_id = add_job(queue, db_engine, "k")
    [job] = queue.claim("w1", 1)
    assert queue.fail(job, "RetryAfter", transient=True, retry_after_s=7) == JobState.FAILED
    assert row(db_engine, job_id).run_at == fake_clock() + timedelta(seconds=7)


def test_transient_failures_exhaust_attempts(queue: JobQueue, db_engine: Engine, fake_clock: FakeClock) -> None:
    job_id = add_job(queue, db_engine, "k")
    states = []
    for _ in range(3):
        fake_clock.advance(400)
        [job] = queue.claim("w1", 1)
        states.append(queue.fail(job, "NetworkError", transient=True))
    assert states == [JobState.FAILED, JobState.FAILED, JobState.DEAD]
    final = row(db_engine, job_id)
    assert final.state == JobState.DEAD and final.attempt == 3 and len(final.errors) == 3
    fake_clock.advance(400)
    assert queue.claim("w1", 1) == []
    assert [job.id for job in queue.dead_unnotified(5)] == [job_id]


def test_permanent_failure_is_dead(queue: JobQueue, db_engine: Engine) -> None:
    job_id = add_job(queue, db_engine, "k")
    [job] = queue.claim("w1", 1)
    assert queue.fail(job, "NotAVideo", transient=False) == JobState.DEAD
    dead = row(db_engine, job_id)
    assert (dead.state, dead.attempt, dead.last_error) == (JobState.DEAD, 1, "NotAVideo")
    assert dead.errors[0]["transient"] is False


def test_run_at_in_future_is_not_claimable(queue: JobQueue, db_engine: Engine, fake_clock: FakeClock) -> None:
    add_job(queue, db_engine, "later", run_at=fake_clock() + timedelta(seconds=60))
    assert queue.claim("w1", 1) == []
    fake_clock.advance(61)
    assert len(queue.claim("w1", 1)) == 1


def test_cancel_for_chat_stops_a_running_job(queue: JobQueue, db_engine: Engine) -> None:
    running_id = add_job(queue, db_engine, "r", chat_id=5)
    [job] = queue.claim("w1", 1)
    waiting_id = add_job(queue, db_engine, "q", chat_id=5)
    other_id = add_job(queue, db_engine, "o", chat_id=6)
    assert queue.cancel_for_chat(5) == 2
    assert not queue.complete(job)
    assert not queue.heartbeat(job)
    assert row(db_engine, running_id).state == JobState.CANCELLED
    assert row(db_engine, waiting_id).state == JobState.CANCELLED
    assert row(db_engine, other_id).state == JobState.QUEUED
    assert queue.cancel_for_chat(5) == 0


def test_release_returns_job_without_spending_attempt(queue: JobQueue, db_engine: Engine) -> None:
    job_id = add_job(queue, db_engine, "k")
    [job] = queue.claim("w1", 1)
    assert queue.release(job)
    released = row(db_engine, job_id)
    assert (released.state, released.attempt, released.lease_owner) == (JobState.QUEUED, 0, None)
    assert not queue.release(job)
    [again] = queue.claim("w2", 1)
    assert again.attempt == 1


def test_counts_and_states(queue: JobQueue, db_engine: Engine) -> None:
    first = add_job(queue, db_engine, "a", chat_id=1)
    second = add_job(queue, db_engine, "b", chat_id=2)
    [job] = queue.claim("w1", 1)
    assert queue.counts() == {"queued": 1, "running": 1}
    assert queue.get_states([first, second]) == {job.id: "running", ({first, second} - {job.id}).pop(): "queued"}


def test_database_clock_without_injection(db_engine: Engine) -> None:
    """With no injected clock the queue uses PostgreSQL's now() or Python's UTC clock."""
    queue = JobQueue(db_engine, lease_s=30)
    job_id = add_job(queue, db_engine, "k")
    [job] = queue.claim("w1", 1)
    claimed = row(db_engine, job_id)
    assert claimed.lease_expires_at - claimed.heartbeat_at == timedelta(seconds=30)
    assert queue.fail(job, "x", transient=True, retry_after_s=0) == JobState.FAILED
    [retry] = queue.claim("w1", 1)
    assert retry.attempt == 2
    assert queue.complete(retry)


def test_backoff_is_capped_exponential_with_jitter() -> None:
    for attempt, ceiling in [(1, 5), (2, 10), (3, 20), (4, 40), (10, 300), (30, 300)]:
        samples = [backoff_s(attempt, base_s=5, cap_s=300) for _ in range(50)]
        assert all(ceiling / 2 <= sample <= ceiling for sample in samples)
    assert len({backoff_s(3) for _ in range(20)}) > 1


def test_invalid_configuration(db_engine: Engine) -> None:
    with pytest.raises(ValueError, match="lease_s"):
        JobQueue(db_engine, lease_s=0)
