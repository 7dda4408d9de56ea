"""Queue and worker overhead around a fixed-latency model: is the GPU stage kept busy? (DESIGN 5, 13)

Run: .venv/bin/python bench/bench_worker.py [--workers 1,2,3,4] [--videos-per-chat 5] [--chats 10]
                                            [--latency 0.5] [--rounds 1] [--pace project,0] [--verbose]

For each WORKERS value, a fresh bot: the real Application (handlers, WorkerPool, jobs, SQLite
queue) polling a fake Telegram Bot API that runs in a separate process; a stand-in model of fixed
latency that, like the in-process backend, runs one call at a time on one dedicated thread and
answers valid assessment JSON. Consented patients in `--chats` chats each send
`--videos-per-chat` 10 s 640x360 H.264 clips at once; the bot downloads each through the Bot API,
probes and samples it with ffmpeg (writing its frame pack), calls the model, and replies.

Measured per configuration (configurations alternate between rounds; medians over rounds):
  makespan        first enqueue -> last feedback received by the fake Telegram
  model busy      sum of the stand-in's call durations; busy fraction = busy / makespan (target >= 90 %)
  ratio           makespan / (videos x latency)  (ideal 1.0)
  preparation     per job: download + probe + sample
  overhead        per job: wall time (claim -> complete) minus its model call
and where the model's idle time went: before the first call, between calls, after the last one;
event loop lateness; how long `asyncio.to_thread` work waited for a thread; idle waits of slots;
how long each job waited for its chat's next send slot (StatusEditor's per-chat pace). `--pace`
re-runs the configurations with that pace overridden (a diagnostic: Telegram itself limits a chat
to about one message a second), to show what the pace costs side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib_api import ApiProcess
from bench.benchlib_instruments import InstrumentedExecutor, LoopLag, default_pool_size, fmt_s
from bench.benchlib_probe import JobTimes, Probe, instrument
from bench.botbench import (
    DEFAULT_CACHE,
    FixedLatencyBackend,
    bench_clips,
    consent_users,
    start_bot,
    stop_bot,
)
from bot.tg.app import WORKERS_KEY
from bot.tg.worker import IDLE_POLL_S


@dataclass
class Result:
    """The figures of one configuration."""

    workers: int
    videos: int
    makespan_s: float
    busy_s: float
    startup_s: float
    gaps_s: float
    tail_s: float
    prep_s: list[float]
    download_s: list[float]
    sample_s: list[float]
    overhead_s: list[float]
    wall_s: list[float]
    model_wait_s: list[float]
    post_s: list[float]
    pace_s: list[float]
    idle_waits: int
    idle_timeouts: int
    idle_missed_s: float
    idle_detail: list[str]
    lag: str
    pool: str
    db: str
    label: str = ""

    @property
    def busy_fraction(self) -> float:
        """Share of the makespan the model was working."""
        return self.busy_s / self.makespan_s


async def run_config(
    api_process: ApiProcess,
    clips: list[Path],
    workers: int,
    pace: float | None,
    options: argparse.Namespace,
    *,
    settings: dict[str, Any] | None = None,
    per_video_s: float = 10.0,
    arrival: str = "by-chat",
) -> Result:
    """One fresh bot with `workers` slots (if given: pace, settings); send every clip; wait for every feedback."""
    loop = asyncio.get_running_loop()
    executor = InstrumentedExecutor(default_pool_size())
    loop.set_default_executor(executor)
    api = api_process.new_api()
    data_dir = Path(tempfile.mkdtemp(prefix=f"rehab-bench-worker-{workers}-"))
    backend = FixedLatencyBackend(options.latency)
    running = await start_bot(api, data_dir, backend, **{**(settings or {}), "workers": workers})
    if pace is not None:
        pool = running.application.bot_data.get(WORKERS_KEY)
        if pool is None or not hasattr(pool.status, "_interval"):
            raise SystemExit("--pace: this StatusEditor has no _interval to override")
        pool.status._interval = pace
        pool.status._send_interval = min(pace, pool.status._send_interval)
    patches: list[tuple[Any, str, Any]] = []
    lag = LoopLag()
    try:
        users = await consent_users(api, options.chats)
        probe = Probe()
        patches = instrument(running, probe)
        await asyncio.sleep(0.5)
        executor.waits.clear()
        lag.start()
        videos: set[tuple[int, int]] = set()
        clip_iter = iter(clips)
        for user in arrival_order(users, options.videos_per_chat, arrival):
            message_id = await api.call("send_video", user, str(next(clip_iter)), 10, 640, 360)
            videos.add((user["id"], message_id))
        total = len(videos)

        def is_feedback(message: Any) -> bool:
            """Feedback replies to its video in HTML."""
            return message.parse_mode == "HTML" and (message.chat_id, message.reply_to) in videos

        timeout_s = 60 + total * (options.latency + per_video_s)
        feedback = await api.wait_sent(is_feedback, total, timeout_s=timeout_s, poll_s=0.2)
        deadline = time.monotonic() + 30
        while sum(1 for j in probe.jobs.values() if j.completed) < total and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        await lag.stop()
        violations = await api.call("violations")
        if violations:
            print(f"  fake Bot API rejected requests: {violations[:3]}")
    finally:
        await lag.stop()
        for owner, name, original in patches:
            setattr(owner, name, original)
        await stop_bot(running)
        await api.call("stop")
        executor.shutdown(wait=False)
        shutil.rmtree(data_dir, ignore_errors=True)

    result = summarize(workers, options.latency, probe, backend, feedback, lag, executor)
    result.label = f"{workers}" if pace is None else f"{workers} pace={pace:g}s"
    return result


def arrival_order(users: list[dict[str, Any]], per_chat: int, arrival: str) -> list[dict[str, Any]]:
    """Who sends each video: every chat's videos in turn ("by-chat"), or one from each chat per round."""
    if arrival == "interleaved":
        return [user for _ in range(per_chat) for user in users]
    return [user for user in users for _ in range(per_chat)]


