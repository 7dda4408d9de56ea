"""Follow-up answers stream into the chat as drafts; the final reply is sent and recorded as before."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlmodel import col

from bot.config import Settings
from bot.engine.assess import AssessmentService, ModelLimits, QuestionPlan, VideoLimits
from bot.tg import streaming
from bot.tg.streaming import answer_with_drafts, draft_id_for, draft_text
from bot.video.budget import SamplingSpec
from bot.vlm.backend import Completion, GenerationRequest, VideoInput
from storage.models import Turn
from tests.fakes.botapi import FakeBotApi
from tests.fakes.botapi_faults import RetryAfter, TelegramError
from tests.fixtures.bot import BotHarness, make_bot_settings
from tests.fixtures.videos import Clip
from tests.helpers.bot_e2e import (
    FEEDBACK_TIMEOUT_S,
    consent,
    make_slow_model,
    read_rows,
    replies_to,
    wait_for_feedback,
)

PIECE_DELAY_S = 0.04
TEST_INTERVAL_S = 0.2
DRAFT_REFUSED = TelegramError(400, "Bad Request: TEXTDRAFT_PEER_INVALID")


@pytest.fixture
def bot_settings(bot_api: FakeBotApi, tiny_model_dir: Path, tiny_whisper_dir: Path, tmp_path: Path) -> Settings:
    """The harness's settings with a tiny model that writes at least 24 tokens (its random answers can stop at 2)."""
    model = make_slow_model(tiny_model_dir, tmp_path / "long-answers", min_new_tokens=24)
    return make_bot_settings(bot_api, model, tmp_path / "data", asr_model=str(tiny_whisper_dir))


def slow_stream(harness: BotHarness) -> None:
    """Let the tiny model's pieces arrive a little apart (it writes faster than any pacing)."""
    backend = harness.services.assessment.backend
    original = backend.stream

    async def stream(request: GenerationRequest) -> AsyncIterator[str]:
        async for piece in original(request):
            await asyncio.sleep(PIECE_DELAY_S)
            yield piece

    backend.stream = stream  # type: ignore[method-assign]


async def ask_after_feedback(harness: BotHarness, clip: Clip, user_id: int) -> tuple[dict[str, Any], Any]:
    """A consented patient sends a video, gets feedback and asks about a moment; returns (user, question)."""
    api = harness.api
    patient = api.make_user(user_id, "Pat", "en")
    await consent(api, patient)
    video = api.user_sends_video(patient, clip.path.read_bytes(), duration=4, width=320, height=240)
    await wait_for_feedback(api, user_id, video["message_id"])
    slow_stream(harness)
    return patient, api.user_sends_text(patient, "what about my knee at 0:02?")


def saved_turn(harness: BotHarness, chat_id: int, question_id: int) -> Turn:
    """The turn row of a question, as committed."""
    rows = read_rows(harness.settings.database_url, Turn, col(Turn.chat_id) == chat_id)
    return next(turn for turn in rows if turn.question_message_id == question_id)


