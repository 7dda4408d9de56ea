"""The Prometheus endpoint, scraped while the real bot serves a video whose first feedback send fails."""

from __future__ import annotations

import asyncio
import urllib.error
from pathlib import Path

import pytest

from storage.queue import JobState
from tests.fakes.botapi import FakeBotApi
from tests.fakes.botapi_faults import ServerError
from tests.fixtures.bot import make_bot_settings
from tests.fixtures.videos import Clip
from tests.helpers.bot_e2e import consent, jobs_for_chat, running_bot, wait_for_feedback, wait_until_idle
from tests.helpers.metrics import free_port, scrape, total, value


async def test_metrics_show_queue_depth_stage_times_retries_and_delivery_failures(
    bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path, clip_small: Clip
) -> None:
    """Queue depth by state, stage and model times, a retry and a delivery failure, then the port closes."""
    port = free_port()
    settings = make_bot_settings(bot_api, tiny_model_dir, tmp_path / "data", metrics_port=port, retry_backoff_s=0.2)
    async with running_bot(bot_api, settings):
        idle = await asyncio.to_thread(scrape, port)
        assert {state.value: value(idle, "rehab_queue_jobs", state=state.value) for state in JobState} == dict.fromkeys(
            [state.value for state in JobState], 0.0
        )
        user = bot_api.make_user(6101, "Pat", "en")
        await consent(bot_api, user)
        video = bot_api.user_sends_video(user, clip_small.path, duration=4, width=320, height=240)
        await bot_api.wait_for_message(6101, lambda m: m.reply_to_message_id == video["message_id"])
        # The next message to this chat is the feedback: its first send fails with a 500, the retry delivers.
        bot_api.inject("sendMessage", ServerError(500), times=1, chat_id=6101)
        await wait_for_feedback(bot_api, 6101, video["message_id"])
        url = settings.database_url
        await bot_api.wait_for(lambda: [job.state for job in jobs_for_chat(url, 6101)] == [JobState.DONE], timeout=30)
        await wait_until_idle()
        samples = await asyncio.to_thread(scrape, port)
    assert value(samples, "rehab_queue_jobs", state="done") == 1
    assert value(samples, "rehab_queue_jobs", state="queued") == 0
    assert value(samples, "rehab_job_attempts_total", kind="assess", outcome="failed") == 1
    assert value(samples, "rehab_job_attempts_total", kind="assess", outcome="done") == 1
    assert value(samples, "rehab_job_retries_total", reason="telegram") == 1
    assert total(samples, "rehab_delivery_failures_total") == 1
    assert value(samples, "rehab_jobs_dead_total") == 0
    for stage in ("downloading", "preparing", "analysing"):
        assert (value(samples, "rehab_job_stage_seconds_count", kind="assess", stage=stage) or 0) >= 1, stage
    # The retry reuses the stored assessment: only the first attempt called the model.
    assert (value(samples, "rehab_model_call_seconds_count", kind="assess") or 0) >= 1
    assert (value(samples, "rehab_model_call_seconds_sum", kind="assess") or 0) > 0
    with pytest.raises(urllib.error.URLError):
        scrape(port)
