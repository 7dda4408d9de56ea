"""What bench_worker.py records about each job: timestamps from wrappers around the queue, jobs and workers."""

from __future__ import annotations

import contextlib
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bot.tg.jobs as jobs_module
from bench.botbench import CURRENT_JOB
from bot.tg.progress import StatusEditor
from bot.tg.worker import WorkerPool


@dataclass
class JobTimes:
    """Timestamps (time.monotonic) of one job."""

    chat_id: int = 0
    enqueued: float = 0.0
    claimed: float = 0.0
    completed: float = 0.0
    download_s: float = 0.0
    prepare_s: float = 0.0
    pace_s: float = 0.0


@dataclass
class Probe:
    """Everything one configuration records."""

    jobs: dict[int, JobTimes] = field(default_factory=lambda: defaultdict(JobTimes))
    enqueued: list[float] = field(default_factory=list)
    db_s: list[float] = field(default_factory=list)
    idle_waits: list[tuple[float, float]] = field(default_factory=list)


def instrument(running: Any, probe: Probe) -> list[tuple[Any, str, Any]]:
    """Wrap the pieces whose timing matters; returns (owner, name, original) to undo class-level patches."""
    services = running.services
    queue = services.queue

    original_enqueue = queue.enqueue

    def enqueue(*args: Any, **kwargs: Any) -> Any:
        """Note when each job was enqueued."""
        job_id = original_enqueue(*args, **kwargs)
        probe.enqueued.append(time.monotonic())
        if job_id is not None:
            probe.jobs[job_id].enqueued = probe.enqueued[-1]
            probe.jobs[job_id].chat_id = kwargs["chat_id"]
        return job_id

    original_claim = queue.claim

    def claim(*args: Any, **kwargs: Any) -> Any:
        """Note when each job was claimed."""
        claimed = original_claim(*args, **kwargs)
        for job in claimed:
            probe.jobs[job.id].claimed = time.monotonic()
        return claimed

    original_complete = queue.complete

    def complete(job: Any) -> bool:
        """Note when each job was recorded done."""
        done = original_complete(job)
        probe.jobs[job.id].completed = time.monotonic()
        return done

    assessment = services.assessment
    original_prepare = assessment.prepare_video

    def prepare_video(*args: Any, **kwargs: Any) -> Any:
        """Probe + sample time per job (runs on a thread; the job id travels in the context)."""
        started = time.monotonic()
        try:
            return original_prepare(*args, **kwargs)
        finally:
            job_id = CURRENT_JOB.get()
            if job_id is not None:
                probe.jobs[job_id].prepare_s += time.monotonic() - started

    original_db = services.db

    async def db(function: Any, /, **kwargs: Any) -> Any:
        """Time each database unit of work, including its wait for a thread."""
        started = time.monotonic()
        try:
            return await original_db(function, **kwargs)
        finally:
            probe.db_s.append(time.monotonic() - started)

    queue.enqueue, queue.claim, queue.complete = enqueue, claim, complete
    assessment.prepare_video = prepare_video
    services.db = db

    original_download = jobs_module._download

    async def download(context: Any, video: Any) -> Any:
        """Download time per job (getFile + HTTP + store)."""
        started = time.monotonic()
        try:
            return await original_download(context, video)
        finally:
            probe.jobs[context.job.id].download_s += time.monotonic() - started

    original_execute = WorkerPool._execute

    async def execute(self: WorkerPool, job: Any, *args: Any) -> None:
        """Make the job id visible to everything the job runs (threads included)."""
        CURRENT_JOB.set(job.id)
        await original_execute(self, job, *args)

    original_wait = WorkerPool._wait_for_work

    async def wait_for_work(self: WorkerPool) -> None:
        """Note each idle wait of a slot and how long it lasted."""
        started = time.monotonic()
        await original_wait(self)
        probe.idle_waits.append((started, time.monotonic()))

    patches = [
        (jobs_module, "_download", original_download),
        (WorkerPool, "_execute", original_execute),
        (WorkerPool, "_wait_for_work", original_wait),
    ]
    jobs_module._download = download
    WorkerPool._execute = execute  # type: ignore[method-assign]
    WorkerPool._wait_for_work = wait_for_work  # type: ignore[method-assign]

    original_sending = getattr(StatusEditor, "sending", None)
    if original_sending is not None:

        @contextlib.asynccontextmanager
        async def sending(self: StatusEditor, chat_id: int) -> AsyncIterator[None]:
            """Time a job's wait for its chat's next send slot (the per-chat pace)."""
            started = time.monotonic()
            async with original_sending(self, chat_id):
                job_id = CURRENT_JOB.get()
                if job_id is not None:
                    probe.jobs[job_id].pace_s += time.monotonic() - started
                yield

        patches.append((StatusEditor, "sending", original_sending))
        StatusEditor.sending = sending  # type: ignore[method-assign]
    return patches
