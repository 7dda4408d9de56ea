"""Exercise measurements from a pose track: dominant joint, reps, ranges, tempo, asymmetry, visibility.

This module is the public face of `bot.pose`: it re-exports the pieces from `angles` and `reps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.pose.angles import (
    JOINT_NAMES,
    PoseTrack,
    dominant_joint,
    has_enough_data,
    joint_angles,
    out_of_view,
    robust_range,
)
from bot.pose.reps import TARGET_KINDS, Rep, reps_missing_target, segment_reps

__all__ = [
    "JOINT_NAMES",
    "Measurements",
    "PoseTrack",
    "Rep",
    "dominant_joint",
    "joint_angles",
    "measure",
    "out_of_view",
    "reps_missing_target",
    "segment_reps",
    "to_json",
]

PAIRED_JOINTS = ("knee", "hip", "elbow", "shoulder")


@dataclass(frozen=True)
class Measurements:
    """What `measure` found in one track; angles in degrees, times in seconds from the track's clock.

    `reps` are segmented on `rep_joint` (the target's joint when a target was given, else `dominant`).
    `missed_target` lists the indices into `reps` that missed the target, or is None without a target.
    """

    dominant: str | None
    reps: list[Rep]
    joints: dict[str, tuple[float, float]]
    tempo_s: float | None
    asymmetry_deg: dict[str, float]
    out_of_view: list[tuple[float, float]]
    extremes: dict[str, tuple[float, float]]
    rep_joint: str | None = None
    missed_target: list[int] | None = None


def _check_target(target: tuple[str, str, float]) -> tuple[str, str, float]:
    """Validate (joint, kind, threshold_deg); the joint may be a side-less pair name such as "knee"."""
    joint, kind, threshold = target
    if joint not in JOINT_NAMES and joint not in PAIRED_JOINTS:
        raise ValueError(f"unknown target joint {joint!r}; expected one of {JOINT_NAMES + PAIRED_JOINTS}")
    if kind not in TARGET_KINDS:
        raise ValueError(f"target kind must be one of {TARGET_KINDS}, got {kind!r}")
    return joint, kind, float(threshold)


def _pick_side(joint: str, angles: dict[str, np.ndarray]) -> str:
    """A full joint name: `joint` itself, or for "knee" etc. the side that moves more."""
    if joint in JOINT_NAMES:
        return joint
    sides = [f"left_{joint}", f"right_{joint}"]
    usable = [name for name in sides if has_enough_data(angles[name])] or sides
    return max(usable, key=lambda name: robust_range(angles[name]))


def _asymmetry(angles: dict[str, np.ndarray]) -> dict[str, float]:
    """|range left − range right| (max − min of the smoothed series) for pairs with both sides usable."""
    out: dict[str, float] = {}
    for joint in PAIRED_JOINTS:
        left, right = angles[f"left_{joint}"], angles[f"right_{joint}"]
        if has_enough_data(left) and has_enough_data(right):
            out[joint] = abs(float(np.nanmax(left) - np.nanmin(left)) - float(np.nanmax(right) - np.nanmin(right)))
    return out


def measure(track: PoseTrack, *, target: tuple[str, str, float] | None = None, min_score: float = 0.3) -> Measurements:
    """Measure a track: dominant joint, reps, per-joint ranges and extremes, tempo, asymmetry, out-of-view spans.

    `target` is (joint, kind, threshold_deg) as in `reps_missing_target`, e.g. ("left_knee", "min_le", 90.0) for
    knee flexion ≥ 90°; a side-less "knee" (or "hip", "elbow", "shoulder") uses the side that moves more. With a
    target the reps are counted on its joint, in the direction its kind implies ("min_le": the movement lowers the
    angle, "max_ge": it raises it); without one, on the dominant joint with the direction guessed.
    """
    checked = _check_target(target) if target is not None else None
    angles = joint_angles(track, min_score=min_score)
    times = track.times_s
    dominant = dominant_joint(angles)
    rep_joint = _pick_side(checked[0], angles) if checked else dominant
    reps: list[Rep] = []
    if rep_joint is not None and np.any(np.isfinite(angles[rep_joint])):
        direction = None if checked is None else ("down" if checked[1] == "min_le" else "up")
        reps = segment_reps(times, angles[rep_joint], direction=direction)
    missed = None
    if checked is not None:
        missing = reps_missing_target(reps, kind=checked[1], threshold_deg=checked[2])
        missed = [k for k, rep in enumerate(reps) if any(rep is other for other in missing)]
    joints: dict[str, tuple[float, float]] = {}
    extremes: dict[str, tuple[float, float]] = {}
    for name, series in angles.items():
        if np.any(np.isfinite(series)):
            joints[name] = (float(np.nanmin(series)), float(np.nanmax(series)))
            extremes[name] = (float(times[np.nanargmin(series)]), float(times[np.nanargmax(series)]))
    return Measurements(
        dominant=dominant,
        reps=reps,
        joints=joints,
        tempo_s=float(np.median([rep.end_s - rep.start_s for rep in reps])) if reps else None,
        asymmetry_deg=_asymmetry(angles),
        out_of_view=out_of_view(track, min_score=min_score),
        extremes=extremes,
        rep_joint=rep_joint,
        missed_target=missed,
    )


def _s(value: float) -> float:
    """A time rounded to 0.01 s, as a plain float."""
    return round(float(value), 2)


def _deg(value: float) -> float:
    """An angle rounded to 0.1°, as a plain float."""
    return round(float(value), 1)


def to_json(m: Measurements) -> dict[str, Any]:
    """A JSON-ready dict of the measurements: times rounded to 0.01 s, angles to 0.1° (extremes left out)."""
    return {
        "dominant": m.dominant,
        "rep_joint": m.rep_joint,
        "reps": [
            {
                "start_s": _s(rep.start_s),
                "end_s": _s(rep.end_s),
                "peak_s": _s(rep.peak_s),
                "rom_deg": _deg(rep.rom_deg),
                "min_deg": _deg(rep.min_deg),
                "max_deg": _deg(rep.max_deg),
                "partial": rep.partial,
            }
            for rep in m.reps
        ],
        "joints": {name: {"min_deg": _deg(lo), "max_deg": _deg(hi)} for name, (lo, hi) in m.joints.items()},
        "tempo_s": None if m.tempo_s is None else _s(m.tempo_s),
        "asymmetry_deg": {name: _deg(value) for name, value in m.asymmetry_deg.items()},
        "out_of_view": [{"start_s": _s(a), "end_s": _s(b)} for a, b in m.out_of_view],
        "missed_target": m.missed_target,
    }
