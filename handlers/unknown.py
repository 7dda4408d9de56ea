"""A command the bot does not know gets a pointer to /help instead of silence."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, MessageHandler, filters

from bot.tg.context import BotContext
from handlers.common import ensure_user, translator_for


async def unknown_command(update: Update, context: BotContext) -> None:
    """Say the command is not one of ours and where the list is."""
    message = update.effective_message
    assert message is not None
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    await message.reply_text(tr.gettext("I don't know that command. Send /help to see what I can do."))


def setup(application: Application) -> None:
    """Register the fallback; it must come after every command handler (the first match wins)."""
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.COMMAND, unknown_command))
