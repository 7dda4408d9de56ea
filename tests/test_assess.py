"""The assessment engine end to end with the tiny Qwen3-VL: sampling → prompt → generate → parse/fallback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.engine.assess import AssessmentService, ModelLimits, VideoLimits, locate_moment
from bot.video import FFmpeg
from bot.vlm.backend import Completion, GenerationRequest, ModelOutOfMemory
from bot.vlm.transformers_backend import TransformersBackend
from tests.fixtures.videos import Clip

MARKER = re.compile(r"<(\d+\.\d) seconds>(?=<\|vision_start\|>)")


class RecordingBackend(TransformersBackend):
    """The real tiny-model backend, also keeping every request it served."""

    def __init__(self, model: str) -> None:
        """Load lazily like the real one."""
        super().__init__(model, device="cpu")
        self.requests: list[GenerationRequest] = []
        self.completions: list[Completion] = []

    async def complete(self, request: GenerationRequest) -> Completion:
        """Serve and record."""
        self.requests.append(request)
        completion = await super().complete(request)
        self.completions.append(completion)
        return completion


def _pair_markers(times: list[float]) -> list[str]:
    """Qwen3-VL's `<t seconds>` values: the mean of each frame pair, one decimal."""
    padded = times + times[-1:] if len(times) % 2 else times
    return [f"{(padded[i] + padded[i + 1]) / 2:.1f}" for i in range(0, len(padded), 2)]


@pytest.fixture
async def engine(tiny_model_dir: Path) -> AssessmentService:
    """The engine on the tiny model with short generations."""
    backend = RecordingBackend(str(tiny_model_dir))
    await backend.start()
    service = AssessmentService(
        backend=backend,
        ffmpeg=FFmpeg.locate(),
        video_limits=VideoLimits(),
        model_limits=ModelLimits(max_new_tokens=128, timeout_s=30.0, do_sample=False),
    )
    yield service
    await backend.close()


async def test_assessment_prompt_times_match_the_sampled_frames(
    engine: AssessmentService, clip_small: Clip, tmp_path: Path
) -> None:
    """The rendered prompt carries one `<t seconds>` per frame pair, from the real frame times."""
    prepared = engine.prepare_video(clip_small.path, pack_dir=tmp_path / "pack")
    outcome = await engine.assess(prepared.model_input(), locale="ru")
    backend: RecordingBackend = engine.backend  # type: ignore[assignment]
    first = backend.completions[0]
    times = list(prepared.sample.timestamps_s)
    assert len(times) == 8  # 4 s at 2 fps
    assert MARKER.findall(first.prompt_text) == _pair_markers(times)
    assert "Write every text value in Russian" in first.prompt_text
    # Gibberish is not valid JSON: one text-only repair request, then the plain-text fallback.
    assert len(outcome.completions) == 2
    assert backend.requests[1].video is None
    assert outcome.parsed is False and outcome.result is None
    assert all(c.completion_tokens <= 128 for c in outcome.completions)


async def test_question_about_a_moment_uses_the_window_with_absolute_times(
    engine: AssessmentService, clip_portrait: Clip, tmp_path: Path
) -> None:
    """ "What about 0:20?" shows 0:17–0:23 from the proxy, and the prompt says so in absolute seconds."""
    prepared = engine.prepare_video(clip_portrait.path, pack_dir=tmp_path / "pack")
    plan = engine.plan_question("what about 0:20?", duration_s=prepared.probe.duration_s, pack_dir=tmp_path / "pack")
    assert plan.moment_s == 20.0 and plan.video is not None and plan.window_s is not None
    times = list(plan.video.timestamps_s)
    assert 16.9 <= times[0] <= 17.2 and 22.7 <= times[-1] <= 23.0
    answer = await engine.answer(plan, question="what about 0:20?", locale="en", earlier_assessment=None)
    prompt = answer.completion.prompt_text if answer.completion else ""
    assert MARKER.findall(prompt) == _pair_markers(times)
    assert "0:17" in prompt and "0:20" in prompt


