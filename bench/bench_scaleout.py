"""Scale-out: N real `rehab-bot worker` processes on one PostgreSQL queue; does throughput grow with N?

Run: .venv/bin/python bench/bench_scaleout.py [--counts 1,2,4,8] [--jobs 200] [--latency-s 2.0]
                                              [--slots 2] [--blur-faces 0] [--pose-backend off]
                                              [--database-url URL]

For each N, a fresh PostgreSQL schema, a fresh fake Telegram Bot API (in a separate process) and a
stand-in OpenAI-compatible model server (bench/benchlib_openai_standin.py) that answers valid
assessment JSON after a fixed latency with N requests at once (N GPUs' worth). N `rehab-bot worker`
processes (VLM_BACKEND=openai, WORKERS=--slots each, METRICS_PORT on) start against an empty queue;
once all serve their metrics, `--jobs` consented patients' videos (distinct files of a 4 s 320x240
clip, one video per chat so the per-chat cap holds nobody back) are queued. Each job downloads its
file through the Bot API, probes and samples it with ffmpeg, calls the model over HTTP and sends
its feedback.

Printed per N:
  jobs/s        jobs / (first job running -> all jobs done), polled from the database every 50 ms
  ratio         jobs/s at N / (N x jobs/s at N=1)  (goal >= 0.9)
  ideal         the stand-in's bound, N / latency jobs/s
  claim p50/p99 of one claim statement, from the workers' rehab_queue_claim_seconds histograms
                (interpolated within buckets, as Prometheus' histogram_quantile does)
  cpu/job       CPU time of the worker processes and their ffmpeg children per job (ratios below
                1 at large N on a small box follow from cores x (1 / cpu/job) < N / latency)
  once          every job done at its first attempt, one assessment and one feedback message per video
The last line reads `scale-out: N=8 ratio R`. All processes share this machine's cores, while real
worker machines each bring their own: N x cpu/job must stay well below the cores here for the
figure to measure the queue rather than the box. Face blurring (BLUR_FACES=1) costs about 0.3 CPU-s
per 4 s clip, so it is off by default here; `--blur-faces 1` shows the CPU-bound case. The pose stage
(POSE_BACKEND, mediapipe in the bot) is off here for the same reason (bench_pose.py measures it);
`--pose-backend mediapipe` puts it back.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psutil
from sqlalchemy import create_engine, make_url, text
from sqlmodel import Session, func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib_api import ApiProcess, FakeApi
from bench.botbench import DEFAULT_CACHE, bench_clips
from storage import crud
from storage.db import create_db_engine, migrate
from storage.models import Assessment, Job
from storage.queue import JobQueue, JobState
from tests.helpers.metrics import Samples, free_ports, scrape

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FIRST_USER_ID = 710_000_001
CLIP_SECONDS, CLIP_WIDTH, CLIP_HEIGHT = 4, 320, 240
WIDTHS = (3, 5, 8, 7, 6, 6, 10, 8, 7, 8)


@dataclass
class Run:
    """The figures of one N."""

    workers: int
    jobs: int
    seconds: float
    claim_p50_s: float
    claim_p99_s: float
    claims: int
    cpu_per_job_s: float
    exactly_once: bool
    problems: list[str]

    @property
    def jobs_per_s(self) -> float:
        """Throughput."""
        return self.jobs / self.seconds


def histogram_quantile(samples: list[Samples], name: str, quantile: float) -> float:
    """The quantile of a histogram summed over several endpoints, interpolated within its bucket."""
    buckets: Counter[float] = Counter()
    for endpoint in samples:
        for (sample, labels), value in endpoint.items():
            if sample == f"{name}_bucket":
                buckets[float(dict(labels)["le"])] += value
    bounds = sorted(buckets)
    total = buckets[float("inf")]
    if not total:
        return float("nan")
    rank, lower, below = quantile * total, 0.0, 0.0
    for bound in bounds:
        if buckets[bound] >= rank:
            if bound == float("inf"):
                return lower
            inside = buckets[bound] - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 0.0)
        lower, below = bound, buckets[bound]
    return lower


def schema_url(admin_url: str) -> tuple[str, str]:
    """A new empty schema on the PostgreSQL: (URL whose search_path is it, schema name)."""
    schema = f"bench_scaleout_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin_url)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    url = make_url(admin_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def drop_schema(admin_url: str, schema: str) -> None:
    """Remove a benchmark schema."""
    engine = create_engine(admin_url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def start_standin(latency_s: float, slots: int, port: int) -> subprocess.Popen[str]:
    """The stand-in model server, once it listens."""
    script = Path(__file__).with_name("benchlib_openai_standin.py")
    command = [sys.executable, str(script), "--port", str(port), "--latency-s", str(latency_s), "--slots", str(slots)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    if not process.stdout.readline().startswith("ready"):
        raise RuntimeError("the stand-in model server did not start")
    return process


def start_workers(count: int, *, env: dict[str, str], ports: list[int], log_dir: Path) -> list[subprocess.Popen[bytes]]:
    """`count` `rehab-bot worker` processes, each with its own metrics port."""
    executable = str(Path(sys.executable).with_name("rehab-bot"))
    processes = []
    for index in range(count):
        with (log_dir / f"worker-{index}.log").open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [executable, "worker"],
                    env={**env, "METRICS_PORT": str(ports[index])},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    return processes


def wait_for_metrics(ports: list[int], processes: list[subprocess.Popen[bytes]], timeout_s: float = 180.0) -> None:
    """Until every worker serves its metrics (it has migrated, built its services and starts its pool)."""
    deadline = time.monotonic() + timeout_s
    pending = set(ports)
    while pending:
        if any(process.poll() is not None for process in processes):
            raise RuntimeError("a worker exited during start-up (see its log)")
        if time.monotonic() > deadline:
            raise TimeoutError(f"workers on ports {sorted(pending)} did not start")
        for port in list(pending):
            try:
                scrape(port)
                pending.discard(port)
            except OSError:
                pass
        time.sleep(0.2)


def cpu_seconds(processes: list[subprocess.Popen[bytes]]) -> float:
    """CPU time the worker processes and their finished children (ffmpeg) used so far."""
    total = 0.0
    for process in processes:
        times = psutil.Process(process.pid).cpu_times()
        total += times.user + times.system + times.children_user + times.children_system
    return total


def seed_jobs(api: FakeApi, database_url: str, clips: list[Path]) -> list[tuple[int, int]]:
    """One consented patient per clip sends it; its video and assessment job are queued: (chat, message) ids."""
    engine = create_db_engine(database_url)
    queue = JobQueue(engine, lease_s=45.0)
    videos = []
    for index, clip in enumerate(clips):
        user_id = FIRST_USER_ID + index
        user = api.remote.make_user(user_id, f"Patient{index}", "en")
        message = api.remote.send_video_message(user, str(clip), CLIP_SECONDS, CLIP_WIDTH, CLIP_HEIGHT)
        with Session(engine, expire_on_commit=False) as session:
            row = crud.get_or_create_user(
                session, user_id=user_id, first_name=user["first_name"], username=None, telegram_language="en"
            )
            crud.record_consent(session, user_id=user_id)
            video = message["video"]
            crud.record_video_with_job(
                session,
                user=row,
                chat_id=user_id,
                message_id=message["message_id"],
                source="video",
                file_id=video["file_id"],
                file_unique_id=video["file_unique_id"],
                mime_type=video.get("mime_type"),
                file_name=None,
                declared_size=video.get("file_size"),
                declared_duration=float(video["duration"]),
                caption=None,
                queue=queue,
                awaiting_consent=False,
            )
        videos.append((user_id, int(message["message_id"])))
    engine.dispose()
    return videos


def time_until_done(database_url: str, jobs: int, timeout_s: float) -> float:
    """Seconds from the first job running to all jobs done, polled every 50 ms."""
    engine = create_db_engine(database_url)
    queue = JobQueue(engine, lease_s=45.0)
    first_running: float | None = None
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            counts = queue.counts()
            now = time.monotonic()
            if first_running is None and (counts.get("running") or counts.get("done")):
                first_running = now
            if counts.get("done", 0) + counts.get("dead", 0) >= jobs:
                assert first_running is not None
                return now - first_running
            if now > deadline:
                raise TimeoutError(f"only {counts} after {timeout_s:.0f} s")
            time.sleep(0.05)
    finally:
        engine.dispose()


def check_exactly_once(api: FakeApi, database_url: str, videos: list[tuple[int, int]]) -> list[str]:
    """Problems with exactly-once: jobs not done at attempt 1, assessments or feedback not one per video."""
    problems = []
    engine = create_db_engine(database_url)
    with Session(engine) as session:
        jobs = session.exec(select(Job)).all()
        assessments = session.exec(select(func.count()).select_from(Assessment)).one()
    engine.dispose()
    not_once = [job.id for job in jobs if job.state != JobState.DONE or job.attempt != 1]
    if not_once:
        problems.append(f"{len(not_once)} jobs not done at their first attempt")
    if assessments != len(videos):
        problems.append(f"{assessments} assessments for {len(videos)} videos")
    feedback = Counter((sent.chat_id, sent.reply_to) for sent in api.remote.sent() if sent.parse_mode == "HTML")
    wrong = [video for video in videos if feedback[video] != 1]
    if wrong:
        problems.append(f"{len(wrong)} videos without exactly one feedback message")
    return problems


def run_once(count: int, clips: list[Path], options: argparse.Namespace, api_process: ApiProcess) -> Run:
    """One N: fresh schema, fake Telegram and stand-in; N workers; the jobs; the figures."""
    api = api_process.new_api()
    url, schema = schema_url(options.database_url)
    work = Path(tempfile.mkdtemp(prefix=f"scaleout-{count}-"))
    standin_port, *metric_ports = free_ports(count + 1)
    standin = start_standin(options.latency_s, count, standin_port)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        migrate(url)
        env = {key: value for key, value in os.environ.items() if not key.startswith(("TELEGRAM_", "DATABASE_"))}
        env.update(
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_URL=api.root_url,
            DATABASE_URL=url,
            DATA_DIR=str(work / "data"),
            VLM_BACKEND="openai",
            VLM_API_URL=f"http://127.0.0.1:{standin_port}/v1",
            MODEL="bench/fixed-latency-stand-in",
            WORKERS=str(options.slots),
            LOG_LEVEL="WARNING",
            BLUR_FACES=options.blur_faces,
            POSE_BACKEND=options.pose_backend,
        )
        workers = start_workers(count, env=env, ports=metric_ports, log_dir=work)
        wait_for_metrics(metric_ports, workers)
        cpu_at_start = cpu_seconds(workers)
        videos = seed_jobs(api, url, clips)
        seconds = time_until_done(url, len(videos), timeout_s=60 + 10 * len(videos) * options.latency_s / count)
        cpu_per_job = (cpu_seconds(workers) - cpu_at_start) / len(videos)
        endpoints = [scrape(port) for port in metric_ports]
        problems = check_exactly_once(api, url, videos)
        if any(worker.poll() is not None for worker in workers):
            problems.append("a worker process died")
        claims = int(
            sum(value for e in endpoints for (n, _), value in e.items() if n == "rehab_queue_claim_seconds_count")
        )
        return Run(
            workers=count,
            jobs=len(videos),
            seconds=seconds,
            claim_p50_s=histogram_quantile(endpoints, "rehab_queue_claim_seconds", 0.5),
            claim_p99_s=histogram_quantile(endpoints, "rehab_queue_claim_seconds", 0.99),
            claims=claims,
            cpu_per_job_s=cpu_per_job,
            exactly_once=not problems,
            problems=problems,
        )
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        standin.kill()
        standin.wait()
        api.remote.stop()
        drop_schema(options.database_url, schema)
        shutil.rmtree(work, ignore_errors=True)


def print_table(runs: list[Run], latency_s: float) -> None:
    """The scale-out table and the closing line."""
    base = runs[0].jobs_per_s / runs[0].workers
    print()
    header = ("N", "jobs", "seconds", "jobs/s", "ideal", "ratio", "claim p50", "p99", "claims", "cpu/job")
    print(" ".join(f"{name:>{width}}" for name, width in zip(header, WIDTHS, strict=True)), " once")
    for run in runs:
        ratio = run.jobs_per_s / (run.workers * base)
        cells = (
            str(run.workers),
            str(run.jobs),
            f"{run.seconds:.1f}",
            f"{run.jobs_per_s:.2f}",
            f"{run.workers / latency_s:.2f}",
            f"{ratio:.2f}",
            f"{run.claim_p50_s * 1000:.1f}ms",
            f"{run.claim_p99_s * 1000:.1f}ms",
            str(run.claims),
            f"{run.cpu_per_job_s * 1000:.0f}ms",
        )
        once = "yes" if run.exactly_once else "NO: " + "; ".join(run.problems)
        print(" ".join(f"{cell:>{width}}" for cell, width in zip(cells, WIDTHS, strict=True)), "", once)
    last = runs[-1]
    print(f"scale-out: N={last.workers} ratio {last.jobs_per_s / (last.workers * base):.2f}")


def main() -> None:
    """Parse options, run every N in turn, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,2,4,8", help="worker process counts; the first is the base")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--latency-s", type=float, default=2.0, help="the stand-in model's latency per call")
    parser.add_argument("--slots", type=int, default=2, help="WORKERS of each worker process")
    parser.add_argument(
        "--blur-faces",
        choices=("0", "1"),
        default="0",
        help="BLUR_FACES of the workers (off by default: on a shared small box its CPU, not the queue, bounds N)",
    )
    parser.add_argument(
        "--pose-backend",
        choices=("off", "mediapipe"),
        default="off",
        help="POSE_BACKEND of the workers (off by default, for the reason BLUR_FACES is)",
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("TEST_DATABASE_URL") or DEFAULT_DATABASE_URL, help="PostgreSQL"
    )
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    options = parser.parse_args()
    counts = [int(part) for part in options.counts.split(",")]
    clips = bench_clips(
        options.cache_dir, options.jobs, width=CLIP_WIDTH, height=CLIP_HEIGHT, duration_s=float(CLIP_SECONDS)
    )
    print(
        f"{options.jobs} jobs, stand-in latency {options.latency_s:g} s with N slots, WORKERS={options.slots} "
        f"per process, BLUR_FACES={options.blur_faces}, POSE_BACKEND={options.pose_backend}, "
        f"{os.cpu_count()} CPU cores",
        flush=True,
    )
    api_process = ApiProcess()
    runs = []
    try:
        for count in counts:
            run = run_once(count, clips, options, api_process)
            print(f"N={count}: {run.jobs_per_s:.2f} jobs/s over {run.seconds:.1f} s", flush=True)
            runs.append(run)
    finally:
        api_process.shutdown()
    print_table(runs, options.latency_s)


if __name__ == "__main__":
    main()