def summarize(
    workers: int,
    latency: float,
    probe: Probe,
    backend: FixedLatencyBackend,
    feedback: list[Any],
    lag: LoopLag,
    executor: InstrumentedExecutor,
) -> Result:
    """Turn the recorded timestamps into the figures."""
    first_enqueue = min(probe.enqueued)
    last_feedback = max(m.ts for m in feedback)
    calls = sorted((c for c in backend.calls if c.ended), key=lambda c: c.started)
    busy = sum(c.busy_s for c in calls)
    by_job: dict[int | None, list[Any]] = defaultdict(list)
    for call in calls:
        by_job[call.job_id].append(call)
    jobs = {jid: t for jid, t in probe.jobs.items() if t.claimed and t.completed}
    overhead, wall, post, waits = [], [], [], []
    for jid, times in jobs.items():
        model = sum(c.busy_s for c in by_job.get(jid, []))
        wall.append(times.completed - times.claimed)
        overhead.append(times.completed - times.claimed - model)
        if by_job.get(jid):
            post.append(times.completed - by_job[jid][-1].ended)
            waits.append(sum(c.waited_s for c in by_job[jid]))
    idle_in_run = [(s, e) for s, e in probe.idle_waits if first_enqueue <= s <= last_feedback]
    return Result(
        workers=workers,
        videos=len(feedback),
        makespan_s=last_feedback - first_enqueue,
        busy_s=busy,
        startup_s=calls[0].started - first_enqueue,
        gaps_s=(calls[-1].ended - calls[0].started) - busy,
        tail_s=last_feedback - calls[-1].ended,
        prep_s=[t.download_s + t.prepare_s for t in jobs.values()],
        download_s=[t.download_s for t in jobs.values()],
        sample_s=[t.prepare_s for t in jobs.values()],
        overhead_s=overhead,
        wall_s=wall,
        model_wait_s=waits,
        post_s=post,
        pace_s=[t.pace_s for t in jobs.values()],
        idle_waits=len(idle_in_run),
        idle_timeouts=sum(1 for s, e in idle_in_run if e - s >= IDLE_POLL_S * 0.95),
        idle_missed_s=sum(missed_claim_time(jobs, s, e) for s, e in idle_in_run),
        idle_detail=[
            f"at {s - first_enqueue:5.2f} s for {e - s:4.2f} s, missed {missed_claim_time(jobs, s, e):4.2f} s"
            for s, e in idle_in_run
        ],
        lag=lag.summary(),
        pool=executor.summary(),
        db=fmt_s(probe.db_s),
    )


def claimable_until(jobs: dict[int, JobTimes], at: float, until: float) -> bool:
    """Whether at `at` some chat without a running job (per-chat cap 1) had waiting jobs none of which
    was claimed before `until`: a slot sleeping over [at, until] then missed work it could have done."""
    running = {t.chat_id for t in jobs.values() if t.claimed <= at < t.completed}
    waiting: dict[int, list[float]] = defaultdict(list)
    for t in jobs.values():
        if t.enqueued <= at < t.claimed and t.chat_id not in running:
            waiting[t.chat_id].append(t.claimed)
    return any(min(claims) >= until for claims in waiting.values())


def missed_claim_time(jobs: dict[int, JobTimes], start: float, end: float) -> float:
    """How long a slot slept in [start, end] although a job it could have claimed stayed waiting."""
    moments = [start, *sorted(t.completed for t in jobs.values() if start < t.completed < end)]
    for moment in moments:
        if claimable_until(jobs, moment + 1e-6, end):
            return end - moment
    return 0.0


