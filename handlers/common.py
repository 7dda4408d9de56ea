"""Helpers every handler uses: the user behind an update, replies, the consent keyboard."""

from __future__ import annotations

import asyncio
import weakref

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters, Update

from bot.i18n import Translator
from bot.tg.context import BotContext
from storage import crud
from storage.models import User

CONSENT_CALLBACK = "consent:yes"

# One lock per chat while any handler holds it (updates run concurrently).
_CHAT_LOCKS: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()


def chat_lock(chat_id: int) -> asyncio.Lock:
    """The chat's lock: a limit check and the recording it allows happen as one step within this process."""
    lock = _CHAT_LOCKS.get(chat_id)
    if lock is None:
        lock = asyncio.Lock()
        _CHAT_LOCKS[chat_id] = lock
    return lock


async def ensure_user(update: Update, context: BotContext) -> User:
    """The sender's user row, created on first contact and refreshed with their Telegram profile."""
    sender = update.effective_user
    assert sender is not None
    return await context.services.db(
        crud.get_or_create_user,
        user_id=sender.id,
        first_name=sender.first_name,
        username=sender.username,
        telegram_language=sender.language_code,
    )


def translator_for(update: Update, context: BotContext, user: User | None) -> Translator:
    """The user's translator (their choice, else Telegram's language_code, else the default)."""
    language_code = update.effective_user.language_code if update.effective_user else None
    return context.services.translator(user, language_code)


async def reply(message: Message, text: str, **kwargs: object) -> Message:
    """Reply to a message (still delivered if the patient deleted it)."""
    return await message.reply_text(
        text,
        reply_parameters=ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True),
        **kwargs,
    )


def greeting_text(tr: Translator) -> str:
    """The one greeting: AI disclosure, not a diagnosis, recording tips, consent request."""
    return "\n\n".join(
        (
            tr.gettext(
                "Hello! I am an AI coach for your home exercises. Send me a video of an exercise and I will "
                "describe what I see, with the moments in the clip, and answer your questions about it."
            ),
            tr.gettext(
                "I am an AI, not a doctor or a therapist: my feedback is not a diagnosis and does not replace "
                "your clinician. Check with your doctor before starting a new exercise programme."
            ),
            tr.gettext(
                "Tips for a useful video: film from the side, keep your whole body in the frame, put the phone "
                "down so it stays still and upright, use good light and fitted clothes."
            ),
            tr.gettext(
                "Your videos are health data. I keep them only to give you feedback; you can download your "
                "data with /mydata and erase it with /delete. Do you agree that I analyse your videos?"
            ),
        )
    )


def consent_keyboard(tr: Translator) -> InlineKeyboardMarkup:
    """The consent button."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(tr.gettext("I agree"), callback_data=CONSENT_CALLBACK)]])


async def send_greeting(message: Message, tr: Translator, *, consented: bool) -> Message:
    """Send the greeting; with the consent button until the user has agreed."""
    if consented:
        return await message.reply_text(
            greeting_text(tr) + "\n\n" + tr.gettext("You have already agreed. Send me a video whenever you are ready.")
        )
    return await message.reply_text(greeting_text(tr), reply_markup=consent_keyboard(tr))
