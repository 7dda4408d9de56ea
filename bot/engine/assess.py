"""Use cases without Telegram: assess a video, answer a question about a moment of it."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.engine.limits import ModelLimits, VideoLimits
from bot.engine.moments import MomentLocation, MomentRef, locate_moment, resolve_moment
from bot.engine.parts import merge_parts
from bot.video import FFmpeg, FramePack, SampledFrames, VideoProbe, inspect_video, sample_video, window_from_video
from bot.video.budget import plan_frame_count
from bot.video.frames import Segment
from bot.video.redact import PackRedactor
from bot.vlm.backend import Completion, GenerationRequest, ModelOutOfMemory, VideoInput, VisionLanguageBackend
from bot.vlm.fallback import fallback_text
from bot.vlm.prompts import ExerciseContext, PartOfClip, assessment_messages, question_messages, repair_messages
from bot.vlm.schema import AssessmentResult, parse_assessment

logger = logging.getLogger(__name__)

__all__ = ["AssessmentService", "ModelLimits", "MomentLocation", "VideoLimits", "locate_moment", "resolve_moment"]

_OOM_RETRIES = 2
# Gets the raw model text so far, after every streamed piece.
OnText = Callable[[str], Awaitable[None]]


@dataclass
class PreparedVideo:
    """A validated video with the frames for the model; `pack_dir` keeps them for follow-ups."""

    probe: VideoProbe
    sample: SampledFrames
    pack_dir: Path | None

    def model_input(self) -> VideoInput:
        """The sampled frames as model input."""
        return _as_input(self.sample)

    def parts(self) -> list[tuple[Segment, VideoInput]]:
        """Each part's frames (whole-video timestamps) for its own model call; one part for a short clip."""
        sample = self.sample
        if len(sample.segments) <= 1:
            return [(Segment(0.0, sample.duration_s, 0, len(sample.timestamps_s)), self.model_input())]
        return [
            (
                segment,
                VideoInput(
                    frames=sample.frames[segment.first : segment.end],
                    timestamps_s=list(sample.timestamps_s[segment.first : segment.end]),
                    duration_s=sample.duration_s,
                ),
            )
            for segment in sample.segments
        ]


@dataclass
class AssessmentOutcome:
    """The assessment of one video: structured when the model's JSON was usable."""

    model_id: str
    locale: str
    result: AssessmentResult | None
    fallback: str
    raw_output: str
    completions: list[Completion] = field(default_factory=list)

    @property
    def parsed(self) -> bool:
        """True when the model's answer validated against the schema."""
        return self.result is not None


@dataclass(frozen=True)
class QuestionPlan:
    """Everything a follow-up question needs before the model is called."""

    moment: MomentRef | None
    moment_s: float | None
    duration_s: float
    window_s: tuple[float, float] | None
    video: VideoInput | None
    past_end: bool = False

    @property
    def needs_model(self) -> bool:
        """False when the question can be answered without the model (a moment past the end)."""
        return not self.past_end


@dataclass
class AnswerOutcome:
    """The model's answer to a follow-up question."""

    text: str
    plan: QuestionPlan
    completion: Completion | None


def _after(earlier: Sequence[AssessmentOutcome], on_text: OnText | None) -> OnText | None:
    """An `on_text` for the next part: its text follows the earlier parts' output."""
    if on_text is None:
        return None
    before = "".join(f"{outcome.raw_output}\n\n" for outcome in earlier)

    async def show(text: str) -> None:
        """Hand on the earlier parts' text and this part's so far."""
        await on_text(before + text)

    return show


def _as_input(sample: SampledFrames) -> VideoInput:
    """Wrap sampled frames for the model backend."""
    return VideoInput(frames=sample.frames, timestamps_s=list(sample.timestamps_s), duration_s=sample.duration_s)


