"""A streamed follow-up answer through the real Telegram glue (bot.tg.streaming) against the fake Bot API.

Not a benchmark by itself: `bench_followup.py --streaming` runs `run_streaming`. The stand-in model
(`StreamingStandIn`) waits a fixed prefill time, then yields N tokens a fixed interval apart, one call at a
time on its own thread like the in-process backend. Measured from the question's model call on:
  first draft   when the fake Bot API received the first sendMessageDraft (first visible text)
  final answer  when the reply (sendMessage, replying to the question) came back
Without streaming the patient sees nothing until the final answer, so first draft / final answer is the
share of the wait that streaming takes off the first visible text.

`run_feedback_streaming` does the same for a video's feedback: the stand-in writes an assessment's JSON
(about 4 characters a token) and the draft shows its readable part (bot.vlm.feedback_preview); measured
to the first draft and to the parsed assessment (the moment the feedback can be rendered and sent).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from telegram import ReplyParameters

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.engine.assess import AssessmentService, ModelLimits, QuestionPlan, VideoLimits
from bot.tg import streaming
from bot.tg.streaming import DraftStream, answer_with_drafts, draft_id_for, feedback_draft_id
from bot.video.budget import SamplingSpec
from bot.vlm.backend import Completion, GenerationRequest, VideoInput
from bot.vlm.feedback_preview import feedback_preview

SPEC = Path(__file__).resolve().parents[1] / "tests" / "fakes" / "telegram-bot-api.json"
WORDS = ("knee ", "tracks ", "over ", "the ", "toes ", "at ", "0:02, ", "good ", "depth. ")


class StreamingStandIn:
    """A fixed-latency model that streams: prefill, then `tokens` pieces `interval_s` apart."""

    model_id = "streaming-stand-in"
    sampling = SamplingSpec()

    def __init__(self, *, prefill_s: float, tokens: int, interval_s: float, words: tuple[str, ...] = WORDS) -> None:
        """Keep the timing and the pieces written; one model thread, as in the in-process backend."""
        self.prefill_s, self.tokens, self.interval_s, self.words = prefill_s, tokens, interval_s, words
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stand-in-model")

    async def start(self) -> None:
        """Nothing to load."""

    def _text(self) -> str:
        """The whole answer."""
        return "".join(self.words[n % len(self.words)] for n in range(self.tokens))

    async def complete(self, request: GenerationRequest) -> Completion:
        """The whole answer after prefill and every token's time."""
        await asyncio.get_running_loop().run_in_executor(
            self._executor, time.sleep, self.prefill_s + self.tokens * self.interval_s
        )
        return Completion(self._text(), 1000, self.tokens, 0.0, None, "stop")

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        """Prefill on the model thread, then one piece per interval (the model thread sleeps each time)."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, time.sleep, self.prefill_s)
        for n in range(self.tokens):
            await loop.run_in_executor(self._executor, time.sleep, self.interval_s)
            yield self.words[n % len(self.words)]

    async def close(self) -> None:
        """Stop the thread."""
        self._executor.shutdown(wait=False)


def stand_in_service(backend: StreamingStandIn) -> AssessmentService:
    """The real engine around the stand-in model (no video decoding is needed)."""
    return AssessmentService(
        backend=backend,  # type: ignore[arg-type]
        ffmpeg=None,  # type: ignore[arg-type]
        video_limits=VideoLimits(),
        model_limits=ModelLimits(),
    )


async def _one_answer(api: object, service: AssessmentService, plan: QuestionPlan, turn_id: int) -> tuple[float, float]:
    """One question in a fresh private chat: (first draft, final answer) seconds after the model call starts."""
    from tests.fakes.botapi import FakeBotApi

    assert isinstance(api, FakeBotApi)
    user = api.make_user(9000 + turn_id, "Pat", "en")
    question = api.user_sends_text(user, "what about my knee at 0:02?")
    async with api.make_bot() as bot:
        started = time.monotonic()
        outcome = await answer_with_drafts(
            bot,
            service,
            plan,
            chat_id=user["id"],
            draft_id=draft_id_for(turn_id),
            question=question["text"],
            locale="en",
            earlier_assessment=None,
        )
        # The answer job's reply (answers.run_answer_job via jobs.send_chunks): plain text replying to the question.
        await bot.send_message(
            chat_id=user["id"], text=outcome.text, reply_parameters=ReplyParameters(message_id=question["message_id"])
        )
        final = time.monotonic() - started
    drafts = api.drafts(user["id"])
    first = drafts[0].ts - started if drafts else final
    return first, final


async def run_streaming(*, rounds: int, prefill_s: float, tokens: int, interval_s: float) -> float:
    """Answer `rounds` questions with drafts through the glue; print the medians and return the ratio."""
    from tests.fakes.botapi import FakeBotApi

    backend = StreamingStandIn(prefill_s=prefill_s, tokens=tokens, interval_s=interval_s)
    service = stand_in_service(backend)
    video = VideoInput(np.zeros((4, 32, 32, 3), dtype=np.uint8), [1.0, 1.5, 2.0, 2.5], 4.0)
    plan = QuestionPlan(None, 2.0, 4.0, (1.0, 2.5), video)
    firsts, finals, counts = [], [], []
    async with FakeBotApi(SPEC) as api:
        for round_number in range(rounds):
            first, final = await _one_answer(api, service, plan, round_number + 1)
            firsts.append(first)
            finals.append(final)
            counts.append(len(api.drafts(9000 + round_number + 1)))
        assert api.violations == [], api.violations
    await backend.close()
    model_s = prefill_s + tokens * interval_s
    first_s, final_s = statistics.median(firsts), statistics.median(finals)
    print(
        f"streamed follow-up: stand-in model {prefill_s:.2f} s prefill + {tokens} tokens x {interval_s * 1000:.0f} ms "
        f"= {model_s:.2f} s; drafts at most one per {streaming.DRAFT_INTERVAL_S:.1f} s; {rounds} rounds"
    )
    print(f"  first draft (first visible text) : {first_s * 1000:8.1f} ms  (min {min(firsts) * 1000:.1f})")
    print(f"  final answer (reply sent)        : {final_s * 1000:8.1f} ms  (max {max(finals) * 1000:.1f})")
    print(f"  drafts per answer                : {statistics.median(counts):8.0f}")
    ratio = first_s / final_s
    print(f"followup: first draft / final answer = {ratio:.3f}")
    return ratio


def assessment_pieces() -> tuple[str, ...]:
    """A four-observation assessment's JSON, cut into 4-character tokens."""
    observations = [
        {"start": t, "end": t + 1.5, "kind": "issue", "severity": "medium", "what": "The knees drift inward.",
         "cue": "Push the knees out over the toes."}
        for t in (3.0, 9.5, 16.0, 22.5)
    ]  # fmt: skip
    assessment = {"exercise": "squat", "repetitions": 5, "observations": observations,
                  "summary": "A steady set with good depth; keep the knees over the toes."}  # fmt: skip
    text = json.dumps(assessment)
    return tuple(text[i : i + 4] for i in range(0, len(text), 4))


