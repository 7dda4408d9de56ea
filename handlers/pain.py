"""The pain keyboard's taps: record, thank, and on a red flag show the safety message."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot.clinic.safety import SafetyHit, SafetyKind, safety_message
from bot.tg.context import BotContext
from bot.tg.pain import PAIN_CALLBACK_PREFIX, record_pain_tap
from handlers.common import ensure_user, translator_for
from storage import crud


async def pain_tap(update: Update, context: BotContext) -> None:
    """`pain:<assessment>:<score>` from the patient whose feedback it is."""
    query = update.callback_query
    assert query is not None and query.data is not None
    services = context.services
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    assessment_id, score = (int(part) for part in query.data.removeprefix(PAIN_CALLBACK_PREFIX).split(":"))
    video = await services.db(crud.video_of_assessment, assessment_id=assessment_id)
    if video is None or video.user_id != user.id or not 0 <= score <= 10:
        await query.answer()
        return
    outcome = await record_pain_tap(services, context.bot, user=user, assessment_id=assessment_id, score=score)
    await query.answer(tr.gettext("Pain noted: %(score)s/10. Thank you.", score=score))
    # The keyboard sits under the feedback: remove it, keep the feedback text.
    await query.edit_message_reply_markup(reply_markup=None)
    if outcome.finding is not None:
        hit = SafetyHit(
            kind=SafetyKind.SEVERE_PAIN, category="severe_pain", severity=outcome.finding.severity, language=tr.locale
        )
        await context.bot.send_message(
            chat_id=user.id, text=safety_message(tr, hit=hit, emergency_number=services.settings.emergency_number)
        )


def setup(application: Application) -> None:
    """Register the pain keyboard."""
    application.add_handler(CallbackQueryHandler(pain_tap, pattern=rf"^{PAIN_CALLBACK_PREFIX}\d+:\d+$"))
