"""Onboarding: /start, /help, the consent button, and the greeting for anyone who has not agreed yet."""

from __future__ import annotations

import logging

from telegram import ReplyParameters, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.app import BotContext
from bot.stages import stage_text
from handlers.common import CONSENT_CALLBACK, ensure_user, send_greeting, translator_for
from storage import crud

logger = logging.getLogger(__name__)


async def start(update: Update, context: BotContext) -> None:
    """`/start`: one greeting in the user's language, with the consent button until they agree."""
    message = update.effective_message
    assert message is not None
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    await send_greeting(message, tr, consented=user.consented_at is not None)


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
                    "Send me a video of one exercise (up to %(minutes)s minutes). I reply to it with what I "
                    "saw: the exercise, the repetitions, what looked good and what to work on, each with its "
                    "moment in the clip.",
                    minutes=int(context.services.settings.max_video_s // 60),
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


async def consent(update: Update, context: BotContext) -> None:
    """The consent button: record consent, then queue any video sent before it."""
    query = update.callback_query
    assert query is not None and query.message is not None
    services = context.services
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    await query.answer()
    if user.consented_at is None:
        await services.db(crud.record_consent, user_id=user.id)
        logger.info("user %s consented", user.id)
    await query.edit_message_reply_markup(reply_markup=None)
    chat_id = query.message.chat.id
    waiting = await services.db(crud.enqueue_awaiting_videos, user_id=user.id, queue=services.queue)
    await context.bot.send_message(
        chat_id=chat_id, text=tr.gettext("Thank you! Send me a video of your exercise whenever you are ready.")
    )
    for video in waiting:
        status = await context.bot.send_message(
            chat_id=video.chat_id,
            text=stage_text(tr, "queued"),
            reply_parameters=ReplyParameters(message_id=video.message_id, allow_sending_without_reply=True),
        )
        await services.db(crud.set_status_message, video_id=video.id, message_id=status.message_id)
    if waiting:
        services.notify_work()


def setup(application: Application) -> None:
    """Register /start, /help and the consent button."""
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("start", start, filters=private))
    application.add_handler(CommandHandler("help", help_command, filters=private))
    application.add_handler(CallbackQueryHandler(consent, pattern=f"^{CONSENT_CALLBACK}$"))
