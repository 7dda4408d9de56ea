"""Frame sampling: orientation, exact timestamps, sizes and counts the model expects."""

from __future__ import annotations

import subprocess
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from bot.video import (
    FFmpeg,
    FFmpegTimeout,
    RejectReason,
    SampledFrames,
    SamplingSpec,
    VideoProbe,
    VideoRejected,
    plan_frame_count,
    plan_frame_size,
    probe,
    sample_video,
)
from tests.fixtures.videos import Clip, content_time, red_corner


@pytest.fixture(scope="module")
def ffmpeg() -> FFmpeg:
    return FFmpeg.locate(timeout_s=120)


def check_frames(sampled: SampledFrames, clip: Clip, facts: VideoProbe) -> None:
    """Upright, timestamps equal to what each frame shows, sizes the processor keeps."""
    frames = sampled.frames
    assert frames.dtype == np.uint8 and frames.ndim == 4 and frames.shape[3] == 3
    assert len(frames) == len(sampled.timestamps_s) == len(sampled.source_indices)
    assert len(frames) % 2 == 0 and len(frames) >= 2
    assert sampled.height % 32 == 0 and sampled.width % 32 == 0
    assert sampled.timestamps_s == sorted(sampled.timestamps_s)
    interval = max(b - a for a, b in pairwise(facts.pts_s)) if facts.frame_count > 1 else 0
    for frame, stamp, index in zip(frames, sampled.timestamps_s, sampled.source_indices, strict=True):
        assert red_corner(frame) == "top-left"
        assert stamp == facts.pts_s[index]
        # Within one source frame interval of the time the picture shows (in practice < 10 ms).
        assert abs(content_time(frame, clip) - stamp) <= max(interval, 1 / clip.fps) / 2 + 0.01


def test_portrait_clip_for_the_model(clip_portrait: Clip, ffmpeg: FFmpeg) -> None:
    facts = probe(clip_portrait.path, ffmpeg=ffmpeg)
    sampled = sample_video(clip_portrait.path, facts, ffmpeg=ffmpeg, spec=SamplingSpec())
    assert sampled.frames.shape == (60, 832, 480, 3)
    assert sampled.duration_s == pytest.approx(30.0)
    assert sampled.timestamps_s[0] == 0.0
    assert sampled.timestamps_s[-1] == pytest.approx(29 + 29 / 30)
    gaps = np.diff(sampled.timestamps_s)
    assert gaps.min() >= 0.46 and gaps.max() <= 0.54  # fps 2, spread over the whole clip
    check_frames(sampled, clip_portrait, facts)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_clips_come_out_upright(clip_rotations: dict[int, Clip], ffmpeg: FFmpeg, rotation: int) -> None:
    clip = clip_rotations[rotation]
    facts = probe(clip.path, ffmpeg=ffmpeg)
    sampled = sample_video(clip.path, facts, ffmpeg=ffmpeg, spec=SamplingSpec())
    assert sampled.height > sampled.width  # displayed as portrait
    assert (sampled.height, sampled.width) == plan_frame_size(len(sampled.frames), 640, 360, SamplingSpec())
    check_frames(sampled, clip, facts)


