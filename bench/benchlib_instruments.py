"""Event loop and thread pool instruments of the bot benchmarks: is the loop blocked, do `to_thread` calls queue?"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


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
