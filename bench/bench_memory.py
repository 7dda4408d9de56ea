"""Resident memory of the bot process while videos queue up behind a paused model: does it stay flat?

Run: .venv/bin/python bench/bench_memory.py [--checkpoints 50,100,200] [--chats 10]
                                            [--workers 2] [--process] [--process-latency 0.05]

The real Application (handlers, WorkerPool, SQLite queue) polls a fake Telegram Bot API that runs
in a separate process (so its copies of the videos are not counted). Consented patients send
10 s 640x360 clips while the stand-in model is paused: `WORKERS` jobs get downloaded and sampled
and then wait at the model with their frames; every other video must wait as a database row only.

Prints the RSS (psutil) of the bot process before any video, at each checkpoint (all sent videos
recorded and answered "queued", in-flight jobs parked at the model), and the growth per queued
video (target: near zero; only the in-flight jobs hold frames). With --process the model is then
released with a short latency and the RSS is read at each quarter of the queue processed, at its
peak and at the end (slow: every job also waits for its chat's message pace).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib_api import ApiProcess, FakeApi
from bench.botbench import (
    DEFAULT_CACHE,
    FixedLatencyBackend,
    RunningBot,
    bench_clips,
    consent_users,
    start_bot,
    stop_bot,
)
from bot.vlm.backend import GenerationRequest

MB = 1024 * 1024


class FrameCountingBackend(FixedLatencyBackend):
    """The stand-in model, also noting how many bytes of frames each waiting request holds."""

    def __init__(self, latency_s: float) -> None:
        """A fixed-latency stand-in."""
        super().__init__(latency_s)
        self.frame_bytes: list[int] = []

    async def complete(self, request: GenerationRequest) -> Any:
        """Record the request's frame bytes, then behave like the stand-in."""
        self.frame_bytes.append(0 if request.video is None else int(request.video.frames.nbytes))
        return await super().complete(request)


def rss_mb(process: psutil.Process) -> float:
    """Resident set size in MiB after a full garbage collection."""
    gc.collect()
    return process.memory_info().rss / MB


async def settle(process: psutil.Process, seconds: float = 1.0) -> float:
    """Let pending work finish, then the median of a few RSS readings."""
    await asyncio.sleep(seconds)
    readings = []
    for _ in range(5):
        readings.append(rss_mb(process))
        await asyncio.sleep(0.1)
    return statistics.median(readings)


async def queued_count(running: RunningBot) -> int:
    """Jobs waiting in the queue (not running)."""
    from sqlalchemy import text

    def count() -> int:
        """One query."""
        with running.services.engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM jobs WHERE state = 'queued'")).scalar_one())

    return await asyncio.to_thread(count)


async def send_until(
    api: FakeApi, users: list[dict[str, Any]], clips: list[Path], sent: set[tuple[int, int]], target: int
) -> None:
    """Send videos round-robin over the chats until `target` were sent; wait for each "queued" reply."""
    while len(sent) < target:
        user = users[len(sent) % len(users)]
        message_id = await api.call("send_video", user, str(clips[len(sent)]), 10, 640, 360)
        sent.add((user["id"], message_id))

    def is_status(message: Any) -> bool:
        """The handler's reply to a video (its status message)."""
        return (message.chat_id, message.reply_to) in sent and message.parse_mode is None

    await api.wait_sent(is_status, target, timeout_s=60 + target * 0.5, poll_s=0.2)


async def wait_parked(backend: FrameCountingBackend, in_flight: int, timeout_s: float = 60.0) -> None:
    """Wait until `in_flight` jobs are prepared and parked at the paused model."""
    deadline = time.monotonic() + timeout_s
    while backend.waiting_calls < in_flight:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {backend.waiting_calls} of {in_flight} jobs reached the model")
        await asyncio.sleep(0.1)


