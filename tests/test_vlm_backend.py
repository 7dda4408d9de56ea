"""The transformers backend on the tiny Qwen3-VL: real processor, real `generate`, real timestamps."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from bot.vlm.backend import GenerationRequest, VideoInput
from bot.vlm.transformers_backend import TransformersBackend

MARKER = re.compile(r"<(\d+\.\d) seconds>")


def _video(timestamps: list[float], duration: float, size: tuple[int, int] = (64, 96)) -> VideoInput:
    """Random upright frames with the given times."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (len(timestamps), *size, 3), dtype=np.uint8)
    return VideoInput(frames=frames, timestamps_s=timestamps, duration_s=duration)


def _request(video: VideoInput | None, **overrides: object) -> GenerationRequest:
    """A short greedy request with a video item."""
    content: list[dict[str, str]] = [{"type": "text", "text": "What do you see?"}]
    if video is not None:
        content.insert(0, {"type": "video"})
    options: dict[str, object] = {"max_new_tokens": 16, "timeout_s": 30.0, "do_sample": False}
    options.update(overrides)
    return GenerationRequest(messages=[{"role": "user", "content": content}], video=video, **options)  # type: ignore[arg-type]


def _expected_markers(timestamps: list[float]) -> list[str]:
    """Qwen3-VL's rule: one marker per frame pair, the mean of the pair's times, one decimal."""
    return [f"{(timestamps[i] + timestamps[i + 1]) / 2:.1f}" for i in range(0, len(timestamps), 2)]


@pytest.fixture
async def backend(tiny_model_dir: Path) -> TransformersBackend:
    """The tiny model loaded by the same code path as the real one."""
    model = TransformersBackend(str(tiny_model_dir), device="cpu")
    await model.start()
    yield model
    await model.close()


async def test_sampling_rules_come_from_the_models_processor(backend: TransformersBackend) -> None:
    """The tiny model ships Qwen3-VL-4B's video settings and the backend reads them."""
    spec = backend.sampling
    assert (spec.fps, spec.min_frames, spec.max_frames) == (2.0, 4, 768)
    assert spec.max_pixels == 25_165_824
    assert spec.factor == 32
    assert backend.device == "cpu"


async def test_prompt_markers_match_the_frame_times(backend: TransformersBackend) -> None:
    """Every frame pair gets `<t seconds>` from its real timestamps, in the reference layout."""
    times = [0.25, 1.0, 2.5, 3.0, 4.2, 5.0]
    completion = await backend.complete(_request(_video(times, 5.2)))
    prompt = completion.prompt_text
    assert MARKER.findall(prompt) == _expected_markers(times) == ["0.6", "2.8", "4.6"]
    # Reference form: marker, then one vision block per pair; never a nested vision_start.
    assert prompt.count("<|vision_start|>") == len(times) // 2
    assert "<|vision_start|><|vision_start|>" not in prompt
    for marker in MARKER.finditer(prompt):
        assert prompt[marker.end() :].startswith("<|vision_start|><|video_pad|><|vision_end|>")
    assert completion.prompt_tokens > 0
    assert 0 < completion.completion_tokens <= 16


async def test_window_frames_keep_absolute_times(backend: TransformersBackend) -> None:
    """A window around 0:25 shows 22.x–28.x seconds, not times counted from zero."""
    times = [round(22.0 + i / 6, 3) for i in range(36)]
    completion = await backend.complete(_request(_video(times, 30.0)))
    markers = MARKER.findall(completion.prompt_text)
    assert markers == _expected_markers(times)
    assert markers[0] == "22.1" and markers[-1] == "27.8"


async def test_generation_is_bounded_by_max_new_tokens(backend: TransformersBackend) -> None:
    """No call generates more than it was allowed."""
    completion = await backend.complete(_request(_video([0.0, 0.5, 1.0, 1.5], 2.0), max_new_tokens=128))
    assert completion.completion_tokens <= 128
    assert completion.finish_reason in {"stop", "length"}


async def test_time_limit_stops_generation(backend: TransformersBackend) -> None:
    """A tiny time limit ends generation early and says so."""
    request = _request(_video([0.0, 0.5, 1.0, 1.5], 2.0), max_new_tokens=4000, timeout_s=0.05, do_sample=True)
    completion = await backend.complete(request)
    assert completion.finish_reason == "timeout"
    assert completion.completion_tokens < 4000


async def test_stream_yields_the_same_text_as_complete(backend: TransformersBackend) -> None:
    """Greedy streaming and greedy completion agree."""
    request = _request(_video([0.0, 0.5, 1.0, 1.5], 2.0), max_new_tokens=24)
    whole = await backend.complete(request)
    pieces = [piece async for piece in backend.stream(request)]
    assert "".join(pieces) == whole.text


async def test_model_runs_on_its_own_thread_and_the_loop_stays_free(backend: TransformersBackend) -> None:
    """`generate` runs on the dedicated model thread while the event loop keeps ticking."""
    threads: list[str] = []
    original = backend._model.generate

    def recording_generate(*args: object, **kwargs: object) -> object:
        """Note the thread, then generate."""
        threads.append(threading.current_thread().name)
        return original(*args, **kwargs)

    backend._model.generate = recording_generate
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        """Measure how long the loop goes without running us."""
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    frames = [i / 2 for i in range(16)]
    await backend.complete(_request(_video(frames, 8.0, size=(224, 320)), max_new_tokens=64))
    done.set()
    await tick
    assert threads and all(name.startswith("vlm-model") for name in threads)
    assert max(gaps) < 0.25, f"event loop blocked for {max(gaps):.3f}s"


async def test_text_only_request_works(backend: TransformersBackend) -> None:
    """The JSON repair request carries no video."""
    completion = await backend.complete(_request(None))
    assert "<|vision_start|>" not in completion.prompt_text
    assert completion.prompt_tokens > 0
