"""Admin commands: add or remove therapists."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot.tg.context import BotContext
from handlers.commands import publish_therapist_menu
from handlers.common import translator_for
from handlers.guard import admin_only
from storage import crud, crud_therapist
from storage.models import User


def _user_id_argument(context: BotContext) -> int | None:
    """The numeric Telegram user id given after the command."""
    if not context.args or not context.args[0].lstrip("-").isdigit():
        return None
    return int(context.args[0])


@admin_only
async def therapist_add(update: Update, context: BotContext, admin: User) -> None:
    """`/therapist_add ID`: give a user the therapist role."""
    message = update.effective_message
    assert message is not None
    tr = translator_for(update, context, admin)
    user_id = _user_id_argument(context)
    if user_id is None:
        await message.reply_text(tr.gettext("Usage: /therapist_add <Telegram user id>"))
        return
    therapist = await context.services.db(crud.ensure_therapist, user_id=user_id)
    if therapist.first_name is not None:
        # Telegram only knows the chat once they wrote to the bot; otherwise /start publishes it.
        await publish_therapist_menu(context.bot, context.services.catalogs, therapist)
    await message.reply_text(tr.gettext("User %(id)s is now a therapist.", id=user_id))


@admin_only
async def therapist_remove(update: Update, context: BotContext, admin: User) -> None:
    """`/therapist_remove ID`: take the role away (their patients are unlinked)."""
    message = update.effective_message
    assert message is not None
    tr = translator_for(update, context, admin)
    user_id = _user_id_argument(context)
    if user_id is None:
        await message.reply_text(tr.gettext("Usage: /therapist_remove <Telegram user id>"))
        return
    unlinked = await context.services.db(crud_therapist.remove_therapist, user_id=user_id)
    if unlinked is None:
        await message.reply_text(tr.gettext("User %(id)s is not a therapist.", id=user_id))
        return
    await message.reply_text(
        tr.ngettext(
            "User %(id)s is no longer a therapist; %(count)s patient was unlinked.",
            "User %(id)s is no longer a therapist; %(count)s patients were unlinked.",
            unlinked,
            id=user_id,
        )
    )


def setup(application: Application) -> None:
    """Register the admin commands."""
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("therapist_add", therapist_add, filters=private))
    application.add_handler(CommandHandler("therapist_remove", therapist_remove, filters=private))
