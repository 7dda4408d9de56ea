"""Fast recovery: a lease whose owner process is provably dead is rescued at once (issue 10.3)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from storage.queue import JobQueue, JobState
from storage.queue_owner import make_owner_id, owner_is_dead, this_host
from tests.fixtures.db import FakeClock
from tests.test_queue import add_job, fabricate, row


@pytest.fixture
def queue(db_engine: Engine, fake_clock: FakeClock) -> JobQueue:
    """A queue on the test database with an injected clock and a 45 s lease."""
    return JobQueue(db_engine, lease_s=45, max_attempts=3, clock=fake_clock)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process of this host that is not this one."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def dead_owner() -> str:
    """The owner name of a process of this host that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    owner = make_owner_id(process.pid)
    process.kill()
    process.wait()
    return owner


def lease(queue: JobQueue, engine: Engine, clock: FakeClock, owner: str, key: str = "k") -> int:
    """A running job whose lease, held by `owner`, has 40 s left."""
    job_id = add_job(queue, engine, key)
    fabricate(
        engine, job_id, state="running", attempt=1, lease_owner=owner, lease_expires_at=clock() + timedelta(seconds=40)
    )
    return job_id


def test_lease_of_dead_local_process_is_claimable_at_once(
    queue: JobQueue, db_engine: Engine, fake_clock: FakeClock
) -> None:
    job_id = lease(queue, db_engine, fake_clock, dead_owner())
    assert queue.rescue_expired() == []
    rescued = row(db_engine, job_id)
    assert rescued.state == JobState.QUEUED and rescued.lease_owner is None
    assert rescued.last_error == "lease owner died"
    [job] = queue.claim("w2", 1)
    # The dead worker's attempt stays spent: the rescue is the attempt's end, as for an expired lease.
    assert job.id == job_id and job.attempt == 2
    assert queue.complete(job)
    assert queue.rescue_expired() == []


def test_dead_owner_with_spent_attempts_is_dead(queue: JobQueue, db_engine: Engine, fake_clock: FakeClock) -> None:
    job_id = lease(queue, db_engine, fake_clock, dead_owner())
    fabricate(db_engine, job_id, attempt=3)
    assert queue.rescue_expired() == [job_id]
    assert row(db_engine, job_id).state == JobState.DEAD


def test_lease_of_live_local_process_is_kept(
    queue: JobQueue, db_engine: Engine, fake_clock: FakeClock, sleeper: subprocess.Popen[bytes]
) -> None:
    owner = make_owner_id(sleeper.pid)
    job_id = lease(queue, db_engine, fake_clock, owner)
    mine = lease(queue, db_engine, fake_clock, make_owner_id(), key="mine")
    assert queue.rescue_expired() == []
    assert queue.claim("w2", 5) == []
    assert row(db_engine, job_id).state == JobState.RUNNING
    assert row(db_engine, mine).state == JobState.RUNNING
    # The expiry path still applies to it once the lease runs out.
    fake_clock.advance(41)
    assert queue.rescue_expired() == []
    assert row(db_engine, job_id).state == JobState.QUEUED


def test_reused_pid_is_not_the_owner(sleeper: subprocess.Popen[bytes]) -> None:
    host, pid, start, rand = make_owner_id(sleeper.pid).split(":")
    assert not owner_is_dead(f"{host}:{pid}:{start}:{rand}")
    # Same pid, another start time: the process that held the lease is gone.
    assert owner_is_dead(f"{host}:{pid}:{int(start) - 10_000}:{rand}")


def test_lease_from_another_host_is_not_rescued_early(
    queue: JobQueue, db_engine: Engine, fake_clock: FakeClock
) -> None:
    dead = dead_owner()
    _, pid, start, rand = dead.split(":")
    other = f"{this_host()}-elsewhere:{pid}:{start}:{rand}"
    job_id = lease(queue, db_engine, fake_clock, other)
    foreign = lease(queue, db_engine, fake_clock, "crashed-worker", key="foreign")
    assert queue.rescue_expired() == []
    assert row(db_engine, job_id).state == JobState.RUNNING
    assert row(db_engine, foreign).state == JobState.RUNNING
    fake_clock.advance(41)
    queue.rescue_expired()
    assert row(db_engine, job_id).state == JobState.QUEUED


def test_fenced_writes_of_the_rescued_owner_fail(queue: JobQueue, db_engine: Engine, fake_clock: FakeClock) -> None:
    owner = dead_owner()
    add_job(queue, db_engine, "k")
    [job] = queue.claim(owner, 1)
    queue.rescue_expired()
    assert not queue.heartbeat(job)
    assert not queue.complete(job)
    [again] = queue.claim("w2", 1)
    assert again.attempt == 2 and queue.complete(again)
