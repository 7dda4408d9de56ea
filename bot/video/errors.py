"""Typed failures of the video pipeline: refusals of bad input and ffmpeg process errors."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class RejectReason(StrEnum):
    """Why an uploaded file cannot be assessed; the value is a stable code for logs and i18n."""

    NOT_A_VIDEO = "not_a_video"
    NO_VIDEO_STREAM = "no_video_stream"
    UNREADABLE = "unreadable"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    TOO_LARGE = "too_large"


class VideoRejected(Exception):
    """Bad input: the file is refused for `reason`; the message carries only the code, never paths."""

    def __init__(self, reason: RejectReason, limits: Mapping[str, float] | None = None) -> None:
        """Record the reason and the numbers behind it (limit and measured value)."""
        self.reason = RejectReason(reason)
        self.limits: dict[str, float] = dict(limits or {})
        super().__init__(self.reason.value)

    def describe(self) -> str:
        """One English line for CLI output and logs."""
        return describe(self.reason, self.limits)


class FFmpegError(Exception):
    """ffmpeg could not run or failed for a reason that is not the input's fault."""


class FFmpegTimeout(FFmpegError):
    """An ffmpeg call ran past its time limit and was killed."""

    def __init__(self, timeout_s: float) -> None:
        """Keep the limit that was exceeded; the message names no file."""
        self.timeout_s = timeout_s
        super().__init__(f"ffmpeg timed out after {timeout_s:g} s")


class FFmpegOutOfMemory(FFmpegError):
    """An ffmpeg call failed under its memory cap (a decompression bomb or an absurd frame size)."""

    def __init__(self, memory_mb: int) -> None:
        """Keep the cap that was exceeded; the message names no file."""
        self.memory_mb = memory_mb
        super().__init__(f"ffmpeg ran out of memory under a {memory_mb} MB cap")


def _clock(seconds: float) -> str:
    """Format seconds as m:ss (or h:mm:ss) for people."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def describe(reason: RejectReason, limits: Mapping[str, float] | None = None) -> str:
    """A one-line English description of a refusal, starting with the reason code."""
    limits = limits or {}
    reason = RejectReason(reason)
    if reason is RejectReason.TOO_LONG and "duration_s" in limits and "max_s" in limits:
        detail = f"the video is {_clock(limits['duration_s'])} long; the limit is {_clock(limits['max_s'])}"
    elif reason is RejectReason.TOO_LARGE and "pixels" in limits and "max_pixels" in limits:
        size = ""
        if "width" in limits and "height" in limits:
            size = f" ({int(limits['width'])}x{int(limits['height'])})"
        detail = (
            f"the video frame has {int(limits['pixels']):,} pixels{size}; the limit is {int(limits['max_pixels']):,}"
        )
    elif reason is RejectReason.TOO_LARGE and "memory_mb" in limits:
        detail = f"decoding the video needs more than the {int(limits['memory_mb'])} MB memory cap"
    elif reason is RejectReason.UNREADABLE and "timeout_s" in limits:
        detail = f"the file could not be read within {limits['timeout_s']:g} s"
    else:
        detail = _DETAILS[reason]
    return f"{reason.value}: {detail}"


_DETAILS: Mapping[RejectReason, str] = MappingProxyType(
    {
        RejectReason.NOT_A_VIDEO: "the file is not a video",
        RejectReason.NO_VIDEO_STREAM: "the file has no picture (audio only?)",
        RejectReason.UNREADABLE: "the video is damaged or incomplete and cannot be decoded",
        RejectReason.EMPTY: "the video is empty (no frames or zero length)",
        RejectReason.TOO_LONG: "the video is too long",
        RejectReason.TOO_LARGE: "the video frame is too large",
    }
)
