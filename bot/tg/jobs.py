"""What a job does, stage by stage; each effect is recorded so a repeated run skips it."""

from __future__ import annotations

import asyncio
import html
import logging
import time
from pathlib import Path

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ChatAction, ParseMode

from bot.engine.assess import PreparedVideo
from bot.engine.measured import apply_measurements, grounded_context, measure_video, write_key_frames
from bot.engine.replies import assessment_text, rejection
from bot.engine.stages import stage_text
from bot.i18n import Translator
from bot.pose.stage import PoseReport
from bot.services import Services
from bot.tg.job_context import JobContext, LeaseLost
from bot.tg.keyframes import send_key_frames
from bot.tg.progress import StatusEditor, chat_action
from bot.tg.streaming import DraftStream, feedback_draft_id, is_private_chat
from bot.video import VideoRejected
from bot.vlm.feedback_preview import feedback_preview
from bot.vlm.prompts import ExerciseContext
from bot.vlm.render import TELEGRAM_TEXT_LIMIT, Markup, split_message, utf16_len
from storage import crud, crud_therapist
from storage.models import Assessment, Prescription, User, Video, VideoStatus
from storage.queue import DeadJob, JobKind

logger = logging.getLogger(__name__)


def _reply_to(message_id: int) -> ReplyParameters:
    """Reply parameters that still deliver if the patient deleted their message."""
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