async def run_feedback_streaming(*, rounds: int, prefill_s: float, interval_s: float) -> float:
    """Assess `rounds` times with feedback drafts; print the medians and return first draft / parsed assessment."""
    from tests.fakes.botapi import FakeBotApi

    words = assessment_pieces()
    backend = StreamingStandIn(prefill_s=prefill_s, tokens=len(words), interval_s=interval_s, words=words)
    service = stand_in_service(backend)
    video = VideoInput(np.zeros((4, 32, 32, 3), dtype=np.uint8), [0.0, 10.0, 20.0, 29.0], 30.0)
    firsts, finals = [], []
    async with FakeBotApi(SPEC) as api:
        for round_number in range(1, rounds + 1):
            user = api.make_user(9500 + round_number, "Pat", "en")
            async with api.make_bot() as bot:
                drafts = DraftStream(bot, user["id"], feedback_draft_id(round_number), render=feedback_preview)
                started = time.monotonic()
                try:
                    outcome = await service.assess(video, locale="en", on_text=drafts.show)
                finally:
                    await drafts.close()
                finals.append(time.monotonic() - started)
            assert outcome.result is not None and len(outcome.result.observations) == 4
            shown = api.drafts(user["id"])
            assert shown and not any("{" in draft.text for draft in shown)
            firsts.append(shown[0].ts - started)
        assert api.violations == [], api.violations
    await backend.close()
    first_s, final_s = statistics.median(firsts), statistics.median(finals)
    print(
        f"streamed feedback: stand-in model {prefill_s:.2f} s prefill + {len(words)} JSON tokens "
        f"x {interval_s * 1000:.0f} ms; {rounds} rounds"
    )
    print(f"  first draft (first readable text): {first_s * 1000:8.1f} ms  (min {min(firsts) * 1000:.1f})")
    print(f"  assessment parsed                : {final_s * 1000:8.1f} ms  (max {max(finals) * 1000:.1f})")
    ratio = first_s / final_s
    print(f"feedback: first draft / parsed assessment = {ratio:.3f}")
    return ratio