class AssessmentService:
    """The assessment engine: video in, timestamped observations out; answers about moments."""

    def __init__(
        self,
        *,
        backend: VisionLanguageBackend,
        ffmpeg: FFmpeg,
        video_limits: VideoLimits,
        model_limits: ModelLimits,
        redactor: PackRedactor | None = None,
    ) -> None:
        """Keep the collaborators; nothing is loaded here. A `redactor` blurs faces in what is stored."""
        self.backend = backend
        self.redactor = redactor
        self.ffmpeg = ffmpeg
        self.video_limits = video_limits
        self.model_limits = model_limits

    # CPU side: blocking, run in a worker thread by async callers.

    def inspect(self, path: Path) -> VideoProbe:
        """Probe and validate a file; raises VideoRejected with a reason code."""
        limits = self.video_limits
        return inspect_video(
            path, ffmpeg=self.ffmpeg, max_duration_s=limits.max_duration_s, max_pixels=limits.max_pixels
        )

    def prepare_video(self, path: Path, *, pack_dir: Path | None) -> PreparedVideo:
        """Validate and sample a video in one decode; keep model frames and a proxy in `pack_dir`."""
        probe = self.inspect(path)
        limits = self.video_limits
        sample = sample_video(
            path,
            probe,
            ffmpeg=self.ffmpeg,
            spec=self.backend.sampling,
            cache_dir=pack_dir,
            window_fps=limits.window_fps,
            window_frame_pixels=limits.window_frame_pixels,
            redactor=self.redactor,
            segment_s=limits.segment_s,
        )
        return PreparedVideo(probe=probe, sample=sample, pack_dir=pack_dir)

    def plan_question(
        self,
        question: str,
        *,
        duration_s: float,
        pack_dir: Path | None = None,
        prepared: PreparedVideo | None = None,
        video_path: Path | None = None,
        conversation_moment_s: float | None = None,
    ) -> QuestionPlan:
        """Find the moment asked about and gather the frames to show: a window, or the whole clip.

        A question naming no moment ("and the left one?") stays on `conversation_moment_s`, the moment the
        conversation about this video was last about, when there is one.
        """
        location = locate_moment(question, duration_s)
        moment, moment_s = location.moment, location.seconds
        if (moment is None or moment_s is None) and conversation_moment_s is not None:
            moment_s = min(max(conversation_moment_s, 0.0), duration_s)
            window = self._window(moment_s, pack_dir, prepared, video_path)
            times = list(window.timestamps_s)
            return QuestionPlan(None, moment_s, duration_s, (times[0], times[-1]), _as_input(window))
        if moment is None or moment_s is None:
            return QuestionPlan(None, None, duration_s, None, self._whole_clip(prepared, pack_dir, video_path))
        if location.past_end:
            return QuestionPlan(moment, moment_s, duration_s, None, None, past_end=True)
        window = self._window(moment_s, pack_dir, prepared, video_path)
        times = list(window.timestamps_s)
        return QuestionPlan(moment, moment_s, duration_s, (times[0], times[-1]), _as_input(window))

    def _whole_clip(self, prepared: PreparedVideo | None, pack_dir: Path | None, video_path: Path | None) -> VideoInput:
        """The assessment's frames, reused rather than decoded again (thinned to one call for a long clip)."""
        return self._one_call(self._assessment_frames(prepared, pack_dir, video_path))

    def _assessment_frames(
        self, prepared: PreparedVideo | None, pack_dir: Path | None, video_path: Path | None
    ) -> VideoInput:
        """Every model frame of the assessment: from memory, the frame pack, or a new decode."""
        if prepared is not None:
            return prepared.model_input()
        if pack_dir is not None:
            try:
                return _as_input(FramePack.open(pack_dir).sample())
            except FileNotFoundError:
                logger.info("frame pack missing; sampling the video again")
        if video_path is None:
            raise FileNotFoundError("neither frames nor the video are available")
        return self.prepare_video(video_path, pack_dir=pack_dir).model_input()

    def _one_call(self, video: VideoInput) -> VideoInput:
        """A long clip's frames (assessed in parts) spread thinner, so a question about all of it is one call."""
        segment_s = self.video_limits.segment_s
        if segment_s <= 0:
            return video
        most = plan_frame_count(1.5 * segment_s, len(video.timestamps_s), self.backend.sampling)
        return video.without_frames(most) if len(video.timestamps_s) > most else video

    def _window(
        self, moment_s: float, pack_dir: Path | None, prepared: PreparedVideo | None, video_path: Path | None
    ) -> SampledFrames:
        """Frames around `moment_s` from the proxy on disk, or (cold) from the original video."""
        limits = self.video_limits
        directory = pack_dir or (prepared.pack_dir if prepared else None)
        if directory is not None:
            try:
                return FramePack.open(directory).window(moment_s, half_s=limits.window_half_s)
            except FileNotFoundError:
                logger.info("frame pack missing; decoding the window from the video")
        if video_path is None:
            raise FileNotFoundError("neither frames nor the video are available")
        probe = prepared.probe if prepared else self.inspect(video_path)
        return window_from_video(
            video_path,
            probe,
            moment_s,
            ffmpeg=self.ffmpeg,
            spec=self.backend.sampling,
            half_s=limits.window_half_s,
            window_fps=limits.window_fps,
            window_frame_pixels=limits.window_frame_pixels,
        )

    # Model side: async, never blocks the event loop.

    def _request(self, messages: list[dict[str, Any]], video: VideoInput | None, salt: str | None) -> GenerationRequest:
        """A generation request within the configured limits."""
        limits = self.model_limits
        return GenerationRequest(
            messages=messages,
            video=video,
            max_new_tokens=limits.max_new_tokens,
            timeout_s=limits.timeout_s,
            do_sample=limits.do_sample,
            seed=limits.seed,
            cache_salt=salt,
        )

    async def _complete(
        self, messages: list[dict[str, Any]], video: VideoInput | None, salt: str | None, on_text: OnText | None = None
    ) -> Completion:
        """Call the model (streamed to `on_text` when given); on out-of-memory retry with half the frames each time."""
        if on_text is not None:
            return await self._fewer_frames_on_oom(
                lambda frames: self._stream_once(messages, frames, salt, on_text), video
            )
        return await self._fewer_frames_on_oom(
            lambda frames: self.backend.complete(self._request(messages, frames, salt)), video
        )

    async def _fewer_frames_on_oom(
        self, call: Callable[[VideoInput | None], Awaitable[Completion]], video: VideoInput | None
    ) -> Completion:
        """Run a model call; on out-of-memory run it again with half the frames, at most _OOM_RETRIES times."""
        for attempt in range(_OOM_RETRIES + 1):
            try:
                return await call(video)
            except ModelOutOfMemory:
                if video is None or attempt == _OOM_RETRIES or len(video.timestamps_s) <= 2:
                    raise
                video = video.without_frames(len(video.timestamps_s) // 2)
                logger.warning("model out of memory; retrying with %d frames", len(video.timestamps_s))
        raise AssertionError("unreachable")

    async def assess(
        self,
        video: VideoInput,
        *,
        locale: str,
        context: ExerciseContext | None = None,
        cache_salt: str | None = None,
        part: PartOfClip | None = None,
        on_text: OnText | None = None,
    ) -> AssessmentOutcome:
        """Ask for the JSON assessment of the clip (or one part); one repair attempt; else a plain-text fallback.

        With `on_text` the first call is streamed: it gets the raw text so far (the repair call is not).
        """
        messages = assessment_messages(
            locale=locale, duration_s=video.duration_s, context=context or ExerciseContext(), part=part
        )
        first = await self._complete(messages, video, cache_salt, on_text)
        outcome = AssessmentOutcome(self.backend.model_id, locale, None, "", first.text, [first])
        outcome.result = parse_assessment(first.text, duration_s=video.duration_s)
        if outcome.result is None:
            repair = await self._complete(repair_messages(bad_output=first.text, locale=locale), None, cache_salt)
            outcome.completions.append(repair)
            outcome.result = parse_assessment(repair.text, duration_s=video.duration_s)
        if outcome.result is None:
            outcome.fallback = fallback_text(first.text)
        return outcome

    async def assess_in_parts(
        self,
        prepared: PreparedVideo,
        *,
        locale: str,
        context: ExerciseContext | None = None,
        cache_salt: str | None = None,
        on_part: Callable[[int, int], Awaitable[None]] | None = None,
        on_text: OnText | None = None,
    ) -> AssessmentOutcome:
        """Assess a clip one part after another (one part for a short clip) and merge the parts' results.

        `on_text` gets the raw text of all parts so far, each part's output after the earlier ones'.
        """
        parts = prepared.parts()
        if len(parts) == 1:
            whole = parts[0][1]
            return await self.assess(whole, locale=locale, context=context, cache_salt=cache_salt, on_text=on_text)
        outcomes: list[AssessmentOutcome] = []
        for number, (segment, video) in enumerate(parts, start=1):
            if on_part is not None:
                await on_part(number, len(parts))
            part = PartOfClip(number, len(parts), segment.start_s, segment.end_s)
            part_text = _after(outcomes, on_text)
            outcomes.append(
                await self.assess(
                    video, locale=locale, context=context, cache_salt=cache_salt, part=part, on_text=part_text
                )
            )
        duration_s = prepared.sample.duration_s
        merged = merge_parts([(s, o.result) for (s, _), o in zip(parts, outcomes, strict=True)], duration_s=duration_s)
        raw = "\n\n".join(outcome.raw_output for outcome in outcomes)
        completions = [completion for outcome in outcomes for completion in outcome.completions]
        fallback = "" if merged is not None else "\n\n".join(o.fallback for o in outcomes if o.fallback)
        return AssessmentOutcome(self.backend.model_id, locale, merged, fallback, raw, completions)

    async def answer(
        self,
        plan: QuestionPlan,
        *,
        question: str,
        locale: str,
        earlier_assessment: dict[str, Any] | str | None,
        turns: Sequence[tuple[str, str]] = (),
        cache_salt: str | None = None,
        on_text: OnText | None = None,
    ) -> AnswerOutcome:
        """Answer a follow-up question from its planned frames (never called for a moment past the end).

        With `on_text` the answer is streamed: it gets the raw text so far after every piece.
        """
        if not plan.needs_model or plan.video is None:
            raise ValueError("this question needs no model call")
        messages = question_messages(
            locale=locale,
            question=question,
            duration_s=plan.duration_s,
            earlier_assessment=earlier_assessment,
            turns=turns,
            window_s=plan.window_s,
            moment_s=plan.moment_s,
        )
        completion = await self._complete(messages, plan.video, cache_salt, on_text)
        return AnswerOutcome(text=fallback_text(completion.text), plan=plan, completion=completion)

    async def _stream_once(
        self,
        messages: list[dict[str, Any]],
        video: VideoInput | None,
        salt: str | None,
        on_text: OnText,
    ) -> Completion:
        """One streamed model call, text handed to `on_text` as it grows; a retry starts the text afresh."""
        started = time.perf_counter()
        text, pieces, first_at = "", 0, None
        stream = self.backend.stream(self._request(messages, video, salt))
        try:
            async for piece in stream:
                if first_at is None:
                    first_at = time.perf_counter() - started
                text, pieces = text + piece, pieces + 1
                await on_text(text)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        return Completion(
            text=text,
            prompt_tokens=0,
            completion_tokens=pieces,
            elapsed_s=time.perf_counter() - started,
            time_to_first_token_s=first_at,
            finish_reason="stop",
            extra={"streamed": True},
        )
