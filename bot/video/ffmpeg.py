"""Locate the ffmpeg binary and run it in a subprocess with a hard time limit and an address-space cap."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from bot.video.errors import FFmpegError, FFmpegOutOfMemory, FFmpegTimeout

try:
    import resource
except ImportError:  # Windows: no setrlimit, so the memory cap cannot be applied and is skipped.
    resource = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

_DRAIN_CHUNK = 1 << 16
_MB = 1 << 20
# ffmpeg starts about three threads per core (decoder frame threads, filter and scaler threads) and
# each reserves a whole stack of address space. The cap adds that reservation on top of memory_mb, so
# the same setting means the same heap budget on a 2-core laptop and a 64-core GPU server.
_THREADS_PER_CPU = 3
_FALLBACK_STACK = 8 * _MB
# glibc gives each thread its own 64 MB malloc arena reservation (up to 8 per core), which alone
# passes 2 GB of address space on a 16-core machine; two arenas keep the cap about real memory.
_CAPPED_ENV = {"MALLOC_ARENA_MAX": "2"}
# What a capped ffmpeg prints when an allocation or a thread start fails under RLIMIT_AS.
_OUT_OF_MEMORY_MARKERS = (b"Cannot allocate memory", b"pthread_create() failed")


@dataclass(frozen=True)
class FFmpegResult:
    """What one ffmpeg process produced (`stdout_size` counts bytes even when they went to a buffer)."""

    returncode: int
    stdout: bytes
    stderr: bytes
    stdout_size: int = 0

    @property
    def ok(self) -> bool:
        """True when ffmpeg exited with status 0."""
        return self.returncode == 0

    @property
    def stderr_text(self) -> str:
        """Stderr decoded leniently (ffmpeg may print file names in any encoding)."""
        return self.stderr.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class FFmpeg:
    """An ffmpeg executable plus the default time limit and memory cap (MB, 0 = none) for each call."""

    binary: str
    timeout_s: float = 120.0
    memory_mb: int = 0

    @classmethod
    def locate(cls, configured: str = "", *, timeout_s: float = 120.0, memory_mb: int = 0) -> FFmpeg:
        """Pick FFMPEG_BINARY if set, else `ffmpeg` on PATH, else the binary inside imageio-ffmpeg."""
        if configured:
            return cls(configured, timeout_s, memory_mb)
        on_path = shutil.which("ffmpeg")
        if on_path:
            return cls(on_path, timeout_s, memory_mb)
        # Imported lazily: only machines without a system ffmpeg need the wheel's copy.
        import imageio_ffmpeg

        return cls(imageio_ffmpeg.get_ffmpeg_exe(), timeout_s, memory_mb)

    def address_space_limit(self) -> int | None:
        """Bytes of RLIMIT_AS for each process: memory_mb plus the thread stacks; None when uncapped."""
        if self.memory_mb <= 0 or resource is None:
            return None
        stack = resource.getrlimit(resource.RLIMIT_STACK)[0]
        if stack <= 0 or stack == resource.RLIM_INFINITY:
            stack = _FALLBACK_STACK
        wanted = self.memory_mb * _MB + _THREADS_PER_CPU * _cpu_count() * stack
        # A child cannot raise its hard limit: setrlimit above it would fail before ffmpeg starts.
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        return wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)

    def command(self, args: Sequence[str]) -> list[str]:
        """The full argv: binary, the options every call needs, then `args`."""
        # -nostdin: ffmpeg otherwise reads the terminal for 'q' and can hang or eat input.
        return [self.binary, "-hide_banner", "-nostdin", *args]

    def run(self, args: Sequence[str], *, timeout_s: float | None = None) -> FFmpegResult:
        """Run ffmpeg with `args`, collecting stdout; FFmpegTimeout when it exceeds the limit."""
        return self._execute(args, timeout_s, None)

    def run_into(self, args: Sequence[str], buffer: memoryview, *, timeout_s: float | None = None) -> FFmpegResult:
        """Run ffmpeg reading stdout straight into `buffer` (no copies of large raw video).

        Bytes beyond the buffer are drained and counted in `stdout_size`, so callers can tell a
        short or long output from an exact one.
        """
        return self._execute(args, timeout_s, buffer)

    def _execute(self, args: Sequence[str], timeout_s: float | None, buffer: memoryview | None) -> FFmpegResult:
        """Start ffmpeg, read its output, and kill it at the deadline."""
        limit = self.timeout_s if timeout_s is None else timeout_s
        address_space = self.address_space_limit()
        try:
            process = subprocess.Popen(
                self.command(args),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**os.environ, **_CAPPED_ENV} if address_space else None,
                # A preexec_fn makes Python fork instead of posix_spawn: the price of a limit set before exec.
                preexec_fn=_address_space_cap(address_space) if address_space else None,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise FFmpegError(f"ffmpeg could not be started ({type(exc).__name__})") from None
        expired = threading.Event()

        def expire() -> None:
            """Kill the process at the deadline (reads then see end of file)."""
            expired.set()
            process.kill()

        timer = threading.Timer(limit, expire)
        timer.daemon = True
        stderr_chunks: list[bytes] = []
        assert process.stderr is not None and process.stdout is not None
        stderr_reader = threading.Thread(target=_read_all, args=(process.stderr, stderr_chunks), daemon=True)
        timer.start()
        stderr_reader.start()
        try:
            stdout, size = _read_stdout(process.stdout, buffer)
            process.wait()
        except BaseException:
            # Cancellation or an I/O error: never leave an orphaned decoder behind.
            process.kill()
            process.wait()
            raise
        finally:
            timer.cancel()
            stderr_reader.join()
        if expired.is_set():
            log.warning("ffmpeg killed after %.3g s", limit)
            raise FFmpegTimeout(limit)
        result = FFmpegResult(process.returncode, stdout, b"".join(stderr_chunks), size)
        if address_space and _ran_out_of_memory(result):
            log.warning("ffmpeg failed under its %d MB memory cap (status %d)", self.memory_mb, result.returncode)
            raise FFmpegOutOfMemory(self.memory_mb)
        return result


def _cpu_count() -> int:
    """CPUs this process may run on (what ffmpeg sizes its thread pools by)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _address_space_cap(limit: int) -> Callable[[], None]:
    """A preexec_fn that caps the child's address space before ffmpeg starts."""

    def apply() -> None:
        """Runs in the forked child: only setrlimit, no imports or locks (the parent has threads)."""
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def _ran_out_of_memory(result: FFmpegResult) -> bool:
    """Whether a capped ffmpeg failed for lack of memory: an allocation error, or death by a signal."""
    # An allocation nobody checked (the loader's, or a library's) ends as SIGSEGV rather than an error.
    if result.ok:
        return False
    return result.returncode < 0 or any(marker in result.stderr for marker in _OUT_OF_MEMORY_MARKERS)


def _read_all(stream: IO[bytes], chunks: list[bytes]) -> None:
    """Read a stream to its end into `chunks`, then close it."""
    with stream:
        chunks.append(stream.read())


def _read_stdout(stream: IO[bytes], buffer: memoryview | None) -> tuple[bytes, int]:
    """Read stdout to its end: into `buffer` when given (returning b""), else into bytes."""
    with stream:
        if buffer is None:
            data = stream.read()
            return data, len(data)
        filled = 0
        while filled < len(buffer):
            count = stream.readinto(buffer[filled:])  # type: ignore[attr-defined]
            if not count:
                return b"", filled
            filled += count
        while extra := stream.read(_DRAIN_CHUNK):
            filled += len(extra)
        return b"", filled
