"""Decode a voice message or audio file to what Whisper takes: 16 kHz mono float32 samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.video.ffmpeg import FFmpeg

SAMPLE_RATE = 16_000


class AudioRejected(Exception):
    """The file holds no audio we can decode (the message says which kind of problem, never its content)."""


def decode_audio(ffmpeg: FFmpeg, path: Path, *, max_seconds: float) -> np.ndarray:
    """The first `max_seconds` of the file's first audio stream as 16 kHz mono float32 in [-1, 1]."""
    result = ffmpeg.run(
        [
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-t",
            f"{max_seconds:.3f}",
            "-ac",
            "1",
            "-ar",
            str(SAMPLE_RATE),
            "-f",
            "f32le",
            "-",
        ]
    )
    if not result.ok:
        raise AudioRejected("undecodable")
    # ffmpeg writes whole samples; a truncated tail (killed process) is dropped rather than misread.
    usable = len(result.stdout) - len(result.stdout) % 4
    samples = np.frombuffer(result.stdout[:usable], dtype="<f4").astype(np.float32)
    if not samples.size:
        raise AudioRejected("no_audio")
    return samples
