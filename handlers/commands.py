"""The bot's command menu, published in every supported language."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import Catalogs, Translator, negotiate_locale
from storage.models import User

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
        BotCommand("plan", tr.gettext("Your exercise plan")),
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


def therapist_commands(tr: Translator) -> list[BotCommand]:
    """Extra commands a therapist sees."""
    return [
        BotCommand("patients", tr.gettext("Your patients, their activity and flags")),
        BotCommand("invite", tr.gettext("Create an invite link for a patient")),
        BotCommand("prescribe", tr.gettext("Set a patient's exercises")),
        BotCommand("report", tr.gettext("A patient's summary now")),
        BotCommand("resume", tr.gettext("Resume a paused plan")),
        BotCommand("timezone", tr.gettext("Set your time zone for summaries")),
    ]


async def publish_therapist_menu(bot: Bot, catalogs: Catalogs, therapist: User) -> None:
    """Show the therapist commands in this therapist's chat, in their language."""
    locale = therapist.locale or negotiate_locale(therapist.telegram_language, default=catalogs.default_locale)
    tr = catalogs.get(locale)
    try:
        await bot.set_my_commands(
            patient_commands(tr) + therapist_commands(tr), scope=BotCommandScopeChat(chat_id=therapist.id)
        )
    except TelegramError as error:
        logger.info("could not set the therapist menu for %s: %s", therapist.id, type(error).__name__)
