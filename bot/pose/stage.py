"""The pose stage of a video's job: keypoints on each sampled frame, then the measurements.

It runs between sampling and the model call, on a worker thread, on the model's frames as decoded (in memory,
before face blurring: BlazePose finds a person by their face). The track is kept in the frame pack
(`pose.npz`, in those frames' pixels) so key-frame pictures and follow-up answers draw on it without running
the model again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.pose.estimator import PoseEstimator, PoseUnavailable, VitPoseEstimator
from bot.pose.measure import Measurements, PoseTrack, measure, to_json
from bot.video.frames import SampledFrames

logger = logging.getLogger(__name__)

TRACK_FILE = "pose.npz"
BACKENDS = ("mediapipe", "vitpose", "off")
DEFAULT_VITPOSE = "usyd-community/vitpose-base-simple"


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
    # (width, height) of the frames the keypoints are in.
    frame_size: tuple[int, int] | None = None

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


class PoseStage:
    """Runs the pose model on a video's frames and measures the movement."""

    def __init__(self, estimator: PoseEstimator | None, *, min_score: float = 0.3) -> None:
        """`estimator` None disables the stage (POSE_BACKEND=off)."""
        self.estimator = estimator
        self.min_score = min_score

    @property
    def enabled(self) -> bool:
        """True unless POSE_BACKEND is off."""
        return self.estimator is not None

    def warm_up(self) -> None:
        """Load the pose model now (blocking; a worker thread at start-up); a failure is only logged."""
        if self.estimator is None:
            return
        try:
            self.estimator.warm_up()
        except PoseUnavailable as error:
            logger.warning("pose model unavailable at start-up (%s); videos are assessed without it", error)

    def run(
        self, sample: SampledFrames, pack_dir: Path | None, *, target: tuple[str, str, float] | None = None
    ) -> PoseReport:
        """Keypoints and measurements for one video (blocking: call it on a thread). Never raises for the video."""
        estimator = self.estimator
        if estimator is None:
            return off_report()
        times, frames = _distinct_frames(sample)
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
        size = (int(frames.shape[2]), int(frames.shape[1]))
        return PoseReport(estimator.name, estimator.model_id, track, measured, target=target, frame_size=size)


def _distinct_frames(sample: SampledFrames) -> tuple[list[float], np.ndarray]:
    """The sampled frames once each (a short clip's sampling may repeat a frame to fill the model's budget)."""
    times = list(sample.timestamps_s)
    keep = [0] + [i for i in range(1, len(times)) if times[i] > times[i - 1]]
    return [times[i] for i in keep], sample.frames[keep]


def build_pose_stage(backend: str, model_id: str = "", *, device: str = "cpu") -> PoseStage:
    """The stage POSE_BACKEND and POSE_MODEL describe (nothing is loaded yet); an empty model is the default one."""
    if backend == "off":
        return PoseStage(None)
    if backend == "mediapipe":
        from bot.pose.mediapipe_estimator import MediaPipePoseEstimator

        return PoseStage(MediaPipePoseEstimator(model_id or "blazepose-full"))
    if backend == "vitpose":
        return PoseStage(VitPoseEstimator(model_id or DEFAULT_VITPOSE, device=device))
    raise ValueError(f"POSE_BACKEND must be one of {BACKENDS}")


def save_track(pack_dir: Path, track: PoseTrack, width: int, height: int) -> None:
    """Keep the track beside the frames it was measured on (written whole, then renamed)."""
    target = Path(pack_dir) / TRACK_FILE
    partial = target.with_suffix(".partial.npz")
    np.savez(partial, times_s=track.times_s, keypoints=track.keypoints, scores=track.scores, size=[width, height])
    partial.replace(target)


def load_track(pack_dir: Path) -> tuple[PoseTrack, tuple[int, int]] | None:
    """The stored track of a video and the (width, height) of its frames; None when the stage did not run."""
    try:
        with np.load(Path(pack_dir) / TRACK_FILE) as data:
            track = PoseTrack(times_s=data["times_s"], keypoints=data["keypoints"], scores=data["scores"])
            width, height = (int(v) for v in data["size"])
            return track, (width, height)
    except (OSError, KeyError, ValueError):
        return None
