"""End to end: what patients send (files, sizes, broken videos, groups, duplicates, early videos, languages)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from babel.numbers import format_decimal
from sqlmodel import col

from bot.engine.replies import rejection
from bot.engine.stages import stage_text
from bot.video.errors import RejectReason
from storage.models import Job, Video, VideoStatus
from storage.queue import JobState
from tests.fixtures.bot import BotHarness
from tests.fixtures.videos import Clip
from tests.helpers.bot_e2e import (
    consent,
    feedback_for,
    jobs_for_chat,
    read_rows,
    replies_to,
    wait_for_feedback,
    wait_until_idle,
)

NOT_A_VIDEO = "This file is not a video I can open. Please send the exercise as a video."
PHOTO = "I need a video to see the movement, not a photo. Please record the exercise."
VIDEO_FIRST = (
    "Send me a video of your exercise first; then I can answer questions about it, for example “what about 0:12?”."
)
GROUPS_ONLY = "I only work in private chats, to keep your health data private. Please write to me directly."
WAIT_FOR_CONSENT = "I will look at this video as soon as you agree to the terms below."


def en(harness: BotHarness, msgid: str, **params: object) -> str:
    """The English text of a message id, as the bot's catalogs render it."""
    return harness.services.catalogs.get("en").gettext(msgid, **params)


async def test_pdf_document_is_refused_without_a_job(bot_harness: BotHarness) -> None:
    """A PDF gets the not-a-video line replying to it; nothing is recorded or downloaded."""
    api = bot_harness.api
    user = api.make_user(3001, "Pat", "en")
    await consent(api, user)
    pdf = api.user_sends_document(
        user, b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n", file_name="plan.pdf", mime_type="application/pdf"
    )
    reply = await api.wait_for_message(3001, lambda m: m.reply_to_message_id == pdf["message_id"])
    assert reply.text == en(bot_harness, NOT_A_VIDEO)
    assert read_rows(bot_harness.settings.database_url, Video) == []
    assert api.calls_to("getFile") == [] and api.downloads == []
    assert api.violations == []


async def test_audio_file_is_heard_as_a_question(bot_harness: BotHarness, clip_audio_m4a: Path) -> None:
    """An audio file is transcribed as a question (tiny Whisper: "What about 0:02?"); with no video yet, ask for one."""
    api = bot_harness.api
    user = api.make_user(3002, "Pat", "en")
    await consent(api, user)
    audio = api.user_sends_audio(user, clip_audio_m4a, file_name="voice.m4a", mime_type="audio/mp4")
    reply = await api.wait_for_message(3002, lambda m: m.reply_to_message_id == audio["message_id"])
    assert reply.text == en(bot_harness, VIDEO_FIRST)
    assert read_rows(bot_harness.settings.database_url, Video) == []
    assert api.violations == []


async def test_photo_is_refused(bot_harness: BotHarness, clip_image: Path) -> None:
    """A photo gets the need-a-video line."""
    api = bot_harness.api
    user = api.make_user(3003, "Pat", "en")
    await consent(api, user)
    photo = api.user_sends_photo(user, clip_image)
    reply = await api.wait_for_message(3003, lambda m: m.reply_to_message_id == photo["message_id"])
    assert reply.text == en(bot_harness, PHOTO)
    assert read_rows(bot_harness.settings.database_url, Video) == []


async def test_video_declared_over_20_mb_is_refused_before_download(bot_harness: BotHarness, clip_small: Clip) -> None:
    """Telegram says 25 MB: the bot explains the 20 MB limit at once and never calls getFile."""
    api = bot_harness.api
    user = api.make_user(3004, "Pat", "en")
    await consent(api, user)
    video = api.user_sends_video(
        user, clip_small.path.read_bytes(), duration=4, width=320, height=240, declared_size=25 * 1024 * 1024
    )
    reply = await api.wait_for_message(3004, lambda m: m.reply_to_message_id == video["message_id"])
    assert "25" in reply.text and "20" in reply.text
    assert reply.text == en(
        bot_harness,
        "This file is %(size)s MB, and I can only download files up to %(limit)s MB. Please send it as a "
        "video (not as a file) so Telegram compresses it, or trim it to the exercise itself.",
        size=format_decimal(25.0, locale="en"),
        limit=20,
    )
    assert read_rows(bot_harness.settings.database_url, Job) == []
    assert api.calls_to("getFile") == [] and api.downloads == []
    assert api.violations == []


