"""`rehab-bot assess VIDEO`: the assessment engine from the command line, no Telegram."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.cli.errors import EXIT_BAD_INPUT, EXIT_OK, CliError
from bot.config import Settings
from bot.engine.assess import AnswerOutcome, AssessmentOutcome, AssessmentService, PreparedVideo, QuestionPlan
from bot.engine.build import build_assessment_service, build_pose
from bot.engine.measured import apply_measurements, grounded_context, measure_video, write_key_frames
from bot.engine.replies import assessment_text, moment_past_end
from bot.i18n import Catalogs, negotiate_locale
from bot.pose.stage import PoseStage
from bot.video import VideoRejected, describe
from bot.vlm.backend import ModelError
from bot.vlm.prompts import ExerciseContext


def _video_facts(prepared: PreparedVideo) -> dict[str, Any]:
    """The envelope's `video` object."""
    probe, sample = prepared.probe, prepared.sample
    return {
        "duration_s": round(probe.duration_s, 3),
        "fps": round(probe.fps, 3),
        "width": probe.width,
        "height": probe.height,
        "rotation": probe.rotation,
        "display_width": probe.display_width,
        "display_height": probe.display_height,
        "codec": probe.codec,
        "has_audio": probe.has_audio,
        "frames": len(sample.timestamps_s),
        "frame_width": sample.width,
        "frame_height": sample.height,
        "timestamps_s": [round(t, 3) for t in sample.timestamps_s],
    }


def _question_facts(plan: QuestionPlan) -> dict[str, Any]:
    """The envelope's `moment_s` and `window`."""
    window = None
    if plan.window_s is not None and plan.video is not None:
        window = {
            "start_s": round(plan.window_s[0], 3),
            "end_s": round(plan.window_s[1], 3),
            "timestamps_s": [round(t, 3) for t in plan.video.timestamps_s],
        }
    moment = None if plan.moment_s is None else round(plan.moment_s, 3)
    return {"moment_s": moment, "window": window}


@dataclass
class _Assessed:
    """Everything one `assess` run produced."""

    prepared: PreparedVideo
    outcome: AssessmentOutcome
    measurements: dict[str, Any]
    plan: QuestionPlan | None = None
    answer: AnswerOutcome | None = None


async def _assess(
    service: AssessmentService, pose: PoseStage, args: argparse.Namespace, locale: str, pack_dir: Path
) -> _Assessed:
    """Prepare, measure, assess and (if asked) answer the question, without blocking the loop."""
    await service.backend.start()
    prepared = await asyncio.to_thread(service.prepare_video, args.video, pack_dir=pack_dir)
    context = ExerciseContext(hint=args.exercise)
    report = await asyncio.to_thread(measure_video, pose, prepared, context)
    outcome = await service.assess_in_parts(prepared, locale=locale, context=grounded_context(context, report))
    measurements = apply_measurements(outcome, report) or report.as_json()
    if report.backend != "off":
        out_dir = args.key_frames or Path(tempfile.mkdtemp(prefix="rehab-key-frames-"))
        await asyncio.to_thread(write_key_frames, measurements, outcome, report, pack_dir, Path(out_dir))
    assessed = _Assessed(prepared, outcome, measurements)
    if not args.question:
        return assessed
    assessed.plan = await asyncio.to_thread(
        service.plan_question, args.question, duration_s=prepared.probe.duration_s, prepared=prepared
    )
    if not assessed.plan.needs_model:
        return assessed
    earlier = outcome.result.model_dump(mode="json") if outcome.result else outcome.fallback
    assessed.answer = await service.answer(
        assessed.plan, question=args.question, locale=locale, earlier_assessment=earlier
    )
    return assessed


def run_assess(args: argparse.Namespace) -> int:
    """Assess one video and print the patient's text or the JSON envelope."""
    settings = Settings()
    if args.model:
        settings = settings.model_copy(update={"model": args.model})
    locale = negotiate_locale(args.lang or settings.default_locale, default=settings.default_locale)
    tr = Catalogs.load(default_locale=settings.default_locale).get(locale)
    if not args.video.is_file():
        raise CliError("not_found: no such video file", EXIT_BAD_INPUT)
    service = build_assessment_service(settings)
    pose = build_pose(settings)
    try:
        service.inspect(args.video)
    except VideoRejected as rejected:
        raise CliError(describe(rejected.reason, rejected.limits), EXIT_BAD_INPUT) from None
    with tempfile.TemporaryDirectory(prefix="rehab-assess-") as scratch:
        try:
            assessed = asyncio.run(_assess(service, pose, args, locale, Path(scratch)))
        except VideoRejected as rejected:
            raise CliError(describe(rejected.reason, rejected.limits), EXIT_BAD_INPUT) from None
        except ModelError as error:
            raise CliError(f"model_error: the model call failed ({type(error).__name__})") from None
    prepared, outcome, plan, answer = assessed.prepared, assessed.outcome, assessed.plan, assessed.answer
    measured = assessed.measurements if assessed.measurements.get("backend") != "off" else None
    text = assessment_text(tr, result=outcome.result, fallback=outcome.fallback, measurements=measured)
    envelope: dict[str, Any] = {
        "video": _video_facts(prepared),
        "model": outcome.model_id,
        "language": locale,
        "parsed": outcome.parsed,
        "result": outcome.result.model_dump(mode="json") if outcome.result else None,
        "text": text,
        "measurements": assessed.measurements,
    }
    if plan is not None:
        envelope["assessment_text"] = text
        envelope.update(_question_facts(plan))
        if answer is None:
            envelope["text"] = moment_past_end(tr, moment_s=plan.moment_s or 0.0, duration_s=plan.duration_s)
        else:
            envelope["text"] = answer.text or tr.gettext(
                "I could not answer that from this video. Could you ask it another way?"
            )
    if args.json:
        sys.stdout.write(json.dumps(envelope, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(envelope["text"] + "\n")
    return EXIT_OK
