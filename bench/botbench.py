"""Shared pieces of the bot benchmarks (not a benchmark itself).

- `FixedLatencyBackend`: a stand-in model of fixed latency that behaves like the in-process
  backend (one call at a time on one dedicated thread) and answers valid assessment JSON.
- `start_fake_api`: the loopback fake Telegram Bot API (tests/fakes) in a *separate process*, so
  the bot process's RSS and event loop are measured alone (Telegram is another machine in real life).
- `start_bot` / `stop_bot`: the real Application (handlers, WorkerPool, SQLite queue) wired to it.
- `bench_clips`: distinct copies of one generated clip (same content, different bytes and sha256).
- `LoopLag`, `InstrumentedExecutor`: is the event loop blocked, do `asyncio.to_thread` calls queue?
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.managers import BaseManager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.video.budget import SamplingSpec
from bot.vlm.backend import Completion, GenerationRequest

DEFAULT_CACHE = Path(tempfile.gettempdir()) / "rehab-bot-bench"

# The job a coroutine (or the thread it hands work to) is running for; set by the benchmarks.
CURRENT_JOB: contextvars.ContextVar[int | None] = contextvars.ContextVar("bench_current_job", default=None)

ASSESSMENT = {
    "exercise": "bodyweight squat",
    "repetitions": 8,
    "observations": [
        {"start": 1.0, "end": 2.5, "kind": "good", "severity": None, "what": "steady depth", "cue": "keep it up"},
        {
            "start": 4.0,
            "end": 5.5,
            "kind": "issue",
            "severity": "medium",
            "what": "knees drift inward on the way up",
            "cue": "push the knees out over the toes",
        },
        {
            "start": 7.0,
            "end": 8.0,
            "kind": "issue",
            "severity": "low",
            "what": "heels lift slightly",
            "cue": "keep the weight on the heels",
        },
    ],
    "summary": "A controlled set. Keep the knees over the toes and the heels down.",
}
ASSESSMENT_TEXT = json.dumps(ASSESSMENT)


# --------------------------------------------------------------------------------------------
# The stand-in model


@dataclass
class ModelCall:
    """One call of the stand-in: when it was asked for, when the model thread took it, when it ended."""

    job_id: int | None
    submitted: float
    started: float = 0.0
    ended: float = 0.0
    frames: int = 0

    @property
    def busy_s(self) -> float:
        """Time the model thread spent on the call."""
        return self.ended - self.started

    @property
    def waited_s(self) -> float:
        """Time the call waited for the model thread."""
        return self.started - self.submitted


class FixedLatencyBackend:
    """A VisionLanguageBackend of fixed latency: one call at a time on one dedicated thread.

    `pause()` makes the model thread block before its next call until `release()` (the memory
    benchmark holds work in the queue with it). Each call's times go to `calls`.
    """

    def __init__(self, latency_s: float, *, sampling: SamplingSpec | None = None, text: str = ASSESSMENT_TEXT) -> None:
        """A stand-in answering `text` after `latency_s` seconds."""
        self.model_id = f"bench/fixed-latency-{latency_s * 1000:.0f}ms"
        self.sampling = sampling or SamplingSpec()
        self.latency_s = latency_s
        self.text = text
        self.calls: list[ModelCall] = []
        self._open = threading.Event()
        self._open.set()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vlm-model")

    def pause(self) -> None:
        """Hold the next calls until `release`."""
        self._open.clear()

    def release(self) -> None:
        """Let held and later calls run."""
        self._open.set()

    @property
    def waiting_calls(self) -> int:
        """Calls submitted but not yet started."""
        return sum(1 for call in self.calls if call.started == 0.0)

    async def start(self) -> None:
        """Nothing to load."""

    def _run(self, call: ModelCall) -> Completion:
        """The model thread: wait for the gate, then hold the thread for the fixed latency."""
        self._open.wait()
        call.started = time.monotonic()
        time.sleep(self.latency_s)
        call.ended = time.monotonic()
        return Completion(
            text=self.text,
            prompt_tokens=1000,
            completion_tokens=200,
            elapsed_s=call.ended - call.started,
            time_to_first_token_s=None,
            finish_reason="stop",
        )

    async def complete(self, request: GenerationRequest) -> Completion:
        """One call on the model thread."""
        frames = 0 if request.video is None else len(request.video.timestamps_s)
        call = ModelCall(job_id=CURRENT_JOB.get(), submitted=time.monotonic(), frames=frames)
        self.calls.append(call)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, call)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        """The whole answer as one piece."""
        completion = await self.complete(request)
        yield completion.text

    async def close(self) -> None:
        """Let a held call finish and stop the thread."""
        self.release()
        self._executor.shutdown(wait=False)


# --------------------------------------------------------------------------------------------
# The fake Bot API in its own process


@dataclass(frozen=True)
class Sent:
    """A message the bot sent, as the benchmarks need it."""

    chat_id: int
    message_id: int
    reply_to: int | None
    parse_mode: str | None
    ts: float
    text: str
    callback_data: tuple[str, ...]


class RemoteApi:
    """Runs inside the API process: a started FakeBotApi and the calls the benchmarks make on it."""

    def __init__(self, spec_path: str) -> None:
        """Start a fresh fake Bot API server."""
        from tests.fakes.botapi import FakeBotApi

        self.api = FakeBotApi(spec_path).start()

    def info(self) -> tuple[str, str]:
        """(root URL, token)."""
        return self.api.root_url, self.api.token

    def make_user(self, user_id: int, name: str, language: str) -> dict[str, Any]:
        """A Telegram user."""
        return self.api.make_user(user_id, name, language)

    def send_command(self, user: dict[str, Any], command: str) -> dict[str, Any]:
        """The user sends /command."""
        return self.api.user_sends_command(user, command)

    def press(self, user: dict[str, Any], message_id: int, data: str) -> None:
        """The user presses a button."""
        self.api.user_presses_button(user, message_id, data)

    def send_video(self, user: dict[str, Any], path: str, duration: int, width: int, height: int) -> int:
        """The user sends a video read from `path` (in this process); returns its message id."""
        sent = self.api.user_sends_video(user, Path(path), duration=duration, width=width, height=height)
        return int(sent["message_id"])

    def sent(self, since: int = 0) -> list[Sent]:
        """Messages the bot sent, from position `since` on."""
        return [
            Sent(
                m.chat_id,
                m.message_id,
                m.reply_to_message_id,
                m.params.get("parse_mode"),
                m.ts,
                m.text[:200],
                tuple(m.callback_data),
            )
            for m in self.api.sent_messages()[since:]
        ]

    def sent_count(self) -> int:
        """How many messages the bot sent."""
        return len(self.api.sent_messages())

    def violations(self) -> list[str]:
        """Requests the fake rejected (400/404)."""
        return [f"{v.method}: {v.description}" for v in self.api.violations]

    def stop(self) -> None:
        """Stop the server."""
        self.api.stop()


class _ApiManager(BaseManager):
    """Hosts RemoteApi objects in a child process."""


_ApiManager.register("RemoteApi", RemoteApi)


def spec_path() -> Path:
    """The Bot API reference the fake validates against."""
    from tests.fixtures.botapi import find_telegram_api_spec

    return find_telegram_api_spec()


@dataclass
class FakeApi:
    """A proxy to a RemoteApi in the API process, with async helpers that never block the bot's loop."""

    remote: Any
    root_url: str
    token: str

    async def call(self, name: str, *args: Any) -> Any:
        """Call a RemoteApi method on a thread (the proxy blocks)."""
        return await asyncio.to_thread(getattr(self.remote, name), *args)

    async def wait_sent(
        self, predicate: Callable[[Sent], bool], count: int = 1, timeout_s: float = 60.0, poll_s: float = 0.05
    ) -> list[Sent]:
        """Wait until `count` sent messages match; returns them."""
        deadline = time.monotonic() + timeout_s
        seen: list[Sent] = []
        while True:
            seen.extend(await self.call("sent", len(seen)))
            matched = [m for m in seen if predicate(m)]
            if len(matched) >= count:
                return matched
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(matched)} of {count} expected messages after {timeout_s:.0f} s")
            await asyncio.sleep(poll_s)