async def test_corrupt_video_is_refused_by_the_worker_once(bot_harness: BotHarness, clip_truncated: Path) -> None:
    """A truncated mp4 sent as a video: queued by the handler, refused by the worker in the patient's language."""
    api = bot_harness.api
    ru = bot_harness.services.catalogs.get("ru")
    user = api.make_user(3005, "Pat", "ru")
    await consent(api, user)
    video = api.user_sends_video(user, clip_truncated, duration=4, width=320, height=240)
    queued = await api.wait_for_message(3005, lambda m: m.reply_to_message_id == video["message_id"])
    assert queued.text == stage_text(ru, "queued")
    refusal = await api.wait_for_message(
        3005,
        lambda m: m.reply_to_message_id == video["message_id"] and m.message_id != queued.message_id,
        timeout=30,
    )
    rejected = stage_text(ru, "rejected")
    await api.wait_for(lambda: api.message(3005, queued.message_id)["text"] == rejected, timeout=10)
    await wait_until_idle()
    url = bot_harness.settings.database_url
    [row] = read_rows(url, Video)
    assert row.status == VideoStatus.REJECTED and row.reject_reason
    assert refusal.text == rejection(ru, RejectReason(row.reject_reason), {})
    # Not retried: one attempt, done.
    [job] = jobs_for_chat(url, 3005)
    assert (job.state, job.attempt) == (JobState.DONE, 1)
    assert len(replies_to(api, 3005, video["message_id"])) == 2  # queued + refusal, nothing else
    assert api.violations == []


async def test_question_before_any_video(bot_harness: BotHarness) -> None:
    """Text with no video yet asks for a video first; no job, no model call."""
    api = bot_harness.api
    user = api.make_user(3006, "Pat", "en")
    await consent(api, user)
    question = api.user_sends_text(user, "what about 0:12?")
    reply = await api.wait_for_message(3006, lambda m: m.reply_to_message_id == question["message_id"])
    assert reply.text == en(bot_harness, VIDEO_FIRST)
    assert read_rows(bot_harness.settings.database_url, Job) == []


async def test_group_chat_gets_one_polite_line(bot_harness: BotHarness) -> None:
    """Messages reaching the bot in a group get one line about private chats, once."""
    api = bot_harness.api
    user = api.make_user(3007, "Pat", "en")
    group = api.make_group(title="Rehab friends")
    api.user_sends_command(user, "/start", chat=group)
    api.user_sends_group_text(user, group, "@rehab_test_bot can you look at my squat?")
    api.user_sends_command(user, "/help", chat=group)
    await api.wait_for_message(group["id"])
    await api.wait_for(lambda: not api.pending_updates, timeout=10)
    await asyncio.sleep(0.5)  # the later updates' handlers finish
    sent = api.sent_messages(group["id"])
    assert [m.text for m in sent] == [en(bot_harness, GROUPS_ONLY)]
    assert api.sent_messages(3007) == []
    assert api.violations == []


async def test_media_group_gets_one_job_and_feedback_per_video(bot_harness: BotHarness, clip_small: Clip) -> None:
    """Three videos sent as one album: three jobs, three feedback replies, each to its own video."""
    api = bot_harness.api
    user = api.make_user(3008, "Pat", "en")
    await consent(api, user)
    data = clip_small.path.read_bytes()
    videos = [
        api.user_sends_video(
            user,
            data,
            duration=4,
            width=320,
            height=240,
            media_group_id="album-1",
            caption="squats" if index == 0 else None,
        )
        for index in range(3)
    ]
    for video in videos:
        await wait_for_feedback(api, 3008, video["message_id"])
    await wait_until_idle()
    url = bot_harness.settings.database_url
    jobs = jobs_for_chat(url, 3008)
    assert sorted(job.video_id for job in jobs) == sorted(v.id for v in read_rows(url, Video))
    assert len(jobs) == 3 and all(job.state == JobState.DONE for job in jobs)
    for video in videos:
        assert len(feedback_for(api, 3008, video["message_id"])) == 1
    assert api.violations == []


