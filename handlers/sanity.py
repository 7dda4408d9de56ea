"""Drop updates Telegram could never send (fields of the wrong type) before a handler trips over them."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.tg.context import BotContext

logger = logging.getLogger(__name__)


def _message_is_well_formed(message: Message) -> bool:
    """Ids are ints, the date a datetime, text and caption strings (python-telegram-bot checks none of it)."""
    if not isinstance(message.message_id, int) or not isinstance(message.date, dt.datetime):
        return False
    # A missing chat still parses (python-telegram-bot does not check required fields).
    chat = getattr(message, "chat", None)
    if chat is None or not isinstance(chat.id, int):
        return False
    if message.from_user is not None and not isinstance(message.from_user.id, int):
        return False
    return all(value is None or isinstance(value, str) for value in (message.text, message.caption))


def is_well_formed(update: Update) -> bool:
    """Whether the parts handlers rely on have the types the Bot API guarantees."""
    user = update.effective_user
    if user is not None and not isinstance(user.id, int):
        return False
    query = update.callback_query
    if query is not None and query.data is not None and not isinstance(query.data, str):
        return False
    message = update.effective_message
    return message is None or _message_is_well_formed(message)


async def drop_malformed(update: object, context: BotContext) -> None:
    """Stop a malformed update here (a line with its id in the log); let every other update through."""
    if not isinstance(update, Update):
        return
    if not is_well_formed(update):
        logger.warning("dropped malformed update %s", update.update_id)
        raise ApplicationHandlerStop
    query = update.callback_query
    if query is not None and (query.message is None or not query.data):
        # Our buttons are on a message in a chat and carry data; python-telegram-bot hands a press with no
        # data to every button handler, and one with no message (inline mode) has nothing to act on.
        logger.info("ignored button press %s without a message or data", update.update_id)
        with contextlib.suppress(TelegramError):
            await query.answer()
        raise ApplicationHandlerStop


def setup(application: Application) -> None:
    """Run the check before every other handler group."""
    application.add_handler(TypeHandler(Update, drop_malformed), group=-1)
