"""Pictures of moments in the chat: the feedback's key frames as one media group, a follow-up's moment."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from telegram import InputMediaPhoto, Message, ReplyParameters

from bot.engine.measured import moment_picture
from bot.engine.measured_text import key_frame_caption
from bot.i18n import Translator
from bot.pose.keyframes import MAX_KEY_FRAMES
from bot.tg.job_context import JobContext
from storage import crud
from storage.models import Assessment, Video

logger = logging.getLogger(__name__)

# Telegram's caption limit (characters); ours are a timecode and an angle.
_CAPTION_LIMIT = 1024


def _reply_to(message_id: int) -> ReplyParameters:
    """Reply parameters that still deliver if the patient deleted their message."""
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


async def send_key_frames(context: JobContext, video: Video, assessment: Assessment, tr: Translator) -> None:
    """Send the feedback's key frames once, replying to the video: one photo, or one media group of 2–10."""
    measurements = assessment.measurements or {}
    if "key_frames_message_ids" in measurements:
        return
    frames = await asyncio.to_thread(_existing, measurements.get("key_frames", []))
    if not frames:
        return
    captions = [key_frame_caption(tr, frame)[:_CAPTION_LIMIT] for frame in frames]
    async with context.status.sending(video.chat_id):
        await context.ensure_lease()
        sent = await _send_photos(context, video.chat_id, [Path(f["path"]) for f in frames], captions, video.message_id)
    await context.services.db(
        crud.record_key_frames_sent, assessment_id=assessment.id, message_ids=[m.message_id for m in sent]
    )


def _existing(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The key frames whose pictures are still on disk (retention may have removed them), at most 10."""
    return [frame for frame in frames if Path(frame["path"]).is_file()][:MAX_KEY_FRAMES]


async def _send_photos(
    context: JobContext, chat_id: int, paths: list[Path], captions: list[str], reply_to: int
) -> list[Message]:
    """One sendPhoto, or one sendMediaGroup for several pictures."""
    pictures = await asyncio.to_thread(lambda: [path.read_bytes() for path in paths])
    if len(pictures) == 1:
        photo = await context.bot.send_photo(
            chat_id=chat_id, photo=pictures[0], caption=captions[0], reply_parameters=_reply_to(reply_to)
        )
        return [photo]
    media = [InputMediaPhoto(media=p, caption=c) for p, c in zip(pictures, captions, strict=True)]
    return list(await context.bot.send_media_group(chat_id=chat_id, media=media, reply_parameters=_reply_to(reply_to)))


async def send_moment_picture(
    context: JobContext, video: Video, assessment: Assessment | None, tr: Translator, *, moment_s: float, reply_to: int
) -> None:
    """The asked-about moment's frame (skeleton and angle when measured), replying to the answer."""
    measurements = (assessment.measurements if assessment is not None else None) or {}
    if not measurements or not video.frames_path:
        return
    pack_dir = context.services.store.path(video.frames_path)
    picture = await asyncio.to_thread(
        moment_picture, pack_dir, moment_s, pack_dir / "moments", joint=measurements.get("rep_joint")
    )
    if picture is None:
        return
    caption = key_frame_caption(tr, picture.as_json())
    async with context.status.sending(video.chat_id):
        await context.ensure_lease()
        await _send_photos(context, video.chat_id, [picture.path], [caption], reply_to)
