"""A stand-in OpenAI-compatible model server: fixed latency, `slots` requests served at once.

Run as a process: `python bench/benchlib_openai_standin.py --port P --latency-s L --slots K`. Each
POST /v1/chat/completions waits for a free slot, holds it `latency_s`, and answers valid assessment
JSON (streamed as server-sent events when asked, as feedback is in a private chat), so the workers'
OpenAI backend (`VLM_BACKEND=openai`) runs one model call per video, as a vLLM server with K
sequences of fixed latency would. Prints `ready <port>` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.botbench import ASSESSMENT_TEXT


async def _events(request: web.Request, model: str) -> web.StreamResponse:
    """The assessment as server-sent events, a few pieces, then [DONE]."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    size = max(1, len(ASSESSMENT_TEXT) // 8)
    for start in range(0, len(ASSESSMENT_TEXT), size):
        delta = {"content": ASSESSMENT_TEXT[start : start + size]}
        chunk = {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "model": model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}  # fmt: skip
        await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


def make_app(latency_s: float, slots: int) -> web.Application:
    """The aiohttp app answering chat completions after `latency_s` with at most `slots` in flight."""
    semaphore = asyncio.Semaphore(slots)

    async def chat_completions(request: web.Request) -> web.StreamResponse:
        """One completion: whole, or (`"stream": true`, as for feedback in a private chat) as server-sent events."""
        body = await request.json()
        async with semaphore:
            await asyncio.sleep(latency_s)
        if body.get("stream"):
            return await _events(request, body.get("model", "stand-in"))
        return web.json_response(
            {
                "id": "chatcmpl-standin",
                "object": "chat.completion",
                "model": body.get("model", "stand-in"),
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": ASSESSMENT_TEXT}}
                ],
                "usage": {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200},
            }
        )

    # Frames arrive base64-encoded in the body: allow far more than aiohttp's 1 MiB default.
    app = web.Application(client_max_size=256 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", chat_completions)
    return app


async def serve(port: int, latency_s: float, slots: int) -> None:
    """Listen until killed."""
    runner = web.AppRunner(make_app(latency_s, slots), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"ready {port}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    """Parse the options and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-s", type=float, required=True)
    parser.add_argument("--slots", type=int, required=True)
    options = parser.parse_args()
    asyncio.run(serve(options.port, options.latency_s, options.slots))


if __name__ == "__main__":
    main()
