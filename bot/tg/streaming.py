"""Answers and feedback streamed into the chat as a draft (sendMessageDraft) while the model writes them.

Feedback is JSON to the model: its draft shows only the readable part (bot/vlm/feedback_preview.py),
and the feedback itself is still rendered from the parsed result and sent by the assessment job.
Feedback drafts have no edited-message fallback: where drafts are refused the status message, which
names the stage and the part being watched, is what the patient sees until the feedback arrives.

Drafts are a preview only: the answer is still sent as a reply and recorded by the answer job. Where
drafts are refused (400: a Bot API server or chat without them) the preview falls back to one message,
replying to the question and edited as the answer grows; the answer job then edits its final text into
that message instead of sending another. Any other failure (429, network) just ends the preview.

Pacing: Telegram allows about one message per second per chat, edits included (notes/telegram.md).
Drafts are meant for streaming and animate between versions, but the limit they fall under is not
documented, so they keep to that budget: the first draft goes out as soon as there is text, then at
most one per DRAFT_INTERVAL_S, always the latest text, never a repeat of what the draft shows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from telegram import Bot, ReplyParameters
from telegram.error import BadRequest, TelegramError

from bot.engine.assess import AnswerOutcome, AssessmentService, QuestionPlan
from bot.vlm.fallback import fallback_text
from bot.vlm.render import TELEGRAM_TEXT_LIMIT, utf16_len

logger = logging.getLogger(__name__)

DRAFT_INTERVAL_S = 1.0
# How long the final message waits for a draft request still in flight (so no draft lands after it).
_CLOSE_WAIT_S = 5.0
_MAX_DRAFT_ID = 2**31 - 1


def draft_id_for(turn_id: int) -> int:
    """A non-zero draft id, the same for every attempt at one turn's answer."""
    return (turn_id - 1) % _MAX_DRAFT_ID + 1


def is_private_chat(chat_id: int) -> bool:
    """Private chats have the user's (positive) id; groups and channels have negative ids."""
    return chat_id > 0


def feedback_draft_id(video_id: int) -> int:
    """The draft id of a video's streamed feedback, apart from the answers' ids (below 2**30 for any real count)."""
    return 2**30 + (video_id - 1) % 2**30


def draft_text(raw: str, render: Callable[[str], str] = fallback_text) -> str:
    """What a draft shows of the raw model text so far: rendered (by default as an answer is), within 4096 units."""
    text = render(raw)
    while (excess := utf16_len(text) - TELEGRAM_TEXT_LIMIT) > 0:
        text = text[: len(text) - max(1, excess // 2)]
    return text


class DraftStream:
    """Shows the growing text of one answer as a draft in a private chat, paced; never raises."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        draft_id: int,
        *,
        reply_to: int | None = None,
        interval_s: float | None = None,
        render: Callable[[str], str] = fallback_text,
    ) -> None:
        """Nothing is sent until text arrives; `reply_to` allows the edited-message fallback; `interval_s` paces.

        `render` turns the raw model text into what the draft shows (the feedback's readable part, say).
        """
        self._bot = bot
        self._render = render
        self.chat_id = chat_id
        self._draft_id = draft_id
        self._reply_to = reply_to
        # The fallback's message, once drafts were refused and the first text was sent.
        self.preview_message_id: int | None = None
        self._editing = False
        self._interval = DRAFT_INTERVAL_S if interval_s is None else interval_s
        self._raw = ""
        self._shown = ""
        self._changed = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._in_flight = False
        self.sent = 0
        self.stopped = False

    async def show(self, raw: str) -> None:
        """Take the raw text so far (an `on_text` callback); the draft catches up at its own pace."""
        if self._closed or self.stopped:
            return
        self._raw = raw
        self._changed.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"draft-{self.chat_id}")

    async def _run(self) -> None:
        """Send the latest text, then wait the interval, until closed or refused."""
        while not self._closed and not self.stopped:
            await self._changed.wait()
            self._changed.clear()
            if self._closed:
                return
            text = draft_text(self._raw, self._render)
            if not text or text == self._shown:
                continue
            await self._send(text)
            if not self._closed:
                await asyncio.sleep(self._interval)

    async def _send(self, text: str) -> None:
        """One draft (or one edit of the fallback message); a Telegram error ends this answer's preview."""
        self._in_flight = True
        try:
            await self._deliver(text)
        except TelegramError as error:
            self._stop(error)
        else:
            self._shown = text
            self.sent += 1
        finally:
            self._in_flight = False

    async def _deliver(self, text: str) -> None:
        """A draft while Telegram takes them; once it refuses one, the fallback message instead."""
        if not self._editing:
            try:
                await self._bot.send_message_draft(chat_id=self.chat_id, draft_id=self._draft_id, text=text)
                return
            except BadRequest:
                if self._reply_to is None:
                    raise
                logger.info("drafts refused in chat %s; editing one message instead", self.chat_id)
                self._editing = True
        await self._edit(text)

    async def _edit(self, text: str) -> None:
        """Send the fallback message replying to the question, or edit it to the latest text."""
        if self.preview_message_id is None:
            assert self._reply_to is not None
            message = await self._bot.send_message(
                chat_id=self.chat_id,
                text=text,
                reply_parameters=ReplyParameters(message_id=self._reply_to, allow_sending_without_reply=True),
            )
            self.preview_message_id = message.message_id
        else:
            await self._bot.edit_message_text(text, chat_id=self.chat_id, message_id=self.preview_message_id)

    def _stop(self, error: TelegramError) -> None:
        """End the preview; the answer is still delivered by the job."""
        self.stopped = True
        logger.info("drafts stopped in chat %s: %s", self.chat_id, type(error).__name__)

    async def close(self) -> None:
        """Stop drafting at once; a draft in flight may finish (briefly) so it cannot land after the final message."""
        self._closed = True
        self._changed.set()
        if self._task is None:
            return
        if self._in_flight:
            await asyncio.wait([self._task], timeout=_CLOSE_WAIT_S)
        self._task.cancel()
        await asyncio.wait([self._task])
        if not self._task.cancelled() and (error := self._task.exception()) is not None:
            # A preview must never cost the answer.
            logger.warning("draft task failed in chat %s: %s", self.chat_id, type(error).__name__)


async def answer_with_drafts(
    bot: Bot,
    assessment: AssessmentService,
    plan: QuestionPlan,
    *,
    chat_id: int,
    draft_id: int,
    question: str,
    locale: str,
    earlier_assessment: dict[str, Any] | str | None,
    turns: Sequence[tuple[str, str]] = (),
    cache_salt: str | None = None,
    drafts: DraftStream | None = None,
) -> AnswerOutcome:
    """The model's answer; in a private chat it streams into a draft meanwhile, elsewhere it comes whole.

    Pass `drafts` to read its `preview_message_id` afterwards (the edited-message fallback).
    """
    if drafts is None and is_private_chat(chat_id):
        drafts = DraftStream(bot, chat_id, draft_id)
    try:
        return await assessment.answer(
            plan,
            question=question,
            locale=locale,
            earlier_assessment=earlier_assessment,
            turns=turns,
            cache_salt=cache_salt,
            on_text=drafts.show if drafts is not None else None,
        )
    finally:
        if drafts is not None:
            await drafts.close()
