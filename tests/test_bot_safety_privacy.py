"""End to end: red flags before any model call, /mydata export, /delete erasure (also of a running job)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlmodel import col

from bot.clinic.safety import check_text, safety_message
from bot.config import Settings
from bot.engine.stages import stage_text
from storage.models import Alert, AlertKind, Assessment, Job, Turn, User, Video
from tests.fakes.botapi import FakeBotApi
from tests.fakes.botapi_faults import Slow
from tests.fixtures.bot import BotHarness, make_bot_settings
from tests.fixtures.videos import Clip
from tests.helpers.bot_e2e import (
    ModelCalls,
    consent,
    feedback_for,
    files_under,
    make_slow_model,
    read_rows,
    running_bot,
    status_shows,
    wait_for_feedback,
    wait_until_idle,
)

EMERGENCY_NUMBER = "911"
ERASED = (
    "Done: I erased your data and files from my storage. Messages already in this chat stay in "
    "Telegram; you can delete them there yourself. Send /start if you want to begin again."
)


@pytest.fixture
def bot_settings(bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path) -> Settings:
    """Default end-to-end settings with a non-default emergency number (so the message must come from settings)."""
    return make_bot_settings(bot_api, tiny_model_dir, tmp_path / "data", emergency_number=EMERGENCY_NUMBER)


@pytest.mark.parametrize("text", ["I fell", "я упал", "我摔倒了"])
async def test_red_flag_gets_safety_message_and_alert_without_model(
    bot_harness: BotHarness, clip_small: Clip, text: str
) -> None:
    """After feedback, a reported fall is answered with the safety message (settings' number), never the model."""
    api = bot_harness.api
    services = bot_harness.services
    user = api.make_user(4001, "Pat", "en")
    await consent(api, user)
    video = api.user_sends_video(user, clip_small.path.read_bytes(), duration=4, width=320, height=240)
    await wait_for_feedback(api, 4001, video["message_id"])
    await wait_until_idle()
    calls = ModelCalls(services.assessment.backend)

    message = api.user_sends_text(user, text)
    reply = await api.wait_for_message(4001, lambda m: m.reply_to_message_id == message["message_id"])
    hit = check_text(text)
    assert hit is not None
    assert reply.text == safety_message(services.catalogs.get("en"), hit=hit, emergency_number=EMERGENCY_NUMBER)
    assert EMERGENCY_NUMBER in reply.text
    url = bot_harness.settings.database_url
    await api.wait_for(lambda: read_rows(url, Alert), timeout=5)
    await wait_until_idle()
    assert calls.started == 0
    [alert] = read_rows(url, Alert)
    assert (alert.patient_id, alert.kind) == (4001, AlertKind.FALL)
    # Kept for the therapist, never answered by the model: no answer, no job.
    await api.wait_for(lambda: read_rows(url, Turn), timeout=5)
    [turn] = read_rows(url, Turn)
    assert (turn.status, turn.needs_therapist, turn.answer) == ("safety", True, None)
    assert len(read_rows(url, Job)) == 1  # only the video's
    assert api.violations == []


async def test_red_flag_before_consent_still_gets_safety_message(bot_harness: BotHarness) -> None:
    """Someone who has not agreed yet and reports a fall is told to get help, not shown the terms."""
    api = bot_harness.api
    user = api.make_user(4002, "Pat", "ru")
    message = api.user_sends_text(user, "я упал и не могу встать")
    reply = await api.wait_for_message(4002, lambda m: m.reply_to_message_id == message["message_id"])
    assert EMERGENCY_NUMBER in reply.text
    hit = check_text("я упал и не могу встать")
    assert hit is not None
    tr = bot_harness.services.catalogs.get("ru")
    assert reply.text == safety_message(tr, hit=hit, emergency_number=EMERGENCY_NUMBER)
    url = bot_harness.settings.database_url
    await api.wait_for(lambda: len(read_rows(url, Alert)) == 1, timeout=5)
    assert read_rows(url, Job) == []


async def test_mydata_sends_json_with_the_videos(bot_harness: BotHarness, clip_small: Clip) -> None:
    """/mydata: a JSON document that parses and lists the user's video and its assessment."""
    api = bot_harness.api
    user = api.make_user(4003, "Pat", "en")
    await consent(api, user)
    video = api.user_sends_video(user, clip_small.path.read_bytes(), duration=4, width=320, height=240)
    await wait_for_feedback(api, 4003, video["message_id"])
    await wait_until_idle()
    api.user_sends_command(user, "/mydata")
    document = await api.wait_for_message(4003, lambda m: m.method == "sendDocument")
    assert document.file is not None and document.file.filename.endswith(".json")
    data = json.loads(document.file.data.decode("utf-8"))
    assert data["user"]["id"] == 4003
    assert [v["message_id"] for v in data["videos"]] == [video["message_id"]]
    assert len(data["assessments"]) == 1 and data["assessments"][0]["video_id"] == data["videos"][0]["id"]
    assert api.violations == []


async def test_delete_asks_then_erases_rows_and_files(bot_harness: BotHarness, clip_small: Clip) -> None:
    """/delete: a confirmation first (cancel keeps everything); yes erases rows and files and says what stays."""
    api = bot_harness.api
    settings = bot_harness.settings
    catalogs = bot_harness.services.catalogs
    user = api.make_user(4004, "Pat", "en")
    await consent(api, user)
    video = api.user_sends_video(user, clip_small.path.read_bytes(), duration=4, width=320, height=240)
    await wait_for_feedback(api, 4004, video["message_id"])
    await wait_until_idle()
    assert files_under(settings.videos_dir) and files_under(settings.frames_dir)

    api.user_sends_command(user, "/delete")
    ask = await api.wait_for_message(4004, lambda m: "delete:yes" in m.callback_data)
    assert "delete:no" in ask.callback_data
    api.user_presses_button(user, ask, "delete:no")
    kept = catalogs.get("en").gettext("Nothing was deleted.")
    await api.wait_for(lambda: api.message(4004, ask.message_id)["text"] == kept, timeout=10)
    assert read_rows(settings.database_url, Video) and files_under(settings.videos_dir)

    api.user_sends_command(user, "/delete")
    ask = await api.wait_for_message(4004, lambda m: "delete:yes" in m.callback_data and m.message_id > ask.message_id)
    api.user_presses_button(user, ask, "delete:yes")
    erased = catalogs.get("en").gettext(ERASED)
    await api.wait_for(lambda: api.message(4004, ask.message_id)["text"] == erased, timeout=10)
    url = settings.database_url
    for model in (User, Video, Job, Assessment, Turn, Alert):
        assert read_rows(url, model) == [], model.__name__
    assert files_under(settings.videos_dir) == []
    assert files_under(settings.frames_dir) == []
    assert api.unanswered_callback_queries() == []
    assert api.violations == []


async def test_delete_cancels_a_running_job(
    bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path, clip_small: Clip
) -> None:
    """/delete while the model watches the video: the feedback never arrives, and nothing of it is left."""
    settings = make_bot_settings(
        bot_api,
        make_slow_model(tiny_model_dir, tmp_path / "slow-model"),
        tmp_path / "data",
        max_new_tokens=3000,
        job_lease_s=6.0,
    )
    api = bot_api
    async with running_bot(api, settings) as harness:
        calls = ModelCalls(harness.services.assessment.backend)
        user = api.make_user(4005, "Pat", "en")
        await consent(api, user)
        video = api.user_sends_video(user, clip_small.path.read_bytes(), duration=4, width=320, height=240)
        analysing = stage_text(harness.services.catalogs.get("en"), "analysing")
        await api.wait_for(lambda: status_shows(api, 4005, analysing), timeout=60)
        assert calls.running
        api.user_sends_command(user, "/delete")
        ask = await api.wait_for_message(4005, lambda m: "delete:yes" in m.callback_data)
        api.user_presses_button(user, ask, "delete:yes")
        erased = harness.services.catalogs.get("en").gettext(ERASED)
        await api.wait_for(lambda: api.message(4005, ask.message_id)["text"] == erased, timeout=10)
        await wait_until_idle()
        await asyncio.sleep(1.0)
        assert feedback_for(api, 4005, video["message_id"]) == []
        url = settings.database_url
        for model in (User, Video, Job, Assessment):
            assert read_rows(url, model) == [], model.__name__
        assert read_rows(url, Job, col(Job.chat_id) == 4005) == []
        assert files_under(settings.videos_dir) == []
        assert files_under(settings.frames_dir) == []
        assert api.violations == []


async def test_delete_during_download_leaves_no_files(bot_harness: BotHarness, clip_small: Clip) -> None:
    """/delete while the video is still downloading: what the worker fetches afterwards is not kept either."""
    api = bot_harness.api
    settings = bot_harness.settings
    user = api.make_user(4006, "Pat", "en")
    await consent(api, user)
    api.inject("getFile", Slow(3.0), times=1)
    video = api.user_sends_video(user, clip_small.path, duration=4, width=320, height=240)
    await api.wait_for(lambda: api.calls_to("getFile"), timeout=10)
    api.user_sends_command(user, "/delete")
    ask = await api.wait_for_message(4006, lambda m: "delete:yes" in m.callback_data)
    api.user_presses_button(user, ask, "delete:yes")
    erased = bot_harness.services.catalogs.get("en").gettext(ERASED)
    await api.wait_for(lambda: api.message(4006, ask.message_id)["text"] == erased, timeout=10)
    await api.wait_for(lambda: api.downloads, timeout=10)
    await wait_until_idle()
    assert feedback_for(api, 4006, video["message_id"]) == []
    for model in (User, Video, Job, Assessment):
        assert read_rows(settings.database_url, model) == [], model.__name__
    assert files_under(settings.videos_dir) == []
    assert files_under(settings.frames_dir) == []
    assert api.violations == []
