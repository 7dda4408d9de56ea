"""Measured movement in an assessment, shared by the bot and the CLI: measure, ground, picture the moments."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.engine.assess import AssessmentOutcome, PreparedVideo
from bot.pose.grounding import prompt_facts, reconcile, target_from_text
from bot.pose.keyframes import KeyFrame, flagged_moments, key_moments, picture_moments
from bot.pose.stage import PoseReport, PoseStage, load_track
from bot.vlm.prompts import ExerciseContext

logger = logging.getLogger(__name__)


def prescribed_target(context: ExerciseContext) -> tuple[str, str, float] | None:
    """The first range-of-motion target written in the prescriptions' focus (e.g. "knee flexion ≥ 90°")."""
    for _exercise, focus in context.prescribed:
        if (target := target_from_text(focus)) is not None:
            return target
    return None


def measure_video(pose: PoseStage, prepared: PreparedVideo, context: ExerciseContext) -> PoseReport:
    """Run the pose stage on a prepared video (blocking: call it on a thread)."""
    return pose.run(prepared.sample, prepared.pack_dir, target=prescribed_target(context))


def grounded_context(context: ExerciseContext, report: PoseReport) -> ExerciseContext:
    """The exercise context with the measured facts the model must use."""
    if report.measurements is None:
        return context
    return replace(context, measured=prompt_facts(report.measurements, target=report.target))


def apply_measurements(outcome: AssessmentOutcome, report: PoseReport) -> dict[str, Any] | None:
    """Let the measurement win over the model's count and record the conflicts; the measurements to store."""
    if report.backend == "off":
        return None
    data = report.as_json()
    if outcome.result is not None and report.measurements is not None:
        outcome.result, conflicts = reconcile(outcome.result, report.measurements)
        data["conflicts"] = conflicts
        if conflicts:
            logger.info("measurement overrode the model: %d conflict(s)", len(conflicts))
    return data


def write_key_frames(
    data: dict[str, Any] | None, outcome: AssessmentOutcome, report: PoseReport, pack_dir: Path | None, out_dir: Path
) -> list[KeyFrame]:
    """Picture the flagged moments (blocking) and list them in `data["key_frames"]`."""
    if data is None or pack_dir is None:
        return []
    m = report.measurements
    moments = key_moments(flagged_moments(outcome.result, m), m, duration_s=report_duration(report, pack_dir))
    try:
        frames = picture_moments(
            pack_dir,
            moments,
            out_dir,
            track=report.track,
            joint=m.rep_joint if m else None,
            track_size=report.frame_size,
        )
    except FileNotFoundError:
        logger.info("frame pack missing; no key frames")
        return []
    data["key_frames"] = [frame.as_json() for frame in frames]
    return frames


def report_duration(report: PoseReport, pack_dir: Path) -> float:
    """The video's length as the pack records it (moments are clamped to it)."""
    from bot.video.framepack import FramePack

    try:
        return FramePack.open(pack_dir).duration_s
    except FileNotFoundError:
        return float(report.track.times_s[-1]) if report.track is not None else 0.0


def moment_picture(pack_dir: Path, moment_s: float, out_dir: Path, *, joint: str | None) -> KeyFrame | None:
    """One picture of a moment asked about, with the skeleton when the video was measured (blocking)."""
    stored = load_track(pack_dir)
    track, size = stored if stored is not None else (None, None)
    try:
        frames = picture_moments(
            pack_dir, [moment_s], out_dir, track=track, joint=joint, track_size=size, stem="moment"
        )
    except FileNotFoundError:
        return None
    return frames[0] if frames else None
