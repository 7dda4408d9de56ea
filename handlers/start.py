"""Onboarding: /start, /help, the consent button, and the greeting for anyone who has not agreed yet."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.clinic.access import is_therapist
from bot.clinic.alerts import patient_label
from bot.clinic.invites import InviteProblem, invite_problem, looks_like_token, token_hash
from bot.engine.stages import stage_text
from bot.i18n import Translator
from bot.tg.context import BotContext
from bot.vlm.render import format_timecode
from handlers.commands import publish_therapist_menu
from handlers.common import CONSENT_CALLBACK, ensure_user, greeting_text, send_greeting, translator_for
from storage import crud, crud_therapist
from storage.models import User
from storage.types import utcnow

logger = logging.getLogger(__name__)

INVITE_CONSENT_PREFIX = "consent:invite:"


async def start(update: Update, context: BotContext) -> None:
    """`/start`: one greeting in the user's language, with the consent button until they agree."""
    message = update.effective_message
    assert message is not None
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    if context.args:
        await offer_invite(update, context, user, context.args[0])
        return
    await send_greeting(message, tr, consented=user.consented_at is not None)
    if is_therapist(context.services.settings, user):
        await publish_therapist_menu(context.bot, context.services.catalogs, user)


def invite_problem_text(tr: Translator, problem: InviteProblem) -> str:
    """Why an invite link cannot be used, in words."""
    if problem is InviteProblem.USED:
        return tr.gettext("This invite link was already used. Please ask your therapist for a new one.")
    if problem is InviteProblem.EXPIRED:
        return tr.gettext("This invite link has expired. Please ask your therapist for a new one.")
    if problem is InviteProblem.OWN:
        return tr.gettext("This is your own invite link; send it to a patient.")
    return tr.gettext("This invite link is not valid. Please check it or ask your therapist for a new one.")


async def offer_invite(update: Update, context: BotContext, user: User, payload: str) -> None:
    """`/start <token>`: check the invite, then offer consent and linking with one button."""
    message = update.effective_message
    assert message is not None
    services = context.services
    tr = translator_for(update, context, user)
    invite = None
    if looks_like_token(payload):
        invite = await services.db(crud_therapist.find_invite, token_hash=token_hash(payload))
    problem = invite_problem(invite, patient_id=user.id, now=utcnow())
    if problem is not None or invite is None:
        await message.reply_text(invite_problem_text(tr, problem or InviteProblem.UNKNOWN))
        return
    therapist = await services.db(crud.get_user, user_id=invite.therapist_id)
    # A therapist has written to the bot (that is how they made the invite), so Telegram gave a name.
    name = (therapist.first_name if therapist else None) or str(invite.therapist_id)
    offer = tr.gettext(
        "%(therapist)s invites you to share your exercise videos and feedback with them. They will see your "
        "feedback, pain reports and questions, and get your weekly summary.",
        therapist=name,
    )
    text = offer if user.consented_at is not None else f"{greeting_text(tr)}\n\n{offer}"
    button = InlineKeyboardButton(tr.gettext("I agree"), callback_data=f"{INVITE_CONSENT_PREFIX}{invite.id}")
    await message.reply_text(text, reply_markup=InlineKeyboardMarkup([[button]]))


async def help_command(update: Update, context: BotContext) -> None:
    """`/help`: what the bot does and how to use it."""
    message = update.effective_message
    assert message is not None
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    await message.reply_text(
        "\n\n".join(
            (
                tr.gettext(
                    "Send me a video of one exercise (up to %(limit)s long). I reply to it with what I "
                    "saw: the exercise, the repetitions, what looked good and what to work on, each with its "
                    "moment in the clip.",
                    limit=format_timecode(context.services.settings.max_video_s),
                ),
                tr.gettext(
                    "Then ask me about any moment, for example “what about 0:30?”, or reply to my feedback "
                    "with your question. A new video starts a new conversation."
                ),
                tr.gettext(
                    "/language changes the language, /mydata sends you your data, /delete erases it. "
                    "If you feel severe pain, fall or feel unwell, stop and contact your doctor."
                ),
            )
        )
    )


async def _link(context: BotContext, user: User, invite_id: int, tr: Translator) -> None:
    """Use the invite (once, atomically) and tell both sides."""
    services = context.services
    invite = await services.db(crud_therapist.redeem_invite, invite_id=invite_id, patient_id=user.id)
    if invite is None:
        await context.bot.send_message(chat_id=user.id, text=invite_problem_text(tr, InviteProblem.USED))
        return
    logger.info("user %s linked to therapist %s", user.id, invite.therapist_id)
    therapist = await services.db(crud.get_user, user_id=invite.therapist_id)
    await context.bot.send_message(chat_id=user.id, text=tr.gettext("You are now linked to your therapist."))
    if therapist is not None:
        therapist_tr = services.translator(therapist)
        await context.bot.send_message(
            chat_id=therapist.id,
            text=therapist_tr.gettext(
                "%(patient)s accepted your invite and is now linked to you. See /patients.",
                patient=patient_label(user),
            ),
        )


async def consent(update: Update, context: BotContext) -> None:
    """The consent button: record consent (and use an invite), then queue any video sent before it."""
    query = update.callback_query
    assert query is not None and query.message is not None and query.data is not None
    services = context.services
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    await query.answer()
    if user.consented_at is None:
        await services.db(crud.record_consent, user_id=user.id)
        logger.info("user %s consented", user.id)
    await query.edit_message_reply_markup(reply_markup=None)
    if query.data.startswith(INVITE_CONSENT_PREFIX):
        await _link(context, user, int(query.data.removeprefix(INVITE_CONSENT_PREFIX)), tr)
    chat_id = query.message.chat.id
    waiting = await services.db(crud.enqueue_awaiting_videos, user_id=user.id, queue=services.queue)
    await context.bot.send_message(
        chat_id=chat_id, text=tr.gettext("Thank you! Send me a video of your exercise whenever you are ready.")
    )
    services.note_sent(chat_id)
    for video in waiting:
        status = await context.bot.send_message(
            chat_id=video.chat_id,
            text=stage_text(tr, "queued"),
            reply_parameters=ReplyParameters(message_id=video.message_id, allow_sending_without_reply=True),
        )
        services.note_sent(video.chat_id)
        await services.db(crud.set_status_message, video_id=video.id, message_id=status.message_id)
    if waiting:
        services.notify_work()


def setup(application: Application) -> None:
    """Register /start, /help and the consent button."""
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("start", start, filters=private))
    application.add_handler(CommandHandler("help", help_command, filters=private))
    application.add_handler(
        CallbackQueryHandler(consent, pattern=rf"^({CONSENT_CALLBACK}|{INVITE_CONSENT_PREFIX}\d+)$")
    )
