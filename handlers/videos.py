"""Incoming videos: check what Telegram declares, record the video and its job together, reply with the queue place."""

from __future__ import annotations

import asyncio
import logging
import warnings
from datetime import timedelta
from typing import Any

from babel.numbers import format_decimal
from telegram import Message, Update
from telegram.ext import Application, MessageHandler, filters
from telegram.warnings import PTBDeprecationWarning

from bot.clinic.limits import queue_full_text, retry_at, videos_per_hour_text, window_start
from bot.engine.stages import stage_text
from bot.i18n import Translator
from bot.tg.context import BotContext
from bot.vlm.render import format_timecode
from handlers.common import chat_lock, ensure_user, reply, send_greeting, translator_for
from handlers.safety import handle_safety
from storage import crud
from storage.types import utcnow

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS = ("mp4", "mov", "m4v", "webm", "mkv", "avi", "3gp")
_MEGABYTE = 1024 * 1024


def incoming_media(message: Message) -> tuple[str, Any] | None:
    """The video in a message and how it came: video, round video note, animation or video file."""
    if message.video:
        return "video", message.video
    if message.video_note:
        return "video_note", message.video_note
    if message.animation:
        return "animation", message.animation
    document = message.document
    if document is not None:
        name = (document.file_name or "").lower()
        if (document.mime_type or "").startswith("video/") or name.endswith(VIDEO_EXTENSIONS):
            return "document", document
    return None


def declared_duration(media: Any) -> float | None:
    """Telegram's declared duration in seconds (python-telegram-bot is moving from int to timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = getattr(media, "duration", None)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return None if value is None else float(value)


def declared_problem(media: Any, *, download_limit: int | None, max_duration_s: float, tr: Translator) -> str | None:
    """Why Telegram's declared size or duration already rules the video out, with what to do."""
    size = getattr(media, "file_size", None)
    if download_limit is not None and size and size > download_limit:
        return tr.gettext(
            "This file is %(size)s MB, and I can only download files up to %(limit)s MB. Please send it as a "
            "video (not as a file) so Telegram compresses it, or trim it to the exercise itself.",
            size=format_decimal(round(size / _MEGABYTE, 1), locale=tr.babel_locale),
            limit=download_limit // _MEGABYTE,
        )
    duration = declared_duration(media)
    if duration and duration > max_duration_s:
        return tr.gettext(
            "This video is %(duration)s long; I can look at up to %(limit)s. "
            "Please trim it or record one set of the exercise.",
            duration=format_timecode(duration),
            limit=format_timecode(max_duration_s),
        )
    return None


async def _over_limit(context: BotContext, message: Message, user_id: int, tr: Translator) -> str | None:
    """Why a new video is not taken now (hourly limit or too many unfinished videos); None when it is."""
    settings = context.services.settings
    now = utcnow()
    counts = await context.services.db(
        crud.upload_counts,
        user_id=user_id,
        chat_id=message.chat.id,
        message_id=message.message_id,
        since=window_start(now),
    )
    if counts is None:
        return None  # a repeated update: recording finds the existing row
    until = retry_at(counts.recent, limit=settings.max_videos_per_hour)
    if until is not None:
        logger.info("video refused in chat %s: hourly limit", message.chat.id)
        return videos_per_hour_text(tr, limit=settings.max_videos_per_hour, until=until, now=now)
    if settings.max_queued_per_chat and counts.unfinished >= settings.max_queued_per_chat:
        logger.info("video refused in chat %s: %d unfinished", message.chat.id, counts.unfinished)
        return queue_full_text(tr)
    return None


async def on_video(update: Update, context: BotContext) -> None:
    """Validate what Telegram declares, record video and job in one transaction, reply with the queue place."""
    message = update.effective_message
    assert message is not None
    found = incoming_media(message)
    if found is None:
        return
    source, media = found
    services = context.services
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    problem = declared_problem(
        media,
        download_limit=services.settings.download_limit_bytes,
        max_duration_s=services.settings.max_video_s,
        tr=tr,
    )
    if problem is not None:
        await reply(message, problem)
        return
    if message.caption and await handle_safety(update, context, user, message.caption):
        return
    if user.plan_paused_at is not None:
        # After a reported fall nothing is assessed until the therapist has reviewed it.
        await reply(
            message,
            tr.gettext(
                "Your exercise plan is paused after the fall you reported, so I will not look at new videos "
                "until your therapist has reviewed it. Please rest until then."
            ),
        )
        return
    async with chat_lock(message.chat.id):
        if (refusal := await _over_limit(context, message, user.id, tr)) is not None:
            await reply(message, refusal)
            return
        video, job_id, created = await services.db(
            crud.record_video_with_job,
            user=user,
            chat_id=message.chat.id,
            message_id=message.message_id,
            source=source,
            file_id=media.file_id,
            file_unique_id=media.file_unique_id,
            mime_type=getattr(media, "mime_type", None),
            file_name=getattr(media, "file_name", None),
            declared_size=getattr(media, "file_size", None),
            declared_duration=declared_duration(media),
            caption=message.caption,
            queue=services.queue,
            awaiting_consent=user.consented_at is None,
        )
    if not created:
        logger.info("video message %s in chat %s already recorded", message.message_id, message.chat.id)
        return
    if job_id is None:
        await reply(message, tr.gettext("I will look at this video as soon as you agree to the terms below."))
        await send_greeting(message, tr, consented=False)
        return
    position = await asyncio.to_thread(services.queue.position, job_id)
    status = await reply(message, stage_text(tr, "queued", position=position))
    services.note_sent(message.chat.id)
    await services.db(crud.set_status_message, video_id=video.id, message_id=status.message_id)
    services.notify_work()


async def on_other_file(update: Update, context: BotContext) -> None:
    """Documents that are not videos, and photos: say what is needed instead (voice and audio are questions)."""
    message = update.effective_message
    assert message is not None
    user = await ensure_user(update, context)
    tr = translator_for(update, context, user)
    if message.photo:
        text = tr.gettext("I need a video to see the movement, not a photo. Please record the exercise.")
    else:
        text = tr.gettext("This file is not a video I can open. Please send the exercise as a video.")
    await reply(message, text)


def setup(application: Application) -> None:
    """Register the video and wrong-file handlers (private chats only)."""
    private = filters.ChatType.PRIVATE
    video_document = filters.Document.VIDEO | filters.Document.FileExtension(VIDEO_EXTENSIONS[0])
    for extension in VIDEO_EXTENSIONS[1:]:
        video_document = video_document | filters.Document.FileExtension(extension)
    videos = filters.VIDEO | filters.VIDEO_NOTE | filters.ANIMATION | video_document
    application.add_handler(MessageHandler(private & videos, on_video))
    others = filters.Document.ALL | filters.PHOTO
    application.add_handler(MessageHandler(private & others & ~videos, on_other_file))
