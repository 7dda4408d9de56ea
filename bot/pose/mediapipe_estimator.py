"""2-D body keypoints with MediaPipe Pose (BlazePose, 33 landmarks), whose weights ship inside its wheel.

BlazePose tracks one person from frame to frame (its own detector finds them first), so no person box is
needed. Its 33 landmarks are reduced to the COCO-17 ones the measurements use; a landmark's visibility is
its score. One video is estimated at a time, on its caller's thread (never the event loop); a long one is cut
into consecutive chunks tracked side by side, one tracker per core up to MAX_TRACKERS (the trackers release the
GIL while their model runs), so its keypoints come about as fast as ffmpeg, which also uses every core, decodes it.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from bot.pose.angles import N_KEYPOINTS
from bot.pose.estimator import PoseFrames, PoseUnavailable

logger = logging.getLogger(__name__)

# COCO-17 index → BlazePose landmark index (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles).
COCO_FROM_BLAZEPOSE = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
MAX_TRACKERS = 4
# A chunk starts with a detection instead of tracking: shorter ones would spend more on detecting than they save.
MIN_CHUNK_FRAMES = 8


def chunk_bounds(count: int, trackers: int) -> list[tuple[int, int]]:
    """Consecutive [start, end) ranges covering `count` frames, one per tracker, none under MIN_CHUNK_FRAMES."""
    chunks = max(1, min(trackers, count // MIN_CHUNK_FRAMES))
    edges = [round(i * count / chunks) for i in range(chunks + 1)]
    return list(itertools.pairwise(edges))


class MediaPipePoseEstimator:
    """MediaPipe's legacy Pose solution, model complexity 1 (the landmark model its wheel ships)."""

    name = "mediapipe"

    def __init__(
        self, model_id: str = "blazepose-full", *, min_confidence: float = 0.5, trackers: int | None = None
    ) -> None:
        """Nothing is loaded until the first estimate; each graph is built once and reset between videos."""
        self.model_id = model_id
        self.min_confidence = min_confidence
        self.trackers = trackers or max(1, min(MAX_TRACKERS, os.cpu_count() or 1))
        self._lock = threading.Lock()
        self._built: list[Any] = []
        self._pool: ThreadPoolExecutor | None = None

    def _ready_trackers(self, count: int) -> list[Any]:
        """`count` trackers, reset so one video's person is not carried into the next (under the lock)."""
        for tracker in self._built[:count]:
            tracker.reset()
        while len(self._built) < count:
            self._built.append(self._solution())
        return self._built[:count]

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
            try:
                for tracker in self._ready_trackers(self.trackers):
                    tracker.process(np.zeros((64, 64, 3), dtype=np.uint8))
            except Exception as error:
                raise PoseUnavailable(type(error).__name__) from None

    def estimate(self, frames: np.ndarray) -> PoseFrames:
        """Keypoints for each frame in order (within a chunk the tracker carries the person frame to frame)."""
        count = frames.shape[0]
        keypoints = np.full((count, N_KEYPOINTS, 2), np.nan)
        scores = np.zeros((count, N_KEYPOINTS))
        bounds = chunk_bounds(count, self.trackers)
        with self._lock:
            try:
                trackers = self._ready_trackers(len(bounds))
                if len(bounds) == 1:
                    _track(trackers[0], frames, keypoints, scores)
                else:
                    if self._pool is None:
                        self._pool = ThreadPoolExecutor(self.trackers, thread_name_prefix="pose-chunk")
                    chunks = [
                        self._pool.submit(_track, tracker, frames[a:b], keypoints[a:b], scores[a:b])
                        for tracker, (a, b) in zip(trackers, bounds, strict=True)
                    ]
                    for chunk in chunks:
                        chunk.result()
            except Exception as error:
                # Trackers that failed mid-video (a model failure must not lose the video) are rebuilt next time.
                self._built = []
                raise PoseUnavailable(type(error).__name__) from None
        return PoseFrames(keypoints=keypoints, scores=np.clip(scores, 0.0, 1.0))


def _track(tracker: Any, frames: np.ndarray, keypoints: np.ndarray, scores: np.ndarray) -> None:
    """Run one tracker over consecutive frames, writing COCO-17 points (pixels) and scores into the given views."""
    height, width = frames.shape[1], frames.shape[2]
    for index in range(frames.shape[0]):
        found = tracker.process(np.ascontiguousarray(frames[index]))
        if found.pose_landmarks is None:
            continue
        marks = found.pose_landmarks.landmark
        for coco, blaze in enumerate(COCO_FROM_BLAZEPOSE):
            mark = marks[blaze]
            keypoints[index, coco] = (mark.x * width, mark.y * height)
            scores[index, coco] = mark.visibility
