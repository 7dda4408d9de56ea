"""Prescribing: a short conversation (exercise → focus points → sessions per week) with inline buttons."""

from __future__ import annotations

import warnings

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.clinic.alerts import patient_label
from bot.tg.context import BotContext
from handlers.common import ensure_user, translator_for
from handlers.guard import find_linked_patient, therapist_only
from storage import crud_therapist
from storage.models import User

EXERCISE, FOCUS, SESSIONS = range(3)
_DRAFT_KEY = "prescription_draft"
SKIP_FOCUS = "rx_skip"
SESSIONS_PREFIX = "rx_n:"
MAX_TEXT = 200


@therapist_only
async def begin(update: Update, context: BotContext, therapist: User) -> int:
    """Start from a /patients button (`rx:<id>`) or `/prescribe <patient>`: ask for the exercise."""
    tr = translator_for(update, context, therapist)
    query = update.callback_query
    reference = query.data.split(":", 1)[1] if query is not None and query.data else None
    if reference is None and context.args:
        reference = context.args[0]
    patient = await find_linked_patient(context, therapist, reference)
    if query is not None:
        await query.answer()
    chat = update.effective_chat
    assert chat is not None
    if patient is None:
        await context.bot.send_message(
            chat_id=chat.id, text=tr.gettext("None of your patients matches that. Use /patients to see them.")
        )
        return ConversationHandler.END
    assert context.user_data is not None
    context.user_data[_DRAFT_KEY] = {"patient_id": patient.id}
    await context.bot.send_message(
        chat_id=chat.id,
        text=tr.gettext(
            "New exercise for %(patient)s. What is the exercise? (e.g. “Squat to a chair”). /cancel stops.",
            patient=patient_label(patient),
        ),
    )
    return EXERCISE


async def exercise(update: Update, context: BotContext) -> int:
    """Store the exercise name and ask for focus points."""
    message = update.effective_message
    assert message is not None and message.text is not None and context.user_data is not None
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    context.user_data[_DRAFT_KEY]["exercise"] = message.text.strip()[:MAX_TEXT]
    await message.reply_text(
        tr.gettext("What should the patient and I watch especially? (e.g. “knees over toes, slow descent”)"),
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(tr.gettext("Skip"), callback_data=SKIP_FOCUS)]]),
    )
    return FOCUS


def _sessions_keyboard() -> InlineKeyboardMarkup:
    """Buttons for 1–7 sessions per week."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(str(n), callback_data=f"{SESSIONS_PREFIX}{n}") for n in range(1, 8)]]
    )


async def focus(update: Update, context: BotContext) -> int:
    """Store the focus points (or skip) and ask for sessions per week."""
    assert context.user_data is not None
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    query = update.callback_query
    if query is not None:
        await query.answer()
        context.user_data[_DRAFT_KEY]["focus"] = None
    else:
        assert update.effective_message is not None and update.effective_message.text is not None
        context.user_data[_DRAFT_KEY]["focus"] = update.effective_message.text.strip()[:MAX_TEXT]
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(
        chat_id=chat.id, text=tr.gettext("How many sessions per week?"), reply_markup=_sessions_keyboard()
    )
    return SESSIONS


@therapist_only
async def sessions(update: Update, context: BotContext, therapist: User) -> int:
    """Save the prescription, confirm, and tell the patient."""
    query = update.callback_query
    assert query is not None and query.data is not None and context.user_data is not None
    await query.answer()
    services = context.services
    tr = translator_for(update, context, therapist)
    draft = context.user_data.pop(_DRAFT_KEY, {})
    patient = await find_linked_patient(context, therapist, str(draft.get("patient_id", "")))
    if patient is None or "exercise" not in draft:
        await query.edit_message_text(tr.gettext("That patient is no longer linked to you."))
        return ConversationHandler.END
    per_week = int(query.data.removeprefix(SESSIONS_PREFIX))
    await services.db(
        crud_therapist.add_prescription,
        patient_id=patient.id,
        therapist_id=therapist.id,
        exercise=draft["exercise"],
        focus=draft.get("focus"),
        sessions_per_week=per_week,
    )
    await query.edit_message_text(
        tr.ngettext(
            "Saved: %(exercise)s, %(count)s session per week, for %(patient)s.",
            "Saved: %(exercise)s, %(count)s sessions per week, for %(patient)s.",
            per_week,
            exercise=draft["exercise"],
            patient=patient_label(patient),
        )
    )
    patient_tr = services.translator(patient)
    await context.bot.send_message(
        chat_id=patient.id,
        text=patient_tr.gettext("Your therapist updated your exercise plan. See it with /plan."),
    )
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    """`/cancel`: drop the draft."""
    assert context.user_data is not None and update.effective_message is not None
    context.user_data.pop(_DRAFT_KEY, None)
    user = await ensure_user(update, context)
    await update.effective_message.reply_text(translator_for(update, context, user).gettext("Cancelled."))
    return ConversationHandler.END


def setup(application: Application) -> None:
    """Register the conversation (before the question handler, so its text answers are not questions)."""
    private = filters.ChatType.PRIVATE
    text = private & filters.TEXT & ~filters.COMMAND
    with warnings.catch_warnings():
        # Mixing message and button steps per chat is intended; PTB warns about per-message tracking.
        warnings.simplefilter("ignore", PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[
                CommandHandler("prescribe", begin, filters=private),
                CallbackQueryHandler(begin, pattern=r"^rx:\d+$"),
            ],
            states={
                EXERCISE: [MessageHandler(text, exercise)],
                FOCUS: [MessageHandler(text, focus), CallbackQueryHandler(focus, pattern=f"^{SKIP_FOCUS}$")],
                SESSIONS: [CallbackQueryHandler(sessions, pattern=rf"^{SESSIONS_PREFIX}\d$")],
            },
            fallbacks=[CommandHandler("cancel", cancel)],
            name="prescribe",
        )
    application.add_handler(conversation)
