"""The pose stage of a video's job: keypoints on the stored proxy frames, then the measurements.

It runs between sampling and the model call, on a worker thread. The track is kept in the frame pack
(`pose.npz`) so key-frame pictures and follow-up answers draw on it without running the model again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.pose.estimator import PoseEstimator, PoseUnavailable, VitPoseEstimator
from bot.pose.measure import Measurements, PoseTrack, measure, to_json
from bot.video import pack
from bot.video.framepack import FramePack, decode_jpegs
from bot.video.frames import SampledFrames

logger = logging.getLogger(__name__)

TRACK_FILE = "pose.npz"
BACKENDS = ("vitpose", "off")


@dataclass(frozen=True)
class PoseReport:
    """What the stage found in one video: the track (in proxy pixels) and its measurements."""

    backend: str
    model_id: str
    track: PoseTrack | None
    measurements: Measurements | None
    error: str | None = None
    # The prescription's range-of-motion target the reps were checked against: (joint, kind, threshold_deg).
    target: tuple[str, str, float] | None = None

    def as_json(self) -> dict[str, Any]:
        """The stored and printed form: backend, model, reps, joints and the rest of `to_json`."""
        data: dict[str, Any] = {"backend": self.backend, "model": self.model_id}
        if self.measurements is not None:
            data.update(to_json(self.measurements))
        else:
            data.update({"reps": [], "joints": {}})
        if self.error:
            data["error"] = self.error
        if self.target is not None and self.measurements is not None:
            joint, kind, threshold = self.target
            data["target"] = {"joint": joint, "kind": kind, "threshold_deg": threshold}
        data.setdefault("key_frames", [])
        data.setdefault("conflicts", [])
        return data


def off_report() -> PoseReport:
    """The report of a disabled stage."""
    return PoseReport(backend="off", model_id="", track=None, measurements=None)


def proxy_grid(timestamps_s: list[float], fps: float) -> list[int]:
    """Positions of the proxy frames nearest a `fps` grid (each at most once, in order)."""
    if not timestamps_s:
        return []
    step = 1.0 / fps
    chosen: list[int] = []
    times = np.asarray(timestamps_s)
    t = float(times[0])
    while t <= float(times[-1]) + 1e-9:
        position = int(np.argmin(np.abs(times - t)))
        if not chosen or position > chosen[-1]:
            chosen.append(position)
        t += step
    return chosen


class PoseStage:
    """Runs the pose model on a video's frames and measures the movement."""

    def __init__(self, estimator: PoseEstimator | None, *, fps: float = 4.0, min_score: float = 0.3) -> None:
        """`estimator` None disables the stage (POSE_BACKEND=off)."""
        self.estimator = estimator
        self.fps = fps
        self.min_score = min_score

    @property
    def enabled(self) -> bool:
        """True unless POSE_BACKEND is off."""
        return self.estimator is not None

    def run(
        self, sample: SampledFrames, pack_dir: Path | None, *, target: tuple[str, str, float] | None = None
    ) -> PoseReport:
        """Keypoints and measurements for one video (blocking: call it on a thread). Never raises for the video."""
        estimator = self.estimator
        if estimator is None:
            return off_report()
        times, frames = self._frames(sample, pack_dir)
        try:
            found = estimator.estimate(frames)
        except PoseUnavailable as error:
            logger.warning("pose stage skipped: the pose model is unavailable (%s)", error)
            return PoseReport(estimator.name, estimator.model_id, None, None, error="pose_model_unavailable")
        track = PoseTrack(times_s=np.asarray(times), keypoints=found.keypoints, scores=found.scores)
        if pack_dir is not None:
            save_track(pack_dir, track, frames.shape[2], frames.shape[1])
        try:
            measured = measure(track, target=target, min_score=self.min_score)
        except ValueError as error:
            logger.warning("pose target ignored: %s", error)
            target, measured = None, measure(track, min_score=self.min_score)
        return PoseReport(estimator.name, estimator.model_id, track, measured, target=target)

    def _frames(self, sample: SampledFrames, pack_dir: Path | None) -> tuple[list[float], np.ndarray]:
        """The proxy frames on the pose grid when a pack exists (more frames per second), else the model's."""
        if pack_dir is not None:
            try:
                section = FramePack.open(pack_dir).manifest.proxy
                positions = proxy_grid(section.timestamps_s, self.fps)
                paths = [Path(pack_dir) / pack.PROXY_DIR / pack.jpeg_name(p) for p in positions]
                frames = decode_jpegs(paths, section.height, section.width)
                return [section.timestamps_s[p] for p in positions], frames
            except FileNotFoundError:
                logger.info("frame pack missing; measuring on the model's frames")
        times = list(sample.timestamps_s)
        keep = [0] + [i for i in range(1, len(times)) if times[i] > times[i - 1]]
        return [times[i] for i in keep], sample.frames[keep]


def build_pose_stage(backend: str, model_id: str, *, device: str = "cpu", fps: float = 4.0) -> PoseStage:
    """The stage POSE_BACKEND and POSE_MODEL describe (nothing is loaded yet)."""
    if backend == "off":
        return PoseStage(None, fps=fps)
    if backend == "vitpose":
        return PoseStage(VitPoseEstimator(model_id, device=device), fps=fps)
    raise ValueError(f"POSE_BACKEND must be one of {BACKENDS}")


def save_track(pack_dir: Path, track: PoseTrack, width: int, height: int) -> None:
    """Keep the track beside the frames it was measured on (written whole, then renamed)."""
    target = Path(pack_dir) / TRACK_FILE
    partial = target.with_suffix(".partial.npz")
    np.savez(partial, times_s=track.times_s, keypoints=track.keypoints, scores=track.scores, size=[width, height])
    partial.replace(target)


def load_track(pack_dir: Path) -> PoseTrack | None:
    """The stored track of a video, or None when the stage did not run or the pack is gone."""
    try:
        with np.load(Path(pack_dir) / TRACK_FILE) as data:
            return PoseTrack(times_s=data["times_s"], keypoints=data["keypoints"], scores=data["scores"])
    except (OSError, KeyError, ValueError):
        return None
