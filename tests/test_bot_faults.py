"""End to end: Telegram failing while the feedback is delivered (429, 500, dropped, 403) and flood control."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from storage.models import User
from storage.queue import JobState
from tests.fakes.botapi import FakeBotApi
from tests.fakes.botapi_faults import Dropped, FloodControl, Forbidden, RetryAfter, ServerError
from tests.fixtures.bot import BotHarness, make_bot_settings
from tests.fixtures.videos import Clip
from tests.helpers.bot_e2e import (
    consent,
    feedback_for,
    jobs_for_chat,
    read_rows,
    wait_for_feedback,
    wait_until_idle,
)


@pytest.fixture
def bot_settings(bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path) -> Settings:
    """End-to-end settings with short retry backoff and lease, so retries and maintenance happen within seconds."""
    return make_bot_settings(bot_api, tiny_model_dir, tmp_path / "data", retry_backoff_s=0.3, job_lease_s=6.0)


async def send_video_and_wait_for_status(api: FakeBotApi, user: dict, clip: Clip) -> dict:
    """The patient sends a video; returns it once the bot's "queued" reply exists."""
    video = api.user_sends_video(user, clip.path, duration=4, width=320, height=240)
    await api.wait_for_message(user["id"], lambda m: m.reply_to_message_id == video["message_id"])
    return video


@pytest.mark.parametrize(
    ("fault", "may_duplicate"),
    [
        pytest.param(RetryAfter(1), False, id="429-retry-after"),
        pytest.param(ServerError(500), False, id="500"),
        pytest.param(ServerError(502), False, id="502-html"),
        pytest.param(Dropped(performed=False), False, id="dropped-not-performed"),
        # Telegram performed the send but the answer was lost: the bot cannot know, so it sends again.
        pytest.param(Dropped(performed=True), True, id="dropped-performed"),
    ],
)
async def test_feedback_survives_a_failed_send(
    bot_harness: BotHarness, clip_small: Clip, fault: object, may_duplicate: bool
) -> None:
    """The first sendMessage of the feedback fails; the feedback still arrives (at least once)."""
    api = bot_harness.api
    user = api.make_user(5001, "Pat", "en")
    await consent(api, user)
    # After the queued reply, the next message the bot sends to this chat is the feedback.
    video = api.user_sends_video(user, clip_small.path, duration=4, width=320, height=240)
    await api.wait_for_message(5001, lambda m: m.reply_to_message_id == video["message_id"])
    api.inject("sendMessage", fault, times=1, chat_id=5001)  # type: ignore[arg-type]
    await wait_for_feedback(api, 5001, video["message_id"])
    url = bot_harness.settings.database_url
    await api.wait_for(lambda: [job.state for job in jobs_for_chat(url, 5001)] == [JobState.DONE], timeout=30)
    await wait_until_idle()
    assert any(fired.method == "sendMessage" for fired in api.fired_faults), "the fault never hit the feedback"
    feedback = feedback_for(api, 5001, video["message_id"])
    if may_duplicate:
        assert 1 <= len(feedback) <= 2
    else:
        assert len(feedback) == 1
    assert api.violations == []


async def test_blocked_user_makes_the_job_dead_without_retries(bot_harness: BotHarness, clip_small: Clip) -> None:
    """403 on the feedback: the job is dead after one attempt, the user is marked blocked, nothing else is sent."""
    api = bot_harness.api
    user = api.make_user(5002, "Pat", "en")
    await consent(api, user)
    video = await send_video_and_wait_for_status(api, user, clip_small)
    api.inject("sendMessage", Forbidden(), times=None, chat_id=5002)
    url = bot_harness.settings.database_url
    await api.wait_for(lambda: [j.state for j in jobs_for_chat(url, 5002)] == [JobState.DEAD], timeout=60)
    await wait_until_idle()
    [job] = jobs_for_chat(url, 5002)
    assert job.attempt == 1 and job.last_error == "telegram_forbidden"
    await api.wait_for(lambda: read_rows(url, User)[0].blocked_at is not None, timeout=5)
    # Maintenance sees the dead job and does not try to apologise to someone who blocked the bot.
    await api.wait_for(lambda: jobs_for_chat(url, 5002)[0].notified_at is not None, timeout=10)
    forbidden_sends = [fired for fired in api.fired_faults if fired.method == "sendMessage"]
    assert len(forbidden_sends) == 1
    assert feedback_for(api, 5002, video["message_id"]) == []
    assert api.violations == []


async def test_status_edits_respect_flood_control(bot_harness: BotHarness, clip_small: Clip) -> None:
    """With Telegram's per-chat limit (1 message per second) enforced, the bot never hits it."""
    api = bot_harness.api
    user = api.make_user(5003, "Pat", "en")
    await consent(api, user)
    api.set_flood_control(FloodControl(per_chat=1, window_s=1.0))
    video = api.user_sends_video(user, clip_small.path, duration=4, width=320, height=240)
    await wait_for_feedback(api, 5003, video["message_id"])
    done = "Done: my feedback is in the reply to your video."
    await api.wait_for(lambda: any(edit.text == done for edit in api.edits(5003)), timeout=10)
    question = api.user_sends_text(user, "what about 0:02?")
    await api.wait_for_message(5003, lambda m: m.reply_to_message_id == question["message_id"], timeout=60)
    await wait_until_idle()
    assert len(api.edits(5003)) >= 2
    assert api.flood_hits == []
    assert api.violations == []
