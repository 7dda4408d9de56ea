"""End to end: a job that keeps failing ends dead after MAX_ATTEMPTS with one apology to the patient."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.engine.stages import stage_text
from storage.models import Video, VideoStatus
from storage.queue import JobState
from tests.fakes.botapi import FakeBotApi
from tests.fakes.botapi_faults import ServerError
from tests.fixtures.bot import BotHarness, make_bot_settings
from tests.fixtures.videos import Clip
from tests.helpers.bot_e2e import consent, feedback_for, jobs_for_chat, read_rows, replies_to, wait_until_idle

APOLOGY = (
    "Sorry, I could not analyse this video after several tries. Please send it again a bit later; "
    "if it keeps failing, try recording a shorter clip."
)


@pytest.fixture
def bot_settings(bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path, db_url: str) -> Settings:
    """Short backoff and lease (maintenance runs every lease/3), three attempts; on SQLite and PostgreSQL."""
    return make_bot_settings(
        bot_api,
        tiny_model_dir,
        tmp_path / "data",
        database_url=db_url,
        retry_backoff_s=0.2,
        job_lease_s=6.0,
        max_attempts=3,
    )


async def test_download_that_always_fails_ends_dead_with_one_apology(bot_harness: BotHarness, clip_small: Clip) -> None:
    """getFile answers 500 every time: three attempts, then dead, one apology replying to the video, no feedback."""
    api = bot_harness.api
    url = bot_harness.settings.database_url
    user = api.make_user(6001, "Pat", "en")
    await consent(api, user)
    api.inject("getFile", ServerError(500), times=None)
    video = api.user_sends_video(user, clip_small.path, duration=4, width=320, height=240)
    apology_text = bot_harness.services.catalogs.get("en").gettext(APOLOGY)
    apology = await api.wait_for_message(
        6001, lambda m: m.reply_to_message_id == video["message_id"] and m.text == apology_text, timeout=60
    )
    await wait_until_idle()
    [job] = jobs_for_chat(url, 6001)
    assert (job.state, job.attempt, job.max_attempts) == (JobState.DEAD, 3, 3)
    assert job.notified_at is not None
    assert [error["attempt"] for error in job.errors] == [1, 2, 3]
    assert all(error["error"].startswith("telegram:") for error in job.errors)
    assert len(api.calls_to("getFile")) == 3
    [row] = read_rows(url, Video)
    assert row.status == VideoStatus.FAILED
    # The status line no longer claims to be downloading.
    gave_up = stage_text(bot_harness.services.catalogs.get("en"), "rejected")
    await api.wait_for(lambda: api.message(6001, row.status_message_id)["text"] == gave_up, timeout=10)
    # Another maintenance round must not apologise again.
    await bot_harness.application.bot_data["workers"].maintain_once()
    replies = replies_to(api, 6001, video["message_id"])
    assert [m.text for m in replies].count(apology.text) == 1
    assert feedback_for(api, 6001, video["message_id"]) == []
    assert api.violations == []
