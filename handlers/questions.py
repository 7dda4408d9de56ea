"""Follow-up questions: text after a video is a question about it (or about the video the text replies to)."""

from __future__ import annotations

from telegram import Message, Update
from telegram.constants import ChatAction
from telegram.ext import Application, MessageHandler, filters

from bot.clinic.limits import questions_per_hour_text, retry_at, window_start
from bot.engine.assess import locate_moment
from bot.engine.replies import moment_past_end
from bot.i18n import Translator
from bot.tg.context import BotContext
from handlers.common import chat_lock, ensure_user, reply, send_greeting, translator_for
from handlers.safety import handle_safety
from storage import crud
from storage.models import User, Video, VideoStatus
from storage.types import utcnow


async def _target_video(context: BotContext, message: Message, user_id: int) -> Video | None:
    """The video the question is about: the one replied to, else the newest one."""
    services = context.services
    if message.reply_to_message is not None:
        replied = await services.db(
            crud.video_by_message, chat_id=message.chat.id, message_id=message.reply_to_message.message_id
        )
        if replied is not None:
            return replied
    return await services.db(crud.latest_video, user_id=user_id)


async def _over_limit(context: BotContext, message: Message, user_id: int, tr: Translator) -> str | None:
    """The reply to a question over the hourly limit; None when it is taken (or is a repeated update)."""
    limit = context.services.settings.max_questions_per_hour
    if not limit:
        return None
    services = context.services
    if await services.db(crud.question_known, chat_id=message.chat.id, message_id=message.message_id):
        return None
    now = utcnow()
    times = await services.db(crud.recent_question_times, user_id=user_id, since=window_start(now))
    until = retry_at(times, limit=limit)
    return None if until is None else questions_per_hour_text(tr, limit=limit, until=until, now=now)


async def on_text(update: Update, context: BotContext) -> None:
    """A typed question: safety first (even before consent), then queued about its video."""
    message = update.effective_message
    assert message is not None and message.text is not None
    user = await ensure_user(update, context)
    await ask_question(update, context, user, message.text, spoken=False)


async def ask_question(update: Update, context: BotContext, user: User, question: str, *, spoken: bool) -> None:
    """Safety check first (even before consent); then queue the question about its video (or say what is missing).

    `question` is the typed text or the transcript of a spoken question; both take this one path.
    """
    message = update.effective_message
    assert message is not None
    services = context.services
    tr = translator_for(update, context, user)
    # Red flags come first, also before consent: someone who fell is told to get help, not shown the terms.
    if await handle_safety(update, context, user, question):
        if user.consented_at is not None and (video := await _target_video(context, message, user.id)):
            # Kept for the therapist's weekly summary ("questions that need you"); never sent to the model.
            await services.db(
                crud.record_escalated_question,
                video_id=video.id,
                user_id=user.id,
                chat_id=message.chat.id,
                question_message_id=message.message_id,
                question=question,
            )
        return
    if user.consented_at is None:
        await send_greeting(message, tr, consented=False)
        return
    video = await _target_video(context, message, user.id)
    if video is None:
        await reply(
            message,
            tr.gettext(
                "Send me a video of your exercise first; then I can answer questions about it, "
                "for example “what about 0:12?”."
            ),
        )
        return
    if video.status != VideoStatus.ASSESSED:
        await reply(message, tr.gettext("I am still looking at your video. Ask me again once my feedback arrives."))
        return
    if crud.is_purged(video):
        await reply(
            message,
            tr.gettext(
                "I no longer keep the recording of this video (recordings are deleted after a while to protect "
                "your privacy), so I cannot look at it again. Your feedback on it is kept. Send a new video and "
                "ask me about that one."
            ),
        )
        return
    duration = video.duration_s or 0.0
    location = locate_moment(question, duration)
    if location.past_end:
        await reply(message, moment_past_end(tr, moment_s=location.seconds or 0.0, duration_s=duration))
        return
    async with chat_lock(message.chat.id):
        if (refusal := await _over_limit(context, message, user.id, tr)) is not None:
            await reply(message, refusal)
            return
        _turn, job_id, created = await services.db(
            crud.record_turn_with_job,
            video_id=video.id,
            user_id=user.id,
            chat_id=message.chat.id,
            question_message_id=message.message_id,
            question=question,
            moment_s=location.seconds,
            queue=services.queue,
            spoken=spoken,
        )
    if created and job_id is not None:
        services.notify_work()
        await context.bot.send_chat_action(chat_id=message.chat.id, action=ChatAction.TYPING)


def setup(application: Application) -> None:
    """Register the question handler (plain text in private chats)."""
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, on_text))
