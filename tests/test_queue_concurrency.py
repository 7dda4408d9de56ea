"""Concurrent workers (threads and processes) and a real SIGKILL, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from storage.models import Job
from storage.queue import JobQueue, JobState

REPO_ROOT = Path(__file__).resolve().parents[1]
HELPER = REPO_ROOT / "tests" / "helpers" / "queue_worker.py"
N_JOBS = 60
N_CHATS = 12

jobs = Job.__table__


def enqueue_numbered(queue: JobQueue, engine: Engine, n: int) -> dict[int, int]:
    """Enqueue n jobs spread over N_CHATS chats; returns job id -> index 0..n-1."""
    index_of = {}
    with Session(engine) as session:
        for index in range(n):
            job_id = queue.enqueue(
                session, kind="assess", chat_id=1000 + index % N_CHATS, user_id=1, dedupe_key=f"job:{index}"
            )
            index_of[job_id] = index
        session.commit()
    return index_of


def helper_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_threads_complete_each_job_exactly_once(db_engine: Engine) -> None:
    queue = JobQueue(db_engine, lease_s=60, per_chat_cap=1)
    index_of = enqueue_numbered(queue, db_engine, N_JOBS)
    lock = threading.Lock()
    done: list[int] = []
    claims: Counter[int] = Counter()
    done_by: Counter[str] = Counter()
    running_per_chat: Counter[int] = Counter()
    worst_per_chat = 0
    errors: list[BaseException] = []

    def worker(worker_id: str) -> None:
        nonlocal worst_per_chat
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                claimed = queue.claim(worker_id, 2)
                if not claimed:
                    counts = queue.counts()
                    if not counts.get("queued") and not counts.get("running"):
                        return
                    time.sleep(0.002)
                    continue
                for job in claimed:
                    with lock:
                        claims[job.id] += 1
                        running_per_chat[job.chat_id] += 1
                        worst_per_chat = max(worst_per_chat, running_per_chat[job.chat_id])
                    time.sleep(0.002)  # the "work"
                    # Decrement before completing: the local count never exceeds the database's.
                    with lock:
                        running_per_chat[job.chat_id] -= 1
                    if queue.complete(job):
                        with lock:
                            done.append(index_of[job.id])
                            done_by[worker_id] += 1
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not errors, errors
    assert sorted(done) == list(range(N_JOBS))
    assert set(claims.values()) == {1}
    assert worst_per_chat == 1
    assert queue.counts() == {"done": N_JOBS}
    assert len(done_by) >= 2, "the threads did not actually run concurrently"


def test_processes_complete_each_job_exactly_once(db_url: str, db_engine: Engine, tmp_path: Path) -> None:
    queue = JobQueue(db_engine, lease_s=60)
    index_of = enqueue_numbered(queue, db_engine, N_JOBS)
    outputs = [tmp_path / f"worker{i}.log" for i in range(4)]
    processes = [
        subprocess.Popen(
            [sys.executable, str(HELPER), db_url, "work", f"p{i}", str(out), "2"],
            cwd=REPO_ROOT,
            env=helper_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for i, out in enumerate(outputs)
    ]
    try:
        for process in processes:
            assert process.stdout.readline().strip() == "ready"
        for out in outputs:
            Path(f"{out}.go").touch()
        codes = [process.wait(timeout=90) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.stdout.close()
    assert codes == [0, 0, 0, 0]
    lines = [line.split() for out in outputs for line in out.read_text().splitlines()]
    done = [index_of[int(parts[1])] for parts in lines if parts[0] == "done"]
    claimed = Counter(int(parts[1]) for parts in lines if parts[0] == "claim")
    assert sorted(done) == list(range(N_JOBS))
    assert set(claimed.values()) == {1}
    assert queue.counts() == {"done": N_JOBS}
    workers_that_worked = sum(1 for out in outputs if "done" in out.read_text())
    assert workers_that_worked >= 2, "the processes did not actually run concurrently"


def test_sigkill_mid_job_is_taken_over_after_lease(db_url: str, db_engine: Engine) -> None:
    lease_s = 1.5
    queue = JobQueue(db_engine, lease_s=lease_s)
    [job_id] = enqueue_numbered(queue, db_engine, 1)
    victim = subprocess.Popen(
        [sys.executable, str(HELPER), db_url, "hang", "victim", str(lease_s)],
        cwd=REPO_ROOT,
        env=helper_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = victim.stdout.readline().split()
        assert line[:3] == ["claimed", str(job_id), "1"]
        # While the victim lives it heartbeats: its lease is never rescued.
        deadline = time.monotonic() + lease_s * 1.5
        while time.monotonic() < deadline:
            assert queue.rescue_expired() == []
            assert queue.claim("survivor", 1) == []
            time.sleep(0.1)
        with db_engine.connect() as connection:
            owner = connection.execute(select(jobs.c.lease_owner).where(jobs.c.id == job_id)).scalar_one()
        assert owner == "victim"

        victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=10) == -signal.SIGKILL
        killed_at = time.monotonic()

        taken = []
        while not taken and time.monotonic() - killed_at < lease_s + 10:
            queue.rescue_expired()
            taken = queue.claim("survivor", 1)
            time.sleep(0.05)
        assert taken, "the job was never taken over"
        # The last heartbeat was at most lease_s / 3 before the kill, so the lease ran out soon.
        assert time.monotonic() - killed_at < lease_s + 3
        [job] = taken
        assert (job.id, job.attempt) == (job_id, 2)
        assert queue.complete(job)
        assert not queue.complete(job)
        with db_engine.connect() as connection:
            final = connection.execute(select(jobs).where(jobs.c.id == job_id)).one()
        assert final.state == JobState.DONE and final.attempt == 2
        assert [entry["error"] for entry in final.errors] == ["lease expired"]
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
        if victim.stdout:
            victim.stdout.close()


@pytest.mark.parametrize("limit", [1, 3])
def test_concurrent_claims_never_exceed_chat_cap(db_engine: Engine, limit: int) -> None:
    """Many workers claiming at once from one busy chat still run at most one of its jobs."""
    queue = JobQueue(db_engine, lease_s=60, per_chat_cap=1)
    with Session(db_engine) as session:
        for index in range(20):
            queue.enqueue(session, kind="assess", chat_id=1, user_id=1, dedupe_key=f"busy:{index}")
        for index in range(5):
            queue.enqueue(session, kind="assess", chat_id=100 + index, user_id=1, dedupe_key=f"other:{index}")
        session.commit()
    results: list[list] = []
    barrier = threading.Barrier(6)

    def claimer(worker_id: str) -> None:
        barrier.wait()
        results.append(queue.claim(worker_id, limit))

    threads = [threading.Thread(target=claimer, args=(f"c{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    claimed = [job for batch in results for job in batch]
    per_chat = Counter(job.chat_id for job in claimed)
    assert per_chat[1] == 1
    assert max(per_chat.values()) == 1
    assert len({job.id for job in claimed}) == len(claimed)
