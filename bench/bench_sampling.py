"""Frame sampling against a bare ffmpeg decode of the same 30 s phone clip, measured side by side.

Run: .venv/bin/python bench/bench_sampling.py [--rounds 5] [--cache-dir DIR] [--clip phone|flat]

`phone` (default) is stored like a phone records (1920x1080 turned by metadata, High profile,
B-frames, ~12 Mbit/s of grain); `flat` is the test suite's cheap-to-decode 1080x1920 clip, where
the fixed per-output-frame cost of sampling weighs more.

Measures, alternating the contenders in every round and reporting medians:
  1. bare decode         `ffmpeg -i clip -f null -`
  2. sample_video        one pass: the model's frames plus the frame pack (JPEGs and proxy)
  3. naive               every frame as RGB through a pipe into Python, then pick and resize
  4. sample_video + blur  as 2, with faces blurred in the stored pack (BLUR_FACES, the default)
and then follow-up latency: FramePack.window (pack on disk) and window_from_video (no pack).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.video import (
    FFmpeg,
    FramePack,
    SamplingSpec,
    VideoProbe,
    inspect_video,
    sample_video,
    window_from_video,
)
from bot.video.redact import PackRedactor
from bot.video.sample import plan_model_frames
from tests.fixtures.videos import Clip, content_time, make_phone_clip, make_portrait_clip, red_corner

CLIPS: dict[str, tuple[str, Callable[[Path], Clip]]] = {
    "phone": ("phone_30s_1080x1920.mp4", make_phone_clip),
    "flat": ("flat_30s_1080x1920.mp4", make_portrait_clip),
}


def timed(action: Callable[[], object]) -> float:
    """Wall-clock seconds one call takes."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bare_decode(ffmpeg: FFmpeg, clip: Path) -> None:
    """What ffmpeg needs just to decode the clip (the floor for any sampler)."""
    subprocess.run(
        [ffmpeg.binary, "-nostdin", "-v", "error", "-i", str(clip), "-f", "null", "-"],
        check=True,
        timeout=ffmpeg.timeout_s,
    )


