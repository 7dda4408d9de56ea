"""End to end: the per-patient limits (videos per hour, unfinished videos per chat, questions per hour)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.engine.stages import stage_text
from storage.db import create_db_engine
from storage.models import Job, Turn, User, Video, VideoStatus
from storage.types import utcnow
from tests.fakes.botapi import FakeBotApi
from tests.fixtures.bot import BotHarness, make_bot_settings
from tests.helpers.bot_e2e import consent, jobs_for_chat, read_rows

VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + bytes(64)
HOURLY = (
    "You have sent as many videos as I can take in one hour (%(limit)s), so I have not taken this one. "
    "Please send it again %(when)s."
)
QUEUE_FULL = (
    "I am still analysing your earlier videos, so I have not taken this one. "
    "Please send it again once my feedback on them has arrived."
)
QUESTIONS = "You have asked as many questions as I can answer in one hour (%(limit)s). Please ask again %(when)s."


@pytest.fixture
def bot_settings(bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path) -> Settings:
    """No workers: accepted videos stay queued, so the limits can be seen without running the model."""
    return make_bot_settings(bot_api, tiny_model_dir, tmp_path / "data", run_workers=False)


def _insert(database_url: str, rows: list[Any]) -> None:
    """Commit rows straight into the database (earlier activity of a patient)."""
    engine = create_db_engine(database_url)
    try:
        with Session(engine) as session:
            session.add_all(rows)
            session.commit()
    finally:
        engine.dispose()


def _old_video(user_id: int, message_id: int, minutes_ago: float, status: str = VideoStatus.ASSESSED) -> Video:
    """A video row the user sent `minutes_ago`."""
    when = utcnow() - timedelta(minutes=minutes_ago)
    return Video(
        user_id=user_id,
        chat_id=user_id,
        message_id=message_id,
        source="video",
        file_id=f"old-{message_id}",
        file_unique_id=f"old-u-{message_id}",
        status=status,
        duration_s=4.0,
        created_at=when,
        updated_at=when,
    )


async def _wait_for_turns(database_url: str, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Wait until the database holds `count` turns."""
    deadline = asyncio.get_running_loop().time() + timeout
    while len(await asyncio.to_thread(read_rows, database_url, Turn)) < count:
        assert asyncio.get_running_loop().time() < deadline, "the question was not recorded"
        await asyncio.sleep(0.05)


def _text(harness: BotHarness, locale: str, msgid: str, **params: object) -> str:
    """A message as the bot's catalog renders it in a locale."""
    return harness.services.catalogs.get(locale).gettext(msgid, **params)


async def _sent_video(api: FakeBotApi, user: dict[str, Any]) -> str:
    """Send a video and return the bot's reply to it."""
    sent = api.user_sends_video(user, VIDEO_BYTES, duration=4, width=320, height=240)
    answer = await api.wait_for_message(user["id"], lambda m: m.reply_to_message_id == sent["message_id"])
    return answer.text


@pytest.mark.parametrize(("locale", "when"), [("en", "in 10 minutes"), ("de", "in 10 Minuten")])
async def test_thirteenth_video_in_an_hour_is_refused(bot_harness: BotHarness, locale: str, when: str) -> None:
    """12 videos in the rolling hour: the 13th gets the localized limit reply (with the wait) and no job."""
    api, url = bot_harness.api, bot_harness.settings.database_url
    user = api.make_user(7101, "Pat", locale)
    await consent(api, user)
    # 12 in the last hour (the oldest 50 minutes ago), one older that no longer counts.
    old = [_old_video(7101, 100 + i, 50 - i) for i in range(12)] + [_old_video(7101, 99, 61)]
    await asyncio.to_thread(_insert, url, old)
    text = await _sent_video(api, user)
    assert text == _text(bot_harness, locale, HOURLY, limit=12, when=when)
    assert when in text
    assert len(read_rows(url, Video)) == 13 and jobs_for_chat(url, 7101) == []
    # An hour after the oldest of the 12 it fits again.
    await asyncio.to_thread(_age_videos, url, 7101, timedelta(minutes=11))
    text = await _sent_video(api, user)
    assert text == stage_text(bot_harness.services.catalogs.get(locale), "queued", position=1)
    assert len(jobs_for_chat(url, 7101)) == 1
    assert api.violations == []


