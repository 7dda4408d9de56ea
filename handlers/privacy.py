"""`/mydata` sends the user's data as JSON; `/delete` (confirmed by a button) erases rows and files."""

from __future__ import annotations

import json
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.clinic.limits import retention_phrase
from bot.i18n import Translator
from bot.tg.context import BotContext
from handlers.common import ensure_user, translator_for
from storage import crud

logger = logging.getLogger(__name__)

DELETE_CONFIRM = "delete:yes"
DELETE_CANCEL = "delete:no"


def retention_text(tr: Translator, *, days: int) -> str:
    """How long video recordings are kept, and what stays after they are deleted."""
    if days <= 0:
        return tr.gettext("Your video recordings are kept until you erase your data with /delete.")
    return tr.gettext(
        "Your video recordings and their frames are deleted %(period)s after you send them; your feedback, "
        "measurements and summaries are kept until you erase your data with /delete.",
        period=retention_phrase(tr, days=days),
    )


async def my_data(update: Update, context: BotContext) -> None:
    """Send everything stored about the user as a JSON document."""
    message = update.effective_message
    assert message is not None
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    data = await context.services.db(crud.export_user_data, user_id=user.id)
    payload = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    await message.reply_document(
        document=InputFile(payload, filename="my-data.json"),
        caption=tr.gettext("Everything I store about you, including who looked at your data.")
        + "\n\n"
        + retention_text(tr, days=context.services.settings.raw_video_retention_days),
    )


async def ask_delete(update: Update, context: BotContext) -> None:
    """Ask for confirmation before erasing."""
    message = update.effective_message
    assert message is not None
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(tr.gettext("Yes, erase my data"), callback_data=DELETE_CONFIRM)],
            [InlineKeyboardButton(tr.gettext("Cancel"), callback_data=DELETE_CANCEL)],
        ]
    )
    await message.reply_text(
        tr.gettext(
            "This erases your videos, feedback, questions and pain reports from my storage, and stops any "
            "video I am still working on. It cannot be undone. Continue?"
        ),
        reply_markup=keyboard,
    )


async def confirm_delete(update: Update, context: BotContext) -> None:
    """Erase (jobs are cancelled first) or cancel, and say what happens to the chat itself."""
    query = update.callback_query
    assert query is not None
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    await query.answer()
    if query.data != DELETE_CONFIRM:
        await query.edit_message_text(tr.gettext("Nothing was deleted."))
        return
    services = context.services
    removed = await services.db(crud.erase_user, user_id=user.id, store=services.store)
    logger.info("user %s erased (%d files)", user.id, len(removed))
    await query.edit_message_text(
        tr.gettext(
            "Done: I erased your data and files from my storage. Messages already in this chat stay in "
            "Telegram; you can delete them there yourself. Send /start if you want to begin again."
        )
    )


def setup(application: Application) -> None:
    """Register /mydata, /delete and the confirmation buttons."""
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("mydata", my_data, filters=private))
    application.add_handler(CommandHandler("delete", ask_delete, filters=private))
    application.add_handler(CallbackQueryHandler(confirm_delete, pattern=f"^({DELETE_CONFIRM}|{DELETE_CANCEL})$"))
