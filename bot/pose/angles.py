"""Joint angles from 2-D COCO-17 keypoints: the pose track, per-frame angles, gap-aware smoothing, visibility.

Keypoints follow COCO-17 order (0 nose, 1/2 eyes, 3/4 ears, 5/6 shoulders, 7/8 elbows, 9/10 wrists, 11/12 hips,
13/14 knees, 15/16 ankles; odd = left, even = right) in image coordinates (x right, y down). Joint angles are
interior angles in degrees: 180 is a straight limb, smaller is more bent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_KEYPOINTS = 17
BODY_KEYPOINTS = tuple(range(5, 17))
JOINT_NAMES = (
    "left_knee",
    "right_knee",
    "left_hip",
    "right_hip",
    "left_elbow",
    "right_elbow",
    "left_shoulder",
    "right_shoulder",
    "trunk_lean",
)
# Joint → (a, b, c): the angle at b between b→a and b→c.
TRIPLETS: dict[str, tuple[int, int, int]] = {
    "left_knee": (11, 13, 15),
    "right_knee": (12, 14, 16),
    "left_hip": (5, 11, 13),
    "right_hip": (6, 12, 14),
    "left_elbow": (5, 7, 9),
    "right_elbow": (6, 8, 10),
    "left_shoulder": (11, 5, 7),
    "right_shoulder": (12, 6, 8),
}
# Shoulders and hips: trunk lean is mid-hip → mid-shoulder against vertical-up.
_TRUNK = (5, 6, 11, 12)
# A joint series counts (for the dominant joint, asymmetry) when at least this share of its frames is valid.
MIN_VALID_FRACTION = 0.5
_EPS = 1e-9


@dataclass(frozen=True, eq=False)
class PoseTrack:
    """One person over time: times (T,) in s, keypoints (T, 17, 2) in pixels, scores (T, 17) in [0, 1]."""

    times_s: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        """Coerce the arrays to float and check their shapes and the times (ValueError)."""
        times = np.asarray(self.times_s, dtype=float)
        keypoints = np.asarray(self.keypoints, dtype=float)
        scores = np.asarray(self.scores, dtype=float)
        if times.ndim != 1 or times.size == 0:
            raise ValueError(f"times_s must have shape (T,) with T >= 1, got {times.shape}")
        n = times.size
        if keypoints.shape != (n, N_KEYPOINTS, 2):
            raise ValueError(f"keypoints must have shape ({n}, {N_KEYPOINTS}, 2), got {keypoints.shape}")
        if scores.shape != (n, N_KEYPOINTS):
            raise ValueError(f"scores must have shape ({n}, {N_KEYPOINTS}), got {scores.shape}")
        if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
            raise ValueError("times_s must be finite and strictly increasing")
        object.__setattr__(self, "times_s", times)
        object.__setattr__(self, "keypoints", keypoints)
        object.__setattr__(self, "scores", scores)

    def visible(self, indices: tuple[int, ...], min_score: float) -> np.ndarray:
        """(T,) bool: every keypoint in `indices` is finite and scored at least `min_score`."""
        idx = list(indices)
        finite = np.all(np.isfinite(self.keypoints[:, idx, :]), axis=(1, 2))
        return finite & np.all(self.scores[:, idx] >= min_score, axis=1)


def _angle_at(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Interior angle at b (degrees, 0..180) for (T, 2) point arrays; NaN where a limb has zero length."""
    u, v = a - b, c - b
    cross = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    dot = np.sum(u * v, axis=1)
    angle = np.degrees(np.arctan2(np.abs(cross), dot))
    degenerate = (np.hypot(u[:, 0], u[:, 1]) < _EPS) | (np.hypot(v[:, 0], v[:, 1]) < _EPS)
    return np.where(degenerate, np.nan, angle)


