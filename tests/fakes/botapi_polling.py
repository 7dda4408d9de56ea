"""getUpdates as the fake Bot API serves it: long polling, offsets, 409 conflicts (mixin for FakeBotApi)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.fakes.botapi_records import ApiError, GetUpdatesCall
from tests.fakes.botapi_world import World

_CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
_WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
MAX_POLL_TIMEOUT = 50.0


class Poll:
    """One waiting getUpdates call."""

    def __init__(self, request: web.Request) -> None:
        """Track the HTTP request so a newer poll can terminate it with 409."""
        self.request = request
        self.event = asyncio.Event()
        self.conflicted = False

    @property
    def connected(self) -> bool:
        """Whether the client is still waiting for this answer."""
        transport = self.request.transport
        return transport is not None and not transport.is_closing()


class LongPolling:
    """Mixin for FakeBotApi: getUpdates long polling, woken when the simulated users post updates."""

    _lock: threading.RLock
    _world: World
    _loop: asyncio.AbstractEventLoop | None
    _polls: set[Poll]
    _closing: bool
    conflicts: int
    get_updates_calls: list[GetUpdatesCall]
    _wake_webhook: Callable[[], None]  # from the webhook mixin

    def _notify(self) -> None:
        """Wake waiting long polls (callable from any thread)."""
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(self._wake_polls)

    def _wake_polls(self) -> None:
        """Set every waiting poll's event, and wake webhook delivery (server loop only)."""
        for poll in self._polls:
            poll.event.set()
        self._wake_webhook()

    async def _get_updates(self, request: web.Request, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long polling with offset confirmation, limit, timeout and allowed_updates, like Telegram."""
        with self._lock:
            if self._world.webhook:
                raise ApiError(409, _WEBHOOK_CONFLICT)
            self._world.confirm(int(params.get("offset") or 0))
            self._world.set_allowed_updates(params.get("allowed_updates"))
        # A newer getUpdates terminates an older one that is still waiting.
        for old in list(self._polls):
            if old.connected:
                old.conflicted = True
                old.event.set()
        poll = Poll(request)
        self._polls.add(poll)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), MAX_POLL_TIMEOUT)
        try:
            while True:
                poll.event.clear()
                if poll.conflicted:
                    with self._lock:
                        self.conflicts += 1
                    raise ApiError(409, _CONFLICT)
                with self._lock:
                    batch = self._world.available(int(params.get("limit") or 100))
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0 or self._closing:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(poll.event.wait(), remaining)
        finally:
            self._polls.discard(poll)
        with self._lock:
            self.get_updates_calls.append(
                GetUpdatesCall(params, tuple(u["update_id"] for u in batch), time.monotonic())
            )
        return batch
