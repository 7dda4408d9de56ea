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

# Telegram allows about one message per second per chat, and edits count: requests to one chat go
# at least SEND_INTERVAL_S apart, and status edits (which only show progress) at most one per 1.5 s.
DEFAULT_EDIT_INTERVAL_S = 1.5
SEND_INTERVAL_S = 1.05
# A stage is shown only once work has gone on this long: a quick job goes from "queued" to its
# feedback without status edits that would only delay the feedback in the chat's message budget.
STAGE_SETTLE_S = 1.5
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

    # Edits still to make, oldest first: (message id, text, final).
    pending: list[tuple[int, str, bool]] = field(default_factory=list)
    flusher: asyncio.Task[None] | None = None
    # Held while a request to the chat is in flight, so an edit and a new message never go out together.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # What each status message shows now (an identical edit is refused by Telegram as "not modified").
    shown: dict[int, str] = field(default_factory=dict)
    # When the last status edit to this chat was made (time.monotonic()).
    last_edit: float | None = None
    # When each status message first got a stage to show (its edits wait STAGE_SETTLE_S from then).
    first_update: dict[int, float] = field(default_factory=dict)


class StatusEditor:
    """Paces what a worker sends to a chat: requests a second apart, status edits at most one per 1.5 s.

    Status edits are queued and the latest text wins; a stage is shown once the work has gone on
    for STAGE_SETTLE_S, so quick jobs spend the chat's message budget on their feedback instead.
    New messages (feedback, answers) wait for the chat's next slot through `sending`. `last_sent`
    may be shared with the handlers, which record their own replies in it, so the first edit keeps
    its distance from the "queued" reply.
    """

    def __init__(
        self,
        bot: Bot,
        *,
        min_interval_s: float = DEFAULT_EDIT_INTERVAL_S,
        send_interval_s: float = SEND_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        last_sent: dict[int, float] | None = None,
        settle_s: float = STAGE_SETTLE_S,
    ) -> None:
        """Remember the bot and the pacing."""
        self._bot = bot
        self._interval = min_interval_s
        self._send_interval = min(send_interval_s, min_interval_s)
        self._clock = clock
        self._chats: dict[int, _ChatEdits] = {}
        self._last_sent = last_sent if last_sent is not None else {}
        self._settle = settle_s

    def _chat(self, chat_id: int) -> _ChatEdits:
        """The bookkeeping of a chat."""
        return self._chats.setdefault(chat_id, _ChatEdits())

    def _wait_s(self, chat_id: int, *, edit: bool = False) -> float:
        """Seconds until the chat's next slot for a new message or (stricter) an edit; 0 or less: now."""
        now = self._clock()
        last = self._last_sent.get(chat_id)
        wait = 0.0 if last is None else last + self._send_interval - now
        chat = self._chat(chat_id)
        if edit and chat.last_edit is not None:
            wait = max(wait, chat.last_edit + self._interval - now)
        if edit and chat.pending:
            wait = max(wait, self._ready_at(chat, chat.pending[0]) - now)
        return wait

    def _ready_at(self, chat: _ChatEdits, entry: tuple[int, str, bool]) -> float:
        """When a queued edit may go out: a final status at once, a stage once the work has settled."""
        message_id, _, final = entry
        return 0.0 if final else chat.first_update.get(message_id, 0.0) + self._settle

    def _mark(self, chat_id: int, *, extra_s: float = 0.0) -> None:
        """Record a request to the chat now (plus a wait Telegram asked for)."""
        self._last_sent[chat_id] = max(self._last_sent.get(chat_id, 0.0), self._clock() + extra_s)

    def assume_shown(self, chat_id: int, message_id: int, text: str) -> None:
        """Note what a status message already shows (set by an earlier process), so it is not sent again."""
        self._chat(chat_id).shown.setdefault(message_id, text)

    async def update(self, chat_id: int, message_id: int, text: str) -> None:
        """Show `text` in the status message as soon as the chat's pace allows (never waits)."""
        chat = self._chat(chat_id)
        chat.first_update.setdefault(message_id, self._clock())
        chat.pending = [entry for entry in chat.pending if entry[0] != message_id] + [(message_id, text, False)]
        self._start_flusher(chat_id, chat)

    async def finish(self, chat_id: int, message_id: int, text: str) -> None:
        """Show a final status (replacing the message's queued edits) as soon as the chat's pace allows."""
        chat = self._chat(chat_id)
        chat.pending = [entry for entry in chat.pending if entry[0] != message_id] + [(message_id, text, True)]
        self._start_flusher(chat_id, chat)

    def _start_flusher(self, chat_id: int, chat: _ChatEdits) -> None:
        """Make sure a task is sending the chat's queued edits."""
        if chat.flusher is None:
            chat.flusher = asyncio.create_task(self._flush(chat_id, chat), name=f"status-{chat_id}")

    async def _flush(self, chat_id: int, chat: _ChatEdits) -> None:
        """Send queued edits one slot apart until none are left."""
        while True:
            wait = self._wait_s(chat_id, edit=True)
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if not chat.pending:
                chat.flusher = None
                return
            async with chat.lock:
                if self._wait_s(chat_id, edit=True) > 0 or not chat.pending:
                    continue  # a new message took the slot meanwhile
                message_id, text, _ = chat.pending.pop(0)
                await self._edit(chat_id, chat, message_id, text)

    async def _edit(self, chat_id: int, chat: _ChatEdits, message_id: int, text: str) -> None:
        """Edit one status message (caller holds the chat lock); progress never raises."""
        if chat.shown.get(message_id) == text:
            return
        self._mark(chat_id)
        chat.last_edit = self._clock()
        try:
            await self._bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        except RetryAfter as error:
            self._mark(chat_id, extra_s=retry_after_seconds(error) - self._interval)
        except (BadRequest, Forbidden) as error:
            # "message is not modified" / deleted / blocked: a status line is not worth failing for.
            logger.debug("status edit skipped in chat %s: %s", chat_id, type(error).__name__)
        except TelegramError as error:
            logger.info("status edit failed in chat %s: %s", chat_id, type(error).__name__)
        else:
            chat.shown[message_id] = text
        # The request may have taken a while (Telegram's answer, a retry): the pace counts from its end.
        self._mark(chat_id)

    @contextlib.asynccontextmanager
    async def sending(self, chat_id: int) -> AsyncIterator[None]:
        """Wait for the chat's next slot and hold it while the body sends one new message."""
        chat = self._chat(chat_id)
        while True:
            wait = self._wait_s(chat_id)
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            async with chat.lock:
                if self._wait_s(chat_id) > 0:
                    continue
                self._mark(chat_id)
                try:
                    yield
                finally:
                    self._mark(chat_id)
                return

    async def close(self) -> None:
        """Cancel queued edits."""
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
