"""Progress in the chat: one status message edited through the stages, throttled; chat actions kept alive."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

logger = logging.getLogger(__name__)

# Telegram allows about one message per second per chat, and edits count; stay under it.
DEFAULT_EDIT_INTERVAL_S = 1.5
# A chat action shows for five seconds; renew it a little earlier.
CHAT_ACTION_RENEW_S = 4.0


def retry_after_seconds(error: RetryAfter) -> float:
    """`retry_after` as seconds (python-telegram-bot gives an int or a timedelta)."""
    with warnings.catch_warnings():
        # Reading it warns about the coming int -> timedelta switch; both forms are handled.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


@dataclass
class _ChatEdits:
    """Edit bookkeeping for one chat."""

    next_allowed_at: float = 0.0
    pending: tuple[int, str] | None = None
    flusher: asyncio.Task[None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class StatusEditor:
    """Edits status messages with at most one edit per interval per chat; the latest text wins."""

    def __init__(
        self,
        bot: Bot,
        *,
        min_interval_s: float = DEFAULT_EDIT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Remember the bot and the pacing."""
        self._bot = bot
        self._interval = min_interval_s
        self._clock = clock
        self._chats: dict[int, _ChatEdits] = {}

    async def update(self, chat_id: int, message_id: int, text: str) -> None:
        """Show `text` in the status message now, or as soon as the chat's pace allows."""
        chat = self._chats.setdefault(chat_id, _ChatEdits())
        async with chat.lock:
            chat.pending = (message_id, text)
            wait = chat.next_allowed_at - self._clock()
            if wait <= 0 and chat.flusher is None:
                await self._flush(chat_id, chat)
            elif chat.flusher is None:
                chat.flusher = asyncio.create_task(self._flush_later(chat_id, chat, wait))

    async def _flush_later(self, chat_id: int, chat: _ChatEdits, delay: float) -> None:
        """Wait for the chat's next slot, then send the latest pending text."""
        await asyncio.sleep(max(0.0, delay))
        async with chat.lock:
            chat.flusher = None
            await self._flush(chat_id, chat)

    async def _flush(self, chat_id: int, chat: _ChatEdits) -> None:
        """Send the pending edit (caller holds the chat lock); progress never raises."""
        if chat.pending is None:
            return
        message_id, text = chat.pending
        chat.pending = None
        chat.next_allowed_at = self._clock() + self._interval
        try:
            await self._bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        except RetryAfter as error:
            chat.next_allowed_at = self._clock() + retry_after_seconds(error)
        except (BadRequest, Forbidden) as error:
            # "message is not modified" / deleted / blocked: a status line is not worth failing for.
            logger.debug("status edit skipped in chat %s: %s", chat_id, type(error).__name__)
        except TelegramError as error:
            logger.info("status edit failed in chat %s: %s", chat_id, type(error).__name__)

    async def finish(self, chat_id: int, message_id: int, text: str) -> None:
        """Send a final status now (cancelling a delayed edit), still respecting the pace."""
        chat = self._chats.setdefault(chat_id, _ChatEdits())
        if chat.flusher is not None:
            chat.flusher.cancel()
            chat.flusher = None
        wait = chat.next_allowed_at - self._clock()
        if wait > 0:
            await asyncio.sleep(wait)
        async with chat.lock:
            chat.pending = (message_id, text)
            await self._flush(chat_id, chat)

    async def close(self) -> None:
        """Cancel delayed edits."""
        for chat in self._chats.values():
            if chat.flusher is not None:
                chat.flusher.cancel()
        self._chats.clear()


@contextlib.asynccontextmanager
async def chat_action(bot: Bot, chat_id: int, action: str = ChatAction.TYPING) -> AsyncIterator[None]:
    """Keep a chat action ("typing…") visible while the body runs."""

    async def renew() -> None:
        """Re-send the action before Telegram hides it."""
        while True:
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id=chat_id, action=action)
            await asyncio.sleep(CHAT_ACTION_RENEW_S)

    task = asyncio.create_task(renew())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
