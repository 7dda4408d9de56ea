"""The answer job: a follow-up question answered from its moment's frames, streamed, then sent and recorded."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram.constants import ChatAction
from telegram.error import BadRequest

from bot.engine.replies import moment_past_end
from bot.i18n import Translator
from bot.tg.jobs import JobContext, load_video, send_chunks
from bot.tg.keyframes import send_moment_picture
from bot.tg.progress import chat_action
from bot.tg.streaming import DraftStream, answer_with_drafts, draft_id_for, is_private_chat
from bot.vlm.render import Markup, split_message
from storage import crud
from storage.models import TurnStatus, Video

logger = logging.getLogger(__name__)


async def run_answer_job(context: JobContext) -> None:
    """Answer a follow-up question from the window around its moment (or the whole clip)."""
    services = context.services
    turn = await services.db(crud.get_turn, turn_id=context.job.turn_id)
    if turn is None or turn.answer_message_id is not None:
        return
    video, user, tr = await load_video(context, turn.video_id)
    if video is None:
        return
    preview = DraftStream(context.bot, turn.chat_id, draft_id_for(turn.id or 0), reply_to=turn.question_message_id)
    async with chat_action(context.bot, turn.chat_id, ChatAction.TYPING):
        if turn.answer is None:
            text, status = await _answer_text(context, video, turn, tr, services.locale_of(user), preview)
            # A question the model could not answer goes to the therapist's weekly summary.
            await services.db(
                crud.save_turn_answer,
                turn_id=turn.id,
                answer=text,
                status=status,
                needs_therapist=status == TurnStatus.FAILED,
            )
            turn.answer = text
        shown = turn.answer
        if turn.spoken:
            # Show what was heard, so a misheard question is obvious to the patient.
            shown = tr.gettext("You asked: “%(question)s”", question=turn.question) + "\n\n" + turn.answer
        chunks = split_message(shown, markup=Markup.PLAIN)
        first_id = None
        if preview.preview_message_id is not None and await _finish_preview(context, preview, chunks[0]):
            first_id, chunks = preview.preview_message_id, chunks[1:]
        sent = await send_chunks(
            context, chat_id=turn.chat_id, chunks=chunks, reply_to=turn.question_message_id, parse_mode=None
        )
        message_id = first_id if first_id is not None else sent[0].message_id
        await services.db(crud.mark_turn_delivered, turn_id=turn.id, message_id=message_id)
        if turn.moment_s is not None:
            # The moment asked about, as a picture under the answer (sent once: the turn is delivered now).
            assessment = await services.db(crud.get_assessment, video_id=video.id)
            await send_moment_picture(context, video, assessment, tr, moment_s=turn.moment_s, reply_to=message_id)


async def _finish_preview(context: JobContext, preview: DraftStream, text: str) -> bool:
    """Edit the final text into the fallback preview message; False when that failed (then it is sent anew)."""
    async with context.status.sending(preview.chat_id):
        await context.ensure_lease()
        try:
            await context.bot.edit_message_text(text, chat_id=preview.chat_id, message_id=preview.preview_message_id)
        except BadRequest as error:
            # "Message is not modified": the preview already shows exactly the final text.
            if "not modified" not in str(error).lower():
                logger.info("preview message in chat %s not finished: %s", preview.chat_id, type(error).__name__)
                return False
    return True


async def _answer_text(
    context: JobContext, video: Video, turn: Any, tr: Translator, locale: str, preview: DraftStream
) -> tuple[str, str]:
    """Plan the frames and ask the model; a moment past the end needs no model."""
    services = context.services
    await context.stage("analysing")
    store = services.store
    pack_dir = store.path(video.frames_path) if video.frames_path else None
    video_path = store.path(video.stored_path) if video.stored_path else None
    duration = video.duration_s or 0.0
    previous = [t for t in await services.db(crud.recent_turns, video_id=video.id, limit=8) if t.id < turn.id]
    answered = [t for t in previous if t.answer][-4:]
    # "And the left one?" after "my right knee at 0:30?" is still about 0:30.
    conversation_moment = next((t.moment_s for t in reversed(answered) if t.moment_s is not None), None)
    plan = await asyncio.to_thread(
        services.assessment.plan_question,
        turn.question,
        duration_s=duration,
        pack_dir=pack_dir,
        video_path=video_path,
        conversation_moment_s=conversation_moment,
    )
    if not plan.needs_model:
        return moment_past_end(tr, moment_s=plan.moment_s or 0.0, duration_s=duration), TurnStatus.ANSWERED
    assessment = await services.db(crud.get_assessment, video_id=video.id)
    earlier: dict[str, Any] | str | None = None
    if assessment is not None:
        earlier = assessment.result or assessment.text
        if assessment.measurements and assessment.measurements.get("reps") is not None and assessment.result:
            # What was measured grounds the answer too (reps and joint ranges, not the whole record).
            keys = ("rep_joint", "reps", "joints", "target", "missed_target")
            earlier = {**assessment.result, "measured": {k: assessment.measurements.get(k) for k in keys}}
    turns = [(t.question, t.answer or "") for t in answered]
    # In a private chat the answer streams into a draft meanwhile; it is sent and recorded below either way.
    outcome = await answer_with_drafts(
        context.bot,
        services.assessment,
        plan,
        chat_id=turn.chat_id,
        draft_id=draft_id_for(turn.id),
        question=turn.question,
        locale=locale,
        earlier_assessment=earlier,
        turns=turns,
        cache_salt=f"user-{video.user_id}",
        drafts=preview if is_private_chat(turn.chat_id) else None,
    )
    if outcome.completion is not None:
        services.metrics.model_seconds.labels("answer").observe(outcome.completion.elapsed_s)
    if outcome.text:
        return outcome.text, TurnStatus.ANSWERED
    return tr.gettext("I could not answer that from this video. Could you ask it another way?"), TurnStatus.FAILED
