"""The bot's command menu, published in every supported language."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand
from telegram.error import TelegramError

from bot.i18n import Catalogs, Translator

logger = logging.getLogger(__name__)


def telegram_language_code(locale: str) -> str:
    """The two-letter code Telegram uses for a menu language (`zh_Hans` → `zh`, `pt_BR` → `pt`)."""
    return locale.split("_", 1)[0].lower()


def patient_commands(tr: Translator) -> list[BotCommand]:
    """Commands every patient sees."""
    return [
        BotCommand("start", tr.gettext("Start and see the recording tips")),
        BotCommand("help", tr.gettext("How to use the bot")),
        BotCommand("language", tr.gettext("Change the language")),
        BotCommand("mydata", tr.gettext("Download your data")),
        BotCommand("delete", tr.gettext("Erase your data")),
    ]


async def publish_command_menus(bot: Bot, catalogs: Catalogs) -> None:
    """Set the command menu for each language (and the default one)."""
    try:
        await bot.set_my_commands(patient_commands(catalogs.get(catalogs.default_locale)))
        for locale in catalogs.locales:
            await bot.set_my_commands(
                patient_commands(catalogs.get(locale)), language_code=telegram_language_code(locale)
            )
    except TelegramError as error:
        logger.warning("could not publish command menus: %s", type(error).__name__)
