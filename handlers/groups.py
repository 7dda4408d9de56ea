"""Group chats: one polite line saying the bot works in private chats only."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, MessageHandler, filters

from bot.tg.context import BotContext

ANSWERED_GROUPS_KEY = "answered_groups"


async def in_group(update: Update, context: BotContext) -> None:
    """Answer a group once (per run) and otherwise stay quiet there."""
    chat = update.effective_chat
    message = update.effective_message
    if chat is None or message is None:
        return
    answered: set[int] = context.bot_data.setdefault(ANSWERED_GROUPS_KEY, set())
    if chat.id in answered:
        return
    answered.add(chat.id)
    tr = context.services.catalogs.for_language_code(
        update.effective_user.language_code if update.effective_user else None
    )
    await message.reply_text(
        tr.gettext("I only work in private chats, to keep your health data private. Please write to me directly.")
    )


def setup(application: Application) -> None:
    """Register the group handler."""
    application.add_handler(MessageHandler(~filters.ChatType.PRIVATE & filters.ALL, in_group))
