"""Long videos: assessed in parts of about a minute, at least one frame a second, merged into one feedback."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from bot.engine.parts import in_video_time, merge_parts
from bot.video import FFmpeg
from bot.video.budget import SamplingSpec, plan_segments
from bot.video.frames import Segment
from bot.video.probe import probe
from bot.video.sample import plan_model_frames, sample_video
from bot.vlm.schema import AssessmentResult, Observation
from storage.models import Turn
from tests.fakes.botapi import FakeBotApi
from tests.fixtures.bot import make_bot_settings
from tests.fixtures.videos import Clip, make_clip
from tests.helpers.bot_e2e import consent, make_slow_model, read_rows, running_bot, wait_for_feedback

# Every part's answer: one issue at 10-14 s of the part (a tiny model cannot know the whole-video time).
PART_ANSWER = {
    "exercise": "squat",
    "repetitions": 3,
    "observations": [
        {"start": 10, "end": 14, "kind": "issue", "severity": "medium", "what": "knees drift in", "cue": "knees out"}
    ],
    "summary": "Steady pace.",
}


@pytest.fixture(scope="module")
def clip_8min(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    """Eight minutes of 128x96 at 5 fps (small, so decoding and the tiny model stay quick)."""
    folder = tmp_path_factory.mktemp("long")
    return make_clip(folder / "eight-minutes.mp4", width=128, height=96, duration_s=480.0, fps=5.0)


@pytest.fixture(scope="module")
def scripted_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Qwen3-VL whose every answer is PART_ANSWER as JSON."""
    from bot.vlm.tiny import make_scripted_tiny_model

    return make_scripted_tiny_model(tmp_path_factory.mktemp("scripted") / "model", says=json.dumps(PART_ANSWER))


def test_segments_cover_the_clip_in_about_a_minute_each() -> None:
    """Up to 90 s is one part; 8 minutes are 8 parts of 60 s; 100 s are 2 parts of 50 s; 0 turns it off."""
    assert plan_segments(90.0, 60.0) == [(0.0, 90.0)]
    eight = plan_segments(480.0, 60.0)
    assert len(eight) == 8 and eight[0] == (0.0, 60.0) and eight[-1] == (420.0, 480.0)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(eight))
    assert plan_segments(100.0, 60.0) == [(0.0, 50.0), (50.0, 100.0)]
    assert plan_segments(600.0, 0.0) == [(0.0, 600.0)]


def test_eight_minute_clip_gives_each_part_at_least_a_frame_a_second(clip_8min: Clip, tmp_path: Path) -> None:
    """One decode, 8 parts, each with >= 60 frames inside its own minute; without parts it would be 768 frames."""
    ffmpeg = FFmpeg.locate()
    facts = probe(clip_8min.path, ffmpeg=ffmpeg)
    spec = SamplingSpec()
    whole = plan_model_frames(facts, spec)
    assert len(whole.indices) == spec.max_frames  # 1.6 fps over 8 minutes, the frames of one call
    sampled = sample_video(clip_8min.path, facts, ffmpeg=ffmpeg, spec=spec, cache_dir=tmp_path / "pack", segment_s=60)
    assert len(sampled.segments) == 8
    for number, segment in enumerate(sampled.segments):
        times = sampled.timestamps_s[segment.first : segment.end]
        assert segment.start_s == pytest.approx(60.0 * number) and segment.end_s == pytest.approx(60.0 * (number + 1))
        assert len(times) >= 60, "fewer than one frame a second"
        assert segment.start_s <= times[0] and times[-1] <= segment.end_s
    assert sampled.frames.shape[0] == sum(s.end - s.first for s in sampled.segments)
    assert sampled.frames.nbytes <= 256 * 1024 * 1024


def observation(start: float, end: float, what: str = "x") -> Observation:
    """An issue from start to end."""
    return Observation(start=start, end=end, what=what)


def test_merge_keeps_whole_video_times_and_shifts_part_times() -> None:
    """Times inside the part are kept; times from the part's own start are shifted; counts add up."""
    second = Segment(60.0, 120.0, 0, 0)
    assert in_video_time(observation(70, 75), second).start == 70
    assert in_video_time(observation(10, 14), second).start == 70
    first = Segment(0.0, 60.0, 0, 0)
    merged = merge_parts(
        [
            (first, AssessmentResult(exercise="squat", repetitions=4, observations=[observation(5, 6)], summary="A.")),
            (second, None),
            (
                Segment(120.0, 180.0, 0, 0),
                AssessmentResult(
                    exercise="lunge", repetitions=None, observations=[observation(150, 155)], summary="B."
                ),
            ),
            (
                Segment(180.0, 240.0, 0, 0),
                AssessmentResult(exercise="squat", repetitions=3, observations=[observation(2, 3)], summary="A."),
            ),
        ],
        duration_s=240.0,
    )
    assert merged is not None
    assert [o.start for o in merged.observations] == [5, 150, 182]
    assert merged.exercise == "squat" and merged.repetitions == 7 and merged.summary == "A. B."
    assert merge_parts([(first, None)], duration_s=60.0) is None


async def test_eight_minute_video_feedback_has_timecodes_past_five_minutes_and_part_progress(
    bot_api: FakeBotApi, scripted_model_dir: Path, tmp_path: Path, clip_8min: Clip
) -> None:
    """The bot watches an 8-minute video in 8 parts ("part k of 8"), and its one feedback names 0:10 ... 7:10."""
    # Generation runs on past the answer (still parsed), so each part takes a second or two as a real one
    # would take longer: the paced status line then shows the parts instead of coalescing them away.
    slow = make_slow_model(scripted_model_dir, tmp_path / "slow-scripted", min_new_tokens=400)
    settings = make_bot_settings(bot_api, slow, tmp_path / "data", job_lease_s=60.0, max_new_tokens=512)
    async with running_bot(bot_api, settings) as harness:
        pat = bot_api.make_user(8101, "Pat", "en")
        await consent(bot_api, pat)
        video = bot_api.user_sends_video(pat, clip_8min.path, duration=480, width=128, height=96)
        feedback = await wait_for_feedback(bot_api, 8101, video["message_id"], timeout=240)
        english = harness.services.catalogs.get("en")
        for minute in range(8):
            assert f"{minute}:10" in feedback.text, minute
        await bot_api.wait_for(lambda: any("Done" in (e.text or "") for e in bot_api.edits(8101)), timeout=10)
        parts_shown = {
            number
            for number in range(1, 9)
            for edit in bot_api.edits(8101)
            if edit.text == english.gettext("Watching your exercise: part %(part)s of %(parts)s…", part=number, parts=8)
        }
        # Edits are paced (1.5 s, the latest wins): the first parts show; a quick last one may give way to "Done".
        assert {1, 2} <= parts_shown and len(parts_shown) >= 4, parts_shown
        question = bot_api.user_sends_text(pat, "what about 7:12?")
        answer = await bot_api.wait_for_message(
            8101, lambda m: m.reply_to_message_id == question["message_id"], timeout=120
        )
        assert answer.text
    [turn] = read_rows(settings.database_url, Turn)
    assert turn.moment_s == 432.0
    assert bot_api.violations == []
