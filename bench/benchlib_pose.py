"""Helpers of bench/bench_pose.py: the pose models and the clip it measures, and its timers."""

from __future__ import annotations

import asyncio
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Settings
from bot.engine.assess import PreparedVideo
from bot.engine.build import build_assessment_service
from bot.pose.stage import PoseStage
from bot.video import FFmpeg

MODELS = {"mediapipe": "BlazePose (mediapipe)", "tiny": "tiny VitPose (random)", "base": "ViTPose-B (random)"}
BACKENDS = {"mediapipe": "mediapipe", "tiny": "vitpose", "base": "vitpose"}
SUMMARY_KEYS = {"mediapipe": "mediapipe", "tiny": "tiny", "base": "vitpose_base"}
RATIO_TARGET = 1.5
BUSY_TARGET = 0.9
CLIP_S = 30.0
BUSY_CLIP_S = 10.0
# Seconds per pose frame assumed for the busy runs' time limit when part 1 did not measure the model.
ASSUMED_S_PER_FRAME = {"mediapipe": 0.1, "tiny": 0.05, "base": 1.0}
# Frames per second the tiny Qwen3-VL's processor samples (for the same time limit, when VIDEO_FPS is not set).
ASSUMED_MODEL_FPS = 2.0


# --------------------------------------------------------------------------------------------
# Models and the prepared clip


def ensure_tiny_qwen(directory: Path) -> Path:
    """The tiny random-weight Qwen3-VL (its processor gives the sampling spec), written once."""
    from bot.vlm.tiny import make_tiny_model

    if not (directory / "config.json").exists():
        print(f"writing the tiny Qwen3-VL to {directory} (once) ...", flush=True)
        make_tiny_model(directory)
    return directory


def ensure_pose_model(name: str, cache_dir: Path) -> str:
    """POSE_MODEL for `name`: empty for mediapipe (its default), else a random-weight VitPose written once."""
    if name == "mediapipe":
        return ""
    directory = cache_dir / ("tiny-vitpose" if name == "tiny" else "vitpose-base-random")
    if (directory / "config.json").exists() and (directory / "preprocessor_config.json").exists():
        return str(directory)
    print(f"writing {MODELS[name]} to {directory} (once) ...", flush=True)
    if name == "tiny":
        from bot.pose.tiny import make_tiny_pose_model

        return str(make_tiny_pose_model(directory))
    return str(make_base_pose_model(directory))


def make_base_pose_model(directory: Path) -> Path:
    """ViTPose-B as in usyd-community/vitpose-base-simple (ViT-B/16 at 256x192, simple decoder), random weights."""
    import torch
    from transformers import VitPoseBackboneConfig, VitPoseConfig, VitPoseForPoseEstimation, VitPoseImageProcessor

    # The defaults are ViT-B; the checkpoint reads the last of the 12 layers and has 17 COCO keypoints.
    backbone = VitPoseBackboneConfig(out_indices=[12], out_features=["stage12"])
    config = VitPoseConfig(backbone_config=backbone, num_labels=17)
    torch.manual_seed(0)
    model = VitPoseForPoseEstimation(config).eval()
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    VitPoseImageProcessor().save_pretrained(directory)
    return directory


