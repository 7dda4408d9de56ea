"""Voice questions: a voice message, an audio file, or a round video replying to feedback, heard and answered.

The recording is downloaded to a temporary file, decoded with our ffmpeg and transcribed on the ASR
thread; it is deleted at once and never stored. The transcript then takes the typed question's path
(safety rules first, moment parsing, the patient's language) and the answer shows what was heard.
A spoken red flag before consent still gets the safety reply, as a typed one does.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Message, Update
from telegram.constants import ChatAction
from telegram.ext import Application, MessageHandler, filters

from bot.asr.audio import AudioRejected, decode_audio
from bot.i18n import Translator
from bot.tg.context import BotContext
from bot.vlm.render import format_timecode
from handlers.common import ensure_user, reply, translator_for
from handlers.questions import ask_question
from handlers.videos import declared_duration, on_video
from storage.models import User

logger = logging.getLogger(__name__)


def _not_understood(tr: Translator) -> str:
    """The reply when no words could be made out."""
    return tr.gettext("I could not make out a question in this voice message. Please try again, or type it.")


def _too_long(tr: Translator, limit_s: float) -> str:
    """The reply to a voice message over the length limit."""
    return tr.gettext(
        "This voice message is longer than %(limit)s. Please ask in a shorter message, or type your question.",
        limit=format_timecode(limit_s),
    )


def _declared_problem(context: BotContext, media: Any, tr: Translator) -> str | None:
    """Why Telegram's declared size or duration rules the recording out before any download."""
    settings = context.services.settings
    duration = declared_duration(media) or 0.0
    limit = settings.download_limit_bytes
    size = getattr(media, "file_size", None) or 0
    if duration > settings.max_voice_s or (limit is not None and size > limit):
        return _too_long(tr, settings.max_voice_s)
    return None


async def _transcribe(context: BotContext, message: Message, media: Any, user: User) -> str | None:
    """Download, decode and transcribe the recording (deleted afterwards); None when there is no audio."""
    services = context.services
    telegram_file = await media.get_file()
    path = services.store.temp_path(".audio")
    try:
        await telegram_file.download_to_drive(path)
        # Decoding stops at the limit: a recording longer than Telegram declared is cut, never read whole.
        samples = await asyncio.to_thread(
            decode_audio, services.assessment.ffmpeg, path, max_seconds=services.settings.max_voice_s
        )
    except AudioRejected:
        return None
    finally:
        path.unlink(missing_ok=True)
    assert services.transcriber is not None
    transcript = await services.transcriber.transcribe(samples, locale=services.locale_of(user))
    logger.info("voice question in chat %s: %.1f s transcribed", message.chat.id, transcript.seconds)
    return transcript.text


async def on_voice(update: Update, context: BotContext) -> None:
    """A spoken question: transcribe it locally, then answer it like a typed one."""
    message = update.effective_message
    assert message is not None
    media = message.voice or message.audio or message.video_note
    assert media is not None
    if message.video_note is not None and not _replies_to_bot(message, context):
        await on_video(update, context)
        return
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    if context.services.transcriber is None:
        await reply(message, tr.gettext("I cannot listen to voice messages right now. Please type your question."))
        return
    if (problem := _declared_problem(context, media, tr)) is not None:
        await reply(message, problem)
        return
    await context.bot.send_chat_action(chat_id=message.chat.id, action=ChatAction.TYPING)
    try:
        text = await _transcribe(context, message, media, user)
    except Exception as error:  # a missing or broken speech model must not cost the patient their question
        logger.warning("voice question in chat %s not transcribed: %s", message.chat.id, type(error).__name__)
        await reply(message, tr.gettext("I cannot listen to voice messages right now. Please type your question."))
        return
    if text is None and message.video_note is not None:
        # A round video without sound that replies to feedback is a new exercise video, not a question.
        await on_video(update, context)
        return
    if not text:
        await reply(message, _not_understood(tr))
        return
    await ask_question(update, context, user, text, spoken=True)


def _replies_to_bot(message: Message, context: BotContext) -> bool:
    """Whether the message replies to one of the bot's own messages (its feedback)."""
    replied = message.reply_to_message
    return replied is not None and replied.from_user is not None and replied.from_user.id == context.bot.id


def setup(application: Application) -> None:
    """Register voice and audio questions, and round videos replying to the bot (private chats only)."""
    private = filters.ChatType.PRIVATE
    spoken = filters.VOICE | filters.AUDIO | (filters.VIDEO_NOTE & filters.REPLY)
    application.add_handler(MessageHandler(private & spoken, on_voice))
