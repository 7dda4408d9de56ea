"""Frames for follow-up questions: read a frame pack from disk, or cut a window from the video."""

from __future__ import annotations

import logging
import math
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bot.video import graph, pack
from bot.video.budget import SamplingSpec, pick_window, window_bounds
from bot.video.errors import VideoRejected
from bot.video.ffmpeg import FFmpeg
from bot.video.frames import SampledFrames
from bot.video.probe import VideoProbe
from bot.video.sample import DECODE_ARGS, FramePlan, plan_proxy_frames, run_decode

log = logging.getLogger(__name__)

# Seek this far before the first wanted frame (rounding of the seek point; short windows at
# the very start are decoded without a seek at all).
_SEEK_MARGIN_S = 0.1


@dataclass(frozen=True)
class FramePack:
    """A frame pack on disk (written by sample_video with a cache_dir)."""

    path: Path
    manifest: pack.Manifest

    @classmethod
    def open(cls, cache_dir: Path) -> FramePack:
        """Open a complete pack; FileNotFoundError when it is missing or was never finished."""
        directory = Path(cache_dir)
        return cls(directory, pack.load_manifest(directory))

    @property
    def duration_s(self) -> float:
        """Length of the source video in seconds."""
        return self.manifest.duration_s

    def sample(self) -> SampledFrames:
        """The whole-video model frames, decoded from their JPEG files."""
        section = self.manifest.model
        positions = self.manifest.model_positions
        return _from_files(self.path / pack.MODEL_DIR, section, positions, self.duration_s)

    def window(self, center_s: float, *, half_s: float = 3.0) -> SampledFrames:
        """Proxy frames within half_s of `center_s` (shifted inside the clip), at absolute times."""
        section = self.manifest.proxy
        start, end = window_bounds(center_s, half_s, self.duration_s)
        positions = pick_window(section.timestamps_s, center_s, start, end)
        return _from_files(self.path / pack.PROXY_DIR, section, positions, self.duration_s)


def _from_files(folder: Path, section: pack.PackSection, positions: list[int], duration_s: float) -> SampledFrames:
    """Decode the JPEG files at `positions` of a pack section into SampledFrames."""
    frames = decode_jpegs([folder / pack.jpeg_name(p) for p in positions], section.height, section.width)
    return SampledFrames(
        frames=frames,
        timestamps_s=[section.timestamps_s[p] for p in positions],
        source_indices=[section.source_indices[p] for p in positions],
        duration_s=duration_s,
    )


def decode_jpegs(paths: list[Path], height: int, width: int) -> np.ndarray:
    """Decode same-sized JPEG files into one (T, H, W, 3) RGB array, using every core."""
    out = np.empty((len(paths), height, width, 3), dtype=np.uint8)
    first_slot: dict[Path, int] = {}
    for slot, path in enumerate(paths):
        first_slot.setdefault(path, slot)

    def load(slot: int, path: Path) -> None:
        """Decode one file into its slot (Pillow releases the GIL while decoding)."""
        with Image.open(path) as image:
            picture = image if image.mode == "RGB" else image.convert("RGB")
            if picture.size != (width, height):
                raise FileNotFoundError("frame pack file has the wrong size")
            out[slot] = np.asarray(picture)

    workers = min(len(first_slot), os.cpu_count() or 1)
    if workers <= 1:
        for path, slot in first_slot.items():
            load(slot, path)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(load, first_slot.values(), first_slot.keys()))
    for slot, path in enumerate(paths):
        if first_slot[path] != slot:
            out[slot] = out[first_slot[path]]
    return out


def window_from_video(
    path: Path,
    probe: VideoProbe,
    center_s: float,
    *,
    ffmpeg: FFmpeg,
    spec: SamplingSpec,
    half_s: float = 3.0,
    window_fps: float = 6.0,
    window_frame_pixels: int = 640 * 640,
) -> SampledFrames:
    """The same frames FramePack.window gives, decoded from the original when no pack exists."""
    proxy = plan_proxy_frames(probe, spec, fps=window_fps, frame_pixels=window_frame_pixels, half_s=half_s)
    start, end = window_bounds(center_s, half_s, probe.duration_s)
    positions = pick_window([probe.pts_s[i] for i in proxy.indices], center_s, start, end)
    wanted = sorted({proxy.indices[p] for p in positions})
    frames = None
    if math.isfinite(probe.start_s) and probe.pts_s[wanted[0]] > _SEEK_MARGIN_S:
        try:
            frames = _decode_window(Path(path), probe, wanted, proxy, ffmpeg, seek=True)
        except VideoRejected:
            # Index-less containers (MPEG-TS) may seek past the keyframe a window needs.
            log.info("seeking decode failed; decoding the window from the start")
    if frames is None:
        frames = _decode_window(Path(path), probe, wanted, proxy, ffmpeg, seek=False)
    slot = {index: k for k, index in enumerate(wanted)}
    indices = [proxy.indices[p] for p in positions]
    return SampledFrames(
        frames=frames[np.asarray([slot[i] for i in indices], dtype=np.intp)],
        timestamps_s=[probe.pts_s[i] for i in indices],
        source_indices=indices,
        duration_s=probe.duration_s,
    )


def _decode_window(
    path: Path, probe: VideoProbe, wanted: list[int], plan: FramePlan, ffmpeg: FFmpeg, *, seek: bool
) -> np.ndarray:
    """Decode the `wanted` frames at the plan's size, with an input seek or from the start."""
    intervals = graph.frame_intervals(probe.pts_s, wanted)
    if seek:
        # -ss counts from the container start, never after the first frame: this lands at or
        # before the first wanted frame; -copyts keeps demuxer times for the selection.
        seek_s = probe.pts_s[wanted[0]] - _SEEK_MARGIN_S
        source = graph.input_video(path, ss=f"{seek_s:.6f}")
        expression = graph.select_expression(intervals, graph.ABSOLUTE_CLOCK, probe.start_s)
        extra: tuple[str, ...] = ("-copyts",)
    else:
        source = graph.input_video(path)
        expression = graph.select_expression(intervals, graph.RELATIVE_CLOCK)
        extra = ()
    selected = graph.scale_upright(
        graph.select_frames(source, expression), plan.height, plan.width, probe.rotation, flags=graph.PROXY_SCALER
    )
    # -frames:v stops the decoder as soon as the last wanted frame is out.
    output = graph.raw_rgb_output(selected, frames=len(wanted))
    with tempfile.TemporaryDirectory(prefix="rehab-window-") as scratch:
        args = graph.compile_args([output], Path(scratch), global_args=(*DECODE_ARGS, *extra))
        return run_decode(ffmpeg, args, len(wanted), plan.height, plan.width)
