"""Shared pieces of the bot benchmarks (not a benchmark itself).

- `FixedLatencyBackend`: a stand-in model of fixed latency that behaves like the in-process
  backend (one call at a time on one dedicated thread) and answers valid assessment JSON.
- `start_bot` / `stop_bot`: the real Application (handlers, WorkerPool, SQLite queue) wired to a fake Bot API.
- `bench_clips`: distinct copies of one generated clip (same content, different bytes and sha256).

Elsewhere in bench/: the fake Bot API in a *separate process* (`ApiProcess`, `FakeApi`) in benchlib_api.py,
so the bot process's RSS and event loop are measured alone; `LoopLag`, `InstrumentedExecutor` (is the event
loop blocked, do `asyncio.to_thread` calls queue?) in benchlib_instruments.py.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib_api import FakeApi
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
