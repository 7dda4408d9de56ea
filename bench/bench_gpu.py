"""Qwen3-VL-4B's real architecture with random weights on a 30 s phone clip: time to first token, decode speed, memory.

Run on a GPU machine: `.venv/bin/python bench/bench_gpu.py` (bf16 + SDPA, the production settings of
bot/vlm/transformers_backend.py). No weights are downloaded: the model is built from the published
Qwen3-VL-4B-Instruct sizes (notes/qwen3vl.md) with random weights, and the tiny model's tokenizer and
processor stand in for the real ones (same special-token layout and video settings). `--layers N`
shrinks the text and vision stacks for a CPU smoke run of the script itself.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.video import FFmpeg, inspect_video, sample_video
from bot.vlm.backend import GenerationRequest
from bot.vlm.prompts import ExerciseContext, assessment_messages
from bot.vlm.tiny import SPECIAL_TOKENS, make_tiny_model
from bot.vlm.transformers_backend import TransformersBackend
from tests.fixtures.videos import make_portrait_clip

REAL_VOCAB = 151_936


def real_size_config(token_ids: dict[str, int], *, text_layers: int, vision_depth: int) -> object:
    """Qwen3-VL-4B-Instruct's sizes (text 2560 × 36 layers, vision 1024 × 24, deepstack 5/11/17)."""
    from transformers import Qwen3VLConfig

    deepstack = [i for i in (5, 11, 17) if i < vision_depth] or [vision_depth - 1]
    return Qwen3VLConfig(
        text_config={
            "vocab_size": REAL_VOCAB,
            "hidden_size": 2560,
            "intermediate_size": 9728,
            "num_hidden_layers": text_layers,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "head_dim": 128,
            "max_position_embeddings": 262_144,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 5_000_000.0,
                "mrope_section": [24, 20, 20],
                "mrope_interleaved": True,
            },
            "tie_word_embeddings": True,
            "eos_token_id": token_ids["<|im_end|>"],
            "pad_token_id": token_ids["<|endoftext|>"],
        },
        vision_config={
            "depth": vision_depth,
            "hidden_size": 1024,
            "intermediate_size": 4096,
            "num_heads": 16,
            "out_hidden_size": 2560,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "num_position_embeddings": 2304,
            "deepstack_visual_indexes": deepstack,
        },
        image_token_id=token_ids["<|image_pad|>"],
        video_token_id=token_ids["<|video_pad|>"],
        vision_start_token_id=token_ids["<|vision_start|>"],
        vision_end_token_id=token_ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )


def build_backend(workdir: Path, *, text_layers: int, vision_depth: int, device: str) -> TransformersBackend:
    """The production backend around a random real-size model (tokenizer and processor from the tiny model)."""
    from transformers import AutoProcessor, Qwen3VLForConditionalGeneration

    tiny = make_tiny_model(workdir / "tiny")
    processor = AutoProcessor.from_pretrained(tiny)
    token_ids = {token: processor.tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    config = real_size_config(token_ids, text_layers=text_layers, vision_depth=vision_depth)
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    config._attn_implementation = "sdpa"
    with torch.device(device):
        model = Qwen3VLForConditionalGeneration._from_config(config, dtype=dtype).eval()
    model.generation_config.eos_token_id = token_ids["<|im_end|>"]
    model.generation_config.pad_token_id = token_ids["<|endoftext|>"]
    backend = TransformersBackend(str(tiny), device=device)
    backend._processor, backend._model, backend._device = processor, model, device
    from bot.video.budget import SamplingSpec

    backend.sampling = SamplingSpec.from_processor_config(processor.video_processor.to_dict())
    return backend


async def measure(backend: TransformersBackend, request: GenerationRequest, rounds: int) -> list[tuple[float, float]]:
    """(time to first token, decode tokens/s) per round, after one warm-up call."""
    await backend.complete(request)
    results = []
    for _ in range(rounds):
        completion = await backend.complete(request)
        ttft = completion.time_to_first_token_s or completion.elapsed_s
        decode_s = max(completion.elapsed_s - ttft, 1e-9)
        results.append((ttft, (completion.completion_tokens - 1) / decode_s))
        print(
            f"  prompt {completion.prompt_tokens} tokens, generated {completion.completion_tokens}: "
            f"TTFT {ttft * 1000:.0f} ms, decode {results[-1][1]:.1f} tokens/s"
        )
    return results


def main() -> None:
    """Sample the clip as the bot does, then time generation on the real-size random model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--layers", type=int, default=36, help="text layers (vision depth scales along)")
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/rehab-bot-bench"))
    options = parser.parse_args()
    vision_depth = max(2, round(24 * options.layers / 36))
    options.cache_dir.mkdir(parents=True, exist_ok=True)
    clip = options.cache_dir / "flat_30s_1080x1920.mp4"
    if not clip.exists():
        make_portrait_clip(clip)
    with tempfile.TemporaryDirectory(prefix="rehab-gpu-bench-") as scratch:
        backend = build_backend(
            Path(scratch), text_layers=options.layers, vision_depth=vision_depth, device=options.device
        )
        ffmpeg = FFmpeg.locate()
        probe = inspect_video(clip, ffmpeg=ffmpeg, max_duration_s=600, max_pixels=4096 * 4096)
        sample = sample_video(clip, probe, ffmpeg=ffmpeg, spec=backend.sampling)
        from bot.vlm.backend import VideoInput

        video = VideoInput(frames=sample.frames, timestamps_s=sample.timestamps_s, duration_s=sample.duration_s)
        request = GenerationRequest(
            messages=assessment_messages(locale="en", duration_s=probe.duration_s, context=ExerciseContext()),
            video=video,
            max_new_tokens=options.new_tokens,
            timeout_s=600.0,
            do_sample=False,
        )
        # Random weights may stop at once; force the full length so decode speed is measured.
        backend._model.generation_config.min_new_tokens = options.new_tokens
        print(
            f"device {options.device}, text layers {options.layers}, vision depth {vision_depth}, "
            f"{len(sample.timestamps_s)} frames of {sample.width}x{sample.height}"
        )
        if options.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        results = asyncio.run(measure(backend, request, options.rounds))
        print(f"time to first token (median) : {statistics.median(r[0] for r in results) * 1000:.0f} ms")
        print(f"decode speed (median)        : {statistics.median(r[1] for r in results):.1f} tokens/s")
        if options.device.startswith("cuda"):
            print(f"peak GPU memory              : {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
        print(f"wall time                    : {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
