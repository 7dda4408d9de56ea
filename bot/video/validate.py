"""Policy checks on a probed video: length and frame size limits."""

from __future__ import annotations

from pathlib import Path

from bot.video.errors import RejectReason, VideoRejected
from bot.video.ffmpeg import FFmpeg
from bot.video.probe import VideoProbe
from bot.video.probe import probe as probe_video


def validate(probe: VideoProbe, *, max_duration_s: float, max_pixels: int) -> None:
    """Raise VideoRejected when the video is empty, longer than allowed or its frames too large."""
    if probe.frame_count <= 0 or probe.duration_s <= 0:
        raise VideoRejected(RejectReason.EMPTY)
    if probe.duration_s > max_duration_s:
        raise VideoRejected(RejectReason.TOO_LONG, {"max_s": float(max_duration_s), "duration_s": probe.duration_s})
    if probe.width <= 0 or probe.height <= 0:
        # A forged header can claim a 0-pixel frame; nothing can be decoded or scaled from it.
        raise VideoRejected(RejectReason.UNREADABLE)
    pixels = probe.width * probe.height
    if pixels > max_pixels:
        raise VideoRejected(
            RejectReason.TOO_LARGE,
            {
                "max_pixels": float(max_pixels),
                "pixels": float(pixels),
                "width": float(probe.display_width),
                "height": float(probe.display_height),
            },
        )


def inspect_video(path: Path, *, ffmpeg: FFmpeg, max_duration_s: float, max_pixels: int) -> VideoProbe:
    """Probe `path` and apply the limits; the first step for every untrusted upload."""
    facts = probe_video(Path(path), ffmpeg=ffmpeg)
    validate(facts, max_duration_s=max_duration_s, max_pixels=max_pixels)
    return facts
