"""The feedback's readable part streams into a draft while the model writes its JSON; the feedback follows."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from bot.engine.assess import AssessmentService, ModelLimits, PreparedVideo, VideoLimits
from bot.tg import streaming
from bot.tg.streaming import feedback_draft_id
from bot.video.budget import SamplingSpec
from bot.video.frames import SampledFrames, Segment
from bot.vlm.backend import Completion, GenerationRequest
from bot.vlm.feedback_preview import feedback_preview
from storage.models import Video
from tests.fakes.botapi import FakeBotApi
from tests.fakes.botapi_faults import TelegramError
from tests.fakes.botapi_records import SentMessage
from tests.fixtures.bot import BotHarness
from tests.fixtures.videos import Clip
from tests.helpers.bot_e2e import consent, read_rows, wait_for_feedback

TEST_INTERVAL_S = 0.2
ASSESSMENT = {
    "exercise": "squat",
    "repetitions": 3,
    "observations": [
        {"start": 1.0, "end": 1.5, "kind": "issue", "severity": "medium", "what": "Knees drift in.",
         "cue": "Push the knees out."},
        {"start": 3.0, "end": 3.5, "kind": "good", "severity": None, "what": "Steady depth.", "cue": ""},
    ],
    "summary": "A calm, even set — well done.",
}  # fmt: skip
JSON_TEXT = json.dumps(ASSESSMENT, ensure_ascii=True)


def pieces(text: str, size: int = 4) -> list[str]:
    """The text cut into pieces of `size` characters, as a model's tokens arrive."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def test_preview_shows_only_readable_fields_and_grows() -> None:
    """Every cut of the JSON previews a prefix of the whole preview: moments, what, cue, summary; no JSON."""
    raw = f"Here you go:\n```json\n{JSON_TEXT}\n```"
    whole = feedback_preview(raw)
    assert whole == "0:01 Knees drift in. — Push the knees out.\n0:03 Steady depth.\n\nA calm, even set — well done."
    shown = [feedback_preview(raw[:cut]) for cut in range(len(raw) + 1)]
    assert all(whole.startswith(text.rstrip()) for text in shown)
    assert not any(mark in text for text in shown for mark in '{}[]"\\')
    assert len(set(shown)) > 20, "the text grows piece by piece, not only per finished field"


def test_preview_waits_for_whole_numbers_and_escapes() -> None:
    """A half-written start time or escape is not shown; thinking and prose before any JSON show nothing."""
    assert feedback_preview('{"observations": [{"start": 1') == ""
    assert feedback_preview('{"observations": [{"start": 12.5, "what": "Kn') == "0:12 Kn"
    assert feedback_preview('{"observations": [{"start": "0:42", "what": "ok"}]}') == "0:42 ok"
    assert feedback_preview('{"summary": "caf\\u00') == "caf"
    assert feedback_preview('{"summary": "caf\\u00e9"') == "café"
    assert feedback_preview('<think>{"summary": "no"}') == ""
    assert feedback_preview("I could not see the whole body.") == ""
    assert feedback_preview('{"exercise": "squat", "repetitions": 3}') == ""


class JsonStreamBackend:
    """A stand-in model that streams one assessment per call, a piece at a time."""

    model_id = "json-stream"
    sampling = SamplingSpec()

    def __init__(self, outputs: list[str], interval_s: float = 0.0) -> None:
        """The raw outputs, one per call, and the pace of their pieces."""
        self.outputs = outputs
        self.interval_s = interval_s
        self.calls = 0

    async def start(self) -> None:
        """Nothing to load."""

    async def complete(self, request: GenerationRequest) -> Completion:
        """Unused: feedback is streamed here."""
        raise AssertionError("the assessment was not streamed")

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        """This call's output piece by piece."""
        text = self.outputs[self.calls % len(self.outputs)]
        self.calls += 1
        for piece in pieces(text):
            await asyncio.sleep(self.interval_s)
            yield piece

    async def close(self) -> None:
        """Nothing to free."""