def _age_videos(database_url: str, user_id: int, by: timedelta) -> None:
    """Move all of a user's videos back in time."""
    engine = create_db_engine(database_url)
    try:
        with Session(engine) as session:
            for video in session.exec(select(Video).where(Video.user_id == user_id)).all():
                session.exec(update(Video).where(col(Video.id) == video.id).values(created_at=video.created_at - by))
            session.commit()
    finally:
        engine.dispose()


async def test_unfinished_videos_per_chat_are_capped(bot_harness: BotHarness) -> None:
    """Three videos still waiting: the fourth is refused (in Russian too), and taken once one is finished."""
    api, url = bot_harness.api, bot_harness.settings.database_url
    user = api.make_user(7102, "Pat", "ru")
    await consent(api, user)
    for position in (1, 2, 3):
        text = await _sent_video(api, user)
        assert text == stage_text(bot_harness.services.catalogs.get("ru"), "queued", position=position)
    text = await _sent_video(api, user)
    assert text == _text(bot_harness, "ru", QUEUE_FULL)
    assert text != QUEUE_FULL  # really translated
    assert len(jobs_for_chat(url, 7102)) == 3 and len(read_rows(url, Video)) == 3
    await asyncio.to_thread(_finish_one, url, 7102)
    text = await _sent_video(api, user)
    assert text == stage_text(bot_harness.services.catalogs.get("ru"), "queued", position=3)
    assert len(read_rows(url, Video)) == 4
    assert api.violations == []


def _finish_one(database_url: str, chat_id: int) -> None:
    """Mark the chat's oldest video assessed and its job done (as a worker would)."""
    engine = create_db_engine(database_url)
    try:
        with Session(engine) as session:
            job = session.exec(select(Job).where(Job.chat_id == chat_id).order_by(col(Job.id))).first()
            assert job is not None
            session.exec(update(Job).where(col(Job.id) == job.id).values(state="done"))
            session.exec(update(Video).where(col(Video.id) == job.video_id).values(status=VideoStatus.ASSESSED))
            session.commit()
    finally:
        engine.dispose()


async def test_question_flood_is_bounded(bot_harness: BotHarness) -> None:
    """30 questions in the last hour: the next is refused with when to ask again; nothing is queued for it."""
    api, url = bot_harness.api, bot_harness.settings.database_url
    user = api.make_user(7103, "Pat", "en")
    await consent(api, user)
    await asyncio.to_thread(_insert, url, [_old_video(7103, 500, 90)])
    video = read_rows(url, Video)[0]
    turns = [
        Turn(
            video_id=video.id or 0,
            user_id=7103,
            chat_id=7103,
            question_message_id=600 + i,
            question="what about 0:02?",
            created_at=utcnow() - timedelta(minutes=40 - i),
        )
        for i in range(29)
    ]
    await asyncio.to_thread(_insert, url, turns)
    # The 30th question of the hour is still taken.
    api.user_sends_text(user, "what about 0:02?")
    await _wait_for_turns(url, 30)
    question = api.user_sends_text(user, "and 0:03?")
    answer = await api.wait_for_message(7103, lambda m: m.reply_to_message_id == question["message_id"])
    assert answer.text == _text(bot_harness, "en", QUESTIONS, limit=30, when="in 20 minutes")
    assert len(read_rows(url, Turn)) == 30
    assert read_rows(url, User, col(User.id) == 7103)[0].consented_at is not None
    assert api.violations == []


async def test_an_album_over_the_cap_is_cut_at_the_cap(bot_harness: BotHarness) -> None:
    """Five videos at once (handled concurrently): exactly three are taken, two get the cap reply."""
    api, url = bot_harness.api, bot_harness.settings.database_url
    user = api.make_user(7104, "Pat", "en")
    await consent(api, user)
    sent = [
        api.user_sends_video(user, VIDEO_BYTES + bytes([index]), duration=4, width=320, height=240, media_group_id="a")
        for index in range(5)
    ]
    ids = {video["message_id"] for video in sent}
    await api.wait_for(
        lambda: len([m for m in api.sent_messages(7104) if m.reply_to_message_id in ids]) >= 5, 10.0, what="replies"
    )
    answers = [m for m in api.sent_messages(7104) if m.reply_to_message_id in ids]
    refused = [m for m in answers if m.text == _text(bot_harness, "en", QUEUE_FULL)]
    assert len(refused) == 2
    assert len(read_rows(url, Video)) == 3 and len(jobs_for_chat(url, 7104)) == 3
    assert api.violations == []
