"""`rehab-bot run` with RUN_WORKERS=0 and a separate `rehab-bot worker` process sharing the database."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.botapi import FakeBotApi
from tests.fixtures.videos import Clip
from tests.helpers.bot_e2e import consent, feedback_for, wait_for_feedback
from tests.helpers.metrics import Samples, free_ports, scrape, total, value

pytestmark = pytest.mark.slow


@pytest.fixture
def metrics_ports() -> dict[str, int]:
    """The METRICS_PORT of each process."""
    bot, worker = free_ports(2)
    return {"bot": bot, "worker": worker}


@pytest.fixture
def processes(
    bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path, metrics_ports: dict[str, int]
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """The polling bot (no workers) and a worker process, both stopped after the test."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "DATABASE_"))}
    env.update(bot_api.bot_env())
    env.update(DATA_DIR=str(tmp_path / "data"), MODEL=str(tiny_model_dir), MODEL_DEVICE="cpu", MAX_NEW_TOKENS="128")
    executable = str(Path(sys.executable).with_name("rehab-bot"))
    started: dict[str, subprocess.Popen[bytes]] = {}
    try:
        roles = (
            ("bot", "run", {"RUN_WORKERS": "0", "METRICS_PORT": str(metrics_ports["bot"])}),
            ("worker", "worker", {"METRICS_PORT": str(metrics_ports["worker"])}),
        )
        for name, verb, extra in roles:
            log = (tmp_path / f"{name}.log").open("wb")
            started[name] = subprocess.Popen(
                [executable, verb], cwd=tmp_path, env={**env, **extra}, stdout=log, stderr=subprocess.STDOUT
            )
            log.close()
        yield started
    finally:
        for process in started.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


async def scrape_until_done(port: int) -> Samples:
    """The worker's samples once it has recorded one done job (or the last scrape after 30 s)."""
    deadline = asyncio.get_running_loop().time() + 30.0
    while True:
        samples = await asyncio.to_thread(scrape, port)
        recorded = value(samples, "rehab_queue_jobs", state="done") == 1 and (
            value(samples, "rehab_job_attempts_total", kind="assess", outcome="done") == 1
        )
        if recorded or asyncio.get_running_loop().time() > deadline:
            return samples
        await asyncio.sleep(0.2)


async def test_separate_worker_process_serves_the_bots_videos(
    bot_api: FakeBotApi,
    processes: dict[str, subprocess.Popen[bytes]],
    metrics_ports: dict[str, int],
    clip_small: Clip,
    tmp_path: Path,
) -> None:
    """The bot only polls and queues; the worker process downloads, assesses and delivers the feedback."""
    user = bot_api.make_user(3001, "Wen", "en")
    await bot_api.wait_for(lambda: bot_api.get_updates_calls, timeout=90)
    await consent(bot_api, user)
    video = bot_api.user_sends_video(user, clip_small.path, duration=4, width=320, height=240)
    await wait_for_feedback(bot_api, 3001, video["message_id"])
    assert len(feedback_for(bot_api, 3001, video["message_id"])) == 1
    assert all(process.poll() is None for process in processes.values())
    bot_log = (tmp_path / "bot.log").read_text(errors="replace")
    worker_log = (tmp_path / "worker.log").read_text(errors="replace")
    assert "worker pool" not in bot_log and "worker pool" in worker_log
    assert bot_api.token not in bot_log + worker_log
    # Both processes serve metrics; the queue depth is the shared queue's, the attempts each process's own.
    # The job is marked done just after the feedback goes out, so wait for the worker to record it.
    worker_metrics = await scrape_until_done(metrics_ports["worker"])
    bot_metrics = await asyncio.to_thread(scrape, metrics_ports["bot"])
    for samples in (bot_metrics, worker_metrics):
        assert value(samples, "rehab_queue_jobs", state="done") == 1
    assert value(worker_metrics, "rehab_job_attempts_total", kind="assess", outcome="done") == 1
    assert total(bot_metrics, "rehab_job_attempts_total") == 0
