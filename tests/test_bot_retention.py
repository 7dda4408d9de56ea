"""End to end on SQLite and PostgreSQL: a question about a purged video, and /mydata naming the retention period."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.clinic.retention import RetentionSweep
from bot.config import Settings
from storage.db import create_db_engine
from storage.models import Assessment, Turn, Video, VideoStatus
from storage.types import utcnow
from tests.fakes.botapi import FakeBotApi
from tests.fixtures.bot import BotHarness, make_bot_settings
from tests.helpers.bot_e2e import consent, read_rows

PURGED = (
    "I no longer keep the recording of this video (recordings are deleted after a while to protect your privacy), "
    "so I cannot look at it again. Your feedback on it is kept. Send a new video and ask me about that one."
)
RETENTION = (
    "Your video recordings and their frames are deleted %(period)s after you send them; your feedback, "
    "measurements and summaries are kept until you erase your data with /delete."
)


@pytest.fixture
def bot_settings(bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path, db_url: str) -> Settings:
    """The bot on the parametrised database, without workers (nothing here needs the model)."""
    return make_bot_settings(bot_api, tiny_model_dir, tmp_path / "data", database_url=db_url, run_workers=False)


def _old_assessed_video(harness: BotHarness, user_id: int, *, days_ago: float) -> Video:
    """An assessed video with its recording, frame pack and feedback, received `days_ago`."""
    store = harness.services.store
    stored = store.store_stream([b"recording"], suffix=".mp4")
    store.frames_dir(stored.sha256).mkdir(parents=True, exist_ok=True)
    when = utcnow() - timedelta(days=days_ago)
    engine = create_db_engine(harness.settings.database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            video = Video(
                user_id=user_id,
                chat_id=user_id,
                message_id=900,
                source="video",
                file_id="f900",
                file_unique_id="u900",
                status=VideoStatus.ASSESSED,
                sha256=stored.sha256,
                stored_path=stored.rel,
                frames_path=store.frames_rel(stored.sha256),
                duration_s=4.0,
                created_at=when,
                updated_at=when,
            )
            session.add(video)
            session.commit()
            session.add(Assessment(video_id=video.id or 0, model_id="tiny", language="es", text="Bien."))
            session.commit()
            return video
    finally:
        engine.dispose()


async def test_question_about_a_purged_video_gets_the_purged_message(bot_harness: BotHarness) -> None:
    """After the sweep the recording is gone; a follow-up gets the localized purged line and queues nothing."""
    api, services = bot_harness.api, bot_harness.services
    user = api.make_user(7201, "Pat", "es")
    await consent(api, user)
    video = await asyncio.to_thread(_old_assessed_video, bot_harness, 7201, days_ago=31)
    result = await RetentionSweep(services.db, services.store, days=30).run(now=utcnow())
    assert result.videos == 1
    assert not services.store.path(video.stored_path or "").exists()
    question = api.user_sends_text(user, "¿y en 0:02?")
    answer = await api.wait_for_message(7201, lambda m: m.reply_to_message_id == question["message_id"])
    spanish = services.catalogs.get("es").gettext(PURGED)
    assert answer.text == spanish and spanish != PURGED
    url = bot_harness.settings.database_url
    assert read_rows(url, Turn) == []
    assert [a.text for a in read_rows(url, Assessment)] == ["Bien."]
    assert api.violations == []


async def test_mydata_names_the_retention_period(bot_harness: BotHarness) -> None:
    """The /mydata caption says how long recordings are kept, in the user's language."""
    api = bot_harness.api
    user = api.make_user(7202, "Pat", "de")
    await consent(api, user)
    api.user_sends_command(user, "/mydata")
    document = await api.wait_for_message(7202, lambda m: m.method == "sendDocument")
    expected = bot_harness.services.catalogs.get("de").gettext(RETENTION, period="30 Tage")
    assert expected in document.text and "30 Tage" in document.text
    assert api.violations == []
