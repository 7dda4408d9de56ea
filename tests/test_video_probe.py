"""Probing and validation: every kind of upload is accepted or refused with the right reason."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from bot.video import FFmpeg, RejectReason, VideoProbe, VideoRejected, inspect_video, probe, validate
from bot.video.probe import _parse_header, _rotation
from tests.fixtures.videos import Clip


@pytest.fixture(scope="module")
def ffmpeg() -> FFmpeg:
    return FFmpeg.locate(timeout_s=60)


def _check_timeline(facts: VideoProbe) -> None:
    assert len(facts.pts_s) == facts.frame_count
    assert facts.pts_s[0] == 0.0
    assert all(b > a for a, b in pairwise(facts.pts_s))
    assert facts.pts_s[-1] < facts.duration_s


def test_portrait_clip(clip_portrait: Clip, ffmpeg: FFmpeg) -> None:
    facts = probe(clip_portrait.path, ffmpeg=ffmpeg)
    assert (facts.width, facts.height, facts.rotation) == (1080, 1920, 0)
    assert (facts.display_width, facts.display_height) == (1080, 1920)
    assert facts.frame_count == 900
    assert facts.duration_s == pytest.approx(30.0)
    assert facts.fps == pytest.approx(30.0)
    assert facts.codec == "h264"
    assert facts.has_audio
    assert "mp4" in facts.container
    assert not facts.is_variable_frame_rate
    _check_timeline(facts)
    assert facts.pts_s[1] == pytest.approx(1 / 30)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_is_read_from_the_display_matrix(
    clip_rotations: dict[int, Clip], ffmpeg: FFmpeg, rotation: int
) -> None:
    facts = probe(clip_rotations[rotation].path, ffmpeg=ffmpeg)
    assert facts.rotation == rotation
    assert (facts.display_width, facts.display_height) == (360, 640)
    stored = (640, 360) if rotation in (90, 270) else (360, 640)
    assert (facts.width, facts.height) == stored


def test_variable_frame_rate_keeps_real_gaps(clip_vfr: Clip, ffmpeg: FFmpeg) -> None:
    facts = probe(clip_vfr.path, ffmpeg=ffmpeg)
    _check_timeline(facts)
    assert facts.is_variable_frame_rate
    assert facts.frame_count == 180 + 60
    gaps = [b - a for a, b in pairwise(facts.pts_s)]
    assert gaps[0] == pytest.approx(1 / 60, abs=1e-4)
    assert gaps[-1] == pytest.approx(3 / 60, abs=1e-4)
    assert facts.fps == pytest.approx(facts.frame_count / facts.duration_s)


def test_b_frames_and_matroska(clip_small: Clip, clip_mkv: Clip, ffmpeg: FFmpeg) -> None:
    small = probe(clip_small.path, ffmpeg=ffmpeg)
    assert small.frame_count == 120 and small.has_audio
    _check_timeline(small)
    mkv = probe(clip_mkv.path, ffmpeg=ffmpeg)
    assert mkv.container.startswith("matroska")
    assert mkv.frame_count == 90 and not mkv.has_audio
    _check_timeline(mkv)


def test_hevc(clip_hevc: Clip, ffmpeg: FFmpeg) -> None:
    facts = probe(clip_hevc.path, ffmpeg=ffmpeg)
    assert facts.codec == "hevc"
    assert facts.frame_count == 60


def test_no_audio_and_short(clip_no_audio: Clip, clip_short: Clip, ffmpeg: FFmpeg) -> None:
    assert not probe(clip_no_audio.path, ffmpeg=ffmpeg).has_audio
    short = probe(clip_short.path, ffmpeg=ffmpeg)
    assert short.frame_count == 30
    assert short.duration_s == pytest.approx(1.0)


def test_single_frame_video(clip_one_frame: Clip, ffmpeg: FFmpeg) -> None:
    facts = probe(clip_one_frame.path, ffmpeg=ffmpeg)
    assert facts.frame_count == 1
    assert facts.pts_s == (0.0,)
    assert facts.duration_s > 0


def test_edit_list_hides_leading_frames(clip_edit_list: Clip, ffmpeg: FFmpeg) -> None:
    # Copy-cut at 1.1 s: packets from the previous keyframe are kept but flagged discard.
    facts = probe(clip_edit_list.path, ffmpeg=ffmpeg)
    _check_timeline(facts)
    assert facts.duration_s == pytest.approx(4.0 - 1.1, abs=0.05)
    assert facts.frame_count == round(facts.duration_s * 30)


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("clip_zero", RejectReason.EMPTY),
        ("clip_text", RejectReason.NOT_A_VIDEO),
        ("clip_image", RejectReason.NOT_A_VIDEO),
        ("clip_audio_m4a", RejectReason.NO_VIDEO_STREAM),
        ("clip_audio_as_mp4", RejectReason.NO_VIDEO_STREAM),
        ("clip_truncated", RejectReason.UNREADABLE),
        ("clip_truncated_faststart", RejectReason.UNREADABLE),
        ("clip_truncated_mkv", RejectReason.UNREADABLE),
    ],
)
def test_bad_uploads_are_refused(
    request: pytest.FixtureRequest, ffmpeg: FFmpeg, fixture: str, reason: RejectReason
) -> None:
    path: Path = request.getfixturevalue(fixture)
    with pytest.raises(VideoRejected) as caught:
        probe(path, ffmpeg=ffmpeg)
    assert caught.value.reason is reason
    # Nothing about the file (name, folder) leaks into what a user or a log line may see.
    assert str(caught.value) == reason.value
    assert path.name not in caught.value.describe()
    assert str(path.parent) not in caught.value.describe()


def test_missing_file_is_unreadable(tmp_path: Path, ffmpeg: FFmpeg) -> None:
    with pytest.raises(VideoRejected) as caught:
        probe(tmp_path / "gone.mp4", ffmpeg=ffmpeg)
    assert caught.value.reason is RejectReason.UNREADABLE


def test_probe_timeout_is_unreadable(clip_small: Clip) -> None:
    with pytest.raises(VideoRejected) as caught:
        probe(clip_small.path, ffmpeg=FFmpeg.locate(timeout_s=0.001))
    assert caught.value.reason is RejectReason.UNREADABLE
    assert caught.value.limits == {"timeout_s": 0.001}


def test_validate_limits(clip_small: Clip, ffmpeg: FFmpeg) -> None:
    facts = inspect_video(clip_small.path, ffmpeg=ffmpeg, max_duration_s=600, max_pixels=4096 * 4096)
    assert facts.frame_count == 120
    with pytest.raises(VideoRejected) as too_long:
        validate(facts, max_duration_s=3.5, max_pixels=4096 * 4096)
    assert too_long.value.reason is RejectReason.TOO_LONG
    assert too_long.value.limits == {"max_s": 3.5, "duration_s": pytest.approx(4.0)}
    with pytest.raises(VideoRejected) as too_large:
        inspect_video(clip_small.path, ffmpeg=ffmpeg, max_duration_s=600, max_pixels=320 * 240 - 1)
    assert too_large.value.reason is RejectReason.TOO_LARGE
    assert too_large.value.limits["pixels"] == 320 * 240
    validate(facts, max_duration_s=4.0, max_pixels=320 * 240)


def test_validate_refuses_empty_probe() -> None:
    empty = VideoProbe(0.0, 0.0, 0, 320, 240, 0, "h264", False, "mov", ())
    with pytest.raises(VideoRejected) as caught:
        validate(empty, max_duration_s=600, max_pixels=10**8)
    assert caught.value.reason is RejectReason.EMPTY


# Older ffmpeg builds print rotation differently; the parser must read all of them.
_DUMP = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'clip.mp4':
  Duration: 00:00:10.50, start: 0.000000, bitrate: 9000 kb/s
  Stream #0:0[0x1](und): Video: mjpeg (Baseline), yuvj420p, 300x300, 90k tbr (attached pic)
  Stream #0:1[0x2](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709), 1920x1080, 30 fps (default)
    Metadata:
      handler_name    : VideoHandle{extra}
  Stream #0:2[0x3](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 128 kb/s (default)
Stream mapping:
  Stream #0:1 -> #0:0 (copy)
"""


@pytest.mark.parametrize(
    ("extra", "rotation"),
    [
        ("\n    Side data:\n      displaymatrix: rotation of -90.00 degrees", 90),
        ("\n    Side data:\n      Display Matrix: rotation of -90.00 degrees", 90),
        ("\n    Side data:\n      displaymatrix: rotation of 90.00 degrees", 270),
        ("\n    Side data:\n      displaymatrix: rotation of -180.00 degrees", 180),
        ("\n      rotate          : 90", 90),
        ("\n      rotate          : 270", 270),
        ("", 0),
    ],
)
def test_rotation_parsing_across_ffmpeg_versions(extra: str, rotation: int) -> None:
    header = _parse_header(_DUMP.format(extra=extra))
    assert header is not None
    assert header.container == "mov,mp4,m4a,3gp,3g2,mj2"
    assert header.duration_s == pytest.approx(10.5)
    assert header.has_audio
    assert "h264" in header.video_lines[0]  # the attached picture is not the video
    assert _rotation(header.video_lines) == rotation