async def test_answer_streams_as_drafts_then_one_reply(
    bot_harness: BotHarness, clip_small: Clip, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Growing drafts, paced, with one draft id; then exactly one reply equal to the recorded answer."""
    monkeypatch.setattr(streaming, "DRAFT_INTERVAL_S", TEST_INTERVAL_S)
    api = bot_harness.api
    _, question = await ask_after_feedback(bot_harness, clip_small, 1401)
    answer = await api.wait_for_message(
        1401, lambda m: m.reply_to_message_id == question["message_id"], timeout=FEEDBACK_TIMEOUT_S
    )
    await asyncio.sleep(0.3)
    turn = saved_turn(bot_harness, 1401, question["message_id"])
    assert len(replies_to(api, 1401, question["message_id"])) == 1
    assert answer.text == turn.answer and turn.answer_message_id == answer.message_id

    drafts = api.drafts(1401)
    assert len(drafts) >= 2, api.describe()
    assert {draft.draft_id for draft in drafts} == {draft_id_for(turn.id or 0)}
    texts = [draft.text for draft in drafts]
    assert all(text.strip() for text in texts)
    assert all(earlier != later for earlier, later in itertools.pairwise(texts))
    # Each draft shows more of the same answer: a prefix of the next draft or of the final text.
    assert all(
        later.startswith(earlier) or answer.text.startswith(earlier) for earlier, later in itertools.pairwise(texts)
    )
    assert answer.text.startswith(texts[-1].rstrip())
    times = [draft.ts for draft in drafts]
    assert all(later - earlier >= TEST_INTERVAL_S * 0.9 for earlier, later in itertools.pairwise(times))
    final_call = next(
        call
        for call in api.calls
        if call.method == "sendMessage" and call.result and call.result.get("message_id") == answer.message_id
    )
    assert times[-1] <= final_call.ts
    assert api.violations == []


async def test_refused_drafts_fall_back_to_one_edited_message(
    bot_harness: BotHarness, clip_small: Clip, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drafts answered with 400: one message replying to the question grows by edits and ends as the answer."""
    monkeypatch.setattr(streaming, "DRAFT_INTERVAL_S", TEST_INTERVAL_S)
    api = bot_harness.api
    api.inject("sendMessageDraft", DRAFT_REFUSED, times=None, chat_id=1402)
    _, question = await ask_after_feedback(bot_harness, clip_small, 1402)
    await api.wait_for(lambda: replies_to(api, 1402, question["message_id"]), timeout=FEEDBACK_TIMEOUT_S)
    await api.wait_for(
        lambda: saved_turn(bot_harness, 1402, question["message_id"]).answer_message_id, timeout=FEEDBACK_TIMEOUT_S
    )
    turn = saved_turn(bot_harness, 1402, question["message_id"])
    [reply] = replies_to(api, 1402, question["message_id"])
    assert turn.answer_message_id == reply.message_id
    current = api.message(1402, reply.message_id)
    assert current is not None and current["text"] == turn.answer and turn.answer.strip()
    edits = [edit for edit in api.edits(1402) if edit.message_id == reply.message_id]
    assert len(edits) >= 2, "the answer did not grow in the message"
    assert edits[-1].text == turn.answer
    assert api.drafts(1402) == []
    assert len(api.calls_to("sendMessageDraft")) == 1
    assert [v.method for v in api.violations] == ["sendMessageDraft"]


async def test_redelivery_sends_the_saved_answer_without_drafts(
    bot_harness: BotHarness, clip_small: Clip, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply fails once after the answer was saved: the retry sends the saved answer, drafting nothing."""
    monkeypatch.setattr(streaming, "DRAFT_INTERVAL_S", TEST_INTERVAL_S)
    api = bot_harness.api
    patient = api.make_user(1403, "Pat", "en")
    await consent(api, patient)
    video = api.user_sends_video(patient, clip_small.path.read_bytes(), duration=4, width=320, height=240)
    await wait_for_feedback(api, 1403, video["message_id"])
    slow_stream(bot_harness)
    api.inject("sendMessage", RetryAfter(1), times=1, chat_id=1403)
    question = api.user_sends_text(patient, "what about my knee at 0:02?")
    answer = await api.wait_for_message(
        1403, lambda m: m.reply_to_message_id == question["message_id"], timeout=FEEDBACK_TIMEOUT_S
    )
    refused = next(call for call in api.calls if call.method == "sendMessage" and call.status == 429)
    assert [d for d in api.drafts(1403) if d.ts > refused.ts] == []
    turn = saved_turn(bot_harness, 1403, question["message_id"])
    assert answer.text == turn.answer
    assert len(replies_to(api, 1403, question["message_id"])) == 1


class ScriptedBackend:
    """A stand-in model that streams fixed words a fixed interval apart."""

    model_id = "scripted"
    sampling = SamplingSpec()

    def __init__(self, words: list[str], interval_s: float) -> None:
        """Keep the words and the pace."""
        self.words = words
        self.interval_s = interval_s
        self.streams = 0

    async def start(self) -> None:
        """Nothing to load."""

    async def complete(self, request: GenerationRequest) -> Completion:
        """All the words at once."""
        text = "".join(self.words)
        return Completion(text, 1, len(self.words), 0.0, None, "stop")

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        """One word per interval."""
        self.streams += 1
        for word in self.words:
            await asyncio.sleep(self.interval_s)
            yield word

    async def close(self) -> None:
        """Nothing to free."""


WORDS = [f"word{n} " for n in range(30)]


def scripted_service(interval_s: float = 0.02) -> tuple[AssessmentService, ScriptedBackend, QuestionPlan]:
    """An engine around the scripted model, and a plan with two tiny frames."""
    backend = ScriptedBackend(WORDS, interval_s)
    service = AssessmentService(
        backend=backend,  # type: ignore[arg-type]
        ffmpeg=None,  # type: ignore[arg-type]
        video_limits=VideoLimits(),
        model_limits=ModelLimits(),
    )
    video = VideoInput(frames=np.zeros((2, 16, 16, 3), dtype=np.uint8), timestamps_s=[0.0, 1.0], duration_s=2.0)
    return service, backend, QuestionPlan(None, None, 2.0, None, video)


async def answer_in(api: FakeBotApi, chat_id: int, **kwargs: Any) -> Any:
    """answer_with_drafts against the fake with the scripted model."""
    service, backend, plan = scripted_service(**kwargs)
    async with api.make_bot() as bot:
        outcome = await answer_with_drafts(
            bot,
            service,
            plan,
            chat_id=chat_id,
            draft_id=7,
            question="and at 0:01?",
            locale="en",
            earlier_assessment=None,
        )
    return outcome, backend


async def test_group_chat_gets_no_drafts(bot_api: FakeBotApi) -> None:
    """In a group the answer is asked for whole and no draft is sent."""
    group = bot_api.make_group(title="Rehab friends")
    outcome, backend = await answer_in(bot_api, group["id"])
    assert outcome.text == "".join(WORDS).strip()
    assert backend.streams == 0
    assert bot_api.calls_to("sendMessageDraft") == [] and bot_api.drafts() == []


async def test_private_drafts_are_paced_and_stop_on_429(bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """Drafts go at most one per interval, with growing text; a 429 ends them and the answer is whole."""
    monkeypatch.setattr(streaming, "DRAFT_INTERVAL_S", TEST_INTERVAL_S)
    user = bot_api.make_user(1501, "Pat", "en")
    outcome, _ = await answer_in(bot_api, user["id"])
    drafts = bot_api.drafts(user["id"])
    assert 2 <= len(drafts) <= 0.6 / TEST_INTERVAL_S + 2
    assert all(later.text.startswith(earlier.text) for earlier, later in itertools.pairwise(drafts))
    assert outcome.text.startswith(drafts[-1].text.rstrip()) and outcome.completion is not None

    other = bot_api.make_user(1502, "Sam", "en")
    bot_api.inject("sendMessageDraft", RetryAfter(3), times=None, chat_id=other["id"])
    outcome, _ = await answer_in(bot_api, other["id"])
    assert outcome.text == "".join(WORDS).strip()
    assert len(bot_api.calls_to("sendMessageDraft")) == len(drafts) + 1


def test_draft_text_is_cleaned_and_capped() -> None:
    """A draft shows the text as the final answer would, within Telegram's 4096 UTF-16 units."""
    assert draft_text("<|im_start|>Hello there") == "Hello there"
    long = "😀" * 2900
    capped = draft_text(long)
    assert len(capped.encode("utf-16-le")) // 2 <= 4096 and capped
    assert draft_id_for(1) == 1 and draft_id_for(2**31 - 1) == 2**31 - 1 and draft_id_for(2**31) == 1
