"""Sample a video for the model in one ffmpeg pass, optionally writing a frame pack for follow-ups."""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.video import graph, pack
from bot.video.budget import (
    SamplingSpec,
    even_targets,
    plan_frame_count,
    plan_frame_size,
    plan_segments,
    plan_window_size,
    proxy_indices,
    select_nearest,
)
from bot.video.errors import FFmpegOutOfMemory, RejectReason, VideoRejected
from bot.video.ffmpeg import FFmpeg
from bot.video.frames import SampledFrames, Segment, repeat_positions
from bot.video.probe import VideoProbe
from bot.video.redact import PackRedactor

log = logging.getLogger(__name__)

_MODEL_JPEG_QUALITY = 2
_PROXY_JPEG_QUALITY = 3
# The proxy runs at several frames per second: detecting on every other frame and carrying the boxes halves the cost.
_PROXY_DETECT_EVERY = 2
DECODE_ARGS = ("-xerror", "-nostats", "-loglevel", "error")
# All model frames of one video are decoded at once: a segmented 10-minute clip keeps within this.
MAX_MODEL_RGB_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class FramePlan:
    """Which source frames to keep and at what upright size."""

    indices: list[int]
    positions: list[int]
    height: int
    width: int
    # Per model call: (start s, end s, first position, end position); one span unless segmented.
    segments: list[Segment] = field(default_factory=list)


def plan_model_frames(
    probe: VideoProbe, spec: SamplingSpec, *, segment_s: float = 0.0, max_rgb_bytes: int = MAX_MODEL_RGB_BYTES
) -> FramePlan:
    """The model's frames: nearest real frames to evenly spaced times over the whole clip.

    A long clip is split into segments of about `segment_s` (budget.plan_segments), each given the
    frames one model call takes, all cut from the one decode; the frame size shrinks only as far as
    keeping every frame's RGB within `max_rgb_bytes` needs.
    """
    spans = plan_segments(probe.duration_s, segment_s)
    if len(spans) > 1 and (plan := _segmented_plan(probe, spec, spans, max_rgb_bytes)) is not None:
        return plan
    count = plan_frame_count(probe.duration_s, probe.frame_count, spec)
    distinct = min(count, probe.frame_count)
    indices = select_nearest(probe.pts_s, even_targets(0.0, probe.pts_s[-1], distinct))
    positions = list(range(distinct)) + [distinct - 1] * (count - distinct)
    height, width = plan_frame_size(count, probe.display_height, probe.display_width, spec)
    return FramePlan(indices, positions, height, width, [Segment(0.0, probe.duration_s, 0, count)])


def _segmented_plan(
    probe: VideoProbe, spec: SamplingSpec, spans: list[tuple[float, float]], max_rgb_bytes: int
) -> FramePlan | None:
    """One model call's frames per span, in one list; None when a span holds too few frames to stand alone."""
    indices: list[int] = []
    segments = []
    per_call = 0
    for number, (start_s, end_s) in enumerate(spans):
        last = number == len(spans) - 1
        inside = [i for i, t in enumerate(probe.pts_s) if start_s <= t < end_s or (last and t >= end_s)]
        count = min(plan_frame_count(end_s - start_s, len(inside), spec), len(inside))
        count -= count % spec.temporal_patch_size
        if count < spec.temporal_patch_size:
            return None
        times = [probe.pts_s[i] for i in inside]
        picked = select_nearest(times, even_targets(times[0], times[-1], count))
        segments.append(Segment(start_s, end_s, len(indices), len(indices) + len(picked)))
        indices.extend(inside[i] for i in picked)
        per_call = max(per_call, count)
    height, width = plan_frame_size(per_call, probe.display_height, probe.display_width, spec)
    height, width = _within_memory(len(indices), height, width, spec, max_rgb_bytes)
    return FramePlan(indices, list(range(len(indices))), height, width, segments)


