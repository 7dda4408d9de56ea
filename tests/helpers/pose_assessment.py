"""A stand-in assessment with two flagged moments, for bot tests with the pose stage on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from bot.vlm.backend import Completion, GenerationRequest
from tests.fixtures.bot import BotHarness

# What the stand-in model claims: issues at 0:01 and 0:03, and a repetition count the measurement must replace.
CLAIMED_REPS = 99
ASSESSMENT = {
    "exercise": "squat",
    "repetitions": CLAIMED_REPS,
    "observations": [
        {"start": 1.0, "end": 1.5, "kind": "issue", "severity": "medium", "what": "Knees in.", "cue": "Knees out."},
        {"start": 3.0, "end": 3.5, "kind": "issue", "severity": "low", "what": "Heels lift.", "cue": "Heels down."},
    ],
    "summary": "Steady pace.",
}  # fmt: skip


def scripted_assessment(harness: BotHarness) -> list[GenerationRequest]:
    """The model answers ASSESSMENT to whole-clip calls (the tiny model's own text is random); requests are kept.

    In a private chat the assessment is streamed (its readable part goes into a draft), so both ways answer.
    """
    backend = harness.services.assessment.backend
    seen: list[GenerationRequest] = []
    original, original_stream = backend.complete, backend.stream

    async def complete(request: GenerationRequest) -> Completion:
        seen.append(request)
        if "JSON" not in json.dumps(request.messages):
            return await original(request)
        return Completion(json.dumps(ASSESSMENT), 0, 1, 0.01, 0.01, "stop")

    async def stream(request: GenerationRequest) -> AsyncIterator[str]:
        seen.append(request)
        if "JSON" not in json.dumps(request.messages):
            async for piece in original_stream(request):
                yield piece
            return
        yield json.dumps(ASSESSMENT)

    backend.complete = complete  # type: ignore[method-assign]
    backend.stream = stream  # type: ignore[method-assign]
    return seen
