"""Measurements as ground truth for the model: prompt facts, the conflict rule, targets from prescriptions.

The model is weak at counting and timing movement; the keypoints are not. So the measured numbers go into the
prompt, and where the model's answer still contradicts them the measurement wins and the conflict is kept.
"""

from __future__ import annotations

import re
from typing import Any

from bot.pose.measure import Measurements
from bot.vlm.schema import AssessmentResult

# "knee flexion ≥ 90°", "hip flexion >= 70", "shoulder elevation at least 150 degrees", "elbow flexion 100°+"
_TARGET = re.compile(
    r"\b(?P<joint>knee|hip|elbow|shoulder)s?\s+(?P<motion>flexion|bend|elevation|raise|abduction)\s*"
    r"(?:≥|>=|>|at\s+least|of\s+at\s+least)?\s*(?P<deg>\d{2,3})\s*(?:°|deg|degrees)?",
    re.IGNORECASE,
)
# Interior joint angle of a straight limb: flexion N° is the interior angle 180 − N.
_STRAIGHT = 180.0


def target_from_text(text: str | None) -> tuple[str, str, float] | None:
    """A range-of-motion target (joint, kind, threshold on the interior angle) written in a prescription's focus."""
    if not text:
        return None
    found = _TARGET.search(text)
    if found is None:
        return None
    joint, motion, degrees = found["joint"].lower(), found["motion"].lower(), float(found["deg"])
    if not 0 < degrees <= _STRAIGHT:
        return None
    if joint == "shoulder" and motion in ("elevation", "raise", "abduction", "flexion"):
        # Shoulder elevation is measured as the angle between trunk and upper arm itself.
        return ("shoulder", "max_ge", degrees)
    return (joint, "min_le", _STRAIGHT - degrees)


def target_label(target: tuple[str, str, float]) -> str:
    """The target as the therapist wrote it, e.g. "knee flexion ≥ 90°"."""
    joint, kind, threshold = target
    if kind == "max_ge":
        return f"{joint} elevation ≥ {threshold:.0f}°"
    return f"{joint} flexion ≥ {_STRAIGHT - threshold:.0f}°"


def _seconds(t: float) -> str:
    """A time for the prompt, in the seconds the assessment JSON uses."""
    return f"{t:.1f} s"


def _joint_words(name: str) -> str:
    """`left_knee` → "left knee"."""
    return name.replace("_", " ")


def prompt_facts(m: Measurements, *, target: tuple[str, str, float] | None = None) -> str:
    """The measured facts as English sentences for the prompt (the model must use these numbers)."""
    if m.rep_joint is None or not m.joints:
        return "Body keypoints were measured but the body was not visible enough to count repetitions."
    full = [rep for rep in m.reps if not rep.partial]
    lines = [
        "Measured from body keypoints (these numbers are correct; use them and do not count repetitions yourself):",
        f"{len(full)} full repetitions, counted on the {_joint_words(m.rep_joint)} angle.",
    ]
    for number, rep in enumerate(m.reps, start=1):
        lines.append(
            f"Rep {number}: {_seconds(rep.start_s)}–{_seconds(rep.end_s)}, "
            f"extreme at {_seconds(rep.peak_s)}, angle {rep.min_deg:.0f}–{rep.max_deg:.0f}° "
            f"(range {rep.rom_deg:.0f}°){' (partly out of view)' if rep.partial else ''}."
        )
    if m.rep_joint in m.joints and m.rep_joint in m.extremes:
        low, high = m.joints[m.rep_joint]
        at_low, at_high = m.extremes[m.rep_joint]
        lines.append(
            f"Smallest {_joint_words(m.rep_joint)} angle {low:.0f}° at {_seconds(at_low)}, "
            f"largest {high:.0f}° at {_seconds(at_high)}."
        )
    for joint, difference in sorted(m.asymmetry_deg.items()):
        if difference >= 10:
            lines.append(f"Left/right {joint} range differs by {difference:.0f}°.")
    if target is not None and m.missed_target:
        missed = ", ".join(f"rep {k + 1} at {_seconds(m.reps[k].peak_s)}" for k in m.missed_target)
        lines.append(f"Target {target_label(target)} was missed by: {missed}.")
    for start, end in m.out_of_view:
        lines.append(f"The body was out of view from {_seconds(start)} to {_seconds(end)}.")
    return " ".join(lines)


def reconcile(result: AssessmentResult, m: Measurements) -> tuple[AssessmentResult, list[dict[str, Any]]]:
    """Apply the measurement where the model contradicts it; returns the result to keep and the conflicts.

    - The repetition count is the measured number of full reps.
    - An observation placed where the body was out of view is kept (it may matter) but recorded.
    """
    conflicts: list[dict[str, Any]] = []
    measured = sum(1 for rep in m.reps if not rep.partial)
    updates: dict[str, Any] = {}
    if m.rep_joint is not None and result.repetitions != measured:
        if result.repetitions is not None:
            conflicts.append({"field": "repetitions", "model": result.repetitions, "measured": measured})
        updates["repetitions"] = measured
    for observation in result.observations:
        for start, end in m.out_of_view:
            if start <= observation.start and observation.end <= end:
                conflicts.append(
                    {
                        "field": "observation_time",
                        "model": [observation.start, observation.end],
                        "measured": {"out_of_view": [round(start, 2), round(end, 2)]},
                    }
                )
                break
    return (result.model_copy(update=updates) if updates else result), conflicts