def _trunk_lean(keypoints: np.ndarray) -> np.ndarray:
    """Unsigned angle (degrees) between mid-hip → mid-shoulder and vertical-up (image y points down)."""
    shoulders = (keypoints[:, 5] + keypoints[:, 6]) / 2
    hips = (keypoints[:, 11] + keypoints[:, 12]) / 2
    v = shoulders - hips
    lean = np.degrees(np.arctan2(np.abs(v[:, 0]), -v[:, 1]))
    return np.where(np.hypot(v[:, 0], v[:, 1]) < _EPS, np.nan, lean)


def raw_angles(track: PoseTrack, *, min_score: float = 0.3) -> dict[str, np.ndarray]:
    """Unsmoothed per-frame angles (degrees) for every joint in JOINT_NAMES; NaN where a keypoint is not visible."""
    kp = track.keypoints
    out: dict[str, np.ndarray] = {}
    for name, (a, b, c) in TRIPLETS.items():
        angle = _angle_at(kp[:, a], kp[:, b], kp[:, c])
        out[name] = np.where(track.visible((a, b, c), min_score), angle, np.nan)
    out["trunk_lean"] = np.where(track.visible(_TRUNK, min_score), _trunk_lean(kp), np.nan)
    return {name: out[name] for name in JOINT_NAMES}


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges [start, stop) of the consecutive True stretches of a 1-D bool array."""
    padded = np.concatenate(([0], np.asarray(mask, dtype=np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def fill_short_gaps(times_s: np.ndarray, values: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linearly interpolate NaN runs with data on both sides at most `max_gap_s` apart; others stay NaN."""
    out = np.array(values, dtype=float)
    for a, b in runs(~np.isfinite(out)):
        if a > 0 and b < out.size and times_s[b] - times_s[a - 1] <= max_gap_s + _EPS:
            out[a:b] = np.interp(times_s[a:b], [times_s[a - 1], times_s[b]], [out[a - 1], out[b]])
    return out


