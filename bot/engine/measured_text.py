"""What the patient reads about the measured movement: "5 reps · knee 92–168°", missed targets, captions."""

from __future__ import annotations

from typing import Any

from bot.i18n import Translator
from bot.vlm.render import format_timecode


def joint_word(tr: Translator, joint: str | None) -> str:
    """The side-less joint name in the patient's language ("left_knee" → "knee")."""
    base = (joint or "").removeprefix("left_").removeprefix("right_")
    words = {
        "knee": tr.gettext("knee"),
        "hip": tr.gettext("hip"),
        "elbow": tr.gettext("elbow"),
        "shoulder": tr.gettext("shoulder"),
        "trunk_lean": tr.gettext("trunk lean"),
    }
    return words.get(base, base.replace("_", " "))


def _target_text(tr: Translator, target: dict[str, Any]) -> str:
    """The therapist's target, e.g. "knee flexion ≥ 90°"."""
    joint = joint_word(tr, str(target.get("joint", "")))
    if target.get("kind") == "max_ge":
        return tr.gettext(
            "%(joint)s elevation ≥ %(degrees)s°", joint=joint, degrees=f"{float(target['threshold_deg']):.0f}"
        )
    flexion = 180.0 - float(target.get("threshold_deg", 0.0))
    return tr.gettext("%(joint)s flexion ≥ %(degrees)s°", joint=joint, degrees=f"{flexion:.0f}")


def measured_lines(tr: Translator, measurements: dict[str, Any] | None) -> list[str]:
    """Plain lines for the top of the feedback; none when nothing was measured."""
    if not measurements or not measurements.get("rep_joint"):
        return []
    joint = measurements["rep_joint"]
    reps = [rep for rep in measurements.get("reps", []) if not rep.get("partial")]
    span = measurements.get("joints", {}).get(joint)
    count = tr.ngettext("%(count)s rep", "%(count)s reps", len(reps), count=len(reps))
    parts = [count]
    if span:
        parts.append(f"{joint_word(tr, joint)} {span['min_deg']:.0f}–{span['max_deg']:.0f}°")
    lines = [" · ".join(parts)]
    target, missed = measurements.get("target"), measurements.get("missed_target") or []
    all_reps = measurements.get("reps", [])
    if target and missed:
        moments = ", ".join(format_timecode(all_reps[k]["peak_s"]) for k in missed if k < len(all_reps))
        lines.append(
            tr.gettext(
                "Missed the target (%(target)s) at %(moments)s", target=_target_text(tr, target), moments=moments
            )
        )
    return lines


def key_frame_caption(tr: Translator, frame: dict[str, Any]) -> str:
    """A picture's caption: its m:ss, and the measured angle when there is one."""
    caption = format_timecode(float(frame["t_s"]))
    if frame.get("angle_deg") is not None:
        caption += f" · {joint_word(tr, frame.get('joint'))} {float(frame['angle_deg']):.0f}°"
    return caption
