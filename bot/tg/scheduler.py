"""A periodic "what is due" check: undelivered alerts and weekly summaries (restarts never skip or repeat)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Bot

from bot.clinic.retention import RetentionSweep
from bot.services import Services
from bot.tg.alerts import redeliver_alerts
from bot.tg.weekly import run_due_summaries

logger = logging.getLogger(__name__)

CHECK_EVERY_S = 60.0


class Scheduler:
    """Runs the due checks every minute until stopped."""

    def __init__(self, services: Services, bot: Bot, *, every_s: float = CHECK_EVERY_S) -> None:
        """Nothing runs until `start`."""
        self.services = services
        self.bot = bot
        self.every_s = every_s
        self._task: asyncio.Task[None] | None = None
        self.retention = RetentionSweep(services.db, services.store, days=services.settings.raw_video_retention_days)

    async def check_once(self) -> None:
        """One round: alerts first (urgent), then summaries, then (when due) the raw-video retention sweep."""
        await redeliver_alerts(self.services, self.bot)
        sent = await run_due_summaries(self.services, self.bot)
        if sent:
            logger.info("sent %d weekly summaries", sent)
        await self.retention.run_if_due()

    async def _loop(self) -> None:
        """Check, sleep, repeat; a failed round is logged and retried next time."""
        while True:
            try:
                await self.check_once()
            except Exception as error:
                logger.warning("scheduled check failed: %s", type(error).__name__)
            await asyncio.sleep(self.every_s)

    def start(self) -> None:
        """Start checking in the background."""
        self._task = asyncio.create_task(self._loop(), name="scheduler")

    async def stop(self) -> None:
        """Stop checking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
