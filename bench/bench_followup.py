"""A follow-up question's preparation before the model call: warm (frame pack on disk) against cold.

Run: .venv/bin/python bench/bench_followup.py [--rounds 7] [--cache-dir DIR] [--model-dir DIR]
     .venv/bin/python bench/bench_followup.py --streaming [--rounds 5] [--tokens 200] [--token-ms 30]
         [--prefill-ms 500]   (a streamed answer, then streamed feedback: first draft / final;
         see bench/benchlib_stream.py)

The clip is the 30 s 1080x1920 portrait clip of the test suite (tests/fixtures/videos.make_portrait_clip,
cached in the cache dir and shared with bench_sampling.py --clip flat). The engine is the real
AssessmentService with the tiny Qwen3-VL (bot.vlm.tiny.make_tiny_model, loaded on the CPU through
TransformersBackend), whose processor configuration sets the sampling like the real model's.

Measured, alternating warm and cold in every round and reporting medians:
  warm   after the assessment (its frame pack exists): locate_moment + plan_question(pack_dir=...)
         + question_messages                                   target <= 150 ms
  cold   no assessment before (no pack): plan_question(video_path=...) = probe + window_from_video
         (+ the same locate and messages)
  whole  a question without a moment: the whole clip's frames, from the pack (warm) or by sampling
         the video again (cold)
and, separately, the processor's CPU pre-processing of the planned request (TransformersBackend.preprocess:
chat template, tokenization, patchifying the frames), which runs before every model call.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.botbench import ASSESSMENT, DEFAULT_CACHE
from bot.engine.assess import AssessmentService, ModelLimits, QuestionPlan, VideoLimits, locate_moment
from bot.video import FFmpeg
from bot.vlm.backend import GenerationRequest
from bot.vlm.prompts import question_messages
from bot.vlm.transformers_backend import TransformersBackend

CLIP_NAME = "flat_30s_1080x1920.mp4"
# (question, locale): moments in three languages, then one without a moment.
MOMENT_QUESTIONS = [
    ("what about 0:12?", "en"),
    ("а что на 20 секунде?", "ru"),
    ("第7秒我的膝盖对吗？", "zh"),
    ("and at 0:27, is my back straight?", "en"),
]
WHOLE_QUESTION = ("how was my form overall?", "en")
TURNS = [("Were my knees ok?", "Mostly; at 0:04–0:05 they drift inward a little.")]


def prepare_clip(cache_dir: Path) -> Path:
    """The portrait clip, generated once."""
    from tests.fixtures.videos import make_portrait_clip

    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / CLIP_NAME
    if not path.exists():
        print(f"generating {path} (once) ...", flush=True)
        partial = cache_dir / f"partial-{CLIP_NAME}"
        make_portrait_clip(partial)
        partial.rename(path)
    return path


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call takes, and its result."""
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def ms(values: list[float]) -> str:
    """Median with min and max, in milliseconds."""
    return (
        f"{statistics.median(values) * 1000:8.1f} ms  (min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f}, "
        f"n={len(values)})"
    )


def prepare_question(
    service: AssessmentService,
    question: str,
    locale: str,
    duration_s: float,
    *,
    pack_dir: Path | None,
    video_path: Path | None,
    parts: dict[str, list[float]],
) -> tuple[QuestionPlan, list[dict[str, Any]]]:
    """What the answer job does before the model: locate, plan (frames), build the messages; times each part."""
    locate_s, _ = timed(lambda: locate_moment(question, duration_s))
    plan_s, plan = timed(
        lambda: service.plan_question(question, duration_s=duration_s, pack_dir=pack_dir, video_path=video_path)
    )
    messages_s, messages = timed(
        lambda: question_messages(
            locale=locale,
            question=question,
            duration_s=duration_s,
            earlier_assessment=ASSESSMENT,
            turns=TURNS,
            window_s=plan.window_s,
            moment_s=plan.moment_s,
        )
    )
    parts["locate"].append(locate_s)
    parts["plan"].append(plan_s)
    parts["messages"].append(messages_s)
    parts["total"].append(locate_s + plan_s + messages_s)
    return plan, messages


def request_for(plan: QuestionPlan, messages: list[dict[str, Any]]) -> GenerationRequest:
    """The model request the answer job would send."""
    return GenerationRequest(messages=messages, video=plan.video, max_new_tokens=256, timeout_s=30.0)


def new_parts() -> dict[str, list[float]]:
    """Empty timing lists."""
    return {"locate": [], "plan": [], "messages": [], "total": []}


