"""The pose stage against a bare decode of the same 30 s clip, and the model's busy fraction with it on and off.

Run: .venv/bin/python bench/bench_pose.py [--repeats 3] [--base-repeats 0] [--models mediapipe,tiny,base]
                                          [--busy-models mediapipe,tiny] [--workers 4] [--chats 6]
                                          [--videos-per-chat 4] [--latency 2.0] [--video-fps 0] [--clip person]
                                          [--clip-heights 360,720] [--arrival interleaved] [--device cpu]
                                          [--torch-threads 0] [--cache-dir DIR] [--verbose]

With the defaults it takes about 6 minutes on 2 CPU cores. ViT-B on CPU costs 0.35-0.9 s a frame, so it is left
out of part 2 unless asked for: `--busy-models mediapipe,tiny,base` adds about 10 s per 10 s video (some 4
minutes at the defaults; its pose stage, not the model, then paces the queue).

1. Pose stage time per 30 s clip / bare decode (target <= 1.5x on CPU), at each of `--clip-heights` (default
   both): a 30 s 640x360 and a 1280x720 H.264 clip (the size Telegram delivers of an HD phone video; `person`:
   a real photo of a person, scikit-image's astronaut, swaying, so BlazePose tracks someone; `content`: the
   benchmarks' moving boxes, nobody in it) is prepared once like a job does it (`AssessmentService.prepare_video`,
   the tiny Qwen3-VL giving the sampling spec, faces not blurred); then, alternating in every repeat,
   `ffmpeg -i clip -f null -` (the project's ffmpeg) and `PoseStage.run(sample, pack_dir)` on the model's
   sampled frames (the stage's input since POSE_FPS and the proxy grid were dropped; `--video-fps` sets
   VIDEO_FPS, 0 = the processor's). Pose models:
     mediapipe  POSE_BACKEND=mediapipe, the default: BlazePose, its real weights from the wheel
     tiny       POSE_BACKEND=vitpose with `bot.pose.tiny.make_tiny_pose_model` (random weights; what tests use)
     base       POSE_BACKEND=vitpose with the ViT-B architecture of usyd-community/vitpose-base-simple
                (`VitPoseConfig` defaults with the checkpoint's 17 COCO keypoints and last-layer output,
                `VitPoseImageProcessor()`), random weights built locally (no download)
   Each model is loaded and warmed up on one batch first; medians over the repeats (`--base-repeats` for ViT-B).
   Wall-clock and CPU-second ratios are both shown: the CPU one is steadier when other work shares the cores.
   Each run is split into the estimator (for VitPose: its image processor, forward and post-processing, from
   wrappers around the loaded objects) and the rest (frame selection, measurements, writing pose.npz).
   `--torch-threads` sets torch's intra-op threads (a diagnostic: on a busy machine fewer can be faster).
2. Model busy fraction with the pose stage off and on (target >= 90 % with it on): bench_worker.py's
   `run_config`, a fresh bot per configuration (the real Application, WorkerPool and SQLite queue against the
   fake Bot API in its own process; a stand-in model of `--latency` seconds, one call at a time), the same
   `--workers`, the same 10 s 640x360 clips (moving boxes) from `--chats` chats x `--videos-per-chat`, with the
   per-patient limits lifted; POSE_BACKEND=off, then each of `--busy-models` on POSE_DEVICE=`--device`. The pose
   model loads in the first job (as in the bot), so its load counts as model idle time before the first call.
   `--arrival`: "interleaved" (default; the patients send side by side, one video each per round) or "by-chat"
   (each chat's videos in one go, so the last chat's videos come last and, one at a time per chat, end the run).

The last line sums it up (wall-clock ratios, busy fractions):
  pose: ratio_cpu_mediapipe=R0 ratio_cpu_tiny=R1 ratio_cpu_vitpose_base=R2 ratio_cpu_mediapipe_720p=R3 ...
        busy_off=B0 busy_mediapipe=B1 ...  (the ratios without a suffix are the 640x360 clip's)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_worker import Result, print_result, run_config
from bench.benchlib_api import ApiProcess
from bench.benchlib_pose import (
    ASSUMED_MODEL_FPS,
    ASSUMED_S_PER_FRAME,
    BACKENDS,
    BUSY_CLIP_S,
    BUSY_TARGET,
    CLIP_S,
    MODELS,
    RATIO_TARGET,
    SUMMARY_KEYS,
    PoseResult,
    StageTimer,
    bare_decode,
    children_cpu_s,
    ensure_pose_model,
    ensure_tiny_qwen,
    person_clip,
    prepare_clip,
    timed,
)
from bench.botbench import DEFAULT_CACHE, bench_clips
from bot.engine.assess import PreparedVideo
from bot.pose.stage import build_pose_stage
from bot.video import FFmpeg


def measure_model(
    name: str, model: str, prepared: PreparedVideo, ffmpeg: FFmpeg, clip: Path, options: argparse.Namespace
) -> PoseResult:
    """Load and warm up one pose model, then alternate bare decode and the pose stage over the repeats."""
    stage = build_pose_stage(BACKENDS[name], model, device=options.device)
    assert stage.estimator is not None
    warm_up = prepared.sample.frames[:8]
    # As a worker does at start-up (every tracker of the MediaPipe backend), then one short estimate.
    load_s = timed(lambda: (stage.warm_up(), stage.estimator.estimate(warm_up)))  # type: ignore[union-attr]
    timer = StageTimer(stage)
    repeats = options.base_repeats if name == "base" and options.base_repeats else options.repeats
    result = PoseResult(name=name, frames=0, load_s=load_s, detailed=timer.detailed)
    print(f"{MODELS[name]}: loaded and warmed up in {load_s:.1f} s; {repeats} repeat(s) ...", flush=True)
    for repeat in range(repeats):
        cpu_before = children_cpu_s()
        result.decode_s.append(timed(lambda: bare_decode(ffmpeg, clip)))
        result.decode_cpu_s.append(children_cpu_s() - cpu_before)
        started, cpu_started = time.perf_counter(), time.process_time()
        report = stage.run(prepared.sample, prepared.pack_dir)
        result.pose_s.append(time.perf_counter() - started)
        result.pose_cpu_s.append(time.process_time() - cpu_started)
        result.splits.append(timer.take())
        if report.error or report.track is None:
            raise SystemExit(f"pose stage failed with {MODELS[name]}: {report.error}")
        result.frames = len(report.track.times_s)
        result.found = float((report.track.scores.max(axis=1) > 0).mean())
        print(
            f"  repeat {repeat + 1}/{repeats}: decode {result.decode_s[-1]:.2f} s "
            f"(cpu {result.decode_cpu_s[-1]:.2f} s), pose {result.pose_s[-1]:.2f} s "
            f"(cpu {result.pose_cpu_s[-1]:.2f} s, {result.frames} frames), load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    return result


def print_pose_table(results: list[PoseResult], prepared: PreparedVideo, options: argparse.Namespace) -> None:
    """Part 1's medians per model, side by side, with where the pose stage's time went."""
    sample = prepared.sample
    print()
    print(
        f"pose stage / bare decode, 30 s {prepared.probe.width}x{prepared.probe.height} {options.clip} clip, "
        "pose on the model's "
        f"{sample.width}x{sample.height} frames, device {options.device} (medians; target <= {RATIO_TARGET:g}x)"
    )
    header = (
        f"{'model':>22} | {'frames':>6} | {'found':>5} | {'pose s':>6} | {'decode s':>8} | {'ratio':>7} | "
        f"{'cpu ratio':>9} | {'s/frame':>8} | {'estimate':>8} | {'preproc':>7} | {'forward':>7} | {'post':>5} | "
        f"{'other':>5} | target"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{MODELS[r.name]:>22} | {r.frames:>6} | {r.found:>5.0%} | {r.pose:>6.2f} | {r.decode:>8.2f} | "
            f"{r.ratio:>6.2f}x | {r.cpu_ratio:>8.2f}x | {r.s_per_frame * 1000:>5.1f} ms | {r.part('estimate'):>8} | "
            f"{r.part('preprocess'):>7} | {r.part('forward'):>7} | {r.part('postprocess'):>5} | {r.part('other'):>5} | "
            f"{'met' if r.ratio <= RATIO_TARGET else 'missed'}"
        )
    print(
        "(found: frames with any keypoint scored; ratio: wall clock; cpu ratio: CPU seconds of the stage's threads "
        "over ffmpeg's; estimate: the estimator, of which preproc/forward/post for VitPose (its image processor, "
        "the model); other: frame selection, measurements, pose.npz)"
    )


def run_pose_part(options: argparse.Namespace, models: list[str], height: int) -> list[PoseResult]:
    """Part 1 at one clip size: prepare the 30 s clip once, then measure each pose model against the bare decode."""
    cache = options.cache_dir / "pose"
    if options.clip == "person":
        clip = person_clip(options.cache_dir, height)
    else:
        clip = bench_clips(options.cache_dir, 1, duration_s=CLIP_S)[0]
    qwen_dir = ensure_tiny_qwen(cache / "tiny-qwen3-vl")
    model_ids = {name: ensure_pose_model(name, cache) for name in models}
    pack_dir = cache / f"pack-30s-{options.clip}-{height}p"
    prepared, ffmpeg, prepare_s = prepare_clip(clip, qwen_dir, pack_dir, options.video_fps)
    sample = prepared.sample
    print(
        f"clip {clip} ({clip.stat().st_size / 1e3:.0f} kB, {prepared.probe.duration_s:.1f} s at "
        f"{prepared.probe.fps:g} fps); prepare_video once: {prepare_s:.2f} s "
        f"({len(sample.timestamps_s)} model frames {sample.width}x{sample.height}); ffmpeg {ffmpeg.binary}",
        flush=True,
    )
    results = [measure_model(name, model_ids[name], prepared, ffmpeg, clip, options) for name in models]
    print_pose_table(results, prepared, options)
    return results


# --------------------------------------------------------------------------------------------
# Part 2: model busy fraction with the pose stage off and on


async def run_busy_part(
    options: argparse.Namespace, models: list[str], s_per_frame: dict[str, float]
) -> dict[str, Result]:
    """Part 2: a fresh bot per configuration (pose off, then each model); returns the results by configuration."""
    total = options.chats * options.videos_per_chat
    clips = bench_clips(options.cache_dir, total, duration_s=BUSY_CLIP_S)
    model_ids = {name: ensure_pose_model(name, options.cache_dir / "pose") for name in models}
    api_process = ApiProcess()
    results: dict[str, Result] = {}
    print(
        f"\n{total} videos (10 s, 640x360) from {options.chats} chats ({options.arrival}), "
        f"WORKERS={options.workers}; stand-in model {options.latency:g} s a call; "
        f"fake Bot API in process {api_process.pid}",
        flush=True,
    )
    # A benchmark of throughput, not of the per-patient limits (3 unfinished videos a chat, 12 an hour).
    common: dict[str, Any] = {"max_queued_per_chat": 0, "max_videos_per_hour": 0, "video_fps": options.video_fps}
    frames_per_video = BUSY_CLIP_S * (options.video_fps or ASSUMED_MODEL_FPS)
    try:
        for config in ["off", *models]:
            overrides: dict[str, Any] = {**common, "pose_backend": "off"}
            per_video_s = 10.0
            if config != "off":
                overrides.update(
                    pose_backend=BACKENDS[config], pose_model=model_ids[config], pose_device=options.device
                )
                per_frame = s_per_frame.get(config, ASSUMED_S_PER_FRAME[config])
                # The stage runs one video at a time; leave room for the workers' ffmpeg sharing the cores.
                per_video_s = 10.0 + 3 * per_frame * frames_per_video
            print(f"\npose={config} ...", flush=True)
            result = await run_config(
                api_process,
                clips,
                options.workers,
                None,
                options,
                settings=overrides,
                per_video_s=per_video_s,
                arrival=options.arrival,
            )
            result.label = f"{options.workers} pose={config}"
            results[config] = result
            print_result(result, options.latency, verbose=options.verbose)
    finally:
        with contextlib.suppress(Exception):
            api_process.shutdown()
    print_busy_table(results, options)
    return results


def print_busy_table(results: dict[str, Result], options: argparse.Namespace) -> None:
    """Part 2's figures per configuration, side by side."""
    print()
    print(
        f"model busy fraction, WORKERS={options.workers}, model {options.latency:g} s a call, "
        f"pose on {options.device} (target >= {BUSY_TARGET:.0%} with pose on)"
    )
    header = (
        f"{'pose':>9} | {'videos':>6} | {'makespan':>9} | {'ratio':>5} | {'busy':>6} | {'first call':>10} | "
        f"{'gaps':>6} | {'tail':>5} | {'steady':>6} | {'prep p50':>8} | {'overhead p50':>12} | target"
    )
    print(header)
    print("-" * len(header))
    for config, r in results.items():
        ratio = r.makespan_s / (r.videos * options.latency)
        print(
            f"{config:>9} | {r.videos:>6} | {r.makespan_s:>7.1f} s | {ratio:>5.2f} | "
            f"{r.busy_fraction:>6.1%} | {r.startup_s:>8.2f} s | {r.gaps_s:>4.1f} s | {r.tail_s:>3.1f} s | "
            f"{r.busy_s / (r.busy_s + r.gaps_s):>6.1%} | "
            f"{statistics.median(r.prep_s):>6.2f} s | {statistics.median(r.overhead_s):>10.2f} s | "
            f"{'met' if r.busy_fraction >= BUSY_TARGET else 'missed'}"
        )
    print(
        "(first call: model idle before its first call, including the pose model's load in the first job; "
        "tail: after the last call; steady: busy between the first call's start and the last one's end)"
    )


