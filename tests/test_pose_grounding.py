"""Measurements grounding the feedback: targets from prescriptions, the conflict rule, texts, key moments, pictures."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bot.engine.measured_text import key_frame_caption, measured_lines
from bot.i18n import Catalogs
from bot.pose.estimator import PoseFrames, PoseUnavailable, box_from_keypoints
from bot.pose.grounding import prompt_facts, reconcile, target_from_text
from bot.pose.keyframes import MAX_KEY_FRAMES, _draw, key_moments
from bot.pose.measure import measure
from bot.pose.stage import PoseReport, PoseStage
from bot.video.frames import SampledFrames
from bot.vlm.schema import AssessmentResult
from tests.test_pose_measure import TEN_S, figure, swings

CATALOGS = Catalogs.load(default_locale="en")


def five_squats() -> PoseReport:
    """Five knee bends 170° → 90° in 10 s, measured against "knee flexion ≥ 100°" (which every rep misses)."""
    track = figure(TEN_S, knee=swings(TEN_S, 170.0, 90.0))
    target = target_from_text("Squats; knee flexion ≥ 100°")
    assert target is not None
    return PoseReport("vitpose", "test", track, measure(track, target=target), target=target)


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("knee flexion ≥ 90°", ("knee", "min_le", 90.0)),
        ("Keep the back straight, hip flexion >= 70", ("hip", "min_le", 110.0)),
        ("shoulder elevation at least 150 degrees", ("shoulder", "max_ge", 150.0)),
        ("Elbow flexion 120°", ("elbow", "min_le", 60.0)),
        ("keep your back straight", None),
        (None, None),
    ],
)
def test_targets_are_read_from_the_prescription(text: str | None, target: tuple[str, str, float] | None) -> None:
    """A therapist's written target becomes a threshold on the interior joint angle."""
    assert target_from_text(text) == target


def test_measured_lines_name_reps_range_and_missed_target() -> None:
    """The feedback heads with "5 reps · knee 90–170°" and the reps that missed the target, in their language."""
    data = five_squats().as_json()
    lines = measured_lines(CATALOGS.get("en"), data)
    assert lines[0] == "5 reps · knee 90–170°"
    assert lines[1] == "Missed the target (knee flexion ≥ 100°) at 0:01, 0:03, 0:05, 0:07, 0:09"
    assert measured_lines(CATALOGS.get("ru"), data)[0] == "5 повторений · колено 90–170°"
    assert measured_lines(CATALOGS.get("en"), {"backend": "off", "reps": [], "joints": {}}) == []


def test_prompt_facts_give_the_model_the_numbers() -> None:
    """The prompt states the measured count, each rep's times and angles, and the missed target."""
    report = five_squats()
    assert report.measurements is not None
    facts = prompt_facts(report.measurements, target=report.target)
    assert "5 full repetitions, counted on the" in facts
    assert "Rep 1: 0.1 s–1.9 s, extreme at 1.0 s, angle 90–170°" in facts
    assert "Target knee flexion ≥ 100° was missed by: rep 1 at 1.0 s" in facts


def test_the_measured_count_wins_and_the_conflict_is_recorded() -> None:
    """A model count that contradicts the measurement is replaced; agreeing or missing counts are not conflicts."""
    m = five_squats().measurements
    assert m is not None
    claimed = AssessmentResult(exercise="squat", repetitions=3, observations=[], summary="")
    kept, conflicts = reconcile(claimed, m)
    assert kept.repetitions == 5
    assert conflicts == [{"field": "repetitions", "model": 3, "measured": 5}]
    assert reconcile(claimed.model_copy(update={"repetitions": 5}), m)[1] == []
    filled, none = reconcile(claimed.model_copy(update={"repetitions": None}), m)
    assert filled.repetitions == 5 and none == []


