"""The asyncio worker pool: claims jobs, keeps their leases alive, runs them, retries or buries them.

`WORKERS` jobs are worked on at once. Downloads and frame sampling of some jobs overlap the model
call of another: the in-process model runs one call at a time on its own thread, so while it
works the other slots prepare the next videos. A job that has only its delivery left (sends paced
a second apart in its chat) hands its slot on and finishes beside the slots, still leased; at most
`WORKERS` such deliveries run at once. Execution is at-least-once (see storage.queue); every
effect of a job is recorded so a repeated run skips what was already done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.services import Services
from bot.tg.answers import run_answer_job
from bot.tg.jobs import JobContext, LeaseLost, run_assess_job
from bot.tg.progress import StatusEditor, retry_after_seconds
from bot.video import VideoRejected
from bot.vlm.backend import ModelError
from storage import crud
from storage.queue import ClaimedJob, DeadJob, JobKind, JobState
from storage.queue_owner import make_owner_id
from storage.types import utcnow

logger = logging.getLogger(__name__)

IDLE_POLL_S = 1.0


def make_worker_id() -> str:
    """A lease owner name unique to this process: host, pid, start time and a random part."""
    return make_owner_id()


class WorkerPool:
    """Runs queued jobs until stopped; never dies from one job."""

    def __init__(self, services: Services, bot: Bot, *, worker_id: str | None = None) -> None:
        """Prepare the slots; nothing runs until `start`."""
        self.services = services
        self.bot = bot
        self.worker_id = worker_id or make_worker_id()
        self.status = StatusEditor(bot, last_sent=services.last_sent)
        self._tasks: list[asyncio.Task[None]] = []
        # Jobs that handed their slot on and are only delivering.
        self._deliveries: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._model_ready: asyncio.Task[None] | None = None
        self._pose_ready: asyncio.Task[None] | None = None

    @property
    def heartbeat_s(self) -> float:
        """Heartbeats every third of the lease."""
        return self.services.settings.job_lease_s / 3

    async def start(self) -> None:
        """Start loading the model, the job slots and the maintenance loop (slots wait for the model)."""
        self._model_ready = asyncio.create_task(self.services.assessment.backend.start(), name="model-load")
        # The pose model loads beside the video model (a thread), so the first video does not wait for it.
        self._pose_ready = asyncio.create_task(asyncio.to_thread(self.services.pose.warm_up), name="pose-load")
        for slot in range(self.services.settings.workers):
            self._tasks.append(asyncio.create_task(self._slot(slot), name=f"worker-slot-{slot}"))
        self._tasks.append(asyncio.create_task(self._maintenance(), name="worker-maintenance"))
        logger.info("worker pool %s started with %d slots", self.worker_id, self.services.settings.workers)

    async def stop(self) -> None:
        """Stop claiming, cancel running jobs and return them to the queue unspent."""
        self._stopping.set()
        self.services.notify_work()
        running = [*self._tasks, *self._deliveries]
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.status.close()

    async def _slot(self, slot: int) -> None:
        """Claim one job at a time (only as many claims as free slots) and run it."""
        # Sampling follows the model's own processor configuration, so nothing is claimed before it loads.
        try:
            await asyncio.shield(self._model_ready)
        except Exception as error:
            logger.error("slot %d idle: the model could not be loaded (%s)", slot, type(error).__name__)
            return
        while not self._stopping.is_set():
            try:
                jobs = await asyncio.to_thread(self._timed_claim)
            except Exception as error:  # the database may be briefly unavailable
                logger.warning("claim failed in slot %d: %s", slot, type(error).__name__)
                jobs = []
            if not jobs:
                await self._wait_for_work()
                continue
            await self._run_in_slot(jobs[0])

    def _timed_claim(self) -> list[ClaimedJob]:
        """Claim one job (worker thread), reporting how long the claim statement took."""
        with self.services.metrics.claim_seconds.time():
            return self.services.queue.claim(self.worker_id, 1)

    async def _wait_for_work(self) -> None:
        """Sleep until a handler enqueues something or the poll interval passes."""
        event = self.services.work_available
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), IDLE_POLL_S)
        event.clear()

    async def _run_in_slot(self, job: ClaimedJob) -> None:
        """Run a job until it ends or only its delivery is left (then it goes on beside the slots)."""
        freed = asyncio.Event()
        run = asyncio.create_task(self._run(job, freed), name=f"job-run-{job.id}")
        handed_on = asyncio.create_task(freed.wait(), name=f"job-freed-{job.id}")
        try:
            await asyncio.wait((run, handed_on), return_when=asyncio.FIRST_COMPLETED)
            if not run.done() and len(self._deliveries) < self.services.settings.workers:
                self._deliveries.add(run)
                run.add_done_callback(self._delivery_done)
                return
            await run
        except asyncio.CancelledError:
            if run not in self._deliveries:
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run
            raise
        finally:
            handed_on.cancel()

    def _delivery_done(self, run: asyncio.Task[None]) -> None:
        """Forget a finished delivery; what would have stopped a slot is logged instead (type only)."""
        self._deliveries.discard(run)
        if not run.cancelled() and (error := run.exception()) is not None:
            logger.warning("delivery %s ended with %s", run.get_name(), type(error).__name__)

    async def _run(self, job: ClaimedJob, freed: asyncio.Event) -> None:
        """Run a job with heartbeats; record how it ended."""
        work = asyncio.create_task(self._execute(job, freed), name=f"job-{job.id}")
        beat = asyncio.create_task(self._heartbeat(job, work), name=f"heartbeat-{job.id}")
        try:
            await work
            outcome: tuple[str, bool, float | None] | None = None
        except LeaseLost:
            logger.info("job %s: lease lost, stopping without writing", job.id)
            return
        except asyncio.CancelledError:
            if self._stopping.is_set():
                # Graceful shutdown: the job goes back to the queue without spending an attempt.
                await asyncio.to_thread(self.services.queue.release, job)
                raise
            logger.info("job %s: cancelled after losing its lease", job.id)
            return
        except Exception as error:
            outcome = await self._classify(job, error)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        metrics = self.services.metrics
        if outcome is None:
            if await asyncio.to_thread(self.services.queue.complete, job):
                metrics.jobs_finished.labels(job.kind.value, "done").inc()
            else:
                logger.info("job %s finished but its lease was gone", job.id)
            # The chat's next job (held back by the per-chat cap) is claimable now: wake an idle slot.
            self.services.notify_work()
            return
        error_code, transient, retry_after = outcome
        state = await asyncio.to_thread(
            self.services.queue.fail, job, error_code, transient=transient, retry_after_s=retry_after
        )
        logger.warning("job %s attempt %d failed (%s) -> %s", job.id, job.attempt, error_code, state)
        if state is not None:
            metrics.jobs_finished.labels(job.kind.value, state.value).inc()
            # The reason without the exception's detail: a bounded set of label values.
            reason = error_code.split(":", 1)[0]
            if state == JobState.DEAD:
                metrics.dead_jobs.inc()
            else:
                metrics.retries.labels(reason).inc()

    async def _classify(self, job: ClaimedJob, error: Exception) -> tuple[str, bool, float | None]:
        """Turn an exception into (error code, transient?, retry delay); never includes patient data."""
        name = type(error).__name__
        if isinstance(error, TelegramError):
            self.services.metrics.delivery_failures.labels(name).inc()
        if isinstance(error, Forbidden):
            # The patient blocked the bot: retrying cannot help (marked before the job is dead, so no apology).
            try:
                await self.services.db(crud.mark_blocked, user_id=job.user_id)
            except Exception as db_error:  # the job's own outcome must still be recorded
                logger.warning("could not mark user %s blocked: %s", job.user_id, type(db_error).__name__)
            return "telegram_forbidden", False, None
        if isinstance(error, RetryAfter):
            return "telegram_retry_after", True, retry_after_seconds(error)
        if isinstance(error, BadRequest):
            return f"telegram_bad_request:{name}", False, None
        if isinstance(error, TelegramError):
            return f"telegram:{name}", True, None
        if isinstance(error, ModelError):
            return f"model:{name}", error.transient, None
        if isinstance(error, VideoRejected):
            return f"video:{error.reason}", False, None
        logger.error("job %s: unexpected %s", job.id, name, exc_info=error)
        return f"error:{name}", True, None

    async def _execute(self, job: ClaimedJob, freed: asyncio.Event) -> None:
        """Dispatch by job kind."""
        context = JobContext(services=self.services, bot=self.bot, job=job, status=self.status, slot_freed=freed)
        try:
            if job.kind == JobKind.ASSESS:
                await run_assess_job(context)
            elif job.kind == JobKind.ANSWER:
                await run_answer_job(context)
            else:
                raise ValueError(f"unknown job kind {job.kind}")
        finally:
            context.end_stage()

    async def _heartbeat(self, job: ClaimedJob, work: asyncio.Task[None]) -> None:
        """Extend the lease every third of it; cancel the work when the lease is lost."""
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                alive = await asyncio.to_thread(self.services.queue.heartbeat, job)
            except Exception as error:
                logger.warning("heartbeat for job %s failed: %s", job.id, type(error).__name__)
                continue
            if not alive:
                work.cancel()
                return

    async def _maintenance(self) -> None:
        """Rescue expired leases, tell patients about dead jobs, forget unconsented videos."""
        while not self._stopping.is_set():
            try:
                await self.maintain_once()
            except Exception as error:
                logger.warning("maintenance failed: %s", type(error).__name__)
            await asyncio.sleep(self.heartbeat_s)

    async def maintain_once(self) -> None:
        """One round of housekeeping (also called directly by tests)."""
        services = self.services
        dead = await asyncio.to_thread(services.queue.rescue_expired)
        if dead:
            logger.warning("jobs %s exhausted their attempts", dead)
            services.metrics.dead_jobs.inc(len(dead))
        for job in await asyncio.to_thread(services.queue.dead_unnotified, 20):
            if await asyncio.to_thread(services.queue.mark_notified, job.id):
                await self._tell_patient_job_died(job)
        cutoff = utcnow() - timedelta(hours=services.settings.consent_wait_h)
        await services.db(crud.expire_unconsented_videos, older_than=cutoff)

    async def _tell_patient_job_died(self, job: DeadJob) -> None:
        """A short apology replying to the video or question that could not be processed."""
        from bot.tg.jobs import notify_dead_job

        try:
            async with self.status.sending(job.chat_id):
                await notify_dead_job(self.services, self.bot, job, self.status)
        except TelegramError as error:
            self.services.metrics.delivery_failures.labels(type(error).__name__).inc()
            logger.info("could not notify chat about dead job: %s", type(error).__name__)
