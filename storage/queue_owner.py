"""Lease owner names that say which process holds a lease, so a provably dead one can be rescued early.

An owner is `host:pid:start:random`, `start` being the process start time in centiseconds
(psutil's `create_time`). A lease is rescued before it expires only when its owner ran on this
host and that process is gone: no such pid, a zombie, or a pid reused by a process that started
at another time. Anything unclear (another host, a foreign format, no permission to look) counts
as alive, so a live worker's job is never taken early; its lease still expires as before.
"""

from __future__ import annotations

import os
import socket
import uuid
from functools import cache

import psutil

# Start times are compared with this tolerance: psutil derives them from clock ticks and boot time.
_START_TOLERANCE_CS = 50


def _start_cs(pid: int) -> int | None:
    """Return the start time of a live process in centiseconds; None when it is gone or a zombie."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return round(process.create_time() * 100)
    except psutil.NoSuchProcess:
        return None


@cache
def this_host() -> str:
    """Return this machine's host name as written into lease owners (no colons)."""
    return socket.gethostname().replace(":", "_")


def make_owner_id(pid: int | None = None) -> str:
    """Return a lease owner name for a process (default: this one): host, pid, start time, random part."""
    pid = os.getpid() if pid is None else pid
    start = _start_cs(pid)
    return f"{this_host()}:{pid}:{start if start is not None else 0}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str, host: str | None = None) -> bool:
    """True only when `owner` names a process on this host that provably no longer runs."""
    parts = owner.split(":")
    if len(parts) not in (3, 4) or parts[0] != (host or this_host()) or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    try:
        start = _start_cs(pid)
    except (psutil.AccessDenied, psutil.Error, OSError):
        return False  # cannot tell: treat as alive
    if start is None:
        return True
    if len(parts) == 4 and parts[2].isdigit() and int(parts[2]) > 0:
        # The pid runs, but a process that started at another time is not the lease's owner.
        return abs(start - int(parts[2])) > _START_TOLERANCE_CS
    return False