async def send_chunks(
    context: JobContext,
    *,
    chat_id: int,
    chunks: list[str],
    reply_to: int,
    parse_mode: str | None,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> list[Message]:
    """Send message chunks in order, each replying to the patient's message; the markup goes on the last."""
    sent = []
    for index, chunk in enumerate(chunks):
        async with context.status.sending(chat_id):
            await context.ensure_lease()
            sent.append(
                await context.bot.send_message(
                    chat_id=chat_id,
                    text=chunk,
                    parse_mode=parse_mode,
                    reply_parameters=_reply_to(reply_to),
                    reply_markup=reply_markup if index == len(chunks) - 1 else None,
                )
            )
    return sent


async def load_video(context: JobContext, video_id: int | None) -> tuple[Video | None, User | None, Translator]:
    """The job's video, its owner and the owner's translator."""
    services = context.services
    video = await services.db(crud.get_video, video_id=video_id) if video_id is not None else None
    user = await services.db(crud.get_user, user_id=context.job.user_id)
    return video, user, services.translator(user)


async def _download(context: JobContext, video: Video) -> Path:
    """Fetch the file from Telegram once and keep it by content hash."""
    services = context.services
    if video.stored_path and services.store.path(video.stored_path).exists():
        return services.store.path(video.stored_path)
    telegram_file = await context.bot.get_file(video.file_id)
    suffix = Path(telegram_file.file_path or video.file_name or "video.mp4").suffix or ".mp4"
    partial = services.store.temp_path(suffix)
    try:
        await telegram_file.download_to_drive(partial)
        stored = await asyncio.to_thread(services.store.store_file, partial, suffix=suffix, move=True)
    finally:
        partial.unlink(missing_ok=True)
    recorded = await services.db(
        crud.record_video_file, video_id=video.id, sha256=stored.sha256, stored_path=stored.rel, size_bytes=stored.size
    )
    if not recorded:
        # The video was erased (/delete) while it downloaded: keep nothing of it.
        await services.db(crud.delete_unreferenced_files, paths=[stored.rel], store=services.store)
        raise LeaseLost("video erased")
    video.sha256, video.stored_path = stored.sha256, stored.rel
    return services.store.path(stored.rel)


async def _status_message_id(context: JobContext, video: Video) -> int | None:
    """The status message to edit; the handler may record it just after the job was claimed."""
    if video.status_message_id is None:
        fresh = await context.services.db(crud.get_video, video_id=video.id)
        video.status_message_id = fresh.status_message_id if fresh else None
    return video.status_message_id


async def _show_stage(context: JobContext, video: Video, tr: Translator, stage: str) -> None:
    """Record the stage and show it in the status message."""
    await context.stage(stage)
    if message_id := await _status_message_id(context, video):
        await context.status.update(video.chat_id, message_id, stage_text(tr, stage))


async def _prepare(context: JobContext, video: Video, path: Path, pack_dir: Path) -> PreparedVideo:
    """Probe and sample the video into its frame pack (blocking work on a thread) and record what was found."""
    services = context.services
    prepared = await asyncio.to_thread(services.assessment.prepare_video, path, pack_dir=pack_dir)
    probe = prepared.probe
    await services.db(
        crud.record_video_probe,
        video_id=video.id,
        duration_s=probe.duration_s,
        fps=probe.fps,
        width=probe.width,
        height=probe.height,
        rotation=probe.rotation,
        codec=probe.codec,
    )
    frames_rel = services.store.frames_rel(video.sha256 or "")
    if not await services.db(crud.set_video_frames, video_id=video.id, frames_path=frames_rel):
        # Erased while the frames were decoded: remove what this job wrote.
        paths = [frames_rel, video.stored_path or ""]
        await services.db(crud.delete_unreferenced_files, paths=paths, store=services.store)
        raise LeaseLost("video erased")
    return prepared


async def _measure(context: JobContext, prepared: PreparedVideo, exercise: ExerciseContext) -> PoseReport:
    """The pose stage on a thread (other workers' model calls go on meanwhile), timed for the metrics."""
    services = context.services
    started = time.perf_counter()
    report = await asyncio.to_thread(measure_video, services.pose, prepared, exercise)
    if report.backend != "off":
        measuring_s = time.perf_counter() - started
        services.metrics.stage_seconds.labels(context.job.kind.value, "measuring").observe(measuring_s)
    return report


async def _assess(context: JobContext, video: Video, user: User | None, tr: Translator, path: Path) -> Assessment:
    """Sample, call the model and store the rendered feedback (once per video)."""
    services = context.services
    await _show_stage(context, video, tr, "preparing")
    pack_dir = services.store.frames_dir(video.sha256 or "unknown")
    locale = services.locale_of(user)
    prescriptions = await services.db(crud_therapist.active_prescriptions, patient_id=video.user_id)
    context_of_exercise = exercise_context(video, prescriptions)
    async with services.decoding:
        prepared = await _prepare(context, video, path, pack_dir)
        if len(prepared.sample.segments) > 1:
            # A long video: the status line names the part being watched (show_part below) from the first one on.
            await context.stage("analysing")
        else:
            await _show_stage(context, video, tr, "analysing")
        report = await _measure(context, prepared, context_of_exercise)

    async def show_part(number: int, parts: int) -> None:
        """A long video is watched part by part: say which part (the edit pace coalesces quick ones)."""
        await context.ensure_lease()
        if message_id := await _status_message_id(context, video):
            await context.status.update(video.chat_id, message_id, stage_text(tr, "analysing", part=(number, parts)))

    # In a private chat the readable part of the feedback streams into a draft while the model writes it.
    drafts = None
    if is_private_chat(video.chat_id):
        drafts = DraftStream(context.bot, video.chat_id, feedback_draft_id(video.id or 0), render=feedback_preview)
    try:
        outcome = await services.assessment.assess_in_parts(
            prepared,
            locale=locale,
            context=grounded_context(context_of_exercise, report),
            cache_salt=f"user-{video.user_id}",
            on_part=show_part,
            on_text=drafts.show if drafts is not None else None,
        )
    finally:
        if drafts is not None:
            await drafts.close()
    for completion in outcome.completions:
        services.metrics.model_seconds.labels("assess").observe(completion.elapsed_s)
    measurements = apply_measurements(outcome, report)
    await asyncio.to_thread(write_key_frames, measurements, outcome, report, pack_dir, pack_dir / "key")
    text = assessment_text(
        services.catalogs.get(locale),
        result=outcome.result,
        fallback=outcome.fallback,
        markup=Markup.HTML,
        measurements=measurements,
    )
    # The model call is long: the video may have been erased (or the job rescued) meanwhile.
    await context.ensure_lease()
    return await services.db(
        crud.save_assessment,
        video_id=video.id,
        job_id=context.job.id,
        model_id=outcome.model_id,
        language=locale,
        parsed=outcome.parsed,
        result=outcome.result.model_dump(mode="json") if outcome.result else None,
        text=text,
        raw_output=outcome.raw_output,
        exercise_hint=video.caption,
        measurements=measurements,
    )


def exercise_context(video: Video, prescriptions: list[Prescription]) -> ExerciseContext:
    """What the prompt knows about the exercise: the caption and the active prescriptions."""
    return ExerciseContext(hint=video.caption, prescribed=tuple((p.exercise, p.focus) for p in prescriptions))


def _with_footer(chunks: list[str], footer: str) -> list[str]:
    """Append the footer (already escaped) to the last chunk, or as its own chunk when it would not fit."""
    if not footer:
        return chunks
    joined = f"{chunks[-1]}\n\n{footer}"
    if utf16_len(joined) <= TELEGRAM_TEXT_LIMIT:
        return [*chunks[:-1], joined]
    return [*chunks, footer]


async def _deliver_assessment(context: JobContext, video: Video, assessment: Assessment, tr: Translator) -> None:
    """Send the feedback as new messages replying to the video, recording each one.

    What follows the feedback (the pain question and its keyboard) rides on its last message, so a
    delivery costs the chat one message per chunk and no more.
    """
    services = context.services
    await context.stage("delivering")
    # Key frames then text are two sends a second apart in one chat: that wait must not keep the model idle.
    context.free_slot()
    footer, markup = "", None
    if services.feedback_footer is not None:
        footer_text, markup = services.feedback_footer(tr, assessment)
        footer = html.escape(footer_text, quote=False)
    chunks = _with_footer(split_message(assessment.text, markup=Markup.HTML), footer)
    already = list(assessment.delivered_message_ids or [])
    if not already:
        # The pictures of the flagged moments come first, so the text (and its pain question) ends the reply.
        await send_key_frames(context, video, assessment, tr)
    for index, chunk in enumerate(chunks[len(already) :], start=len(already)):
        sent = await send_chunks(
            context,
            chat_id=video.chat_id,
            chunks=[chunk],
            reply_to=video.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if index == len(chunks) - 1 else None,
        )
        already = await services.db(
            crud.add_delivered_message, assessment_id=assessment.id, message_id=sent[0].message_id
        )
    await services.db(crud.mark_assessment_delivered, assessment_id=assessment.id, message_ids=already)
    await services.db(crud.set_video_status, video_id=video.id, status=VideoStatus.ASSESSED)


async def _reject(context: JobContext, video: Video, tr: Translator, rejected: VideoRejected) -> None:
    """Tell the patient why the video cannot be used; the job is done (retrying cannot help)."""
    services = context.services
    await services.db(
        crud.set_video_status, video_id=video.id, status=VideoStatus.REJECTED, reject_reason=rejected.reason
    )
    async with context.status.sending(video.chat_id):
        await context.ensure_lease()
        await context.bot.send_message(
            chat_id=video.chat_id,
            text=rejection(tr, rejected.reason, rejected.limits),
            reply_parameters=_reply_to(video.message_id),
        )
    if message_id := await _status_message_id(context, video):
        await context.status.finish(video.chat_id, message_id, stage_text(tr, "rejected"))


async def run_assess_job(context: JobContext) -> None:
    """Download → prepare → analyse → deliver, skipping what an earlier attempt already did."""
    video, user, tr = await load_video(context, context.job.video_id)
    if video is None or video.status in (VideoStatus.CANCELLED, VideoStatus.REJECTED):
        return
    # The video is marked assessed when its feedback is stored, before it is sent: only delivery ends the job.
    assessment = await context.services.db(crud.get_assessment, video_id=video.id)
    if assessment is not None and assessment.delivered_at is not None:
        return
    if assessment is None:
        await context.services.db(crud.set_video_status, video_id=video.id, status=VideoStatus.PROCESSING)
    previous = await context.services.db(crud.job_stage, job_id=context.job.id)
    if previous not in (None, "queued") and (message_id := await _status_message_id(context, video)):
        # A retry (after a crash or a restart): the status may already show the stage the last attempt reached.
        context.status.assume_shown(video.chat_id, message_id, stage_text(tr, previous))
    async with chat_action(context.bot, video.chat_id, ChatAction.TYPING):
        if assessment is None:
            await _show_stage(context, video, tr, "downloading")
            path = await _download(context, video)
            try:
                assessment = await _assess(context, video, user, tr, path)
            except VideoRejected as rejected:
                await _reject(context, video, tr, rejected)
                return
        if assessment.delivered_at is None:
            await _deliver_assessment(context, video, assessment, tr)
    if message_id := await _status_message_id(context, video):
        await context.status.finish(video.chat_id, message_id, stage_text(tr, "done"))


async def notify_dead_job(services: Services, bot: Bot, job: DeadJob, status: StatusEditor | None = None) -> None:
    """Tell the patient that a video or question could not be processed after several tries."""
    user = await services.db(crud.get_user, user_id=job.user_id)
    if user is None or user.blocked_at is not None:
        return
    tr = services.translator(user)
    if job.kind == JobKind.ASSESS and job.video_id is not None:
        video = await services.db(crud.get_video, video_id=job.video_id)
        if video is None:
            return
        await services.db(crud.set_video_status, video_id=video.id, status=VideoStatus.FAILED)
        text = tr.gettext(
            "Sorry, I could not analyse this video after several tries. Please send it again a bit later; "
            "if it keeps failing, try recording a shorter clip."
        )
        await bot.send_message(chat_id=video.chat_id, text=text, reply_parameters=_reply_to(video.message_id))
        if status is not None and video.status_message_id is not None:
            # The status line must not keep saying "Downloading…" for a video that was given up on.
            await status.finish(video.chat_id, video.status_message_id, stage_text(tr, "rejected"))
        return
    if job.turn_id is not None:
        turn = await services.db(crud.get_turn, turn_id=job.turn_id)
        if turn is None:
            return
        text = tr.gettext("Sorry, I could not answer this question after several tries. Please ask again later.")
        await bot.send_message(chat_id=turn.chat_id, text=text, reply_parameters=_reply_to(turn.question_message_id))