async def test_question_without_a_moment_reuses_the_decoded_frames(
    engine: AssessmentService, clip_small: Clip, tmp_path: Path
) -> None:
    """No ffmpeg is needed for a whole-clip question once the pack exists."""
    prepared = engine.prepare_video(clip_small.path, pack_dir=tmp_path / "pack")
    engine.ffmpeg = FFmpeg("/nonexistent/ffmpeg")
    plan = engine.plan_question(
        "is my back straight?", duration_s=prepared.probe.duration_s, pack_dir=tmp_path / "pack"
    )
    assert plan.moment is None and plan.window_s is None and plan.video is not None
    assert list(plan.video.timestamps_s) == pytest.approx(list(prepared.sample.timestamps_s), abs=1e-6)


async def test_moment_past_the_end_needs_no_model_call(
    engine: AssessmentService, clip_small: Clip, tmp_path: Path
) -> None:
    """0:45 in a 4 s clip is answered without the model."""
    prepared = engine.prepare_video(clip_small.path, pack_dir=tmp_path / "pack")
    plan = engine.plan_question("what about 0:45?", duration_s=prepared.probe.duration_s, prepared=prepared)
    assert plan.past_end and not plan.needs_model and plan.video is None
    backend: RecordingBackend = engine.backend  # type: ignore[assignment]
    with pytest.raises(ValueError, match="no model call"):
        await engine.answer(plan, question="what about 0:45?", locale="en", earlier_assessment=None)
    assert backend.requests == []


def test_locate_moment_beginning_end_and_tolerance() -> None:
    """`beginning`/`end` map to 0 and the duration; half a second past the end still counts as the end."""
    assert locate_moment("what happens at the beginning?", 12.0).seconds == 0.0
    assert locate_moment("and at the end?", 12.0).seconds == 12.0
    assert not locate_moment("at 0:12", 11.7).past_end
    assert locate_moment("at 0:13", 11.7).past_end


class OutOfMemoryAbove(RecordingBackend):
    """The tiny model, but refusing requests with more than `limit` frames as a GPU would."""

    def __init__(self, model: str, limit: int) -> None:
        """Remember the frame limit."""
        super().__init__(model)
        self.limit = limit

    async def complete(self, request: GenerationRequest) -> Completion:
        """Raise out-of-memory above the limit."""
        if request.video is not None and len(request.video.timestamps_s) > self.limit:
            self.requests.append(request)
            raise ModelOutOfMemory("CUDA out of memory")
        return await super().complete(request)


async def test_out_of_memory_retries_with_fewer_frames(tiny_model_dir: Path, clip_small: Clip, tmp_path: Path) -> None:
    """8 frames fail, 4 succeed: the call is retried with half the frames."""
    backend = OutOfMemoryAbove(str(tiny_model_dir), limit=4)
    service = AssessmentService(
        backend=backend,
        ffmpeg=FFmpeg.locate(),
        video_limits=VideoLimits(),
        model_limits=ModelLimits(max_new_tokens=128, timeout_s=30.0, do_sample=False),
    )
    await backend.start()
    prepared = service.prepare_video(clip_small.path, pack_dir=None)
    outcome = await service.assess(prepared.model_input(), locale="en")
    frame_counts = [len(r.video.timestamps_s) for r in backend.requests if r.video is not None]
    assert frame_counts == [8, 4]
    assert outcome.completions[0].prompt_tokens > 0
    await backend.close()


async def test_question_naming_no_moment_stays_on_the_conversations_moment(
    engine: AssessmentService, clip_portrait: Clip, tmp_path: Path
) -> None:
    """ "And the left one?" after a question about 0:20 shows 0:17–0:23 again; a new moment wins over it."""
    prepared = engine.prepare_video(clip_portrait.path, pack_dir=tmp_path / "pack")
    duration = prepared.probe.duration_s
    kept = engine.plan_question(
        "and the left one?", duration_s=duration, pack_dir=tmp_path / "pack", conversation_moment_s=20.0
    )
    assert kept.moment is None and kept.moment_s == 20.0 and kept.window_s is not None
    assert 16.9 <= kept.window_s[0] <= 17.2 and 22.7 <= kept.window_s[1] <= 23.0
    moved = engine.plan_question(
        "and at 0:05?", duration_s=duration, pack_dir=tmp_path / "pack", conversation_moment_s=20.0
    )
    assert moved.moment_s == 5.0
    fresh = engine.plan_question("and the left one?", duration_s=duration, pack_dir=tmp_path / "pack")
    assert fresh.window_s is None and fresh.moment_s is None