async def main_async(options: argparse.Namespace) -> None:
    """Queue videos behind a paused model, reading RSS at each checkpoint; then optionally process them."""
    checkpoints = sorted(int(c) for c in options.checkpoints.split(","))
    total = checkpoints[-1]
    clips = bench_clips(options.cache_dir, total)
    process = psutil.Process()
    api_process = ApiProcess()
    api = api_process.new_api()
    data_dir = Path(tempfile.mkdtemp(prefix="rehab-bench-memory-"))
    backend = FrameCountingBackend(options.latency)
    backend.pause()
    running = await start_bot(api, data_dir, backend, workers=options.workers)
    in_flight = min(options.workers, options.chats)
    try:
        users = await consent_users(api, options.chats)
        baseline = await settle(process, 2.0)
        print(
            f"bot process {process.pid} (fake Bot API in process {api_process.pid}); WORKERS={options.workers}, "
            f"{options.chats} chats, model paused",
            flush=True,
        )
        print(f"{'RSS before any video':<40}: {baseline:7.1f} MiB")
        sent: set[tuple[int, int]] = set()
        readings: list[tuple[int, float]] = []
        for checkpoint in checkpoints:
            started = time.monotonic()
            await send_until(api, users, clips, sent, checkpoint)
            await wait_parked(backend, in_flight)
            value = await settle(process)
            queued = await queued_count(running)
            readings.append((checkpoint, value))
            print(
                f"{f'RSS with {checkpoint} videos recorded':<40}: {value:7.1f} MiB  ({queued} queued, "
                f"{backend.waiting_calls} parked at the model; sent in {time.monotonic() - started:.1f} s)",
                flush=True,
            )
        held = sum(backend.frame_bytes[:in_flight]) / MB
        print(
            f"{f'frames held by the {in_flight} parked jobs':<40}: {held:7.1f} MiB (expected: only these hold frames)"
        )
        first_n, first_rss = readings[0]
        last_n, last_rss = readings[-1]
        if last_n > first_n:
            per_video = (last_rss - first_rss) * 1024 / (last_n - first_n)
            print(
                f"{f'growth per queued video ({first_n}->{last_n})':<40}: {per_video:7.1f} KiB/video  "
                "(target: near zero)"
            )
        for (n0, r0), (n1, r1) in itertools.pairwise(readings):
            print(f"{f'  {n0} -> {n1}':<40}: {(r1 - r0) * 1024 / (n1 - n0):7.1f} KiB/video")
        print(
            f"{f'growth 0 -> {last_n} (with in-flight frames)':<40}: "
            f"{(last_rss - baseline) * 1024 / last_n:7.1f} KiB/video, "
            f"{last_rss - baseline:.1f} MiB in all"
        )
        if options.process:
            await process_all(api, running, backend, process, sent, options)
    finally:
        backend.release()
        await stop_bot(running)
        await api.call("stop")
        api_process.shutdown()
        shutil.rmtree(data_dir, ignore_errors=True)


async def process_all(
    api: FakeApi,
    running: RunningBot,
    backend: FrameCountingBackend,
    process: psutil.Process,
    sent: set[tuple[int, int]],
    options: argparse.Namespace,
) -> None:
    """Release the model (short latency) and watch RSS until every video got its feedback."""
    backend.latency_s = options.process_latency
    peak = 0.0
    started = time.monotonic()
    backend.release()

    def is_feedback(message: Any) -> bool:
        """Feedback replies to its video in HTML."""
        return message.parse_mode == "HTML" and (message.chat_id, message.reply_to) in sent

    marks = {round(len(sent) * q) for q in (0.25, 0.5, 0.75)}
    done = 0
    deadline = time.monotonic() + options.process_timeout
    while done < len(sent):
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {done} of {len(sent)} videos processed in {options.process_timeout:.0f} s")
        rss = process.memory_info().rss / MB
        peak = max(peak, rss)
        count = len([m for m in await api.call("sent") if is_feedback(m)])
        for mark in sorted(m for m in marks if done < m <= count):
            print(f"{f'  RSS with {mark} of {len(sent)} processed':<40}: {rss:7.1f} MiB", flush=True)
        done = count
        await asyncio.sleep(0.5)
    after = await settle(process, 2.0)
    print(
        f"processed {len(sent)} videos in {time.monotonic() - started:.1f} s "
        f"(model {options.process_latency * 1000:.0f} ms): RSS peak {peak:.1f} MiB, after {after:.1f} MiB "
        f"({await queued_count(running)} still queued)"
    )


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", default="50,100,200", help="RSS readings after this many videos")
    parser.add_argument("--chats", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.5, help="model latency while paused (irrelevant)")
    parser.add_argument("--process-latency", type=float, default=0.05, help="model latency once released")
    parser.add_argument("--process", action="store_true", help="then process the whole queue, reading RSS")
    parser.add_argument("--process-timeout", type=float, default=900.0, help="seconds allowed for processing")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    options = parser.parse_args()
    asyncio.run(main_async(options))


if __name__ == "__main__":
    main()
