"""Bounds on what the engine accepts, how it samples, and every model call."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VideoLimits:
    """What the engine accepts and how it samples, from settings and the model's processor."""

    max_duration_s: float = 600.0
    max_pixels: int = 4096 * 4096
    window_half_s: float = 3.0
    window_fps: float = 6.0
    window_frame_pixels: int = 640 * 640
    # A longer clip is assessed in parts of about this many seconds (0: always in one call).
    segment_s: float = 60.0


@dataclass(frozen=True)
class ModelLimits:
    """Bounds on every model call."""

    max_new_tokens: int = 1024
    timeout_s: float = 36.0
    do_sample: bool = True
    seed: int | None = None
