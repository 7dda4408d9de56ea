"""2-D body keypoints with MediaPipe Pose (BlazePose, 33 landmarks), whose weights ship inside its wheel.

BlazePose tracks one person from frame to frame (its own detector finds them first), so no person box is
needed. Its 33 landmarks are reduced to the COCO-17 ones the measurements use; a landmark's visibility is
its score. One estimate runs at a time, on its caller's thread (never the event loop).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import numpy as np

from bot.pose.angles import N_KEYPOINTS
from bot.pose.estimator import PoseFrames, PoseUnavailable

logger = logging.getLogger(__name__)

# COCO-17 index → BlazePose landmark index (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles).
COCO_FROM_BLAZEPOSE = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)


class MediaPipePoseEstimator:
    """MediaPipe's legacy Pose solution, model complexity 1 (the landmark model its wheel ships)."""

    name = "mediapipe"

    def __init__(self, model_id: str = "blazepose-full", *, min_confidence: float = 0.5) -> None:
        """Nothing is loaded until the first estimate; the graph is built once and reset between videos."""
        self.model_id = model_id
        self.min_confidence = min_confidence
        self._lock = threading.Lock()
        self._tracker: Any = None

    def _ready_tracker(self) -> Any:
        """The process's tracker, reset so one video's person is not carried into the next (under the lock)."""
        if self._tracker is None:
            self._tracker = self._solution()
        else:
            self._tracker.reset()
        return self._tracker

    def _solution(self) -> object:
        """Build the tracker (loads the graph and weights)."""
        # MediaPipe's C++ side logs start-up chatter to stderr unless told otherwise.
        os.environ.setdefault("GLOG_minloglevel", "2")
        try:
            from mediapipe.python.solutions import pose as mp_pose

            return mp_pose.Pose(
                static_image_mode=False,
                model_complexity=1,
                smooth_landmarks=True,
                min_detection_confidence=self.min_confidence,
                min_tracking_confidence=self.min_confidence,
            )
        except Exception as error:
            raise PoseUnavailable(type(error).__name__) from None

    def warm_up(self) -> None:
        """Import MediaPipe and build the tracker now, running it once."""
        with self._lock:
            tracker = self._ready_tracker()
            try:
                tracker.process(np.zeros((64, 64, 3), dtype=np.uint8))
            except Exception as error:
                raise PoseUnavailable(type(error).__name__) from None

    def estimate(self, frames: np.ndarray) -> PoseFrames:
        """Keypoints for each frame in order (the tracker carries the person from one frame to the next)."""
        count, height, width = frames.shape[0], frames.shape[1], frames.shape[2]
        keypoints = np.full((count, N_KEYPOINTS, 2), np.nan)
        scores = np.zeros((count, N_KEYPOINTS))
        with self._lock:
            tracker = self._ready_tracker()
            try:
                for index in range(count):
                    found = tracker.process(np.ascontiguousarray(frames[index]))
                    if found.pose_landmarks is None:
                        continue
                    marks = found.pose_landmarks.landmark
                    for coco, blaze in enumerate(COCO_FROM_BLAZEPOSE):
                        mark = marks[blaze]
                        keypoints[index, coco] = (mark.x * width, mark.y * height)
                        scores[index, coco] = mark.visibility
            except Exception as error:
                # A tracker that failed mid-video (a model failure must not lose the video) is rebuilt next time.
                self._tracker = None
                raise PoseUnavailable(type(error).__name__) from None
        return PoseFrames(keypoints=keypoints, scores=np.clip(scores, 0.0, 1.0))