def person_clip(cache_dir: Path, height: int = 360) -> Path:
    """30 s 16:9 H.264 at 30 fps, `height` lines: scikit-image's astronaut photo swaying (a real person), made once."""
    from PIL import Image
    from skimage import data

    from tests.fixtures.videos import run_ffmpeg

    folder = cache_dir / "pose"
    width = height * 16 // 9
    path = folder / ("person_30s_640x360.mp4" if height == 360 else f"person_30s_{width}x{height}.mp4")
    if path.exists():
        return path
    print(f"generating {path} (once) ...", flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    still = folder / "astronaut.png"
    Image.fromarray(data.astronaut()).save(still)
    sway = (
        f"scale={height}:{height},rotate=0.08*sin(PI*t):fillcolor=black,"
        f"pad={width}:{height}:{(width - height) // 2}:0,format=yuv420p"
    )
    partial = folder / f"partial-{path.name}"
    run_ffmpeg(
        "-loop", "1", "-i", str(still), "-t", f"{CLIP_S:g}", "-r", "30", "-vf", sway,
        "-c:v", "libx264", "-preset", "veryfast", str(partial),
    )  # fmt: skip
    partial.rename(path)
    return path


def prepare_clip(clip: Path, qwen_dir: Path, pack_dir: Path, video_fps: float) -> tuple[PreparedVideo, FFmpeg, float]:
    """Probe and sample the clip as a job does (frame pack in `pack_dir`); returns it, the ffmpeg and the seconds."""
    settings = Settings(_env_file=None, model=str(qwen_dir), model_device="cpu", blur_faces=False, video_fps=video_fps)  # type: ignore[call-arg]
    service = build_assessment_service(settings)

    async def start_and_prepare() -> tuple[PreparedVideo, float]:
        """Load the tiny model for its sampling spec, then prepare the clip on a thread."""
        await service.backend.start()
        try:
            started = time.perf_counter()
            prepared = await asyncio.to_thread(service.prepare_video, clip, pack_dir=pack_dir)
            return prepared, time.perf_counter() - started
        finally:
            await service.backend.close()

    prepared, seconds = asyncio.run(start_and_prepare())
    return prepared, service.ffmpeg, seconds


# --------------------------------------------------------------------------------------------
# Part 1: pose stage against a bare decode


@dataclass
class Split:
    """Seconds one pose-stage run spent in the estimator and, for VitPose, in each part of it."""

    estimate: float = 0.0
    preprocess: float = 0.0
    forward: float = 0.0
    postprocess: float = 0.0


class TimedProcessor:
    """A loaded VitPose image processor, timing its preprocessing and post-processing into the owner's split."""

    def __init__(self, processor: Any, owner: StageTimer) -> None:
        """Wrap `processor`; times go to `owner.split`."""
        self._processor = processor
        self._owner = owner

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Preprocess a batch (crop each box, resize, normalize)."""
        started = time.perf_counter()
        try:
            return self._processor(*args, **kwargs)
        finally:
            self._owner.split.preprocess += time.perf_counter() - started

    def post_process_pose_estimation(self, *args: Any, **kwargs: Any) -> Any:
        """Heatmaps to keypoints in the frame's pixels."""
        started = time.perf_counter()
        try:
            return self._processor.post_process_pose_estimation(*args, **kwargs)
        finally:
            self._owner.split.postprocess += time.perf_counter() - started

    def __getattr__(self, name: str) -> Any:
        """Everything else from the processor itself."""
        return getattr(self._processor, name)


class StageTimer:
    """Wraps a warmed-up stage's estimator (and a loaded VitPose's processor and model) to split each run."""

    def __init__(self, stage: PoseStage) -> None:
        """Install the wrappers (after the warm-up: a VitPose must be loaded already)."""
        self.split = Split()
        self.detailed = False
        estimator: Any = stage.estimator
        original_estimate = estimator.estimate

        def estimate(frames: Any) -> Any:
            """The estimator on one video's frames."""
            started = time.perf_counter()
            try:
                return original_estimate(frames)
            finally:
                self.split.estimate += time.perf_counter() - started

        estimator.estimate = estimate
        loaded = getattr(estimator, "_loaded", None)
        if loaded is not None:
            processor, model = loaded
            estimator._loaded = (TimedProcessor(processor, self), model)
            self._forward_started = 0.0
            model.register_forward_pre_hook(self._before_forward)
            model.register_forward_hook(self._after_forward)
            self.detailed = True

    def _before_forward(self, module: Any, args: Any) -> None:
        """Note when the model's forward starts."""
        self._forward_started = time.perf_counter()

    def _after_forward(self, module: Any, args: Any, output: Any) -> None:
        """Add the forward's time."""
        self.split.forward += time.perf_counter() - self._forward_started

    def take(self) -> Split:
        """The split of the run just done; starts a fresh one."""
        split, self.split = self.split, Split()
        return split


@dataclass
class PoseResult:
    """Part 1's figures for one pose model."""

    name: str
    frames: int
    load_s: float
    detailed: bool = False
    found: float = 0.0
    pose_s: list[float] = field(default_factory=list)
    decode_s: list[float] = field(default_factory=list)
    pose_cpu_s: list[float] = field(default_factory=list)
    decode_cpu_s: list[float] = field(default_factory=list)
    splits: list[Split] = field(default_factory=list)

    @property
    def pose(self) -> float:
        """Median pose-stage seconds."""
        return statistics.median(self.pose_s)

    @property
    def decode(self) -> float:
        """Median bare-decode seconds."""
        return statistics.median(self.decode_s)

    @property
    def ratio(self) -> float:
        """Pose stage over bare decode (medians)."""
        return self.pose / self.decode

    @property
    def cpu_ratio(self) -> float:
        """CPU seconds of the pose stage (all its threads) over those of the bare decode's ffmpeg (medians)."""
        return statistics.median(self.pose_cpu_s) / statistics.median(self.decode_cpu_s)

    @property
    def s_per_frame(self) -> float:
        """Median pose-stage seconds per frame measured."""
        return self.pose / self.frames

    def part(self, name: str) -> str:
        """Median seconds of one part of the split (`other`: the run outside the estimator), formatted."""
        if name == "other":
            return f"{statistics.median(p - s.estimate for p, s in zip(self.pose_s, self.splits, strict=True)):.2f}"
        if name != "estimate" and not self.detailed:
            return "-"
        return f"{statistics.median(getattr(s, name) for s in self.splits):.2f}"


def timed(action: Callable[[], object]) -> float:
    """Wall-clock seconds one call takes."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def children_cpu_s() -> float:
    """CPU seconds (user + system) of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bare_decode(ffmpeg: FFmpeg, clip: Path) -> None:
    """What ffmpeg needs just to decode every frame of the clip."""
    command = ffmpeg.command(["-v", "error", "-i", str(clip), "-f", "null", "-"])
    subprocess.run(command, check=True, timeout=ffmpeg.timeout_s)