async def main_async(options: argparse.Namespace) -> None:
    """Build the engine, assess once (the pack), then alternate warm and cold rounds."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    clip = prepare_clip(options.cache_dir)
    work = Path(tempfile.mkdtemp(prefix="rehab-bench-followup-"))
    try:
        model_dir = options.model_dir
        if model_dir is None:
            from bot.vlm.tiny import make_tiny_model

            started = time.perf_counter()
            model_dir = make_tiny_model(work / "tiny-model")
            print(f"tiny model built in {time.perf_counter() - started:.1f} s", flush=True)
        backend = TransformersBackend(str(model_dir), device="cpu")
        await backend.start()
        service = AssessmentService(
            backend=backend, ffmpeg=FFmpeg.locate(), video_limits=VideoLimits(), model_limits=ModelLimits()
        )
        pack_dir = work / "pack"
        assess_s, prepared = timed(lambda: service.prepare_video(clip, pack_dir=pack_dir))
        probe = prepared.probe
        duration = probe.duration_s
        print(
            f"clip {clip.name}: {duration:.1f} s, {probe.display_width}x{probe.display_height}, {probe.codec}; "
            f"assessment sampling (pack written) {assess_s * 1000:.0f} ms: {prepared.sample.frames.shape[0]} frames "
            f"of {prepared.sample.frames.shape[2]}x{prepared.sample.frames.shape[1]}",
            flush=True,
        )
        try:
            run_rounds(service, backend, clip, pack_dir, duration, options.rounds)
        finally:
            await backend.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_rounds(
    service: AssessmentService,
    backend: TransformersBackend,
    clip: Path,
    pack_dir: Path,
    duration: float,
    rounds: int,
) -> None:
    """Alternate warm and cold preparation of every question; print medians and ratios."""
    warm, cold, whole_warm, whole_cold = new_parts(), new_parts(), new_parts(), new_parts()
    pre_window, pre_whole = [], []
    first_warm = None
    window_shape = whole_shape = ""
    for round_number in range(rounds):
        for question, locale in MOMENT_QUESTIONS:
            plan, messages = prepare_question(
                service, question, locale, duration, pack_dir=pack_dir, video_path=clip, parts=warm
            )
            if first_warm is None:
                first_warm = warm["total"][-1]
            prepare_question(service, question, locale, duration, pack_dir=None, video_path=clip, parts=cold)
            assert plan.video is not None
            window_shape = f"{len(plan.video.timestamps_s)} x {plan.video.frames.shape[2]}x{plan.video.frames.shape[1]}"
            pre_s, _ = timed(lambda plan=plan, messages=messages: backend.preprocess(request_for(plan, messages)))
            pre_window.append(pre_s)
        question, locale = WHOLE_QUESTION
        plan, messages = prepare_question(
            service, question, locale, duration, pack_dir=pack_dir, video_path=clip, parts=whole_warm
        )
        prepare_question(service, question, locale, duration, pack_dir=None, video_path=clip, parts=whole_cold)
        assert plan.video is not None
        whole_shape = f"{len(plan.video.timestamps_s)} x {plan.video.frames.shape[2]}x{plan.video.frames.shape[1]}"
        pre_s, _ = timed(lambda plan=plan, messages=messages: backend.preprocess(request_for(plan, messages)))
        pre_whole.append(pre_s)
        print(
            f"round {round_number + 1}/{rounds}: warm {statistics.median(warm['total'][-4:]) * 1000:.0f} ms, "
            f"cold {statistics.median(cold['total'][-4:]) * 1000:.0f} ms, "
            f"whole warm {whole_warm['total'][-1] * 1000:.0f} ms, whole cold {whole_cold['total'][-1] * 1000:.0f} ms",
            flush=True,
        )
    print()
    print(f"question with a moment ({len(MOMENT_QUESTIONS)} questions in en/ru/zh; window {window_shape}):")
    print(f"  warm  locate_moment                : {ms(warm['locate'])}")
    print(f"  warm  plan_question (pack window)  : {ms(warm['plan'])}")
    print(f"  warm  question_messages            : {ms(warm['messages'])}")
    print(f"  warm  total before the model       : {ms(warm['total'])}  (target <= 150 ms)")
    print(f"        first warm question          : {(first_warm or 0.0) * 1000:8.1f} ms")
    print(f"  cold  plan_question (probe+window) : {ms(cold['plan'])}")
    print(f"  cold  total before the model       : {ms(cold['total'])}")
    ratio = statistics.median(cold["total"]) / statistics.median(warm["total"])
    print(f"  ratio cold/warm                    : {ratio:8.1f}x")
    print(f"  processor preprocess (tiny, CPU)   : {ms(pre_window)}  (separate; before every model call)")
    print(f"question without a moment (whole clip, {whole_shape}):")
    print(f"  warm  total (frames from the pack) : {ms(whole_warm['total'])}")
    print(f"  cold  total (sample the video)     : {ms(whole_cold['total'])}")
    ratio = statistics.median(whole_cold["total"]) / statistics.median(whole_warm["total"])
    print(f"  ratio cold/warm                    : {ratio:8.1f}x")
    print(f"  processor preprocess (tiny, CPU)   : {ms(pre_whole)}")
    target = statistics.median(warm["total"]) <= 0.150
    print(f"warm follow-up within 150 ms         : {'yes' if target else 'no'}")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--model-dir", type=Path, default=None, help="an existing tiny model (else one is built)")
    parser.add_argument("--streaming", action="store_true", help="time a streamed answer's first draft instead")
    parser.add_argument("--tokens", type=int, default=200, help="--streaming: tokens the stand-in model writes")
    parser.add_argument("--token-ms", type=float, default=30.0, help="--streaming: milliseconds between tokens")
    parser.add_argument("--prefill-ms", type=float, default=500.0, help="--streaming: time to the first token")
    options = parser.parse_args()
    if options.streaming:
        from bench.benchlib_stream import run_feedback_streaming, run_streaming

        rounds = 5 if options.rounds == 7 else options.rounds
        prefill_s, interval_s = options.prefill_ms / 1000, options.token_ms / 1000
        asyncio.run(run_streaming(rounds=rounds, prefill_s=prefill_s, tokens=options.tokens, interval_s=interval_s))
        asyncio.run(run_feedback_streaming(rounds=rounds, prefill_s=prefill_s, interval_s=interval_s))
        return
    asyncio.run(main_async(options))


if __name__ == "__main__":
    main()
