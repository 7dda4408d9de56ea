"""The model backend protocol: one request in, text out (complete or streamed)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from bot.video.budget import SamplingSpec
from bot.video.frames import processor_metadata


class ModelError(Exception):
    """A model call failed; `transient` says whether retrying may help."""

    transient = True


class ModelOutOfMemory(ModelError):
    """The accelerator ran out of memory; retry with fewer frames."""


class ModelTimeout(ModelError):
    """The call ran past its time limit."""


class ModelUnavailable(ModelError):
    """The model could not be loaded or reached."""


@dataclass(frozen=True)
class VideoInput:
    """Upright RGB frames with the exact time (seconds into the clip) of each one."""

    frames: np.ndarray
    timestamps_s: Sequence[float]
    duration_s: float

    def processor_metadata(self) -> dict[str, Any]:
        """Video metadata for the Qwen3-VL processor that reproduces each frame's real time."""
        height, width = int(self.frames.shape[1]), int(self.frames.shape[2])
        return processor_metadata(self.timestamps_s, self.duration_s, width=width, height=height)

    def without_frames(self, keep: int) -> VideoInput:
        """The same clip with at most `keep` frames (an even number, spread evenly), for OOM retries."""
        total = len(self.timestamps_s)
        keep = max(2, min(total, keep - keep % 2))
        if keep >= total:
            return self
        picks = np.linspace(0, total - 1, keep).round().astype(int)
        return VideoInput(
            frames=self.frames[picks],
            timestamps_s=[self.timestamps_s[i] for i in picks],
            duration_s=self.duration_s,
        )


@dataclass(frozen=True)
class GenerationRequest:
    """One model call: chat messages (Hugging Face format, at most one video item) and limits."""

    messages: list[dict[str, Any]]
    video: VideoInput | None
    max_new_tokens: int
    timeout_s: float
    temperature: float = 0.7
    top_p: float = 0.8
    top_k: int = 20
    repetition_penalty: float = 1.05
    do_sample: bool = True
    seed: int | None = None
    cache_salt: str | None = None


@dataclass(frozen=True)
class Completion:
    """What a model call produced, with its measurements."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    elapsed_s: float
    time_to_first_token_s: float | None
    finish_reason: Literal["stop", "length", "timeout"]
    prompt_text: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class VisionLanguageBackend(Protocol):
    """What the assessment service needs from a model, wherever it runs."""

    model_id: str
    sampling: SamplingSpec

    async def start(self) -> None:
        """Load or connect; called once before the first request."""

    async def complete(self, request: GenerationRequest) -> Completion:
        """Run the request to the end and return the whole text."""

    def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        """Yield text pieces as they are generated."""

    async def close(self) -> None:
        """Release the model or connection."""
