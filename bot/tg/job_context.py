"""A claimed job and what it needs: stage bookkeeping, lease checks and the metrics of its stages."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from telegram import Bot

from bot.services import Services
from bot.tg.progress import StatusEditor
from storage.queue import ClaimedJob

__all__ = ["JobContext", "LeaseLost"]


class LeaseLost(Exception):
    """Another worker owns this job now; stop without writing anything."""


@dataclass
class JobContext:
    """One claimed job and what it needs."""

    services: Services
    bot: Bot
    job: ClaimedJob
    status: StatusEditor
    # Set once only delivery is left: the worker's slot may claim the next job meanwhile (see WorkerPool).
    slot_freed: asyncio.Event = field(default_factory=asyncio.Event)
    # The stage being timed for the metrics and when it began (time.perf_counter()).
    _timed_stage: tuple[str, float] | None = field(default=None, init=False)

    async def stage(self, name: str) -> None:
        """Record the job's stage; a lost lease stops the job."""
        self.end_stage()
        self._timed_stage = (name, time.perf_counter())
        if not await asyncio.to_thread(self.services.queue.set_stage, self.job, name):
            raise LeaseLost(name)

    def end_stage(self) -> None:
        """Report how long the current stage took (when a new one begins or the attempt ends)."""
        if self._timed_stage is not None:
            name, started = self._timed_stage
            seconds = time.perf_counter() - started
            self.services.metrics.stage_seconds.labels(self.job.kind.value, name).observe(seconds)
            self._timed_stage = None

    def free_slot(self) -> None:
        """Only sending is left (paced by the chat, not the machine): the slot may start on another job."""
        self.slot_freed.set()

    async def ensure_lease(self) -> None:
        """Check the lease right before an effect that cannot be undone (a message to the patient)."""
        if not await asyncio.to_thread(self.services.queue.heartbeat, self.job):
            raise LeaseLost("before sending")
