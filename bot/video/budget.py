"""Qwen3-VL's frame and pixel budget, reproduced without importing transformers."""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

# Files a model directory may hold its video processor settings in, in transformers' own priority.
_NESTED_CONFIG = "processor_config.json"
_CONFIG_FILES = ("video_preprocessor_config.json", "preprocessor_config.json")


@dataclass(frozen=True)
class SamplingSpec:
    """How many frames to give the model and at what size (the video processor's configuration)."""

    fps: float = 2.0
    min_frames: int = 4
    max_frames: int = 768
    min_pixels: int = 128 * 32 * 32
    # size.longest_edge of the shipped config: a pixel budget summed over all frames of a video.
    max_pixels: int = 25_165_824
    patch_size: int = 16
    merge_size: int = 2
    temporal_patch_size: int = 2
    max_video_tokens: int = 768
    cap_pixels_per_frame: bool = True

    @property
    def factor(self) -> int:
        """Frame sides must be multiples of this (one merged patch)."""
        return self.patch_size * self.merge_size

    @classmethod
    def from_processor_config(cls, config: Mapping[str, Any]) -> SamplingSpec:
        """Build from a `video_preprocessor_config.json` dict; missing keys keep the defaults."""
        base = cls()
        size = config.get("size") or {}
        min_pixels = size.get("shortest_edge") or config.get("min_pixels") or base.min_pixels
        max_pixels = size.get("longest_edge") or config.get("max_pixels") or base.max_pixels
        cap = config.get("cap_pixels_per_frame")
        return cls(
            fps=float(config.get("fps") or base.fps),
            min_frames=int(config.get("min_frames") or base.min_frames),
            max_frames=int(config.get("max_frames") or base.max_frames),
            min_pixels=int(min_pixels),
            max_pixels=int(max_pixels),
            patch_size=int(config.get("patch_size") or base.patch_size),
            merge_size=int(config.get("merge_size") or base.merge_size),
            temporal_patch_size=int(config.get("temporal_patch_size") or base.temporal_patch_size),
            max_video_tokens=int(config.get("max_video_tokens") or base.max_video_tokens),
            cap_pixels_per_frame=base.cap_pixels_per_frame if cap is None else bool(cap),
        )

    @classmethod
    def from_pretrained_dir(cls, path: Path | str) -> SamplingSpec:
        """Read the video processor config of a local model directory; defaults when there is none."""
        directory = Path(path)
        nested = _read_json(directory / _NESTED_CONFIG)
        if isinstance(nested.get("video_processor"), Mapping):
            return cls.from_processor_config(nested["video_processor"])
        for name in _CONFIG_FILES:
            config = _read_json(directory / name)
            if config:
                return cls.from_processor_config(config)
        return cls()

    def with_overrides(
        self, *, fps: float = 0.0, min_frames: int = 0, max_frames: int = 0, max_pixels: int = 0
    ) -> SamplingSpec:
        """A copy with the non-zero arguments replacing the configured values (0 keeps)."""
        return replace(
            self,
            fps=fps or self.fps,
            min_frames=min_frames or self.min_frames,
            max_frames=max_frames or self.max_frames,
            max_pixels=max_pixels or self.max_pixels,
        )


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object from `path`, or an empty dict when it is missing or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def smart_resize(
    num_frames: int,
    height: int,
    width: int,
    temporal_factor: int = 2,
    factor: int = 32,
    min_pixels: int = 128 * 32 * 32,
    max_pixels: int = 25_165_824,
) -> tuple[int, int]:
    """Qwen3-VL's video resize rule: sides multiple of `factor`, total pixels within the budget."""
    # Same arithmetic, in the same order, as transformers' qwen3_vl video_processing smart_resize.
    if num_frames < temporal_factor:
        raise ValueError(f"t:{num_frames} must be larger than temporal_factor:{temporal_factor}")
    if height < factor or width < factor:
        scale = max(factor / height, factor / width)
        height = int(height * scale)
        width = int(width * scale)
    if max(height, width) / min(height, width) > 200:
        raise ValueError("absolute aspect ratio must be smaller than 200")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    t_bar = round(num_frames / temporal_factor) * temporal_factor
    if t_bar * h_bar * w_bar > max_pixels:
        beta = math.sqrt((num_frames * height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif t_bar * h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (num_frames * height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def plan_frame_size(num_frames: int, height: int, width: int, spec: SamplingSpec) -> tuple[int, int]:
    """The (height, width) Qwen3VLVideoProcessor.resize would give `num_frames` frames of this size."""
    max_pixels = spec.max_pixels
    if spec.cap_pixels_per_frame:
        # Per-frame pixels are capped so short clips do not spend the whole budget on a few frames.
        frame_cap = spec.max_video_tokens * spec.factor * spec.factor
        per_frame = max(min(frame_cap, spec.max_pixels // num_frames), int(spec.min_pixels * 1.05))
        max_pixels = per_frame * num_frames
    return smart_resize(
        num_frames,
        height,
        width,
        temporal_factor=spec.temporal_patch_size,
        factor=spec.factor,
        min_pixels=spec.min_pixels,
        max_pixels=max_pixels,
    )


def plan_window_size(height: int, width: int, spec: SamplingSpec, *, frames: int, frame_pixels: int) -> tuple[int, int]:
    """Frame size for a close-up window of `frames` frames, at most `frame_pixels` per frame."""
    step = spec.temporal_patch_size
    frames = max(step, _round_up(frames, step))
    # Capping the summed budget at frames*frame_pixels keeps each side a multiple of the factor.
    capped = replace(spec, max_pixels=min(spec.max_pixels, frames * frame_pixels))
    size = plan_frame_size(frames, height, width, capped)
    if step * size[0] * size[1] < spec.min_pixels:
        # Tiny sources: size for the shortest window (one temporal patch) so that the processor
        # never upscales a window, whatever its length.
        size = plan_frame_size(step, height, width, capped)
    return size


def plan_frame_count(duration_s: float, frame_count: int, spec: SamplingSpec) -> int:
    """Frames to sample: duration*fps within [min_frames, max_frames], even, at most what exists."""
    step = spec.temporal_patch_size
    wanted = round(duration_s * spec.fps)
    wanted = max(spec.min_frames, min(spec.max_frames, wanted))
    wanted = _round_up(wanted, step)
    if wanted > spec.max_frames:
        wanted = max(step, spec.max_frames - spec.max_frames % step)
    if wanted > frame_count:
        # Never invent frames, except repeating to reach one temporal patch.
        wanted = max(step, frame_count - frame_count % step)
    return wanted


def plan_segments(duration_s: float, segment_s: float) -> list[tuple[float, float]]:
    """Spans of about `segment_s` seconds covering the clip, each assessed by its own model call.

    A clip up to 1.5 x `segment_s` is one span (0 turns segmenting off): splitting it would only
    make parts too short to show a whole repetition.
    """
    if segment_s <= 0 or duration_s <= 1.5 * segment_s:
        return [(0.0, duration_s)]
    count = max(2, round(duration_s / segment_s))
    step = duration_s / count
    return [(k * step, duration_s if k == count - 1 else (k + 1) * step) for k in range(count)]


def _round_up(value: int, step: int) -> int:
    """The smallest multiple of `step` not below `value`."""
    return -(-value // step) * step


def even_targets(start_s: float, end_s: float, count: int) -> list[float]:
    """`count` evenly spaced times from start to end inclusive (like numpy.linspace)."""
    if count <= 1:
        return [start_s][:count]
    step = (end_s - start_s) / (count - 1)
    return [start_s + i * step for i in range(count)]


def select_nearest(pts_s: Sequence[float], targets_s: Sequence[float]) -> list[int]:
    """For each target time the index of the nearest real frame, unique and increasing.

    When two targets would share a frame, the later one moves to the next free frame, so the
    result has exactly one index per target; there must not be more targets than frames.
    """
    count = len(targets_s)
    if count > len(pts_s):
        raise ValueError("more targets than frames")
    chosen: list[int] = []
    for k, target in enumerate(sorted(targets_s)):
        low = chosen[-1] + 1 if chosen else 0
        high = len(pts_s) - (count - k)  # leave one frame for each remaining target
        chosen.append(_nearest_in(pts_s, target, low, high))
    return chosen


def nearest_unique(pts_s: Sequence[float], targets_s: Sequence[float]) -> list[int]:
    """The distinct frames nearest to the targets, increasing (fewer than targets when frames are sparse)."""
    if not pts_s:
        return []
    return sorted({_nearest_in(pts_s, target, 0, len(pts_s) - 1) for target in targets_s})


def _nearest_in(pts_s: Sequence[float], target: float, low: int, high: int) -> int:
    """Index in [low, high] of the frame closest to `target` (the earlier one on a tie)."""
    pos = bisect.bisect_left(pts_s, target, low, high + 1)
    if pos <= low:
        return low
    if pos > high:
        return high
    return pos - 1 if target - pts_s[pos - 1] <= pts_s[pos] - target else pos


def proxy_indices(pts_s: Sequence[float], fps: float) -> list[int]:
    """Frames nearest an `fps` grid over the whole clip, each at most once."""
    if not pts_s:
        return []
    steps = math.floor(pts_s[-1] * fps + 1e-9)
    return nearest_unique(pts_s, [k / fps for k in range(steps + 1)])


def window_bounds(center_s: float, half_s: float, duration_s: float) -> tuple[float, float]:
    """[center-half, center+half], shifted to stay inside [0, duration] while keeping its width."""
    width = 2 * half_s
    if width >= duration_s:
        return 0.0, duration_s
    start = min(max(center_s - half_s, 0.0), duration_s - width)
    return start, start + width


def pick_window(timestamps_s: Sequence[float], center_s: float, start_s: float, end_s: float) -> list[int]:
    """Positions of the frames inside [start, end], trimmed or repeated to an even count of at least 2."""
    low = bisect.bisect_left(timestamps_s, start_s - 1e-9)
    high = bisect.bisect_right(timestamps_s, end_s + 1e-9)
    chosen = list(range(low, high))
    if not chosen:
        if not timestamps_s:
            return []
        chosen = [_nearest_in(timestamps_s, center_s, 0, len(timestamps_s) - 1)]
    if len(chosen) == 1:
        return chosen * 2
    if len(chosen) % 2:
        # Drop the end frame farther from the moment asked about.
        first_gap = center_s - timestamps_s[chosen[0]]
        last_gap = timestamps_s[chosen[-1]] - center_s
        chosen = chosen[1:] if first_gap > last_gap else chosen[:-1]
    return chosen
