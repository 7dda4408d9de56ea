"""The ffmpeg runner, typed errors and refusal descriptions."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from bot.video import FFmpeg, FFmpegError, FFmpegTimeout, RejectReason, VideoRejected, describe


def test_locate_prefers_configured_binary() -> None:
    assert FFmpeg.locate("/opt/ffmpeg/bin/ffmpeg", timeout_s=7).binary == "/opt/ffmpeg/bin/ffmpeg"
    assert FFmpeg.locate("/opt/ffmpeg/bin/ffmpeg", timeout_s=7).timeout_s == 7


def test_locate_uses_path_then_imageio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/local/bin/{name}")
    assert FFmpeg.locate().binary == "/usr/local/bin/ffmpeg"
    monkeypatch.setattr(shutil, "which", lambda name: None)
    import imageio_ffmpeg

    assert FFmpeg.locate().binary == imageio_ffmpeg.get_ffmpeg_exe()


def test_run_returns_output_and_status() -> None:
    result = FFmpeg.locate().run(["-version"])
    assert result.ok
    assert result.stdout.startswith(b"ffmpeg version")
    failed = FFmpeg.locate().run(["-definitely-not-an-option"])
    assert not failed.ok
    assert failed.stderr_text


def test_run_kills_on_timeout() -> None:
    ffmpeg = FFmpeg.locate(timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(FFmpegTimeout) as caught:
        ffmpeg.run(["-f", "lavfi", "-i", "testsrc=d=3600", "-f", "null", "-"])
    assert time.monotonic() - started < 5
    assert caught.value.timeout_s == pytest.approx(0.3)
    with pytest.raises(FFmpegTimeout):
        FFmpeg.locate().run(["-f", "lavfi", "-i", "testsrc=d=3600", "-f", "null", "-"], timeout_s=0.2)


def test_run_into_reads_into_buffer_and_counts_overflow() -> None:
    ffmpeg = FFmpeg.locate()
    args = ["-f", "lavfi", "-i", "color=c=red:s=4x2:d=1:r=5", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    exact = bytearray(5 * 4 * 2 * 3)
    result = ffmpeg.run_into(args, memoryview(exact))
    assert result.ok and result.stdout_size == len(exact)
    assert exact[0] > 240 and exact[1] < 10 and exact[2] < 10
    small = bytearray(10)
    assert ffmpeg.run_into(args, memoryview(small)).stdout_size == len(exact)


def test_missing_binary_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(FFmpegError) as caught:
        FFmpeg(str(tmp_path / "no-ffmpeg")).run(["-version"])
    assert str(tmp_path) not in str(caught.value)


def test_rejection_carries_only_the_code() -> None:
    error = VideoRejected(RejectReason.TOO_LONG, {"max_s": 600, "duration_s": 720})
    assert str(error) == "too_long"
    assert error.limits == {"max_s": 600, "duration_s": 720}
    assert error.describe() == "too_long: the video is 12:00 long; the limit is 10:00"


@pytest.mark.parametrize("reason", list(RejectReason))
def test_every_reason_has_a_one_line_description(reason: RejectReason) -> None:
    text = describe(reason)
    assert text.startswith(f"{reason.value}: ")
    assert "\n" not in text


def test_describe_too_large_and_timeout() -> None:
    text = describe(RejectReason.TOO_LARGE, {"max_pixels": 100, "pixels": 2_073_600, "width": 1080, "height": 1920})
    assert text == "too_large: the video frame has 2,073,600 pixels (1080x1920); the limit is 100"
    assert describe(RejectReason.UNREADABLE, {"timeout_s": 5}) == ("unreadable: the file could not be read within 5 s")
    assert describe(RejectReason.TOO_LONG, {"max_s": 600, "duration_s": 3725}).endswith(
        "1:02:05 long; the limit is 10:00"
    )