def _within_memory(count: int, height: int, width: int, spec: SamplingSpec, max_rgb_bytes: int) -> tuple[int, int]:
    """The planned frame size, shrunk (keeping its sides multiples of the patch factor) until all RGB fits."""
    factor = spec.factor
    while count * height * width * 3 > max_rgb_bytes and min(height, width) > factor:
        scale = (max_rgb_bytes / (count * height * width * 3)) ** 0.5
        height = max(factor, int(height * scale) // factor * factor)
        width = max(factor, int(width * scale) // factor * factor)
    return height, width


def plan_proxy_frames(
    probe: VideoProbe, spec: SamplingSpec, *, fps: float, frame_pixels: int, half_s: float
) -> FramePlan:
    """The proxy: frames nearest an `fps` grid, at the size a window of 2*half_s seconds gets."""
    indices = proxy_indices(probe.pts_s, fps)
    height, width = plan_window_size(
        probe.display_height,
        probe.display_width,
        spec,
        frames=round(2 * half_s * fps),
        frame_pixels=frame_pixels,
    )
    return FramePlan(indices, list(range(len(indices))), height, width)


def sample_video(
    path: Path,
    probe: VideoProbe,
    *,
    ffmpeg: FFmpeg,
    spec: SamplingSpec,
    cache_dir: Path | None = None,
    window_fps: float = 6.0,
    window_frame_pixels: int = 640 * 640,
    window_half_s: float = 3.0,
    redactor: PackRedactor | None = None,
    segment_s: float = 0.0,
) -> SampledFrames:
    """Decode `path` once: the model's frames to memory and, with `cache_dir`, a frame pack on disk.

    With a `redactor`, faces are blurred in the pack's JPEGs before the pack is committed; the frames returned
    for the model stay as decoded (they never leave memory). With `segment_s`, a long clip is planned in
    parts (see plan_model_frames).
    """
    plan = plan_model_frames(probe, spec, segment_s=segment_s)
    source = graph.input_video(Path(path))
    with tempfile.TemporaryDirectory(prefix="rehab-sample-") as scratch:
        if cache_dir is None:
            model = _upright(source, probe, plan)
            args = graph.compile_args([graph.raw_rgb_output(model)], Path(scratch), global_args=DECODE_ARGS)
            frames = run_decode(ffmpeg, args, len(plan.indices), plan.height, plan.width)
        else:
            proxy = plan_proxy_frames(
                probe, spec, fps=window_fps, frame_pixels=window_frame_pixels, half_s=window_half_s
            )
            frames = _decode_into_pack(
                ffmpeg, source, probe, plan, proxy, Path(cache_dir), Path(scratch), window_fps, redactor
            )
    indices = [plan.indices[p] for p in plan.positions]
    return SampledFrames(
        frames=repeat_positions(frames, plan.positions),
        timestamps_s=[probe.pts_s[i] for i in indices],
        source_indices=indices,
        duration_s=probe.duration_s,
        segments=plan.segments,
    )


def _upright(stream: Any, probe: VideoProbe, plan: FramePlan, *, flags: str = graph.MODEL_SCALER) -> Any:
    """Keep the planned frames of a full decode, scaled and turned upright."""
    intervals = graph.frame_intervals(probe.pts_s, plan.indices)
    selected = graph.select_frames(stream, graph.select_expression(intervals, graph.RELATIVE_CLOCK))
    return graph.scale_upright(selected, plan.height, plan.width, probe.rotation, flags=flags)


def _decode_into_pack(
    ffmpeg: FFmpeg,
    source: Any,
    probe: VideoProbe,
    plan: FramePlan,
    proxy: FramePlan,
    pack_dir: Path,
    scratch: Path,
    proxy_fps: float,
    redactor: PackRedactor | None,
) -> np.ndarray:
    """One decode, three outputs: model frames as RGB on stdout and as JPEG, and the JPEG proxy."""
    pack_dir.parent.mkdir(parents=True, exist_ok=True)
    building = pack.building_dir(pack_dir)
    try:
        decoded = source.split()
        model = _upright(decoded[0], probe, plan).split()
        outputs = [
            graph.raw_rgb_output(model[0]),
            graph.jpeg_output(model[1], building / pack.MODEL_DIR, quality=_MODEL_JPEG_QUALITY),
            graph.jpeg_output(
                _upright(decoded[1], probe, proxy, flags=graph.PROXY_SCALER),
                building / pack.PROXY_DIR,
                quality=_PROXY_JPEG_QUALITY,
            ),
        ]
        args = graph.compile_args(outputs, scratch, global_args=DECODE_ARGS)
        frames = run_decode(ffmpeg, args, len(plan.indices), plan.height, plan.width)
        _expect_files(building / pack.MODEL_DIR, len(plan.indices))
        _expect_files(building / pack.PROXY_DIR, len(proxy.indices))
        if redactor is not None:
            redactor.redact_folder(building / pack.MODEL_DIR)
            redactor.redact_folder(building / pack.PROXY_DIR, detect_every=_PROXY_DETECT_EVERY)
        manifest = pack.Manifest(
            duration_s=probe.duration_s,
            rotation=probe.rotation,
            model=_section(probe, plan),
            model_positions=plan.positions,
            proxy=_section(probe, proxy),
            proxy_fps=proxy_fps,
        )
        pack.commit(building, pack_dir, manifest)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return frames


def _section(probe: VideoProbe, plan: FramePlan) -> pack.PackSection:
    """Manifest entry for the distinct frames of a plan."""
    return pack.PackSection(
        height=plan.height,
        width=plan.width,
        timestamps_s=[probe.pts_s[i] for i in plan.indices],
        source_indices=list(plan.indices),
    )


def _expect_files(directory: Path, count: int) -> None:
    """Check that ffmpeg wrote exactly `count` JPEG files."""
    written = sum(1 for _ in directory.glob("*.jpg"))
    if written != count:
        log.warning("decode wrote %d of %d frames", written, count)
        raise VideoRejected(RejectReason.UNREADABLE)


def run_decode(ffmpeg: FFmpeg, args: list[str], count: int, height: int, width: int) -> np.ndarray:
    """Run a decode whose stdout is `count` RGB24 frames; a failing decoder means a damaged file."""
    frames = np.empty((count, height, width, 3), dtype=np.uint8)
    try:
        result = ffmpeg.run_into(args, memoryview(frames).cast("B"))
    except FFmpegOutOfMemory as exc:
        # Bad input, not a fault to retry: decoding this file needs more than the cap allows.
        raise VideoRejected(RejectReason.TOO_LARGE, {"memory_mb": exc.memory_mb}) from None
    if not result.ok:
        log.warning("decode failed with status %d", result.returncode)
        raise VideoRejected(RejectReason.UNREADABLE)
    if result.stdout_size != frames.nbytes:
        log.warning("decode returned %d of %d bytes", result.stdout_size, frames.nbytes)
        raise VideoRejected(RejectReason.UNREADABLE)
    return frames