def _neighbours(times_s: np.ndarray, finite: np.ndarray, half_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(T, W) neighbour indices within ±half_s in the same finite run, and the mask of which are real."""
    n = times_s.size
    here = np.arange(n)
    lo = np.searchsorted(times_s, times_s - half_s - _EPS, side="left")
    hi = np.searchsorted(times_s, times_s + half_s + _EPS, side="right")
    reach = int(max(np.max(here - lo), np.max(hi - 1 - here)))
    idx = here[:, None] + np.arange(-reach, reach + 1)[None, :]
    inside = (idx >= 0) & (idx < n)
    idx = np.clip(idx, 0, n - 1)
    run_id = np.cumsum(~finite)
    ok = inside & finite[idx] & (run_id[idx] == run_id[:, None])
    ok &= np.abs(times_s[idx] - times_s[:, None]) <= half_s + _EPS
    return idx, ok


def _local_quadratic(times_s: np.ndarray, values: np.ndarray, half_s: float) -> np.ndarray:
    """Least-squares quadratic over ±half_s at each sample, evaluated there (Savitzky–Golay for uneven times)."""
    finite = np.isfinite(values)
    idx, ok = _neighbours(times_s, finite, half_s)
    tau = np.where(ok, (times_s[idx] - times_s[:, None]) / half_s, 0.0)
    y = np.where(ok, values[idx], 0.0)
    w = ok.astype(float)
    moments = np.stack([np.sum(w * tau**k, axis=1) for k in range(5)], axis=1)
    rhs = np.stack([np.sum(w * tau**k * y, axis=1) for k in range(3)], axis=1)
    out = np.where(finite, values, np.nan)
    fit = finite & (ok.sum(axis=1) >= 5)  # five distinct times make the 3x3 system well posed
    if np.any(fit):
        normal = moments[fit][:, [[0, 1, 2], [1, 2, 3], [2, 3, 4]]]
        out[fit] = np.linalg.solve(normal, rhs[fit][:, :, None])[:, 0, 0]
    return out


def _despike(times_s: np.ndarray, values: np.ndarray, half_s: float) -> np.ndarray:
    """Hampel filter: a sample more than 3 scaled MADs from the median of its ±half_s window becomes that median."""
    finite = np.isfinite(values)
    idx, ok = _neighbours(times_s, finite, half_s)
    window = np.where(ok, values[idx], np.nan)[finite]
    median = np.nanmedian(window, axis=1)
    mad = np.nanmedian(np.abs(window - median[:, None]), axis=1)
    out = values.copy()
    here = out[finite]
    out[finite] = np.where(np.abs(here - median) > 3 * 1.4826 * mad, median, here)
    return out


def smooth_series(
    times_s: np.ndarray, values: np.ndarray, *, smooth_s: float = 0.25, max_gap_s: float = 0.3
) -> np.ndarray:
    """Fill gaps ≤ max_gap_s, drop single-frame spikes, then fit a local quadratic over ±smooth_s at each frame.

    The spike filter (Hampel, same window) removes keypoint glitches without flattening real turning points; the
    quadratic fit (Savitzky–Golay for uneven times) removes jitter while keeping the depth of a movement's
    extremes. Neither reaches across a gap that stays NaN. `smooth_s <= 0` only fills the short gaps.
    """
    times = np.asarray(times_s, dtype=float)
    out = fill_short_gaps(times, values, max_gap_s)
    if smooth_s <= 0 or not np.any(np.isfinite(out)):
        return out
    return _local_quadratic(times, _despike(times, out, smooth_s), smooth_s)


def joint_angles(
    track: PoseTrack, *, min_score: float = 0.3, smooth_s: float = 0.25, max_gap_s: float = 0.3
) -> dict[str, np.ndarray]:
    """Smoothed per-frame angle series (degrees) for every joint in JOINT_NAMES, NaN where unobserved.

    A frame's angle is NaN when any keypoint it needs scores below `min_score`. Gaps of at most `max_gap_s`
    between observations are interpolated; longer ones stay NaN (see `smooth_series`). The smoothed values are
    kept within 0..180°, the range of an interior angle.
    """
    times = track.times_s
    return {
        name: np.clip(smooth_series(times, series, smooth_s=smooth_s, max_gap_s=max_gap_s), 0.0, 180.0)
        for name, series in raw_angles(track, min_score=min_score).items()
    }


def robust_range(values: np.ndarray) -> float:
    """95th minus 5th percentile of the finite values (0.0 when there are none)."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return 0.0
    hi, lo = np.percentile(finite, [95, 5])
    return float(hi - lo)


def has_enough_data(values: np.ndarray, min_valid: float = MIN_VALID_FRACTION) -> bool:
    """Whether at least `min_valid` of the frames (and at least three) carry a finite angle."""
    count = int(np.count_nonzero(np.isfinite(values)))
    return count >= 3 and count >= min_valid * len(values)


def dominant_joint(angles: dict[str, np.ndarray], *, min_valid: float = MIN_VALID_FRACTION) -> str | None:
    """The joint with the largest robust range (p95 − p5) among those with enough valid frames; None if none.

    Ties go to the joint listed first (dict order, which is JOINT_NAMES order for `joint_angles`).
    """
    candidates = [(robust_range(series), name) for name, series in angles.items() if has_enough_data(series, min_valid)]
    if not candidates:
        return None
    best = max(value for value, _ in candidates)
    return next(name for value, name in candidates if value == best)


def out_of_view(
    track: PoseTrack, *, min_score: float = 0.3, min_visible: int = len(BODY_KEYPOINTS) // 2
) -> list[tuple[float, float]]:
    """Intervals (start_s, end_s) where fewer than `min_visible` of the 12 body keypoints (5..16) are visible.

    Each frame stands for the time up to the next frame (the last one for the median frame spacing), so one
    second of hidden frames gives an interval one second long and consecutive hidden frames merge into one.
    """
    times = track.times_s
    body = list(BODY_KEYPOINTS)
    seen = (track.scores[:, body] >= min_score) & np.all(np.isfinite(track.keypoints[:, body, :]), axis=2)
    hidden = seen.sum(axis=1) < min_visible
    step = float(np.median(np.diff(times))) if times.size > 1 else 0.0
    ends = np.append(times[1:], times[-1] + step)
    return [(float(times[a]), float(ends[b - 1])) for a, b in runs(hidden)]
