"""`/language`: switch the bot's language with an inline keyboard."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.i18n import LANGUAGE_NAMES
from bot.tg.context import BotContext
from handlers.common import ensure_user, translator_for
from storage import crud

LANGUAGE_CALLBACK_PREFIX = "lang:"


async def choose_language(update: Update, context: BotContext) -> None:
    """Offer every supported language, each in its own name."""
    message = update.effective_message
    assert message is not None
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    buttons = [
        [InlineKeyboardButton(LANGUAGE_NAMES.get(locale, locale), callback_data=f"{LANGUAGE_CALLBACK_PREFIX}{locale}")]
        for locale in context.services.catalogs.locales
    ]
    await message.reply_text(tr.gettext("Choose your language:"), reply_markup=InlineKeyboardMarkup(buttons))


async def set_language(update: Update, context: BotContext) -> None:
    """Store the chosen language and confirm in it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    locale = query.data.removeprefix(LANGUAGE_CALLBACK_PREFIX)
    services = context.services
    if locale not in services.catalogs.locales:
        await query.answer()
        return
    user = await ensure_user(update, context)
    await services.db(crud.set_locale, user_id=user.id, locale=locale)
    tr = services.catalogs.get(locale)
    await query.answer()
    # Shown in the newly chosen language, so the sentence itself says which one it is.
    await query.edit_message_text(tr.gettext("Done! From now on I will reply in this language."))


def setup(application: Application) -> None:
    """Register /language and its buttons."""
    application.add_handler(CommandHandler("language", choose_language, filters=filters.ChatType.PRIVATE))
    application.add_handler(CallbackQueryHandler(set_language, pattern=f"^{LANGUAGE_CALLBACK_PREFIX}"))