# --------------------------------------------------------------------------------------------


def model_list(value: str) -> list[str]:
    """Parse a comma-separated list of pose models (`none` or empty: no models)."""
    names = [n.strip() for n in value.split(",") if n.strip() and n.strip() != "none"]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown pose model(s) {unknown}; choose from {sorted(MODELS)}")
    return names


def height_list(value: str) -> list[int]:
    """Comma-separated clip heights, each 360 or 720."""
    heights = [int(part) for part in value.split(",") if part]
    if not heights or any(height not in (360, 720) for height in heights):
        raise argparse.ArgumentTypeError("clip heights are 360 and/or 720")
    return heights


def main() -> None:
    """Parse arguments, run both parts and print the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed pose/decode pairs per model (medians)")
    parser.add_argument("--base-repeats", type=int, default=0, help="repeats for the ViT-B model (0: --repeats)")
    parser.add_argument(
        "--models",
        type=model_list,
        default="mediapipe,tiny,base",
        help="part 1 pose models (mediapipe,tiny,base; none: no part 1)",
    )
    parser.add_argument(
        "--busy-models",
        type=model_list,
        default="mediapipe,tiny",
        help="part 2 pose models beside pose=off (none: no part 2)",
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--chats", type=int, default=6)
    parser.add_argument("--videos-per-chat", type=int, default=4)
    parser.add_argument(
        "--arrival",
        choices=["interleaved", "by-chat"],
        default="interleaved",
        help="part 2's send order: patients sending side by side, or each chat's videos in one go",
    )
    parser.add_argument("--latency", type=float, default=2.0, help="stand-in model call latency in seconds")
    parser.add_argument("--video-fps", type=float, default=0.0, help="VIDEO_FPS (0: the model processor's)")
    parser.add_argument("--clip", choices=["person", "content"], default="person", help="part 1's 30 s clip")
    parser.add_argument(
        "--clip-heights",
        type=height_list,
        default="360,720",
        help="part 1's clip sizes: 360 (640x360), 720 (1280x720, what Telegram delivers of an HD phone video)",
    )
    parser.add_argument("--device", default="cpu", help="POSE_DEVICE for both parts (cpu, cuda)")
    parser.add_argument(
        "--torch-threads", type=int, default=0, help="diagnostic: torch intra-op threads (0: torch's default)"
    )
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--verbose", action="store_true", help="list every idle wait of the slots")
    options = parser.parse_args()
    # MediaPipe's C++ side logs start-up chatter to stderr unless told otherwise.
    os.environ.setdefault("GLOG_minloglevel", "2")

    import torch

    if options.torch_threads:
        torch.set_num_threads(options.torch_threads)
    started = time.perf_counter()
    print(
        f"{os.cpu_count()} CPUs, torch {torch.__version__} with {torch.get_num_threads()} threads, "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    by_height = {height: run_pose_part(options, options.models, height) for height in options.clip_heights}
    pose_results = by_height.get(360) or next(iter(by_height.values()), [])
    s_per_frame = {r.name: r.s_per_frame for r in pose_results}
    busy = asyncio.run(run_busy_part(options, options.busy_models, s_per_frame)) if options.busy_models else {}

    print(f"\ntotal {time.perf_counter() - started:.0f} s; load average at the end {os.getloadavg()[0]:.2f}")
    fields = [
        f"ratio_{options.device}_{SUMMARY_KEYS[r.name]}{'' if height == 360 else f'_{height}p'}={r.ratio:.2f}"
        for height, results in by_height.items()
        for r in results
    ]
    fields += [f"busy_{config}={r.busy_fraction:.3f}" for config, r in busy.items()]
    print("pose: " + " ".join(fields))


if __name__ == "__main__":
    main()