async def test_parts_stream_one_after_another() -> None:
    """A clip in two parts: the text handed on holds part 1's output, then part 2's grows after it."""
    second = {**ASSESSMENT, "observations": [{**ASSESSMENT["observations"][0], "start": 62.0, "end": 63.0}]}  # type: ignore[dict-item]
    backend = JsonStreamBackend([JSON_TEXT, json.dumps(second)])
    service = AssessmentService(
        backend=backend,  # type: ignore[arg-type]
        ffmpeg=None,  # type: ignore[arg-type]
        video_limits=VideoLimits(),
        model_limits=ModelLimits(),
    )
    sample = SampledFrames(
        frames=np.zeros((4, 16, 16, 3), dtype=np.uint8),
        timestamps_s=[0.0, 30.0, 60.0, 90.0],
        source_indices=[0, 1, 2, 3],
        duration_s=120.0,
        segments=[Segment(0.0, 60.0, 0, 2), Segment(60.0, 120.0, 2, 4)],
    )
    seen: list[str] = []

    async def on_text(text: str) -> None:
        """Keep what would be drafted."""
        seen.append(text)

    prepared = PreparedVideo(probe=None, sample=sample, pack_dir=None)  # type: ignore[arg-type]
    outcome = await service.assess_in_parts(prepared, locale="en", on_text=on_text)
    assert outcome.result is not None and backend.calls == 2
    assert seen[-1].startswith(JSON_TEXT) and seen[-1].endswith(json.dumps(second))
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(seen))
    assert feedback_preview(seen[-1]).startswith("0:01 Knees drift in.")
    assert "1:02 Knees drift in." in feedback_preview(seen[-1])


def stream_assessment(harness: BotHarness, delay_s: float) -> None:
    """Whole-clip assessment calls stream JSON_TEXT a piece at a time; other calls go to the tiny model."""
    backend = harness.services.assessment.backend
    original = backend.stream

    async def stream(request: GenerationRequest) -> AsyncIterator[str]:
        if "JSON" not in json.dumps(request.messages):
            async for piece in original(request):
                yield piece
            return
        for piece in pieces(JSON_TEXT):
            await asyncio.sleep(delay_s)
            yield piece

    backend.stream = stream  # type: ignore[method-assign]


async def feedback_in_new_chat(api: FakeBotApi, clip: Clip, user_id: int) -> SentMessage:
    """A new patient consents and sends the clip; returns the feedback replying to it."""
    patient = api.make_user(user_id, "Pat", "en")
    await consent(api, patient)
    sent = api.user_sends_video(patient, clip.path.read_bytes(), duration=4, width=320, height=240)
    return await wait_for_feedback(api, user_id, sent["message_id"])


async def test_feedback_streams_as_drafts_then_the_feedback(
    bot_harness: BotHarness, clip_small: Clip, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A private chat sees the observations and summary grow in drafts (no JSON), then the rendered feedback."""
    monkeypatch.setattr(streaming, "DRAFT_INTERVAL_S", TEST_INTERVAL_S)
    api = bot_harness.api
    stream_assessment(bot_harness, delay_s=0.03)
    feedback = await feedback_in_new_chat(api, clip_small, 1601)

    (video,) = read_rows(bot_harness.settings.database_url, Video)
    drafts: list[Any] = api.drafts(1601)
    assert len(drafts) >= 2, api.describe()
    assert {draft.draft_id for draft in drafts} == {feedback_draft_id(video.id or 0)}
    texts = [draft.text for draft in drafts]
    whole = feedback_preview(JSON_TEXT)
    assert all(text.strip() and whole.startswith(text.rstrip()) for text in texts)
    assert not any(mark in text for text in texts for mark in '{}"')
    assert all(earlier != later for earlier, later in itertools.pairwise(texts))
    final = next(
        c for c in api.calls if c.method == "sendMessage" and (c.result or {}).get("message_id") == feedback.message_id
    )
    assert drafts[-1].ts <= final.ts
    # The feedback itself is rendered from the parsed JSON, as without drafts.
    assert "Knees drift in." in feedback.text and "Push the knees out." in feedback.text
    assert api.violations == []


async def test_refused_feedback_drafts_cost_nothing(
    bot_harness: BotHarness, clip_small: Clip, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drafts answered with 400: one try, no edited copy, and the feedback arrives whole."""
    monkeypatch.setattr(streaming, "DRAFT_INTERVAL_S", TEST_INTERVAL_S)
    api = bot_harness.api
    stream_assessment(bot_harness, delay_s=0.01)
    api.inject("sendMessageDraft", TelegramError(400, "Bad Request: TEXTDRAFT_PEER_INVALID"), times=None, chat_id=1602)
    feedback = await feedback_in_new_chat(api, clip_small, 1602)
    assert "Knees drift in." in feedback.text
    assert api.drafts(1602) == [] and len(api.calls_to("sendMessageDraft")) == 1
    assert [edit for edit in api.edits(1602) if "Knees drift in." in (edit.text or "")] == []
