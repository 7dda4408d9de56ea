"""2-D body keypoints per frame with transformers' VitPose (top-down: one person box per frame).

The patient films themselves, so there is one person: the first frame's box is the whole picture, and each
later frame's box is the previous frame's confident keypoints, padded (the processor pads it again by 1.25).
Loading is lazy and happens once; one estimate runs at a time, on its caller's thread (never the event loop).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from bot.pose.angles import N_KEYPOINTS

logger = logging.getLogger(__name__)

# Keypoints this sure of themselves place the next frame's person box.
_BOX_SCORE = 0.3
_BOX_MIN_POINTS = 4
# The box grows by this share of its size on each side (a limb may move beyond last frame's extent).
_BOX_MARGIN = 0.15
_BATCH = 8
# After a failed load, jobs go on without measurements for this long before loading is tried again
# (an unreachable Hub costs a minute of retries per try).
_RETRY_LOAD_S = 600.0


class PoseUnavailable(Exception):
    """The pose model could not be loaded or run (the assessment goes on without measurements)."""


@dataclass(frozen=True)
class PoseFrames:
    """Keypoints (T, 17, 2) in the frames' pixels, scores (T, 17) in [0, 1], COCO-17 order."""

    keypoints: np.ndarray
    scores: np.ndarray


class PoseEstimator(Protocol):
    """What the pose stage needs from a keypoint model."""

    name: str
    model_id: str

    def estimate(self, frames: np.ndarray) -> PoseFrames:
        """Keypoints for (T, H, W, 3) RGB frames of one person; raises PoseUnavailable."""
        ...

    def warm_up(self) -> None:
        """Load the model before the first video; raises PoseUnavailable."""
        ...


def resolve_device(device: str) -> str:
    """`auto` is CUDA when there is a GPU (where the video model runs too), else the CPU."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def box_from_keypoints(keypoints: np.ndarray, scores: np.ndarray, width: int, height: int) -> list[float]:
    """The next person box (x, y, w, h): around the confident keypoints, else the whole frame."""
    sure = (scores >= _BOX_SCORE) & np.all(np.isfinite(keypoints), axis=1)
    if int(sure.sum()) < _BOX_MIN_POINTS:
        return [0.0, 0.0, float(width), float(height)]
    points = keypoints[sure]
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    mx, my = (x1 - x0) * _BOX_MARGIN + 8.0, (y1 - y0) * _BOX_MARGIN + 8.0
    x0, y0 = max(0.0, x0 - mx), max(0.0, y0 - my)
    x1, y1 = min(float(width), x1 + mx), min(float(height), y1 + my)
    if x1 - x0 < 8.0 or y1 - y0 < 8.0:
        return [0.0, 0.0, float(width), float(height)]
    return [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]


class VitPoseEstimator:
    """VitPose from the Hub or a local directory (`POSE_MODEL`), e.g. usyd-community/vitpose-base-simple."""

    name = "vitpose"

    def __init__(self, model_id: str, *, device: str = "cpu") -> None:
        """Remember what to load; nothing is loaded until the first estimate."""
        self.model_id = model_id
        self.device = device
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None
        self._failed: tuple[float, str] | None = None

    def _load(self) -> tuple[Any, Any]:
        """Load processor and model once (under the lock)."""
        if self._loaded is None:
            if self._failed is not None and time.monotonic() - self._failed[0] < _RETRY_LOAD_S:
                raise PoseUnavailable(self._failed[1])
            try:
                import torch
                from transformers import VitPoseForPoseEstimation, VitPoseImageProcessor

                processor = VitPoseImageProcessor.from_pretrained(self.model_id)
                model = VitPoseForPoseEstimation.from_pretrained(self.model_id)
                model.to(resolve_device(self.device)).eval()
                torch.set_grad_enabled(False)
            except Exception as error:
                raise PoseUnavailable(type(error).__name__) from None
            self._loaded = (processor, model)
            logger.info("pose model loaded (%s)", type(model).__name__)
        return self._loaded

    def warm_up(self) -> None:
        """Load processor and model now."""
        with self._lock:
            self._load()

    def estimate(self, frames: np.ndarray) -> PoseFrames:
        """Keypoints for each frame, batched; each frame's box follows the person from the previous frame."""
        with self._lock:
            processor, model = self._load()
            count, height, width = frames.shape[0], frames.shape[1], frames.shape[2]
            keypoints = np.full((count, N_KEYPOINTS, 2), np.nan)
            scores = np.zeros((count, N_KEYPOINTS))
            box = [0.0, 0.0, float(width), float(height)]
            try:
                for start in range(0, count, _BATCH):
                    # Frames within one batch share the box of the frame before it: a fraction of a second apart.
                    chunk = [frames[i] for i in range(start, min(start + _BATCH, count))]
                    boxes = [[box] for _ in chunk]
                    found = self._run(processor, model, chunk, boxes)
                    for offset, (points, confidence) in enumerate(found):
                        keypoints[start + offset], scores[start + offset] = points, confidence
                    last = start + len(chunk) - 1
                    box = box_from_keypoints(keypoints[last], scores[last], width, height)
            except PoseUnavailable:
                raise
            except Exception as error:
                raise PoseUnavailable(type(error).__name__) from None
            return PoseFrames(keypoints=keypoints, scores=np.clip(scores, 0.0, 1.0))

    @staticmethod
    def _run(processor: Any, model: Any, chunk: list[np.ndarray], boxes: list[list[list[float]]]) -> list[Any]:
        """One batch through the processor, the model and the post-processing."""
        import torch

        inputs = processor(chunk, boxes=boxes, return_tensors="pt")
        pixels = inputs["pixel_values"].to(model.device, dtype=model.dtype)
        with torch.inference_mode():
            outputs = model(pixel_values=pixels)
        outputs.heatmaps = outputs.heatmaps.float().cpu()
        results = processor.post_process_pose_estimation(outputs, boxes=boxes)
        found = []
        for per_image in results:
            person = per_image[0]
            if tuple(person["keypoints"].shape) != (N_KEYPOINTS, 2):
                raise PoseUnavailable("not a COCO-17 keypoint model")
            found.append((person["keypoints"].numpy(), person["scores"].numpy()))
        return found
