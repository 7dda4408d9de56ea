"""Any OpenAI-compatible server (vLLM, SGLang) over aiohttp, for scaling out to GPU servers."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image

from bot.video.budget import SamplingSpec
from bot.vlm.backend import Completion, GenerationRequest, ModelError, ModelOutOfMemory, ModelTimeout, VideoInput

_JPEG_QUALITY = 90


def encode_video_frames(video: VideoInput) -> str:
    """Frames as vLLM's JPEG-frame video data URL (`data:video/jpeg;base64,<f1>,<f2>,…`)."""
    encoded = []
    for frame in video.frames:
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="JPEG", quality=_JPEG_QUALITY)
        encoded.append(base64.b64encode(buffer.getvalue()).decode("ascii"))
    return "data:video/jpeg;base64," + ",".join(encoded)


def _openai_messages(request: GenerationRequest, video_url: str | None) -> list[dict[str, Any]]:
    """Hugging Face chat items mapped to OpenAI content parts."""
    messages = []
    for message in request.messages:
        parts = []
        for item in message["content"]:
            if item.get("type") == "video":
                parts.append({"type": "video_url", "video_url": {"url": video_url}})
            else:
                parts.append({"type": "text", "text": item["text"]})
        messages.append({"role": message["role"], "content": parts})
    return messages


class OpenAIBackend:
    """Sends each request to `<api>/chat/completions`; the server batches concurrent requests."""

    def __init__(self, api_url: str, *, model: str, sampling_overrides: dict[str, Any] | None = None) -> None:
        """Configure; the HTTP session opens in `start`."""
        if not api_url:
            raise ModelError("VLM_API_URL is required for the openai backend")
        root = api_url.rstrip("/")
        self._endpoint = f"{root}/chat/completions" if root.endswith("/v1") else f"{root}/v1/chat/completions"
        self.model_id = model
        model_dir = Path(model)
        base = SamplingSpec.from_pretrained_dir(model_dir) if model_dir.is_dir() else SamplingSpec()
        self.sampling = base.with_overrides(**(sampling_overrides or {}))
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the HTTP session."""
        if self._session is None:
            self._session = aiohttp.ClientSession()

    async def _payload(self, request: GenerationRequest, stream: bool) -> dict[str, Any]:
        """The chat-completions body; frames are JPEG-encoded on a worker thread."""
        video_url = None
        if request.video is not None:
            video_url = await asyncio.to_thread(encode_video_frames, request.video)
        payload: dict[str, Any] = {
            "model": self.model_id,
            "messages": _openai_messages(request, video_url),
            "max_tokens": request.max_new_tokens,
            "stream": stream,
        }
        if request.do_sample:
            payload.update(
                temperature=request.temperature,
                top_p=request.top_p,
                top_k=request.top_k,
                repetition_penalty=request.repetition_penalty,
            )
        else:
            payload["temperature"] = 0.0
        if request.seed is not None:
            payload["seed"] = request.seed
        if request.cache_salt:
            # Prefix-cache entries are never shared between patients.
            payload["cache_salt"] = request.cache_salt
        if request.video is not None:
            metadata = request.video.processor_metadata()
            payload["media_io_kwargs"] = {
                "video": {
                    "fps": metadata["fps"],
                    "frames_indices": metadata["frames_indices"],
                    "total_num_frames": metadata["total_num_frames"],
                    "num_frames": -1,
                }
            }
        return payload

    async def _post(self, payload: dict[str, Any], timeout_s: float) -> aiohttp.ClientResponse:
        """POST and turn HTTP failures into model errors."""
        await self.start()
        assert self._session is not None
        try:
            response = await self._session.post(
                self._endpoint, json=payload, timeout=aiohttp.ClientTimeout(total=timeout_s)
            )
        except TimeoutError as error:
            raise ModelTimeout("the model server did not answer in time") from error
        except aiohttp.ClientError as error:
            raise ModelError(type(error).__name__) from error
        if response.status >= 400:
            body = await response.text()
            response.release()
            if "out of memory" in body.lower():
                raise ModelOutOfMemory(f"HTTP {response.status}")
            raise ModelError(f"HTTP {response.status}")
        return response

    async def complete(self, request: GenerationRequest) -> Completion:
        """One non-streaming call."""
        started = time.perf_counter()
        payload = await self._payload(request, stream=False)
        response = await self._post(payload, request.timeout_s)
        async with response:
            body = await response.json()
        choice = body["choices"][0]
        usage = body.get("usage") or {}
        finish = choice.get("finish_reason") or "stop"
        return Completion(
            text=choice["message"].get("content") or "",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            elapsed_s=time.perf_counter() - started,
            time_to_first_token_s=None,
            finish_reason="length" if finish == "length" else "stop",
        )

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        """Server-sent events from a streaming call."""
        payload = await self._payload(request, stream=True)
        response = await self._post(payload, request.timeout_s)
        async with response:
            async for raw_line in response.content:
                line = raw_line.decode("utf-8").strip()
                if not line.startswith("data:"):
                    continue
                data = line.removeprefix("data:").strip()
                if data == "[DONE]":
                    break
                delta = json.loads(data)["choices"][0].get("delta", {})
                if delta.get("content"):
                    yield delta["content"]

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