def print_result(result: Result, latency: float, *, verbose: bool = False) -> None:
    """The detail lines of one configuration."""
    ideal = result.videos * latency
    print(
        f"WORKERS={result.label}: makespan {result.makespan_s:.1f} s, model busy {result.busy_s:.1f} s "
        f"({result.busy_fraction:.1%}), ratio to {result.videos} x {latency * 1000:.0f} ms = "
        f"{result.makespan_s / ideal:.2f}",
        flush=True,
    )
    print(
        f"  model idle: before first call {result.startup_s:.2f} s, between calls {result.gaps_s:.2f} s, "
        f"after last call {result.tail_s:.2f} s"
    )
    print(f"  preparation (download+probe+sample): {fmt_s(result.prep_s)}")
    print(f"    download                          : {fmt_s(result.download_s)}")
    print(f"    probe+sample (prepare_video)      : {fmt_s(result.sample_s)}")
    print(f"  job wall (claim -> complete)        : {fmt_s(result.wall_s)}")
    print(f"  overhead (wall - model call)        : {fmt_s(result.overhead_s)}")
    print(f"    of which waiting for model thread : {fmt_s(result.model_wait_s)}")
    print(f"    after the model (deliver + finish): {fmt_s(result.post_s)}")
    print(f"    waiting for the chat's send slot  : {fmt_s(result.pace_s)}  (StatusEditor.sending, per job)")
    print(
        f"  slot idle waits: {result.idle_waits} ({result.idle_timeouts} ended by the {IDLE_POLL_S:.0f} s poll); "
        f"slept {result.idle_missed_s:.2f} s while a job was claimable"
    )
    if verbose:
        for line in result.idle_detail:
            print(f"    idle wait {line}")
    print(f"  services.db calls                   : {result.db}")
    print(f"  event loop lateness                 : {result.lag}")
    print(f"  to_thread pool                      : {result.pool}")


def print_table(results: dict[str, list[Result]], latency: float) -> None:
    """Medians per WORKERS value, side by side."""
    print()
    rounds = max(len(r) for r in results.values())
    print(f"summary (median over {rounds} round(s); model latency {latency * 1000:.0f} ms)")
    header = (
        f"{'WORKERS':>14} | {'makespan':>9} | {'ratio':>5} | {'busy':>6} | {'prep p50':>8} | "
        f"{'overhead p50':>12} | {'after-model p50':>15} | {'idle gaps':>9} | target"
    )
    print(header)
    print("-" * len(header))
    for label, rs in results.items():
        makespan = statistics.median(r.makespan_s for r in rs)
        busy = statistics.median(r.busy_fraction for r in rs)
        ratio = statistics.median(r.makespan_s / (r.videos * latency) for r in rs)
        prep = statistics.median(statistics.median(r.prep_s) for r in rs)
        over = statistics.median(statistics.median(r.overhead_s) for r in rs)
        post = statistics.median(statistics.median(r.post_s) for r in rs)
        gaps = statistics.median(r.gaps_s for r in rs)
        print(
            f"{label:>14} | {makespan:>7.1f} s | {ratio:>5.2f} | {busy:>6.1%} | {prep * 1000:>5.0f} ms | "
            f"{over * 1000:>9.0f} ms | {post * 1000:>12.0f} ms | {gaps:>7.1f} s | {'met' if busy >= 0.9 else 'missed'}"
        )
    reaching = [label for label, rs in results.items() if statistics.median(r.busy_fraction for r in rs) >= 0.9]
    if reaching:
        print(f"first configuration reaching >= 90 % model busy here: WORKERS={reaching[0]}")
    else:
        print("no WORKERS value reached >= 90 % model busy here")


async def main_async(options: argparse.Namespace) -> None:
    """Alternate the configurations over the rounds; print each and the summary."""
    total = options.chats * options.videos_per_chat
    clips = bench_clips(options.cache_dir, total)
    paces = [None if p == "project" else float(p) for p in options.pace.split(",")]
    configs = [(int(w), pace) for pace in paces for w in options.workers.split(",")]
    api_process = ApiProcess()
    results: dict[str, list[Result]] = {}
    print(
        f"{total} videos (10 s, 640x360, H.264+AAC, {clips[0].stat().st_size / 1e3:.0f} kB) "
        f"from {options.chats} chats; "
        f"model {options.latency * 1000:.0f} ms fixed, one call at a time; fake Bot API in process {api_process.pid}",
        flush=True,
    )
    try:
        for round_number in range(options.rounds):
            order = configs if round_number % 2 == 0 else list(reversed(configs))
            for workers, pace in order:
                shown = "" if pace is None else f", per-chat pace {pace:g} s"
                print(f"\nround {round_number + 1}/{options.rounds}, WORKERS={workers}{shown} ...", flush=True)
                result = await run_config(api_process, clips, workers, pace, options)
                results.setdefault(result.label, []).append(result)
                print_result(result, options.latency, verbose=options.verbose)
    finally:
        with contextlib.suppress(Exception):
            api_process.shutdown()
    print_table(results, options.latency)


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,3,4", help="comma-separated WORKERS values")
    parser.add_argument("--chats", type=int, default=10)
    parser.add_argument("--videos-per-chat", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.5, help="model call latency in seconds")
    parser.add_argument("--rounds", type=int, default=1, help="rounds over all WORKERS values (order alternates)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument(
        "--pace",
        default="project",
        help="diagnostic: comma-separated per-chat pace of StatusEditor in seconds, 'project' = unchanged "
        "(e.g. 'project,0' runs every WORKERS value both ways)",
    )
    parser.add_argument("--verbose", action="store_true", help="list every idle wait of the slots")
    options = parser.parse_args()
    asyncio.run(main_async(options))


if __name__ == "__main__":
    main()