def naive_sample(ffmpeg: FFmpeg, clip: Path, facts: VideoProbe, spec: SamplingSpec) -> np.ndarray:
    """Every frame, upright and full size, as RGB into Python; keep and resize the chosen ones."""
    plan = plan_model_frames(facts, spec)
    wanted = set(plan.indices)
    width, height = facts.display_width, facts.display_height
    frame_bytes = width * height * 3
    kept: list[np.ndarray] = []
    command = [ffmpeg.binary, "-nostdin", "-v", "error", "-i", str(clip)]
    command += ["-map", "0:V:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    buffer = bytearray(frame_bytes)
    with subprocess.Popen(command, stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        index = 0
        while process.stdout.readinto(buffer) == frame_bytes:
            if index in wanted:
                picture = Image.frombuffer("RGB", (width, height), bytes(buffer))
                kept.append(np.asarray(picture.resize((plan.width, plan.height), Image.Resampling.BICUBIC)))
            index += 1
    return np.stack(kept)


def median_ms(values: list[float]) -> str:
    """A median in milliseconds with the spread."""
    return f"{statistics.median(values) * 1000:8.1f} ms  (min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})"


def prepare_clip(cache_dir: Path, kind: str) -> Clip:
    """Generate the clip once; later runs reuse it."""
    name, make = CLIPS[kind]
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / name
    if not path.exists():
        print(f"generating {name} (once, up to a minute) ...", flush=True)
        partial = cache_dir / f"partial-{name}"
        make(partial)
        partial.rename(path)
    return Clip(path, 1080, 1920, 30.0, 30.0, rotation=90 if kind == "phone" else 0, has_audio=True)


def main() -> None:
    """Run the benchmark and print labelled results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "rehab-bot-bench")
    parser.add_argument("--clip", choices=sorted(CLIPS), default="phone")
    options = parser.parse_args()

    ffmpeg = FFmpeg.locate(timeout_s=600)
    spec = SamplingSpec()
    clip = prepare_clip(options.cache_dir, options.clip)
    facts = inspect_video(clip.path, ffmpeg=ffmpeg, max_duration_s=600, max_pixels=4096 * 4096)
    print(
        f"clip: {facts.duration_s:.1f} s, {facts.frame_count} frames, stored {facts.width}x{facts.height}, "
        f"rotation {facts.rotation}, shown {facts.display_width}x{facts.display_height}, {facts.codec}, "
        f"{clip.path.stat().st_size / 1e6:.1f} MB, ffmpeg {ffmpeg.binary}"
    )
    work = Path(tempfile.mkdtemp(prefix="rehab-bench-"))
    try:
        run_rounds(ffmpeg, clip, facts, spec, work, options.rounds)
        run_windows(ffmpeg, clip, facts, spec, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_rounds(ffmpeg: FFmpeg, clip: Clip, facts: VideoProbe, spec: SamplingSpec, work: Path, rounds: int) -> None:
    """Alternate bare decode, sample_video (with pack) and the naive sampler; print medians."""
    times: dict[str, list[float]] = {"bare": [], "sample": [], "naive": [], "blur": []}
    redactor = PackRedactor()
    sampled = None
    for round_number in range(rounds):
        times["bare"].append(timed(lambda: bare_decode(ffmpeg, clip.path)))
        pack_dir = work / f"pack-{round_number}"

        def sample(pack_dir: Path = pack_dir) -> None:
            """Sample with a frame pack into a fresh directory."""
            nonlocal sampled
            sampled = sample_video(clip.path, facts, ffmpeg=ffmpeg, spec=spec, cache_dir=pack_dir)

        times["sample"].append(timed(sample))
        if round_number < rounds - 1:
            shutil.rmtree(pack_dir)
        times["naive"].append(timed(lambda: naive_sample(ffmpeg, clip.path, facts, spec)))
        blur_dir = work / f"blur-{round_number}"
        times["blur"].append(
            timed(
                lambda blur_dir=blur_dir: sample_video(
                    clip.path, facts, ffmpeg=ffmpeg, spec=spec, cache_dir=blur_dir, redactor=redactor
                )
            )
        )
        shutil.rmtree(blur_dir)
        print(
            f"round {round_number + 1}/{rounds}: bare {times['bare'][-1]:.2f} s, "
            f"sample+pack {times['sample'][-1]:.2f} s, naive {times['naive'][-1]:.2f} s, "
            f"sample+pack+blur {times['blur'][-1]:.2f} s",
            flush=True,
        )
    assert sampled is not None
    errors = [abs(content_time(f, clip) - t) for f, t in zip(sampled.frames, sampled.timestamps_s, strict=True)]
    upright = all(red_corner(frame) == "top-left" for frame in sampled.frames)
    bare, sample, naive = (statistics.median(times[key]) for key in ("bare", "sample", "naive"))
    print()
    print(f"model frames                       : {sampled.frames.shape[0]} x {sampled.height}x{sampled.width}")
    print(f"timestamp error vs picture (max)   : {max(errors) * 1000:.1f} ms; upright: {upright}")
    print(f"bare decode   (ffmpeg -f null)     : {median_ms(times['bare'])}")
    print(f"sample_video  (frames + pack)      : {median_ms(times['sample'])}")
    print(f"naive         (all frames -> numpy): {median_ms(times['naive'])}")
    print(f"ratio sample/bare                  : {sample / bare:.2f}x  (target <= 1.3x)")
    print(f"ratio naive/sample                 : {naive / sample:.2f}x")
    blur = statistics.median(times["blur"])
    print(f"sample_video + face blur in pack   : {median_ms(times['blur'])}")
    print(f"ratio blur/sample                  : {blur / sample:.2f}x  (the cost of BLUR_FACES)")


def run_windows(ffmpeg: FFmpeg, clip: Clip, facts: VideoProbe, spec: SamplingSpec, work: Path) -> None:
    """Follow-up latency: a window from the pack (warm) and from the original (cold)."""
    pack_dir = sorted(work.glob("pack-*"))[-1]
    pack = FramePack.open(pack_dir)
    centers = [1.0, 7.5, 12.3, 18.0, 24.2, 29.5]
    first = timed(lambda: pack.window(15.0))
    warm = [timed(lambda c=c: pack.window(c)) for c in centers for _ in range(3)]
    cold = [timed(lambda c=c: window_from_video(clip.path, facts, c, ffmpeg=ffmpeg, spec=spec)) for c in centers]
    window = pack.window(12.3)
    print(f"window frames                      : {len(window.frames)} x {window.height}x{window.width}")
    print(f"FramePack.window  (warm, median)   : {median_ms(warm)}  (first call {first * 1000:.1f} ms)")
    print(f"window_from_video (cold, median)   : {median_ms(cold)}")
    proxy_bytes = sum(path.stat().st_size for path in pack_dir.rglob("*.jpg"))
    print(f"frame pack on disk                 : {proxy_bytes / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
