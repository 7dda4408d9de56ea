"""bot.pose: angles, reps, visibility and the measurement summary, on stick figures with known joint angles."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.pose.angles import raw_angles, smooth_series
from bot.pose.measure import (
    JOINT_NAMES,
    PoseTrack,
    Rep,
    dominant_joint,
    joint_angles,
    measure,
    out_of_view,
    reps_missing_target,
    segment_reps,
    to_json,
)

FPS = 15
# Segment lengths in pixels: nose to ankle is about 200 px.
TRUNK, THIGH, SHANK, UPPER_ARM, FOREARM, HEAD, HALF_WIDTH = 70.0, 50.0, 50.0, 35.0, 30.0, 25.0, 12.0


def rot(v, deg):
    """Rotate (n, 2) vectors by per-row angles in degrees."""
    r = np.radians(deg)
    c, s = np.cos(r), np.sin(r)
    return np.stack([c * v[:, 0] - s * v[:, 1], s * v[:, 0] + c * v[:, 1]], axis=1)


def figure(times, *, knee=170.0, hip=170.0, elbow=170.0, shoulder=20.0, lean=0.0, noise_px=0.0, seed=0):
    """A COCO-17 stick figure whose joint angles are exactly the given ones (scalars, arrays, or (left, right))."""
    n = len(times)

    def per_frame(value):
        return np.broadcast_to(np.asarray(value, dtype=float), (n,))

    def sides(value):
        return value if isinstance(value, tuple) else (value, value)

    lean_r = np.radians(per_frame(lean))
    up = np.stack([np.sin(lean_r), -np.cos(lean_r)], axis=1)  # mid-hip → mid-shoulder; image y points down
    across = np.stack([np.cos(lean_r), np.sin(lean_r)], axis=1)
    mid_hip = np.tile([320.0, 300.0], (n, 1))
    kp = np.zeros((n, 17, 2))
    for k, sign in enumerate((1.0, -1.0)):
        sh_i, el_i, wr_i, hip_i, kn_i, an_i = (5, 7, 9, 11, 13, 15) if k == 0 else (6, 8, 10, 12, 14, 16)
        hip_pt = mid_hip + sign * HALF_WIDTH * across
        sh_pt = hip_pt + TRUNK * up
        thigh = rot(up, sign * per_frame(sides(hip)[k]))
        knee_pt = hip_pt + THIGH * thigh
        shank = rot(-thigh, -sign * per_frame(sides(knee)[k]))
        arm = rot(-up, -sign * per_frame(sides(shoulder)[k]))
        elbow_pt = sh_pt + UPPER_ARM * arm
        fore = rot(-arm, sign * per_frame(sides(elbow)[k]))
        kp[:, sh_i], kp[:, hip_i], kp[:, kn_i], kp[:, el_i] = sh_pt, hip_pt, knee_pt, elbow_pt
        kp[:, an_i] = knee_pt + SHANK * shank
        kp[:, wr_i] = elbow_pt + FOREARM * fore
    nose = (kp[:, 5] + kp[:, 6]) / 2 + HEAD * up
    kp[:, 0] = nose
    kp[:, 1], kp[:, 2] = nose + 5 * across - 4 * up, nose - 5 * across - 4 * up
    kp[:, 3], kp[:, 4] = nose + 10 * across - 2 * up, nose - 10 * across - 2 * up
    if noise_px:
        kp = kp + np.random.default_rng(seed).normal(0.0, noise_px, kp.shape)
    return PoseTrack(np.asarray(times, dtype=float), kp, np.full((n, 17), 0.9))


def swings(times, rest, far, period=2.0):
    """Back-to-back reps rest → far → rest, one per period, starting at rest at t=0."""
    return rest + (far - rest) * (1 - np.cos(2 * np.pi * np.asarray(times) / period)) / 2


def paused_reps(times, rest, fars, starts, duration=2.0):
    """Reps of `duration` s starting at `starts`, each going rest → its own far value → rest, resting in between."""
    out = np.full(len(times), float(rest))
    for start, far in zip(starts, np.broadcast_to(fars, (len(starts),)), strict=True):
        inside = (times >= start) & (times <= start + duration)
        out[inside] = swings(times[inside] - start, rest, far, duration)
    return out


TEN_S = np.arange(10 * FPS + 1) / FPS
BOTTOMS = [1.0, 3.0, 5.0, 7.0, 9.0]
PAUSED_STARTS = [1.0, 5.5, 10.0, 14.5, 19.0]  # 2 s reps with 2.5 s rests; bottoms 1 s after each start
PAUSED_T = np.arange(22 * FPS + 1) / FPS


def test_the_figure_has_the_angles_it_was_built_with():
    knee, hip = swings(TEN_S, 170, 90), np.full(TEN_S.size, 150.0)
    raw = raw_angles(figure(TEN_S, knee=knee, hip=hip, elbow=100.0, shoulder=(30.0, 60.0)))
    np.testing.assert_allclose(raw["left_knee"], knee, atol=1e-6)
    np.testing.assert_allclose(raw["right_hip"], hip, atol=1e-6)
    np.testing.assert_allclose(raw["left_elbow"], 100.0, atol=1e-6)
    np.testing.assert_allclose(raw["left_shoulder"], 30.0, atol=1e-6)
    np.testing.assert_allclose(raw["right_shoulder"], 60.0, atol=1e-6)
    np.testing.assert_allclose(raw["trunk_lean"], 0.0, atol=1e-6)
    assert tuple(raw) == JOINT_NAMES


def test_five_squats_give_five_reps_with_80_degrees_and_the_right_bottoms():
    m = measure(figure(TEN_S, knee=swings(TEN_S, 170, 90)))
    assert m.dominant in ("left_knee", "right_knee")
    assert len(m.reps) == 5
    for rep, bottom in zip(m.reps, BOTTOMS, strict=True):
        assert rep.rom_deg == pytest.approx(80, abs=2)
        assert rep.min_deg == pytest.approx(90, abs=2)
        assert rep.max_deg == pytest.approx(170, abs=2)
        assert rep.peak_s == pytest.approx(bottom, abs=0.15)
        assert rep.start_s < rep.peak_s < rep.end_s
        assert not rep.partial
    assert m.joints["left_knee"] == pytest.approx((90, 170), abs=2)
    assert m.extremes["left_knee"][0] == pytest.approx(min(BOTTOMS, key=lambda b: abs(b - m.extremes["left_knee"][0])))
    assert 1.5 <= m.tempo_s <= 2.05


def test_keypoint_noise_does_not_add_reps():
    # σ = 2 px on 50 px thigh and shank is about 5° of knee-angle jitter per frame: one rep's ROM scatters by
    # about ±4° (1 sd), so single reps get a wide bound and the averages the tight one.
    pooled = []
    for seed in range(8):
        track = figure(TEN_S, knee=swings(TEN_S, 170, 90), noise_px=2.0, seed=seed)
        m = measure(track)
        assert m.rep_joint in ("left_knee", "right_knee")
        assert len(m.reps) == 5, seed
        roms = [rep.rom_deg for rep in m.reps]
        assert np.mean(roms) == pytest.approx(80, abs=5), seed
        for rep, bottom in zip(m.reps, BOTTOMS, strict=True):
            assert rep.rom_deg == pytest.approx(80, abs=10), seed
            assert rep.peak_s == pytest.approx(bottom, abs=0.15), seed
        pooled += [rep.rom_deg for rep in segment_reps(TEN_S, joint_angles(track)["left_knee"])]
    assert len(pooled) == 40
    assert np.mean(pooled) == pytest.approx(80, abs=2)


def test_uneven_frame_times():
    rng = np.random.default_rng(3)
    times = np.cumsum(rng.uniform(1 / 25, 1 / 10, 200))
    times = times[times <= 10.0]
    reps = segment_reps(times, joint_angles(figure(times, knee=swings(times, 170, 90)))["left_knee"])
    assert [round(rep.peak_s) for rep in reps] == [1, 3, 5, 7, 9]
    assert all(rep.rom_deg == pytest.approx(80, abs=2) for rep in reps)


def test_occlusions_are_reported_and_do_not_change_the_count():
    track = figure(PAUSED_T, knee=paused_reps(PAUSED_T, 170, 90, PAUSED_STARTS))
    scores = track.scores.copy()
    hidden = [(6.0, 7.0), (12.2, 14.2)]  # around the bottom of rep 2 (6.5 s), and in the rest after rep 3
    for a, b in hidden:
        scores[(a - 1e-9 <= PAUSED_T) & (b - 1e-9 > PAUSED_T)] = 0.0
    occluded = PoseTrack(track.times_s, track.keypoints, scores)
    intervals = out_of_view(occluded)
    assert len(intervals) == 2
    for (a, b), (ea, eb) in zip(intervals, hidden, strict=True):
        assert a == pytest.approx(ea, abs=1e-6)
        assert b == pytest.approx(eb, abs=1e-6)
    m = measure(occluded, target=("knee", "min_le", 95.0))
    assert m.out_of_view == intervals
    assert len(m.reps) == 5
    assert [rep.partial for rep in m.reps] == [False, True, False, False, False]
    assert [rep.peak_s for rep in m.reps] == pytest.approx([2.0, 6.5, 11.0, 15.5, 20.0], abs=0.15)
    assert m.reps[0].rom_deg == pytest.approx(80, abs=2)
    assert m.reps[1].min_deg > 110  # only what was seen: the bottom was hidden
    assert m.missed_target == []  # a hidden bottom is not reported as missed
    assert m.tempo_s == pytest.approx(2.0, abs=0.3)


def test_angles_are_nan_where_keypoints_are_unsure_and_short_gaps_are_filled():
    track = figure(TEN_S, knee=swings(TEN_S, 170, 90))
    scores = track.scores.copy()
    scores[30:45, 15] = 0.1  # left ankle for 1 s
    scores[90:92, 13] = 0.2  # left knee for two frames
    angles = joint_angles(PoseTrack(track.times_s, track.keypoints, scores))
    left, right = angles["left_knee"], angles["right_knee"]
    assert np.all(np.isnan(left[30:45]))
    assert np.all(np.isfinite(left[:30])) and np.all(np.isfinite(left[45:]))
    assert np.all(np.isfinite(right))
    np.testing.assert_allclose(left[90:92], swings(TEN_S[90:92], 170, 90), atol=3)
    assert np.all(np.isnan(joint_angles(track, min_score=0.95)["left_knee"]))


def test_smoothing_keeps_the_bottom_and_removes_a_glitch():
    clean = swings(TEN_S, 170, 90)
    glitched = clean.copy()
    glitched[40] = 20.0
    smooth = smooth_series(TEN_S, glitched)
    assert abs(smooth[40] - clean[40]) < 3
    assert np.min(smooth_series(TEN_S, clean)) == pytest.approx(90, abs=1)


def test_a_shoulder_raise_is_found():
    track = figure(TEN_S, shoulder=swings(TEN_S, 20, 160), noise_px=1.0)
    m = measure(track)
    assert m.dominant in ("left_shoulder", "right_shoulder")
    assert len(m.reps) == 5
    for rep, top in zip(m.reps, BOTTOMS, strict=True):
        assert rep.peak_s == pytest.approx(top, abs=0.15)
        assert rep.max_deg == pytest.approx(160, abs=4)
        assert rep.rom_deg == pytest.approx(140, abs=8)
    assert np.median([rep.rom_deg for rep in m.reps]) == pytest.approx(140, abs=3)
    assert [rep.rom_deg for rep in segment_reps(TEN_S, swings(TEN_S, 20, 160))] == pytest.approx([140] * 5, abs=2)


def test_standing_still_with_jitter_gives_no_reps():
    m = measure(figure(TEN_S, knee=170.0, noise_px=2.0, seed=7))
    assert m.reps == []
    assert m.tempo_s is None
    rng = np.random.default_rng(1)
    assert segment_reps(TEN_S, 170 + rng.uniform(-6, 6, TEN_S.size)) == []


def test_direction_can_be_forced_and_is_guessed_from_rest():
    knee = paused_reps(PAUSED_T, 170, 90, PAUSED_STARTS)
    assert len(segment_reps(PAUSED_T, knee)) == 5
    assert [rep.min_deg for rep in segment_reps(PAUSED_T, knee)] == pytest.approx([90] * 5, abs=1)
    # Forced the wrong way, the rests between squats become the "reps": four of them, each at the top.
    wrong = segment_reps(PAUSED_T, knee, direction="up")
    assert len(wrong) == 4
    assert all(rep.max_deg == pytest.approx(170, abs=1.5) for rep in wrong)
    with pytest.raises(ValueError, match="direction"):
        segment_reps(PAUSED_T, knee, direction="sideways")


def test_small_bounces_and_short_blips_are_not_reps():
    t = np.arange(0, 6, 1 / 30)
    signal = np.full(t.size, 170.0)
    squat = (t >= 1) & (t <= 3)
    signal[squat] = swings(t[squat] - 1, 170, 90)
    signal[(t > 1.9) & (t < 2.1)] += 10  # a 10° bounce at the bottom
    blip = (t >= 4) & (t <= 4.3)
    signal[blip] = swings(t[blip] - 4, 170, 120, 0.3)  # a 0.3 s dip
    reps = segment_reps(t, signal)
    assert len(reps) == 1
    assert 90 <= reps[0].min_deg <= 97  # deepest samples 92°, the bounce tops out at 100°
    assert len(segment_reps(t, signal, min_rep_s=0.2)) == 2
    assert segment_reps(t, signal, min_rom_deg=90) == []


def test_asymmetry_between_knees():
    knee = (swings(TEN_S, 170, 90), swings(TEN_S, 170, 110))
    m = measure(figure(TEN_S, knee=knee))
    assert m.asymmetry_deg["knee"] == pytest.approx(20, abs=2)
    assert m.asymmetry_deg["hip"] == pytest.approx(0, abs=1)
    assert set(m.asymmetry_deg) == {"knee", "hip", "elbow", "shoulder"}
    assert m.dominant == "left_knee"
    assert measure(figure(TEN_S, knee=knee[::-1])).dominant == "right_knee"


def test_reps_missing_a_flexion_target():
    knee = paused_reps(PAUSED_T, 170, [80, 105, 80, 105, 80], PAUSED_STARTS)
    m = measure(figure(PAUSED_T, knee=knee), target=("left_knee", "min_le", 90.0))
    assert len(m.reps) == 5
    assert m.missed_target == [1, 3]
    missed = reps_missing_target(m.reps, kind="min_le", threshold_deg=90.0)
    assert [round(rep.peak_s, 1) for rep in missed] == [6.5, 15.5]
    assert all(rep.min_deg == pytest.approx(105, abs=1.5) for rep in missed)
    assert reps_missing_target(m.reps, kind="min_le", threshold_deg=110.0) == []
    assert len(reps_missing_target(m.reps, kind="min_le", threshold_deg=70.0)) == 5
    with pytest.raises(ValueError, match="kind"):
        reps_missing_target(m.reps, kind="min_ge", threshold_deg=90.0)
    assert measure(figure(PAUSED_T, knee=knee)).missed_target is None


def test_reps_missing_a_raise_target():
    shoulder = paused_reps(PAUSED_T, 20, [160, 120, 160, 160, 130], PAUSED_STARTS)
    m = measure(figure(PAUSED_T, shoulder=shoulder), target=("shoulder", "max_ge", 150.0))
    assert m.rep_joint in ("left_shoulder", "right_shoulder")
    assert m.missed_target == [1, 4]
    rep = Rep(0.0, 1.0, 2.0, 10.0, 80.0, 90.0, partial=True)
    assert reps_missing_target([rep], kind="max_ge", threshold_deg=150.0) == []
    assert reps_missing_target([Rep(0.0, 1.0, 2.0, 10.0, 80.0, 90.0)], kind="max_ge", threshold_deg=150.0) != []


def test_trunk_lean():
    for lean in (30.0, -30.0):
        angles = joint_angles(figure(TEN_S, lean=lean, noise_px=1.0))
        assert np.nanmedian(angles["trunk_lean"]) == pytest.approx(30, abs=1.5)
    assert np.nanmedian(joint_angles(figure(TEN_S))["trunk_lean"]) == pytest.approx(0, abs=0.5)
    leaning = figure(TEN_S, lean=swings(TEN_S, 0, 40, period=10.0))
    assert measure(leaning).joints["trunk_lean"] == pytest.approx((0, 40), abs=1)


def test_dominant_joint_needs_valid_data():
    assert dominant_joint({}) is None
    nan = np.full(20, np.nan)
    assert dominant_joint({"left_knee": nan}) is None
    mostly_nan = nan.copy()
    mostly_nan[:5] = [0, 100, 0, 100, 0]
    assert dominant_joint({"left_knee": mostly_nan, "left_hip": np.linspace(100, 120, 20)}) == "left_hip"


def test_out_of_view_needs_half_the_body():
    track = figure(TEN_S)
    scores = track.scores.copy()
    scores[15:30, 5:11] = 0.0  # upper body (6 of 12) hidden: still enough
    scores[60:75, 5:12] = 0.0  # 7 of 12 hidden: out of view
    scores[149:, :] = 0.0  # the last two frames
    intervals = out_of_view(PoseTrack(track.times_s, track.keypoints, scores))
    assert len(intervals) == 2
    assert [value for interval in intervals for value in interval] == pytest.approx([4.0, 5.0, 149 / FPS, 10 + 1 / FPS])
    assert out_of_view(track) == []


def test_to_json_is_rounded_and_serialisable():
    knee = paused_reps(PAUSED_T, 170, 90, PAUSED_STARTS)
    m = measure(figure(PAUSED_T, knee=knee), target=("left_knee", "min_le", 100.0))
    data = to_json(m)
    json.dumps(data)
    assert set(data) >= {"dominant", "reps", "joints", "tempo_s", "asymmetry_deg", "out_of_view"}
    assert len(data["reps"]) == 5
    rep = data["reps"][0]
    assert set(rep) == {"start_s", "end_s", "peak_s", "rom_deg", "min_deg", "max_deg", "partial"}
    assert rep["peak_s"] == round(m.reps[0].peak_s, 2)
    assert rep["rom_deg"] == round(m.reps[0].rom_deg, 1)
    assert all(isinstance(value, float) for value in rep.values() if not isinstance(value, bool))
    assert data["joints"]["left_knee"] == {
        "min_deg": round(m.joints["left_knee"][0], 1),
        "max_deg": round(m.joints["left_knee"][1], 1),
    }
    assert data["tempo_s"] == round(m.tempo_s, 2)
    assert data["missed_target"] == []
    assert data["out_of_view"] == []


def test_shapes_are_checked():
    t = np.arange(5) / FPS
    kp, sc = np.zeros((5, 17, 2)), np.ones((5, 17))
    PoseTrack(t, kp, sc)
    with pytest.raises(ValueError, match="keypoints"):
        PoseTrack(t, np.zeros((5, 17, 3)), sc)
    with pytest.raises(ValueError, match="keypoints"):
        PoseTrack(t, np.zeros((4, 17, 2)), sc)
    with pytest.raises(ValueError, match="scores"):
        PoseTrack(t, kp, np.ones((5, 16)))
    with pytest.raises(ValueError, match="times_s"):
        PoseTrack(t.reshape(5, 1), kp, sc)
    with pytest.raises(ValueError, match="increasing"):
        PoseTrack(t[::-1], kp, sc)
    with pytest.raises(ValueError, match="equal length"):
        segment_reps(t, np.zeros(4))
    with pytest.raises(ValueError, match="target"):
        measure(PoseTrack(t, kp, sc), target=("left_ankle", "min_le", 90.0))
    assert measure(PoseTrack(t, kp, sc)).reps == []
