"""The frames handed to the model, with their exact presentation times."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Timestamps handed to the processor are integer ticks of this clock (index / fps = seconds).
METADATA_FPS = 1000.0


@dataclass(frozen=True)
class Segment:
    """A span of the clip assessed by one model call: its times and its frames' positions [first, end)."""

    start_s: float
    end_s: float
    first: int
    end: int


@dataclass
class SampledFrames:
    """Upright RGB frames (T, H, W, 3) and each frame's time in seconds from the start of the video."""

    frames: np.ndarray
    timestamps_s: list[float]
    source_indices: list[int]
    duration_s: float
    # Spans assessed by separate model calls; empty means the whole clip in one call.
    segments: list[Segment] = field(default_factory=list)

    @property
    def width(self) -> int:
        """Frame width in pixels."""
        return int(self.frames.shape[2])

    @property
    def height(self) -> int:
        """Frame height in pixels."""
        return int(self.frames.shape[1])

    def processor_metadata(self) -> dict[str, Any]:
        """Video metadata for the Qwen3-VL processor (with `do_sample_frames=False`)."""
        return processor_metadata(self.timestamps_s, self.duration_s, width=self.width, height=self.height)


def processor_metadata(timestamps_s: Sequence[float], duration_s: float, *, width: int, height: int) -> dict[str, Any]:
    """Metadata that makes the Qwen3-VL processor print each frame's real time.

    The processor renders `frames_indices[i] / fps` as each frame's time; indices on a
    millisecond clock make that the real presentation time, also for variable frame rate
    video and for windows (absolute times). Without metadata it assumes 24 fps.
    """
    indices = [round(ts * METADATA_FPS) for ts in timestamps_s]
    total = max([round(duration_s * METADATA_FPS), *indices]) + 1
    return {
        "total_num_frames": total,
        "fps": METADATA_FPS,
        "frames_indices": indices,
        "width": width,
        "height": height,
        "duration": duration_s,
    }


def repeat_positions(frames: np.ndarray, positions: list[int]) -> np.ndarray:
    """Frames in the order of `positions` (which may repeat an index to fill a temporal patch)."""
    if positions == list(range(len(frames))):
        return frames
    return frames[np.asarray(positions, dtype=np.intp)]
