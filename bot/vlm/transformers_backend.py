"""Qwen3-VL in process through transformers: CPU pre/post-processing, inference on one model thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bot.video.budget import SamplingSpec
from bot.vlm.backend import (
    Completion,
    GenerationRequest,
    ModelError,
    ModelOutOfMemory,
    ModelTimeout,
    ModelUnavailable,
)

logger = logging.getLogger(__name__)

_WRAPPED_VIDEO = "<|vision_start|><|video_pad|><|vision_end|>"
_VIDEO_PAD_RUN = re.compile(r"(?:<\|video_pad\|>)+")
# A call may overrun its generation time limit by the prefill and one decoding step.
_TIMEOUT_GRACE_S = 10.0


@dataclass
class PreparedInputs:
    """Tensors ready for `generate`, built on the CPU outside the model thread."""

    inputs: Any
    prompt_tokens: int
    prompt_text: str


def _is_out_of_memory(error: BaseException) -> bool:
    """True for CUDA and CPU allocation failures."""
    import torch

    if isinstance(error, torch.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and (
        "out of memory" in str(error).lower() or "can't allocate memory" in str(error).lower()
    )


class _QueueStreamer:
    """A transformers streamer that hands decoded text pieces to an asyncio queue."""

    def __init__(self, tokenizer: Any, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any]) -> None:
        """Remember where to send text."""
        self._tokenizer = tokenizer
        self._loop = loop
        self._queue = queue
        self._ids: list[int] = []
        self._sent = 0
        self._prompt_seen = False
        self.first_token_at: float | None = None

    def put(self, value: Any) -> None:
        """Receive new token ids from `generate` (the first call carries the prompt)."""
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self._ids.extend(int(token) for token in value.reshape(-1).tolist())
        text = self._tokenizer.decode(self._ids, skip_special_tokens=True)
        # Hold back an incomplete multi-byte character until the next token completes it.
        if text.endswith("\ufffd"):
            return
        if len(text) > self._sent:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, text[self._sent :])
            self._sent = len(text)

    def end(self) -> None:
        """Generation finished."""


class TransformersBackend:
    """Qwen3-VL (or the tiny offline model) loaded once with `from_pretrained`."""

    def __init__(self, model: str, *, device: str = "auto", sampling_overrides: dict[str, Any] | None = None) -> None:
        """Configure; nothing is loaded until `start`."""
        self.model_id = model
        self._device_setting = device
        self._overrides = sampling_overrides or {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vlm-model")
        self._processor: Any = None
        self._model: Any = None
        self._device = "cpu"
        self._load_lock = asyncio.Lock()
        self.sampling = SamplingSpec()

    @property
    def device(self) -> str:
        """Where the model runs (`cuda`, `cpu`)."""
        return self._device

    async def start(self) -> None:
        """Load processor and model on the model thread (once)."""
        async with self._load_lock:
            if self._model is not None:
                return
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(self._executor, self._load)
            except (OSError, ValueError, ImportError) as error:
                raise ModelUnavailable(type(error).__name__) from error

    def _load(self) -> None:
        """Blocking load; runs on the model thread."""
        import torch
        from transformers import AutoProcessor, Qwen3VLForConditionalGeneration

        device = self._device_setting
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        on_gpu = device.startswith("cuda")
        dtype = torch.bfloat16 if on_gpu and torch.cuda.is_bf16_supported() else torch.float32
        processor = AutoProcessor.from_pretrained(self.model_id)
        model = Qwen3VLForConditionalGeneration.from_pretrained(self.model_id, dtype=dtype, attn_implementation="sdpa")
        self._model = model.to(device).eval()
        self._processor = processor
        self._device = device
        video_config = processor.video_processor.to_dict()
        self.sampling = SamplingSpec.from_processor_config(video_config).with_overrides(**self._overrides)
        logger.info("model loaded on %s (%s)", device, str(dtype).removeprefix("torch."))

    def render_prompt(self, request: GenerationRequest) -> str:
        """The chat-templated prompt, with the video placeholder in Qwen3-VL's reference form."""
        text = self._processor.apply_chat_template(request.messages, add_generation_prompt=True, tokenize=False)
        # The template wraps the video in vision_start/end and transformers 5 wraps every frame again;
        # the reference rendering is `<t seconds><|vision_start|>…<|vision_end|>` per frame pair.
        return text.replace(_WRAPPED_VIDEO, "<|video_pad|>")

    def preprocess(self, request: GenerationRequest) -> PreparedInputs:
        """Template, tokenize and patchify on the CPU (thread-safe, outside the model thread)."""
        if self._processor is None:
            raise ModelUnavailable("model not started")
        text = self.render_prompt(request)
        kwargs: dict[str, Any] = {"text": [text], "return_tensors": "pt"}
        if request.video is not None:
            kwargs["videos"] = [request.video.frames]
            kwargs["videos_kwargs"] = {
                "video_metadata": [request.video.processor_metadata()],
                "do_sample_frames": False,
                "cap_pixels_per_frame": self.sampling.cap_pixels_per_frame,
            }
            if self._device.startswith("cuda"):
                # Normalising and patchifying tens of frames is far cheaper on the GPU than on a few CPU cores.
                kwargs["videos_kwargs"]["device"] = self._device
        inputs = self._processor(**kwargs)
        input_ids = inputs["input_ids"][0]
        decoded = self._processor.tokenizer.decode(input_ids, skip_special_tokens=False)
        return PreparedInputs(
            inputs=inputs,
            prompt_tokens=int(input_ids.shape[0]),
            prompt_text=_VIDEO_PAD_RUN.sub("<|video_pad|>", decoded),
        )

    def _generate(self, prepared: PreparedInputs, request: GenerationRequest, streamer: Any = None) -> Completion:
        """Blocking generation; runs on the model thread only."""
        import torch

        started = time.perf_counter()
        if request.seed is not None:
            torch.manual_seed(request.seed)
        inputs = prepared.inputs.to(self._device)
        sampling: dict[str, Any] = {"do_sample": request.do_sample}
        if request.do_sample:
            sampling.update(
                temperature=request.temperature,
                top_p=request.top_p,
                top_k=request.top_k,
                repetition_penalty=request.repetition_penalty,
            )
        first_token = _FirstTokenClock() if streamer is None else None
        try:
            with torch.inference_mode():
                output = self._model.generate(
                    **inputs,
                    max_new_tokens=request.max_new_tokens,
                    max_time=request.timeout_s,
                    streamer=streamer or first_token,
                    **sampling,
                )
        except Exception as error:
            if _is_out_of_memory(error):
                if self._device.startswith("cuda"):
                    torch.cuda.empty_cache()
                raise ModelOutOfMemory(type(error).__name__) from error
            raise ModelError(type(error).__name__) from error
        new_tokens = output[0, prepared.prompt_tokens :]
        elapsed = time.perf_counter() - started
        text = self._processor.tokenizer.decode(new_tokens, skip_special_tokens=True)
        count = int(new_tokens.shape[0])
        eos_ids = self._model.generation_config.eos_token_id
        eos_ids = set(eos_ids if isinstance(eos_ids, list) else [eos_ids])
        if count and int(new_tokens[-1]) in eos_ids:
            finish = "stop"
        elif count >= request.max_new_tokens:
            finish = "length"
        else:
            finish = "timeout" if elapsed >= request.timeout_s else "stop"
        first_at = (streamer or first_token).first_token_at
        return Completion(
            text=text,
            prompt_tokens=prepared.prompt_tokens,
            completion_tokens=count,
            elapsed_s=elapsed,
            time_to_first_token_s=None if first_at is None else first_at - started,
            finish_reason=finish,
            prompt_text=prepared.prompt_text,
            extra={"device": self._device},
        )

    async def complete(self, request: GenerationRequest) -> Completion:
        """Preprocess on a CPU thread, then generate on the model thread within the time limit."""
        await self.start()
        prepared = await asyncio.to_thread(self.preprocess, request)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._generate, prepared, request)
        try:
            return await asyncio.wait_for(future, request.timeout_s + _TIMEOUT_GRACE_S)
        except TimeoutError as error:
            raise ModelTimeout("generation exceeded its time limit") from error

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        """Yield decoded text pieces while the model thread generates."""
        await self.start()
        prepared = await asyncio.to_thread(self.preprocess, request)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        streamer = _QueueStreamer(self._processor.tokenizer, loop, queue)
        done = object()

        def run() -> Completion:
            """Generate, then mark the end of the stream."""
            try:
                return self._generate(prepared, request, streamer)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, done)

        future = loop.run_in_executor(self._executor, run)
        deadline = loop.time() + request.timeout_s + _TIMEOUT_GRACE_S
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ModelTimeout("generation exceeded its time limit")
            try:
                piece = await asyncio.wait_for(queue.get(), remaining)
            except TimeoutError as error:
                raise ModelTimeout("generation exceeded its time limit") from error
            if piece is done:
                break
            yield piece
        await future

    async def close(self) -> None:
        """Free the model and stop the model thread."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(RuntimeError):
            await loop.run_in_executor(self._executor, self._unload)
        self._executor.shutdown(wait=False)

    def _unload(self) -> None:
        """Drop references so memory can be reclaimed; runs on the model thread."""
        self._model = None
        self._processor = None


class _FirstTokenClock:
    """A minimal streamer that only notes when the first new token appeared."""

    def __init__(self) -> None:
        """Start with nothing seen."""
        self._prompt_seen = False
        self.first_token_at: float | None = None

    def put(self, value: Any) -> None:
        """Record the first call after the prompt."""
        if not self._prompt_seen:
            self._prompt_seen = True
        elif self.first_token_at is None:
            self.first_token_at = time.perf_counter()

    def end(self) -> None:
        """Generation finished."""
