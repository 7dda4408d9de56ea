"""The default pose backend with its real weights (MediaPipe's BlazePose ships inside its wheel): it finds a person.

Accuracy is checked only coarsely, on a real photo (scikit-image's astronaut, upper body facing the camera):
the face, shoulders and elbows where a person's are, and the measurements of a clip of that photo.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

from bot.pose.mediapipe_estimator import MediaPipePoseEstimator, chunk_bounds
from tests.fixtures.videos import Clip


def test_blazepose_finds_the_astronaut() -> None:
    """Nose on the face, shoulders below it on the correct sides, wide apart; all of them sure."""
    photo = data.astronaut()  # 512x512; her face is around (220, 120)
    found = MediaPipePoseEstimator().estimate(np.stack([photo] * 3))
    points, scores = found.keypoints[-1], found.scores[-1]
    nose, left_shoulder, right_shoulder = points[0], points[5], points[6]
    assert 160 < nose[0] < 290 and 50 < nose[1] < 200, nose
    assert scores[[0, 5, 6]].min() > 0.8, scores
    # Facing the camera: the person's left shoulder is on the image's right.
    assert left_shoulder[0] > nose[0] > right_shoulder[0]
    assert min(left_shoulder[1], right_shoulder[1]) > nose[1] + 50
    assert left_shoulder[0] - right_shoulder[0] > 120


def test_nothing_is_found_where_nobody_is() -> None:
    """A blank video gives no keypoint a score, even right after a video of a person (the tracker is reset)."""
    estimator = MediaPipePoseEstimator()
    assert estimator.estimate(np.stack([data.astronaut()] * 2)).scores.max() > 0.8
    found = estimator.estimate(np.zeros((3, 512, 512, 3), dtype=np.uint8))
    assert found.scores.max() == 0.0 and np.isnan(found.keypoints).all()


def test_chunks_cover_the_frames_in_order() -> None:
    """One chunk per tracker over consecutive frames; short videos stay whole so tracking is not cut up."""
    assert chunk_bounds(60, 4) == [(0, 15), (15, 30), (30, 45), (45, 60)]
    assert chunk_bounds(20, 4) == [(0, 10), (10, 20)]
    assert chunk_bounds(61, 2) == [(0, 30), (30, 61)]
    assert chunk_bounds(10, 4) == [(0, 10)]
    assert chunk_bounds(0, 4) == [(0, 0)]


def test_chunks_tracked_side_by_side_give_what_one_tracker_gives() -> None:
    """Two trackers over the two halves find the person in every frame, where a single tracker finds her."""
    frames = np.stack([data.astronaut()] * 16)
    alone = MediaPipePoseEstimator(trackers=1).estimate(frames)
    paired = MediaPipePoseEstimator(trackers=2).estimate(frames)
    assert paired.scores.shape == alone.scores.shape == (16, 17)
    assert paired.scores[:, [0, 5, 6]].min() > 0.8, "the second half's tracker found her too"
    # A tracker settles over its first frames, so a fresh chunk may differ a little (here 512 px wide: < 5 %).
    assert np.abs(paired.keypoints - alone.keypoints)[:, [0, 5, 6]].max() < 25, "the same points"


def test_assess_with_the_default_backend_measures_the_person(
    tmp_path: Path, tiny_model_dir: Path, clip_person: Clip
) -> None:
    """`rehab-bot assess` with POSE_BACKEND unset: measured arm angles and a key frame with its angle."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("POSE_")}
    env.update({"DATA_DIR": str(tmp_path / "data"), "MAX_NEW_TOKENS": "128"})
    script = Path(sys.executable).with_name("rehab-bot")
    command = [str(script), "assess", str(clip_person.path), "--model", str(tiny_model_dir), "--json"]
    command += ["--key-frames", str(tmp_path / "kf")]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    measurements = json.loads(done.stdout)["measurements"]
    assert measurements["backend"] == "mediapipe" and "error" not in measurements
    assert {"right_elbow", "left_shoulder", "right_shoulder"} <= set(measurements["joints"])
    elbow = measurements["joints"]["right_elbow"]
    # Her right arm is bent at the elbow (about 120°); a swaying still has no repetitions.
    assert 80 < elbow["min_deg"] <= elbow["max_deg"] < 160
    assert measurements["reps"] == []
    (frame,) = measurements["key_frames"]
    assert frame["joint"] == measurements["rep_joint"] and frame["angle_deg"] is not None
    with Image.open(frame["path"]) as picture:
        pixels = np.asarray(picture.convert("RGB")).reshape(-1, 3).astype(int)
    # The measured joint's limbs are drawn in orange (JPEG shifts the exact colour a little).
    orange = (np.abs(pixels - (255, 170, 0)) < 40).all(axis=1).sum()
    assert orange > 100
