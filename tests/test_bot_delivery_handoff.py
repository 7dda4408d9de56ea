"""A job with only its delivery left hands its worker slot on, so the model does not wait for a chat's pace."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import col

from bot.config import Settings
from bot.services import build_services
from bot.tg.app import build_application, start_application, stop_application
from storage.db import migrate
from storage.models import Job
from tests.fakes.botapi import FakeBotApi
from tests.fakes.botapi_faults import Slow
from tests.fixtures.bot import BotHarness, make_bot_settings
from tests.fixtures.videos import Clip
from tests.helpers.bot_e2e import consent, is_feedback, read_rows, replies_to, wait_for_feedback
from tests.helpers.pose_assessment import scripted_assessment


@pytest.fixture
def bot_settings(bot_api: FakeBotApi, tiny_model_dir: Path, tiny_whisper_dir: Path, tmp_path: Path) -> Settings:
    """One worker slot, the pose stage on: each feedback is two sends (key frames, then text) a second apart."""
    return make_bot_settings(
        bot_api,
        tiny_model_dir,
        tmp_path / "data",
        asr_model=str(tiny_whisper_dir),
        pose_backend="mediapipe",
        workers=1,
    )


async def test_next_video_starts_while_the_last_one_is_delivered(bot_harness: BotHarness, clip_person: Clip) -> None:
    """With WORKERS=1, the second patient's job starts before the first patient's feedback text goes out."""
    api = bot_harness.api
    scripted_assessment(bot_harness)
    first, second = api.make_user(7201, "Ann", "en"), api.make_user(7202, "Ben", "en")
    await consent(api, first)
    await consent(api, second)
    # The first feedback's pictures take a while to upload: its delivery is long, as on a slow connection.
    api.inject("sendMediaGroup", Slow(1.5), chat_id=first["id"])
    first_video = api.user_sends_video(first, clip_person.path.read_bytes(), duration=4, width=320, height=320)
    await api.wait_for(lambda: api.chat_action_times(first["id"]), 10, what="the first job to start")
    second_video = api.user_sends_video(second, clip_person.path.read_bytes(), duration=4, width=320, height=320)

    first_feedback = await wait_for_feedback(api, first["id"], first_video["message_id"])
    await wait_for_feedback(api, second["id"], second_video["message_id"])

    second_started = api.chat_action_times(second["id"])[0][1]
    pictures = [m for m in replies_to(api, first["id"], first_video["message_id"]) if m.method == "sendMediaGroup"]
    assert pictures and all(m.message_id < first_feedback.message_id for m in pictures), "pictures, then text"
    assert second_started < first_feedback.ts, "the only slot went on to the next job during the delivery"

    def finished() -> list[Job]:
        """Both jobs, once both are done (the last one records its delivery after its text is sent)."""
        jobs = read_rows(bot_harness.settings.database_url, Job, col(Job.video_id).is_not(None))
        return jobs if [job.state for job in jobs] == ["done", "done"] else []

    jobs = await api.wait_for(finished, 10, what="both jobs done")
    assert all(job.attempt == 1 for job in jobs), "each job ran once"


async def test_stop_during_a_handed_on_delivery_returns_the_job(
    bot_api: FakeBotApi, bot_settings: Settings, clip_person: Clip
) -> None:
    """Stopping while a delivery runs beside the slots gives its job back unspent; a restart delivers it once."""
    migrate(bot_settings.database_url)
    services = build_services(bot_settings)
    application = build_application(bot_settings, services)
    await start_application(application, poll_timeout=1)
    harness = BotHarness(bot_api, bot_settings, services, application)
    scripted_assessment(harness)
    patient = bot_api.make_user(7203, "Cat", "en")
    try:
        await consent(bot_api, patient)
        bot_api.inject("sendMediaGroup", Slow(30.0), chat_id=patient["id"])
        video = bot_api.user_sends_video(patient, clip_person.path.read_bytes(), duration=4, width=320, height=320)
        await bot_api.wait_for(lambda: bot_api.calls_to("sendMediaGroup"), 30, what="the delivery to begin")
    finally:
        await stop_application(application)
    (job,) = read_rows(bot_settings.database_url, Job, col(Job.video_id).is_not(None))
    assert (job.state, job.attempt, job.lease_owner) == ("queued", 0, None), "released, no attempt spent"

    services = build_services(bot_settings)
    application = build_application(bot_settings, services)
    await start_application(application, poll_timeout=1)
    try:
        feedback = await wait_for_feedback(bot_api, patient["id"], video["message_id"])
        feedbacks = [m for m in bot_api.sent_messages(patient["id"]) if is_feedback(video["message_id"])(m)]
        assert [m.message_id for m in feedbacks] == [feedback.message_id], "delivered once"
    finally:
        await stop_application(application)
