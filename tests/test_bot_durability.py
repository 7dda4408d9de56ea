"""End to end with a real `rehab-bot run` process: SIGKILL while the model works, restart, feedback exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.models import Assessment, Video
from storage.queue import JobState
from tests.fakes.botapi import FakeBotApi
from tests.fixtures.videos import Clip
from tests.helpers.bot_e2e import (
    consent,
    english_stage,
    feedback_for,
    jobs_for_chat,
    make_slow_model,
    read_rows,
    status_shows,
    wait_for_feedback,
)

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 90.0
FEEDBACK_TIMEOUT_S = 120.0
# From starting the new process to the rescued job's feedback: start-up, model load, one analysis (with the
# pose stage). Printed for the record; the bound only catches a restart that waits for something (a lease, a
# backoff). It met 10 s in CI before; on 2026-12-07 this 2-core machine measured 12-16 s, the earlier commit
# 51c5569 included (16 s): the machine, not the code. Timings are the benchmarks' job.
RESTART_TO_FEEDBACK_S = 30.0
# Longer than the restarted process takes to start (4-5 s on a slow 2-core machine), so its rescue is the
# "owner died" check rather than the lease running out; the model call must end before it.
LEASE_S = 15.0
MODEL_TIMEOUT_S = 3.0


class BotProcess:
    """`rehab-bot run` as a subprocess against the fake Bot API; killed (never left running) by the fixture."""

    def __init__(self, api: FakeBotApi, env: dict[str, str], workdir: Path) -> None:
        """Remember how to start it."""
        self.api = api
        self.env = env
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self, **env: str) -> None:
        """Start a fresh process, `env` overriding the configuration (its output goes to a log file per run)."""
        assert self.process is None or self.process.poll() is not None
        self.runs += 1
        log = (self.workdir / f"bot-{self.runs}.log").open("wb")
        executable = Path(sys.executable).with_name("rehab-bot")
        self.process = subprocess.Popen(
            [str(executable), "run"], cwd=self.workdir, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, leases stay taken, the update offset is not confirmed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM and wait (used at the end), then SIGKILL if needed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        """Whether the current process still runs."""
        return self.process is not None and self.process.poll() is None

    def logs(self) -> str:
        """Everything the runs printed (for failure messages)."""
        return "\n".join(
            path.read_text(encoding="utf-8", errors="replace")[-4000:]
            for path in sorted(self.workdir.glob("bot-*.log"))
        )


@pytest.fixture
def bot_process(bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path) -> Iterator[BotProcess]:
    """A bot process configuration (SQLite in tmp_path, one worker slot, slow tiny model); always killed after."""
    data_dir = tmp_path / "data"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "DATABASE_"))}
    env.update(bot_api.bot_env())
    env.update(
        DATA_DIR=str(data_dir),
        MODEL=str(make_slow_model(tiny_model_dir, tmp_path / "slow-model")),
        MODEL_DEVICE="cpu",
        JOB_LEASE_S=str(LEASE_S),
        MODEL_TIMEOUT_S=str(MODEL_TIMEOUT_S),
        MAX_NEW_TOKENS="3000",
        WORKERS="1",
        RUN_WORKERS="true",
        LOG_LEVEL="INFO",
    )
    process = BotProcess(bot_api, env, tmp_path)
    try:
        yield process
    finally:
        process.stop()
        process.kill()


def database_url(process: BotProcess) -> str:
    """The SQLite database the bot process uses (the default under DATA_DIR)."""
    return f"sqlite:///{Path(process.env['DATA_DIR']).resolve() / 'rehab.db'}"


async def kill_while_analysing(api: FakeBotApi, process: BotProcess, user: dict[str, Any], clip: Clip) -> dict:
    """Consent, send a video, SIGKILL the bot once its status shows the model at work; returns the video."""
    process.start()
    await api.wait_for(lambda: api.get_updates_calls or not process.alive(), timeout=START_TIMEOUT_S)
    assert process.alive(), process.logs()
    await consent(api, user)
    video = api.user_sends_video(user, clip.path, duration=4, width=320, height=240)
    analysing = english_stage("analysing")
    await api.wait_for(lambda: status_shows(api, user["id"], analysing) or not process.alive(), timeout=START_TIMEOUT_S)
    process.kill()
    assert feedback_for(api, user["id"], video["message_id"]) == [], "the model finished before the kill"
    [job] = jobs_for_chat(database_url(process), user["id"])
    assert (job.state, job.attempt) == (JobState.RUNNING, 1)
    return video


async def test_killed_mid_analysis_delivers_feedback_once_after_restart(
    bot_api: FakeBotApi, bot_process: BotProcess, clip_small: Clip, tiny_model_dir: Path
) -> None:
    """SIGKILL while analysing, start again: the rescued job delivers the feedback once, replying to the video,
    within RESTART_TO_FEEDBACK_S of the restart.

    The slow model only makes the kill land mid-analysis; the restart runs the ordinary tiny model, so the
    figure is the recovery itself (start-up, rescue, model load, preparation) plus one quick analysis
    rather than the slow model's deliberate seconds of generation.
    """
    api = bot_api
    user = api.make_user(7001, "Pat", "en")
    video = await kill_while_analysing(api, bot_process, user, clip_small)

    restarted = time.monotonic()
    bot_process.start(MODEL=str(tiny_model_dir), MAX_NEW_TOKENS="128")
    feedback = await wait_for_feedback(api, 7001, video["message_id"], timeout=FEEDBACK_TIMEOUT_S)
    recovery_s = time.monotonic() - restarted
    print(f"restart -> first feedback: {recovery_s:.1f} s")
    assert feedback.reply_to_message_id == video["message_id"]
    assert recovery_s <= RESTART_TO_FEEDBACK_S, bot_process.logs()
    url = database_url(bot_process)
    await api.wait_for(lambda: [j.state for j in jobs_for_chat(url, 7001)] == [JobState.DONE], timeout=30)
    done = english_stage("done")
    await api.wait_for(lambda: status_shows(api, 7001, done), timeout=30)
    bot_process.stop()
    [job] = jobs_for_chat(url, 7001)
    # The restarted worker sees the killed process is gone and rescues its job without waiting out the lease.
    assert job.attempt == 2 and job.errors[0]["error"] == "lease owner died"
    [assessment] = read_rows(url, Assessment)
    assert assessment.delivered_message_ids == [feedback.message_id]
    assert len(feedback_for(api, 7001, video["message_id"])) == 1, bot_process.logs()
    assert api.violations == [], bot_process.logs()


async def test_redelivered_update_and_video_sent_while_down(
    bot_api: FakeBotApi, bot_process: BotProcess, clip_small: Clip, clip_no_audio: Clip
) -> None:
    """While the bot is down Telegram re-delivers the killed video's update and a new video arrives: after the
    restart the first video still gets exactly one feedback and one job, and the new one is served too."""
    api = bot_api
    user = api.make_user(7002, "Pat", "en")
    first = await kill_while_analysing(api, bot_process, user, clip_small)
    api.enqueue_update({"message": first})
    second = api.user_sends_video(user, clip_no_audio.path, duration=3, width=320, height=240)

    bot_process.start()
    await wait_for_feedback(api, 7002, first["message_id"], timeout=FEEDBACK_TIMEOUT_S)
    await wait_for_feedback(api, 7002, second["message_id"], timeout=FEEDBACK_TIMEOUT_S)
    url = database_url(bot_process)
    await api.wait_for(
        lambda: [j.state for j in jobs_for_chat(url, 7002)] == [JobState.DONE, JobState.DONE], timeout=30
    )
    bot_process.stop()
    jobs = jobs_for_chat(url, 7002)
    videos = {v.message_id: v.id for v in read_rows(url, Video)}
    assert sorted(videos) == [first["message_id"], second["message_id"]]
    assert [job.video_id for job in jobs] == [videos[first["message_id"]], videos[second["message_id"]]]
    assert len(feedback_for(api, 7002, first["message_id"])) == 1, bot_process.logs()
    assert len(feedback_for(api, 7002, second["message_id"])) == 1, bot_process.logs()
    # The re-delivered first video got no second queued reply; the second video got its own.
    queued = {english_stage("queued", position=position) for position in (1, 2, 3)}
    for video in (first, second):
        replies = [m for m in api.sent_messages(7002) if m.reply_to_message_id == video["message_id"]]
        assert len([m for m in replies if m.params.get("text") in queued]) == 1
    assert api.violations == [], bot_process.logs()
