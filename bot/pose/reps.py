"""Repetition segmentation of a joint-angle series, and checking reps against a range-of-motion target.

Angles are interior joint angles in degrees (180 = straight limb). Clinical flexion is 180° minus that angle, so
a target such as "knee flexion ≥ 90°" is the interior knee angle ≤ 90° at the bottom of each rep: kind "min_le"
with threshold 90. A raise such as "shoulder elevation ≥ 150°" is kind "max_ge" with threshold 150.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import numpy as np

Direction = Literal["down", "up"]
TARGET_KINDS = ("min_le", "max_ge")
# A rep starts when the angle leaves, and ends when it comes back within, this share of its excursion from rest.
_REST_BAND = 0.05
# Turning points are fitted over the samples within this share of the rep's excursion of the extreme (rests: less,
# so that a quadratic over a flat resting plateau and its shoulders does not overshoot the plateau).
_TOP_SHARE = 0.2
_REST_SHARE = 0.15
# Seconds at each end of the recording taken as the resting posture when guessing the movement's direction.
_EDGE_S = 0.5


@dataclass(frozen=True)
class Rep:
    """One repetition: rest → extreme (the peak, e.g. the deepest knee bend) → rest, times in s, angles in degrees.

    start_s/end_s are where the angle leaves and regains the resting band (5% of the excursion), peak_s is the
    extreme. Of min_deg and max_deg, one is the extreme and the other the resting level (the mean of the rests
    before and after); both are turning points read from a local quadratic fit, so jitter does not inflate them,
    and rom_deg = max_deg − min_deg. `partial` is True when the extreme fell in a tracking gap: it was not seen,
    peak_s is the middle of the gap, and the extreme is only the most extreme angle observed.
    """

    start_s: float
    peak_s: float
    end_s: float
    rom_deg: float
    min_deg: float
    max_deg: float
    partial: bool = False


def _moves_down(times_s: np.ndarray, values: np.ndarray, finite: np.ndarray) -> bool:
    """Guess whether the movement lowers the angle from a high resting value (a squat) or raises it (a raise).

    The resting posture is where the recording starts and ends and where most time is spent: both are compared
    with the middle of the range.
    """
    seen = values[finite]
    lo, hi = np.percentile(seen, [5, 95])
    middle = (lo + hi) / 2
    edges = finite & ((times_s <= times_s[0] + _EDGE_S) | (times_s >= times_s[-1] - _EDGE_S))
    return bool((np.median(values[edges]) - middle) + (np.median(seen) - middle) >= 0)


def _valleys(y: np.ndarray, peaks: list[int]) -> list[int]:
    """Index of the lowest sample before the first peak, between each pair of peaks, and after the last."""
    bounds = [0, *peaks, y.size - 1]
    return [a + int(np.argmin(y[a : b + 1])) for a, b in itertools.pairwise(bounds)]


def _prune(y: np.ndarray, peaks: list[int], min_rom: float) -> list[int]:
    """Drop peaks that do not rise `min_rom` above the valley on each side, lowest first, until all do."""
    peaks = list(peaks)
    while peaks:
        valleys = _valleys(y, peaks)
        failing = [
            k for k, p in enumerate(peaks) if y[p] - y[valleys[k]] < min_rom or y[p] - y[valleys[k + 1]] < min_rom
        ]
        if not failing:
            break
        peaks.pop(min(failing, key=lambda k: y[peaks[k]]))
    return peaks


def _around(y: np.ndarray, seen: np.ndarray, i: int, floor: float) -> tuple[int, int]:
    """The stretch of observed samples around i (inclusive bounds) that stays at or above `floor`."""
    keep = seen & (y >= floor)
    lo, hi = i, i
    while lo > 0 and keep[lo - 1]:
        lo -= 1
    while hi < y.size - 1 and keep[hi + 1]:
        hi += 1
    return lo, hi


def _turning_value(
    times_s: np.ndarray, y: np.ndarray, seen: np.ndarray, i: int, depth: float, share: float = _TOP_SHARE
) -> float:
    """The level of the maximum of y at sample i, read from a quadratic fit over its top `share` of `depth`.

    The largest sample of a jittery series overshoots the true turning point; the fitted vertex does not. When the
    vertex falls outside the stretch (a flat resting plateau, a maximum at the end of the data), the fit is read
    at sample i instead.
    """
    lo, hi = _around(y, seen, i, y[i] - share * depth)
    if hi - lo < 4:
        return float(y[i])
    tau, top = times_s[lo : hi + 1] - times_s[i], y[lo : hi + 1]
    c2, c1, c0 = np.polyfit(tau, top, 2)
    spread = float(np.ptp(top))
    if c2 < 0 and tau[0] <= -c1 / (2 * c2) <= tau[-1]:
        vertex = float(c0 - c1 * c1 / (4 * c2))
        if top.min() - spread / 2 <= vertex <= top.max() + spread / 2:
            return vertex
    return float(c0)


def _gap_middle(times_s: np.ndarray, seen: np.ndarray, i: int) -> float:
    """Midway between the observations around the unobserved stretch at, or next to, sample i."""
    j = next(k for k in (i, i - 1, i + 1) if 0 <= k < seen.size and not seen[k])
    before = j - int(np.argmax(seen[j::-1]))
    after = j + int(np.argmax(seen[j:]))
    return float(times_s[before] + times_s[after]) / 2


def _build(times_s: np.ndarray, seen: np.ndarray, y: np.ndarray, peaks: list[int], down: bool) -> list[Rep]:
    """Reps for the given peak indices of the bridged signal y (the movement's extremes are maxima of y)."""
    bounds = [0, *peaks, y.size - 1]
    observed = np.where(seen, y, np.nan)
    reps: list[Rep] = []
    for k, peak in enumerate(peaks):
        a, b = bounds[k], bounds[k + 2]
        left = a + int(np.nanargmin(observed[a : peak + 1])) if np.any(seen[a : peak + 1]) else a
        right = peak + int(np.nanargmin(observed[peak : b + 1])) if np.any(seen[peak : b + 1]) else b
        top = left + int(np.nanargmax(observed[left : right + 1]))
        partial = not bool(np.all(seen[max(peak - 1, 0) : peak + 2]))
        depth = y[top] - min(y[left], y[right])
        extreme = float(y[top]) if partial else _turning_value(times_s, y, seen, top, depth)
        rests = [
            -_turning_value(times_s, -y, seen, side, depth, _REST_SHARE) if seen[side] else y[side]
            for side in (left, right)
        ]
        exits = [rest + _REST_BAND * (extreme - rest) for rest in rests]
        start = a + int(np.flatnonzero(y[a : peak + 1] <= max(exits[0], y[left]))[-1])
        end = peak + int(np.flatnonzero(y[peak : b + 1] <= max(exits[1], y[right]))[0])
        rest = (rests[0] + rests[1]) / 2
        lo, hi = (-extreme, -rest) if down else (rest, extreme)
        peak_s = _gap_middle(times_s, seen, peak) if partial else float(times_s[peak])
        reps.append(Rep(float(times_s[start]), peak_s, float(times_s[end]), hi - lo, lo, hi, partial))
    return reps


def segment_reps(
    times_s: np.ndarray,
    angle_deg: np.ndarray,
    *,
    min_rom_deg: float = 20.0,
    min_rep_s: float = 0.5,
    direction: Direction | None = None,
) -> list[Rep]:
    """Split an angle series (degrees, NaN where unobserved) into repetitions.

    A rep runs from a resting extreme through the opposite extreme and back, and must move at least `min_rom_deg`
    away from rest on both sides of its extreme (scipy's `find_peaks` with that prominence proposes the extremes;
    shallower bounces are merged into the deeper neighbour), so jitter of a few degrees never makes a rep. Reps
    shorter than `min_rep_s` (leave rest → back at rest) are dropped. `direction` "down" means the movement lowers
    the angle (squat: knee 170 → 90 → 170), "up" raises it (shoulder raise 20 → 160 → 20); None guesses it from
    the resting posture. NaN gaps are bridged linearly to find the reps; a rep whose extreme lies in a gap is
    marked `partial`. Times may be unevenly spaced but must increase.
    """
    times = np.asarray(times_s, dtype=float)
    values = np.asarray(angle_deg, dtype=float)
    if times.ndim != 1 or values.shape != times.shape:
        raise ValueError(f"times_s and angle_deg must be 1-D of equal length, got {times.shape} and {values.shape}")
    if direction not in (None, "down", "up"):
        raise ValueError(f"direction must be 'down', 'up' or None, got {direction!r}")
    finite = np.isfinite(values)
    if np.count_nonzero(finite) < 3:
        return []
    first, last = np.flatnonzero(finite)[[0, -1]]
    times, values, finite = times[first : last + 1], values[first : last + 1], finite[first : last + 1]
    if np.any(np.diff(times) <= 0):
        raise ValueError("times_s must be strictly increasing")
    down = _moves_down(times, values, finite) if direction is None else direction == "down"
    bridged = np.interp(times, times[finite], values[finite])
    y = -bridged if down else bridged
    # scipy.signal takes a second to import: only a measured video pays for it, not every process start.
    from scipy.signal import find_peaks

    candidates, _ = find_peaks(y, prominence=min_rom_deg)
    peaks = _prune(y, [int(p) for p in candidates], min_rom_deg)
    while True:
        reps = _build(times, finite, y, peaks, down)
        short = [k for k, rep in enumerate(reps) if rep.end_s - rep.start_s < min_rep_s]
        if not short:
            return reps
        peaks.pop(min(short, key=lambda k: reps[k].end_s - reps[k].start_s))
        peaks = _prune(y, peaks, min_rom_deg)


def reps_missing_target(reps: list[Rep], *, kind: str, threshold_deg: float) -> list[Rep]:
    """The reps that did not reach a range-of-motion target on the interior joint angle.

    kind "min_le": the rep's smallest angle must be ≤ threshold_deg (a bend: "knee flexion ≥ 90°" is the interior
    knee angle ≤ 90°, i.e. kind "min_le", threshold 90). kind "max_ge": the rep's largest angle must be
    ≥ threshold_deg (a raise). Partial reps (extreme hidden in a tracking gap) are never reported: whether they
    reached the target is unknown.
    """
    if kind not in TARGET_KINDS:
        raise ValueError(f"kind must be one of {TARGET_KINDS}, got {kind!r}")
    if kind == "min_le":
        return [rep for rep in reps if not rep.partial and rep.min_deg > threshold_deg]
    return [rep for rep in reps if not rep.partial and rep.max_deg < threshold_deg]
