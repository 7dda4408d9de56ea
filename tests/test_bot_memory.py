"""A follow-up remembers the conversation about the same video: earlier turns and the moment they were about."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from bot.vlm.backend import Completion, GenerationRequest
from tests.fixtures.bot import BotHarness
from tests.fixtures.videos import Clip
from tests.test_bot_flow import FEEDBACK_TIMEOUT_S, consent


def record_requests(harness: BotHarness) -> list[GenerationRequest]:
    """Wrap the running engine's backend so each model request (whole or streamed) is kept, still sent on."""
    backend = harness.services.assessment.backend
    seen: list[GenerationRequest] = []
    original, original_stream = backend.complete, backend.stream

    async def complete(request: GenerationRequest) -> Completion:
        seen.append(request)
        return await original(request)

    async def stream(request: GenerationRequest) -> AsyncIterator[str]:
        # Follow-up answers stream (into a draft) in private chats.
        seen.append(request)
        async for piece in original_stream(request):
            yield piece

    backend.complete = complete  # type: ignore[method-assign]
    backend.stream = stream  # type: ignore[method-assign]
    return seen


def texts(request: GenerationRequest) -> list[tuple[str, str]]:
    """(role, text) of every text item in a request's messages."""
    out: list[tuple[str, str]] = []
    for message in request.messages:
        content: Any = message["content"]
        out.extend((message["role"], item["text"]) for item in content if item.get("type") == "text")
    return out


async def test_second_question_sees_the_first_and_keeps_its_moment(bot_harness: BotHarness, clip_small: Clip) -> None:
    api = bot_harness.api
    patient = api.make_user(1301, "Pat", "en")
    await consent(api, patient)
    video = api.user_sends_video(patient, clip_small.path.read_bytes(), duration=4, width=320, height=240)
    await api.wait_for_message(
        1301,
        lambda m: m.reply_to_message_id == video["message_id"] and m.params.get("parse_mode") == "HTML",
        timeout=FEEDBACK_TIMEOUT_S,
    )
    requests = record_requests(bot_harness)

    first = api.user_sends_text(patient, "what about my right knee at 0:02?")
    first_answer = await api.wait_for_message(
        1301, lambda m: m.reply_to_message_id == first["message_id"], timeout=FEEDBACK_TIMEOUT_S
    )
    second = api.user_sends_text(patient, "and the left one?")
    await api.wait_for_message(
        1301, lambda m: m.reply_to_message_id == second["message_id"], timeout=FEEDBACK_TIMEOUT_S
    )

    assert len(requests) == 2
    history = texts(requests[1])
    # The first turn comes back as conversation, question then the answer the patient saw.
    assert ("user", "what about my right knee at 0:02?") in history
    assert any(role == "assistant" and text.strip() and text.strip() in first_answer.text for role, text in history)
    # "And the left one?" names no moment: it is still about 0:02, shown as that window, not the whole clip.
    last_role, last_text = history[-1]
    assert last_role == "user" and "and the left one?" in last_text
    assert "asks about 0:02" in last_text and "The video below is the whole clip" not in last_text
    assert requests[1].video is not None
    assert len(requests[1].video.timestamps_s) < len(requests[0].video.timestamps_s) + 100
    assert min(requests[1].video.timestamps_s) >= 0.0 and max(requests[1].video.timestamps_s) <= 4.1
    assert texts(requests[0])[-1][1].count("Question:") == 1
    assert not any(role == "assistant" for role, _ in texts(requests[0]))
