"""The ffmpeg runner, typed errors and refusal descriptions."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from bot.config import Settings
from bot.video import (
    FFmpeg,
    FFmpegError,
    FFmpegOutOfMemory,
    FFmpegTimeout,
    RejectReason,
    SamplingSpec,
    VideoRejected,
    describe,
    probe,
    sample_video,
)
from bot.video import ffmpeg as ffmpeg_module
from tests.fixtures.videos import Clip, run_ffmpeg

MB = 1 << 20
DEFAULT_MEMORY_MB = Settings.model_fields["ffmpeg_memory_mb"].default
# One 8000x8000 frame converted to RGB: ~290 MB of frame buffers, far beyond a 256 MB heap budget.
HUGE_DECODE = ["-nostats", "-f", "lavfi", "-i", "color=size=8000x8000:d=1:r=1", "-pix_fmt", "rgb24", "-f", "null", "-"]
needs_rlimit = pytest.mark.skipif(ffmpeg_module.resource is None, reason="no setrlimit on this platform")


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


def test_locate_carries_the_memory_cap() -> None:
    assert FFmpeg.locate("/opt/ffmpeg/bin/ffmpeg", memory_mb=512).memory_mb == 512
    assert FFmpeg.locate().memory_mb == 0


@needs_rlimit
def test_address_space_limit_adds_thread_stacks_per_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    resource = ffmpeg_module.resource
    stack = resource.getrlimit(resource.RLIMIT_STACK)[0]
    if stack in (resource.RLIM_INFINITY, 0):
        stack = 8 * MB
    monkeypatch.setattr(ffmpeg_module, "_cpu_count", lambda: 16)
    assert FFmpeg("ffmpeg", memory_mb=2048).address_space_limit() == 2048 * MB + 3 * 16 * stack
    monkeypatch.setattr(ffmpeg_module, "_cpu_count", lambda: 2)
    assert FFmpeg("ffmpeg", memory_mb=2048).address_space_limit() == 2048 * MB + 3 * 2 * stack
    assert FFmpeg("ffmpeg", memory_mb=0).address_space_limit() is None


@needs_rlimit
def test_memory_cap_turns_a_huge_decode_into_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two CPUs' worth of stack allowance whatever the machine, so the cap is the same everywhere.
    monkeypatch.setattr(ffmpeg_module, "_cpu_count", lambda: 2)
    capped = FFmpeg.locate(memory_mb=256)
    assert capped.run(["-version"]).ok  # the cap leaves room for ffmpeg itself
    started = time.monotonic()
    with pytest.raises(FFmpegOutOfMemory) as caught:
        capped.run(HUGE_DECODE)
    assert time.monotonic() - started < 30
    assert isinstance(caught.value, FFmpegError) and caught.value.memory_mb == 256
    assert "256 MB" in str(caught.value)
    # The very same call succeeds uncapped and under a generous cap: only the cap made it fail.
    assert FFmpeg.locate(memory_mb=0).run(HUGE_DECODE).ok
    assert FFmpeg.locate(memory_mb=4096).run(HUGE_DECODE).ok


@needs_rlimit
def test_default_cap_decodes_a_normal_clip(clip_small: Clip) -> None:
    capped = FFmpeg.locate(memory_mb=DEFAULT_MEMORY_MB)
    assert DEFAULT_MEMORY_MB >= 1024
    facts = probe(clip_small.path, ffmpeg=capped)
    sampled = sample_video(clip_small.path, facts, ffmpeg=capped, spec=SamplingSpec())
    free = sample_video(clip_small.path, facts, ffmpeg=FFmpeg.locate(), spec=SamplingSpec())
    assert sampled.frames.shape == free.frames.shape and (sampled.frames == free.frames).all()


@needs_rlimit
def test_default_cap_leaves_room_for_many_decoder_threads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A 1080p decode with the thread pools of a 32-core machine fits the default cap (glibc would reserve
    a 64 MB malloc arena per thread, over 2 GB, unless the runner limits the arenas)."""
    # glibc's default arena limit on a 32-core machine (8 per core); the runner must override it.
    monkeypatch.setenv("MALLOC_ARENA_MAX", "256")
    clip = tmp_path / "hd.mp4"
    run_ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30:d=1", "-c:v", "libx264", "-preset", "ultrafast", str(clip)
    )
    threads = ["-filter_threads", "32", "-threads", "16", "-i", str(clip), "-threads", "32"]
    args = ["-xerror", "-nostats", "-loglevel", "error", *threads, "-vf", "scale=640:-2", "-f", "rawvideo", "-"]
    result = FFmpeg.locate(memory_mb=DEFAULT_MEMORY_MB).run(args)
    assert result.ok, result.stderr_text
    assert result.stdout_size > 0


@needs_rlimit
def test_out_of_memory_is_a_refusal_for_probe_and_decode(monkeypatch: pytest.MonkeyPatch, clip_small: Clip) -> None:
    """Under a cap too small for ffmpeg to even load, probe and decode refuse the video as too large (bad
    input, not a fault to retry) instead of raising an ffmpeg error."""
    monkeypatch.setattr(ffmpeg_module, "_cpu_count", lambda: 2)
    starved = FFmpeg.locate(memory_mb=16)
    with pytest.raises(VideoRejected) as probed:
        probe(clip_small.path, ffmpeg=starved)
    assert probed.value.reason is RejectReason.TOO_LARGE and probed.value.limits == {"memory_mb": 16}
    facts = probe(clip_small.path, ffmpeg=FFmpeg.locate())
    with pytest.raises(VideoRejected) as decoded:
        sample_video(clip_small.path, facts, ffmpeg=starved, spec=SamplingSpec())
    assert decoded.value.reason is RejectReason.TOO_LARGE
    assert decoded.value.describe() == "too_large: decoding the video needs more than the 16 MB memory cap"


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