class ApiProcess:
    """The child process hosting fake Bot API servers."""

    def __init__(self) -> None:
        """Start the process (spawned: no threads or sockets of ours are inherited)."""
        self.manager = _ApiManager(ctx=get_context("spawn"))
        self.manager.start()
        self.pid = self.manager._process.pid  # type: ignore[attr-defined]

    def new_api(self) -> FakeApi:
        """A fresh fake Bot API server in the child process."""
        remote = self.manager.RemoteApi(str(spec_path()))  # type: ignore[attr-defined]
        root_url, token = remote.info()
        return FakeApi(remote, root_url, token)

    def shutdown(self) -> None:
        """Stop the child process."""
        self.manager.shutdown()


# --------------------------------------------------------------------------------------------
# The bot under test


@dataclass
class RunningBot:
    """The real Application with its services, started against a fake Bot API."""

    settings: Any
    services: Any
    application: Any


async def start_bot(api: FakeApi, data_dir: Path, backend: Any, **overrides: Any) -> RunningBot:
    """Migrate a fresh SQLite database, build services around `backend`, start polling and the workers."""
    from bot.services import build_services
    from bot.tg.app import build_application, start_application
    from storage.db import migrate
    from tests.fixtures.bot import make_bot_settings

    values: dict[str, Any] = {"max_new_tokens": 1024, "job_lease_s": 45.0}
    values.update(overrides)
    api_ref = SimpleNamespace(token=api.token, root_url=api.root_url)
    settings = make_bot_settings(api_ref, data_dir / "no-model", data_dir, **values)  # type: ignore[arg-type]
    await asyncio.to_thread(migrate, settings.database_url)
    services = build_services(settings, backend=backend)
    application = build_application(settings, services)
    await start_application(application, poll_timeout=10)
    return RunningBot(settings, services, application)


