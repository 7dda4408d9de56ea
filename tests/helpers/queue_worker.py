"""A queue worker run as a separate process by the queue tests.

queue_worker.py URL work WORKER_ID OUT_FILE [LIMIT]
    Print "ready", wait for OUT_FILE.go to exist (so all workers start together), then claim
    and complete jobs until none are left; append "claim <id> <attempt>" and "done <id>"
    lines to OUT_FILE (only for completions the queue accepted).
queue_worker.py URL hang WORKER_ID LEASE_S
    Claim one job, print "claimed <id> <attempt>", then heartbeat forever (until SIGKILL).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from storage.db import create_db_engine
from storage.queue import JobQueue


def work(url: str, worker_id: str, out_file: str, limit: int) -> int:
    engine = create_db_engine(url)
    queue = JobQueue(engine, lease_s=60)
    queue.counts()  # connect before reporting ready
    print("ready", flush=True)
    go = Path(out_file + ".go")
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    with open(out_file, "a", encoding="utf-8") as out:
        while time.monotonic() < deadline:
            claimed = queue.claim(worker_id, limit)
            if not claimed:
                counts = queue.counts()
                if not any(counts.get(state, 0) for state in ("queued", "failed", "running")):
                    return 0
                time.sleep(0.005)
                continue
            for job in claimed:
                out.write(f"claim {job.id} {job.attempt}\n")
                time.sleep(0.005)  # the "work"
                if queue.complete(job):
                    out.write(f"done {job.id}\n")
                out.flush()
    return 2


def hang(url: str, worker_id: str, lease_s: float) -> int:
    engine = create_db_engine(url)
    queue = JobQueue(engine, lease_s=lease_s)
    job = None
    while job is None:
        claimed = queue.claim(worker_id, 1)
        job = claimed[0] if claimed else None
        if job is None:
            time.sleep(0.01)
    print(f"claimed {job.id} {job.attempt}", flush=True)
    while queue.heartbeat(job):
        time.sleep(lease_s / 3)
    return 3


def main(argv: list[str]) -> int:
    url, mode, worker_id = argv[1], argv[2], argv[3]
    if mode == "work":
        return work(url, worker_id, argv[4], int(argv[5]) if len(argv) > 5 else 2)
    if mode == "hang":
        return hang(url, worker_id, float(argv[4]))
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