def test_an_observation_where_nobody_was_visible_is_recorded() -> None:
    """An observation inside an out-of-view span is kept (it may matter) but recorded as a conflict."""
    track = figure(TEN_S, knee=swings(TEN_S, 170.0, 90.0))
    scores = track.scores.copy()
    scores[(TEN_S >= 4.0) & (TEN_S <= 6.0)] = 0.0
    m = measure(type(track)(track.times_s, track.keypoints, scores))
    assert m.out_of_view
    observation = {"start": 4.5, "end": 5.0, "kind": "issue", "what": "Knee wobbles.", "cue": ""}
    result = AssessmentResult(exercise="squat", repetitions=None, observations=[observation], summary="")
    kept, conflicts = reconcile(result, m)
    assert len(kept.observations) == 1
    assert [c["field"] for c in conflicts] == ["observation_time"]


def test_key_moments_merge_close_ones_cap_at_ten_and_fall_back_to_the_deepest() -> None:
    """Flagged moments under a second apart share a picture; none flagged: the deepest measured moment."""
    m = five_squats().measurements
    assert key_moments([3.0, 1.0, 1.4, 20.0], m, duration_s=10.0) == [1.0, 3.0, 10.0]
    assert len(key_moments([float(t) for t in range(30)], m, duration_s=30.0)) == MAX_KEY_FRAMES
    (deepest,) = key_moments([], m, duration_s=10.0)
    assert m is not None and any(abs(deepest - rep.peak_s) < 1e-9 for rep in m.reps)
    assert key_moments([], None, duration_s=10.0) == []


def test_person_box_follows_the_keypoints_or_takes_the_whole_frame() -> None:
    """Sure keypoints give a padded box inside the frame; too few give the whole frame."""
    points = np.array([[100.0, 100.0], [140.0, 220.0], [120.0, 160.0], [110.0, 200.0]] + [[0.0, 0.0]] * 13)
    scores = np.array([0.9] * 4 + [0.0] * 13)
    x, y, w, h = box_from_keypoints(points, scores, 320, 240)
    assert x < 100 and y < 100 and x + w > 140 and y + h <= 240
    assert box_from_keypoints(points, np.zeros(17), 320, 240) == [0.0, 0.0, 320.0, 240.0]


def test_the_skeleton_and_angle_are_drawn() -> None:
    """Drawing a measured frame colours the limbs and the measured joint (orange) on the picture."""
    track = figure(np.array([0.0]), knee=90.0)
    image = Image.new("RGB", (640, 480))
    _draw(image, track.keypoints[0], track.scores[0], "left_knee", 90.0)
    pixels = np.asarray(image).reshape(-1, 3)
    assert (pixels == (255, 170, 0)).all(axis=1).sum() > 50
    assert (pixels == (80, 220, 120)).all(axis=1).sum() > 50
    caption = key_frame_caption(CATALOGS.get("en"), {"t_s": 12.4, "joint": "left_knee", "angle_deg": 91.6})
    assert caption == "0:12 · knee 92°"


class _Unavailable:
    """An estimator whose model cannot load."""

    name, model_id = "vitpose", "missing"

    def estimate(self, frames: np.ndarray) -> PoseFrames:
        """Always unavailable."""
        raise PoseUnavailable("OSError")


def test_an_unavailable_pose_model_loses_nothing() -> None:
    """Without the pose model the stage reports why and the assessment goes on; `off` reports the backend off."""
    sample = SampledFrames(np.zeros((3, 8, 8, 3), np.uint8), [0.0, 0.5, 1.0], [0, 1, 2], 1.0)
    report = PoseStage(_Unavailable()).run(sample, None)
    assert report.measurements is None
    assert report.as_json() == {
        "backend": "vitpose", "model": "missing", "reps": [], "joints": {}, "error": "pose_model_unavailable",
        "key_frames": [], "conflicts": [],
    }  # fmt: skip
    assert PoseStage(None).run(sample, None).as_json()["backend"] == "off"
