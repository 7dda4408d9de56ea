"""The error handler: a log line with ids only and a short apology; never a traceback in the chat."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.tg.context import BotContext

logger = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure by update and chat id and the exception type; apologise in private chats."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    chat = update.effective_chat if isinstance(update, Update) else None
    logger.error(
        "update %s in chat %s failed: %s", update_id, chat.id if chat else None, type(error).__name__ if error else None
    )
    if chat is None or chat.type != chat.PRIVATE:
        return
    user = update.effective_user if isinstance(update, Update) else None
    tr = context.services.catalogs.for_language_code(user.language_code if user else None)
    try:
        await context.bot.send_message(
            chat_id=chat.id, text=tr.gettext("Sorry, something went wrong on my side. Please try again in a minute.")
        )
    except TelegramError:
        logger.info("could not send the apology to chat %s", chat.id)


def setup(application: Application) -> None:
    """Register the error handler."""
    application.add_error_handler(on_error)