async def test_duplicate_update_makes_no_second_job_or_reply(bot_harness: BotHarness, clip_small: Clip) -> None:
    """The same video update delivered again (while queued and after feedback) changes nothing."""
    api = bot_harness.api
    user = api.make_user(3009, "Pat", "en")
    await consent(api, user)
    video = api.user_sends_video(user, clip_small.path.read_bytes(), duration=4, width=320, height=240)
    api.enqueue_update({"message": video})  # re-delivered at once, while the job is queued or running
    await wait_for_feedback(api, 3009, video["message_id"])
    await wait_until_idle()
    again = api.enqueue_update({"message": video})  # and once more after the feedback
    await api.wait_for(lambda: api.delivery_count(again["update_id"]) >= 1, timeout=10)
    await api.wait_for(lambda: not api.pending_updates, timeout=10)
    await wait_until_idle()
    url = bot_harness.settings.database_url
    assert len(jobs_for_chat(url, 3009)) == 1
    assert len(read_rows(url, Video)) == 1
    # One queued reply and one feedback; nothing else replies to the video.
    replies = replies_to(api, 3009, video["message_id"])
    assert len(replies) == 2 and len(feedback_for(api, 3009, video["message_id"])) == 1
    assert api.violations == []


async def test_video_before_consent_waits_then_is_assessed(bot_harness: BotHarness, clip_small: Clip) -> None:
    """A video sent before consent is not downloaded; after the consent button it is queued and assessed."""
    api = bot_harness.api
    user = api.make_user(3010, "Pat", "en")
    video = api.user_sends_video(user, clip_small.path.read_bytes(), duration=4, width=320, height=240)
    waiting = await api.wait_for_message(3010, lambda m: m.reply_to_message_id == video["message_id"])
    assert waiting.text == en(bot_harness, WAIT_FOR_CONSENT)
    greeting = await api.wait_for_message(3010, lambda m: "consent:yes" in m.callback_data)
    await wait_until_idle()
    url = bot_harness.settings.database_url
    [row] = read_rows(url, Video)
    assert row.status == VideoStatus.AWAITING_CONSENT
    assert read_rows(url, Job) == []
    assert api.calls_to("getFile") == [] and api.downloads == []

    api.user_presses_button(user, greeting, "consent:yes")
    feedback = await wait_for_feedback(api, 3010, video["message_id"])
    assert feedback.text.strip()
    assert len(api.downloads) == 1
    [job] = jobs_for_chat(url, 3010)
    assert job.video_id == row.id
    assert api.violations == []


async def test_language_switch_changes_the_replies(bot_harness: BotHarness) -> None:
    """/language → Русский: later replies come from the Russian catalog."""
    api = bot_harness.api
    catalogs = bot_harness.services.catalogs
    user = api.make_user(3011, "Pat", "en")
    await consent(api, user)
    before = api.user_sends_text(user, "hello")
    reply = await api.wait_for_message(3011, lambda m: m.reply_to_message_id == before["message_id"])
    assert reply.text == catalogs.get("en").gettext(VIDEO_FIRST)

    api.user_sends_command(user, "/language")
    menu = await api.wait_for_message(3011, lambda m: "lang:ru" in m.callback_data)
    api.user_presses_button(user, menu, "lang:ru")
    confirmed = catalogs.get("ru").gettext("Done! From now on I will reply in this language.")
    await api.wait_for(lambda: api.message(3011, menu.message_id)["text"] == confirmed, timeout=10)
    assert api.unanswered_callback_queries() == []

    after = api.user_sends_text(user, "hello again")
    reply = await api.wait_for_message(3011, lambda m: m.reply_to_message_id == after["message_id"])
    assert reply.text == catalogs.get("ru").gettext(VIDEO_FIRST)
    if catalogs.get("ru").gettext(VIDEO_FIRST) != VIDEO_FIRST:
        assert reply.text != catalogs.get("en").gettext(VIDEO_FIRST)
    # The choice outranks Telegram's language_code (still "en").
    api.user_sends_command(user, "/help")
    help_text = await api.wait_for_message(3011, lambda m: "/language" in m.text and "/mydata" in m.text)
    assert (
        catalogs.get("ru").gettext(
            "/language changes the language, /mydata sends you your data, /delete erases it. "
            "If you feel severe pain, fall or feel unwell, stop and contact your doctor."
        )
        in help_text.text
    )
    assert read_rows(bot_harness.settings.database_url, Job, col(Job.chat_id) == 3011) == []
    assert api.violations == []