def test_rotation_agrees_with_ffmpeg_autorotate(clip_rotated: Clip, ffmpeg: FFmpeg) -> None:
    facts = probe(clip_rotated.path, ffmpeg=ffmpeg)
    sampled = sample_video(clip_rotated.path, facts, ffmpeg=ffmpeg, spec=SamplingSpec())
    h, w = sampled.height, sampled.width
    reference = subprocess.run(
        [
            *(ffmpeg.binary, "-v", "error", "-i", str(clip_rotated.path), "-frames:v", "1"),
            *("-vf", f"scale={w}:{h}:flags=bicubic", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"),
        ],
        capture_output=True,
        check=True,
    ).stdout
    autorotated = np.frombuffer(reference, np.uint8).reshape(h, w, 3)
    assert np.abs(autorotated.astype(np.int16) - sampled.frames[0]).mean() < 4


def test_variable_frame_rate_timestamps(clip_vfr: Clip, ffmpeg: FFmpeg) -> None:
    facts = probe(clip_vfr.path, ffmpeg=ffmpeg)
    sampled = sample_video(clip_vfr.path, facts, ffmpeg=ffmpeg, spec=SamplingSpec())
    assert len(sampled.frames) == plan_frame_count(facts.duration_s, facts.frame_count, SamplingSpec()) == 12
    check_frames(sampled, clip_vfr, facts)
    # Frame numbers over fps would be wrong here; the metadata carries real times instead.
    meta = sampled.processor_metadata()
    assert [i / meta["fps"] for i in meta["frames_indices"]] == pytest.approx(sampled.timestamps_s, abs=5e-4)
    dense = sample_video(clip_vfr.path, facts, ffmpeg=ffmpeg, spec=SamplingSpec(fps=30.0))
    assert len(dense.frames) == 180
    check_frames(dense, clip_vfr, facts)


@pytest.mark.parametrize("fixture", ["clip_hevc", "clip_mkv", "clip_small", "clip_no_audio", "clip_edit_list"])
def test_other_codecs_and_containers(request: pytest.FixtureRequest, ffmpeg: FFmpeg, fixture: str) -> None:
    clip: Clip = request.getfixturevalue(fixture)
    facts = probe(clip.path, ffmpeg=ffmpeg)
    sampled = sample_video(clip.path, facts, ffmpeg=ffmpeg, spec=SamplingSpec())
    assert len(sampled.frames) == plan_frame_count(facts.duration_s, facts.frame_count, SamplingSpec())
    if fixture == "clip_edit_list":
        # Times count from the first shown frame; the content clock started 1.1 s earlier.
        shifted = [content_time(frame, clip) - 1.1 for frame in sampled.frames]
        assert shifted == pytest.approx(sampled.timestamps_s, abs=0.03)
    else:
        check_frames(sampled, clip, facts)


def test_short_clips_get_the_minimum_frames(clip_short: Clip, clip_one_frame: Clip, ffmpeg: FFmpeg) -> None:
    facts = probe(clip_short.path, ffmpeg=ffmpeg)
    sampled = sample_video(clip_short.path, facts, ffmpeg=ffmpeg, spec=SamplingSpec())
    assert len(sampled.frames) == 4
    check_frames(sampled, clip_short, facts)
    single = probe(clip_one_frame.path, ffmpeg=ffmpeg)
    repeated = sample_video(clip_one_frame.path, single, ffmpeg=ffmpeg, spec=SamplingSpec())
    assert len(repeated.frames) == 2  # one temporal patch: the only frame, twice
    assert repeated.source_indices == [0, 0] and repeated.timestamps_s == [0.0, 0.0]
    assert np.array_equal(repeated.frames[0], repeated.frames[1])


def test_frame_limits_from_settings(clip_small: Clip, ffmpeg: FFmpeg) -> None:
    facts = probe(clip_small.path, ffmpeg=ffmpeg)
    spec = SamplingSpec().with_overrides(fps=10.0, max_frames=20, max_pixels=20 * 64 * 64)
    sampled = sample_video(clip_small.path, facts, ffmpeg=ffmpeg, spec=spec)
    assert len(sampled.frames) == 20
    assert (sampled.height, sampled.width) == plan_frame_size(20, 240, 320, spec)
    check_frames(sampled, clip_small, facts)


def test_processor_keeps_our_frames_and_times(clip_rotated: Clip, ffmpeg: FFmpeg) -> None:
    qwen = pytest.importorskip("transformers.models.qwen3_vl.video_processing_qwen3_vl")
    facts = probe(clip_rotated.path, ffmpeg=ffmpeg)
    spec = SamplingSpec()
    sampled = sample_video(clip_rotated.path, facts, ffmpeg=ffmpeg, spec=spec)
    processor = qwen.Qwen3VLVideoProcessor(
        size={"shortest_edge": spec.min_pixels, "longest_edge": spec.max_pixels}, cap_pixels_per_frame=True
    )
    out = processor(
        videos=[sampled.frames],
        video_metadata=[sampled.processor_metadata()],
        do_sample_frames=False,
        return_metadata=True,
    )
    t, h, w = (int(x) for x in out["video_grid_thw"][0])
    assert (t * 2, h * 16, w * 16) == (len(sampled.frames), sampled.height, sampled.width)
    metadata = out["video_metadata"][0]
    times = [index / metadata.fps for index in metadata.frames_indices]
    assert times == pytest.approx(sampled.timestamps_s, abs=5e-4)


def test_damaged_video_data_is_unreadable(clip_corrupt: Path, ffmpeg: FFmpeg) -> None:
    facts = probe(clip_corrupt, ffmpeg=ffmpeg)  # the container is intact
    with pytest.raises(VideoRejected) as caught:
        sample_video(clip_corrupt, facts, ffmpeg=ffmpeg, spec=SamplingSpec())
    assert caught.value.reason is RejectReason.UNREADABLE


def test_sampling_timeout_is_typed_and_leaves_nothing(clip_small: Clip, tmp_path: Path) -> None:
    slow = FFmpeg.locate(timeout_s=0.001)
    facts = probe(clip_small.path, ffmpeg=FFmpeg.locate())
    with pytest.raises(FFmpegTimeout):
        sample_video(clip_small.path, facts, ffmpeg=slow, spec=SamplingSpec(), cache_dir=tmp_path / "pack")
    assert list(tmp_path.iterdir()) == []
