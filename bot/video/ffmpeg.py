"""Locate the ffmpeg binary and run it in a subprocess with a hard time limit."""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from bot.video.errors import FFmpegError, FFmpegTimeout

log = logging.getLogger(__name__)

_DRAIN_CHUNK = 1 << 16


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
    """An ffmpeg executable plus the default time limit for each call."""

    binary: str
    timeout_s: float = 120.0

    @classmethod
    def locate(cls, configured: str = "", *, timeout_s: float = 120.0) -> FFmpeg:
        """Pick FFMPEG_BINARY if set, else `ffmpeg` on PATH, else the binary inside imageio-ffmpeg."""
        if configured:
            return cls(configured, timeout_s)
        on_path = shutil.which("ffmpeg")
        if on_path:
            return cls(on_path, timeout_s)
        # Imported lazily: only machines without a system ffmpeg need the wheel's copy.
        import imageio_ffmpeg

        return cls(imageio_ffmpeg.get_ffmpeg_exe(), timeout_s)

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
        try:
            process = subprocess.Popen(
                self.command(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as exc:
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
        return FFmpegResult(process.returncode, stdout, b"".join(stderr_chunks), size)


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
