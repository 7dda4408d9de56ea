"""Webhook delivery as Telegram does it: pending updates POSTed one by one to the URL from setWebhook.

Each POST carries `X-Telegram-Bot-Api-Secret-Token` when setWebhook had a secret_token; an update
is confirmed (forgotten) only on a 2xx answer and otherwise retried, in order, like Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.fakes.botapi_world import World

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram backs off on failed deliveries; the fake retries quickly so tests stay short.
RETRY_S = 0.1


@dataclass(frozen=True)
class WebhookPost:
    """One delivery attempt: which update, where, and the HTTP status (0: no connection)."""

    update_id: int
    url: str
    status: int
    ts: float


class WebhookDelivery:
    """Mixin for FakeBotApi: pushes pending updates to the bot's webhook while one is set."""

    _lock: threading.RLock
    _world: World
    _closing: bool
    webhook_posts: list[WebhookPost]
    _webhook_wake: asyncio.Event | None

    def _wake_webhook(self) -> None:
        """Deliver new updates now rather than at the next retry tick (server loop only)."""
        if self._webhook_wake is not None:
            self._webhook_wake.set()

    async def _deliver_webhooks(self) -> None:
        """Run until the server closes: deliver whatever is pending while a webhook is set."""
        self._webhook_wake = asyncio.Event()
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not self._closing:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._webhook_wake.wait(), RETRY_S)
                self._webhook_wake.clear()
                while not self._closing and await self._deliver_one(session):
                    pass

    async def _deliver_one(self, session: aiohttp.ClientSession) -> bool:
        """POST the oldest pending update; True when it was accepted (so the next may follow)."""
        with self._lock:
            hook = dict(self._world.webhook)
            batch = self._world.available(1) if hook else []
        if not batch:
            return False
        update = batch[0]
        headers = {SECRET_HEADER: hook["secret_token"]} if hook.get("secret_token") else {}
        status = await _post(session, hook["url"], update, headers)
        with self._lock:
            self.webhook_posts.append(WebhookPost(update["update_id"], hook["url"], status, time.monotonic()))
            if 200 <= status < 300:
                self._world.confirm(update["update_id"] + 1)
        return 200 <= status < 300

    def webhook_deliveries(self) -> list[WebhookPost]:
        """Every webhook POST so far, in order."""
        with self._lock:
            return list(self.webhook_posts)


async def _post(session: aiohttp.ClientSession, url: str, update: dict[str, Any], headers: dict[str, str]) -> int:
    """POST one update as JSON; the HTTP status, or 0 when the bot could not be reached."""
    try:
        async with session.post(url, json=update, headers=headers) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError, OSError):
        return 0