async def stop_bot(bot: RunningBot) -> None:
    """Stop polling and workers, close the backend and the database."""
    from bot.tg.app import stop_application

    await stop_application(bot.application)


async def consent_users(api: FakeApi, count: int, *, first_id: int = 5001) -> list[dict[str, Any]]:
    """`count` English-speaking users who sent /start and pressed the consent button."""
    users = [await api.call("make_user", first_id + n, f"Patient {n}", "en") for n in range(count)]
    for user in users:
        await api.call("send_command", user, "/start")
    for user in users:
        uid = user["id"]
        greeting = (
            await api.wait_sent(lambda m, uid=uid: m.chat_id == uid and any("consent" in c for c in m.callback_data))
        )[0]
        await api.call("press", user, greeting.message_id, next(c for c in greeting.callback_data if "consent" in c))
    for user in users:
        uid = user["id"]
        await api.wait_sent(lambda m, uid=uid: m.chat_id == uid and m.text.startswith("Thank you"))
    return users


# --------------------------------------------------------------------------------------------
# Clips


def bench_clips(
    cache_dir: Path, count: int, *, width: int = 640, height: int = 360, duration_s: float = 10.0
) -> list[Path]:
    """`count` distinct files of one generated clip (remuxed with a different tag: other bytes, same decode cost)."""
    from tests.fixtures.videos import make_clip, run_ffmpeg

    folder = cache_dir / f"clips_{duration_s:g}s_{width}x{height}"
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / "base.mp4"
    if not base.exists():
        print(f"generating {base} (once) ...", flush=True)
        partial = folder / "partial-base.mp4"
        make_clip(partial, width=width, height=height, duration_s=duration_s, audio=True, preset="veryfast")
        partial.rename(base)
    paths = []
    missing = [n for n in range(count) if not (folder / f"clip_{n:03d}.mp4").exists()]
    if missing:
        print(f"making {len(missing)} distinct copies in {folder} (once) ...", flush=True)
    for n in range(count):
        path = folder / f"clip_{n:03d}.mp4"
        if not path.exists():
            partial = folder / f"partial-{path.name}"
            run_ffmpeg(
                "-i", str(base), "-map", "0", "-c", "copy", "-metadata", f"comment=rehab-bench-{n}", str(partial)
            )
            partial.rename(path)
        paths.append(path)
    return paths


# --------------------------------------------------------------------------------------------
# Event loop and thread pool instruments


class LoopLag:
    """Samples how late a 10 ms sleep wakes: lateness is time the event loop was blocked (or busy)."""

    def __init__(self, interval_s: float = 0.01) -> None:
        """Nothing runs until `start`."""
        self.interval_s = interval_s
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start sampling on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        """Sleep, measure the overshoot, repeat."""
        while True:
            started = time.monotonic()
            await asyncio.sleep(self.interval_s)
            self.lags.append(max(0.0, time.monotonic() - started - self.interval_s))

    async def stop(self) -> None:
        """Stop sampling."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def summary(self) -> str:
        """p50/p99/max lateness and the total time spent more than 50 ms late."""
        if not self.lags:
            return "no samples"
        ordered = sorted(self.lags)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        stalls = [lag for lag in ordered if lag > 0.05]
        return (
            f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
            f"max {ordered[-1] * 1000:.0f} ms, "
            f"{len(stalls)} stalls > 50 ms totalling {sum(stalls):.2f} s"
        )


class InstrumentedExecutor(ThreadPoolExecutor):
    """The loop's default executor (what `asyncio.to_thread` uses), recording how long work waits for a thread."""

    def __init__(self, max_workers: int | None = None) -> None:
        """Same size as asyncio's default: min(32, cpus + 4)."""
        ThreadPoolExecutor.__init__(self, max_workers=max_workers, thread_name_prefix="asyncio")
        self.waits: list[float] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Note when the work was queued and when a thread picked it up."""
        queued = time.monotonic()

        def timed() -> Any:
            """Run the work, recording its wait."""
            self.waits.append(time.monotonic() - queued)
            return fn(*args, **kwargs)

        return super().submit(timed)

    def summary(self) -> str:
        """How long to_thread work waited for a free thread."""
        if not self.waits:
            return "no work"
        ordered = sorted(self.waits)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (
            f"{len(ordered)} calls on {self._max_workers} threads; "
            f"wait p50 {statistics.median(ordered) * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms, max {ordered[-1] * 1000:.0f} ms"
        )


def default_pool_size() -> int:
    """asyncio's default executor size on this machine."""
    return min(32, (os.cpu_count() or 1) + 4)


def fmt_s(values: Sequence[float]) -> str:
    """Median (p90, max) of durations in milliseconds."""
    if not values:
        return "-"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"{statistics.median(ordered) * 1000:6.0f} ms (p90 {p90 * 1000:.0f}, max {ordered[-1] * 1000:.0f})"
