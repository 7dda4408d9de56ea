"""The raw-video retention sweep: at most once a period, delete recordings older than the retention days."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from storage import crud
from storage.files import VideoStore
from storage.types import utcnow

logger = logging.getLogger(__name__)

# How often the sweep runs (the scheduler checks every minute; this keeps it to a few times a day).
SWEEP_EVERY_S = 6 * 3600.0


class RetentionSweep:
    """Deletes old recordings when due; `run` with an explicit `now` is the testable core."""

    def __init__(
        self,
        db: Callable[..., Awaitable[Any]],
        store: VideoStore,
        *,
        days: int,
        every_s: float = SWEEP_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`db` runs a CRUD function off the event loop (`Services.db`); `days` 0 keeps recordings."""
        self.db = db
        self.store = store
        self.days = days
        self.every_s = every_s
        self._clock = clock
        self._last: float | None = None

    async def run(self, *, now: datetime | None = None) -> crud.PurgeResult:
        """Purge recordings of finished videos received more than `days` before `now`."""
        if self.days <= 0:
            return crud.PurgeResult(videos=0, deleted=[])
        cutoff = (now or utcnow()) - timedelta(days=self.days)
        result: crud.PurgeResult = await self.db(crud.purge_raw_videos, older_than=cutoff, store=self.store)
        if result.videos:
            logger.info("retention: %d videos purged, %d files deleted", result.videos, len(result.deleted))
        return result

    async def run_if_due(self) -> None:
        """Run when the last sweep is at least `every_s` ago (the first call always runs)."""
        current = self._clock()
        if self._last is not None and current - self._last < self.every_s:
            return
        self._last = current
        await self.run()
