"""Qwen3-VL frame/pixel budget: our arithmetic against transformers' own video processor."""

from __future__ import annotations

import itertools
import json
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.video import SamplingSpec, plan_frame_count, plan_frame_size, plan_window_size, select_nearest, smart_resize
from bot.video.budget import pick_window, proxy_indices, window_bounds

SIZES = [
    (1920, 1080),
    (1080, 1920),
    (1280, 720),
    (720, 1280),
    (640, 360),
    (360, 640),
    (480, 480),
    (240, 320),
    (2160, 3840),
    (3840, 2160),
    (100, 30),
    (20, 50),
    (31, 33),
    (4096, 4096),
    (1440, 1080),
    (1000, 50),
]
FRAME_COUNTS = [2, 4, 6, 8, 10, 12, 36, 60, 120, 240, 500, 768]
SHIPPED = {
    "fps": 2,
    "min_frames": 4,
    "max_frames": 768,
    "size": {"shortest_edge": 131072, "longest_edge": 25165824},
    "patch_size": 16,
    "merge_size": 2,
    "temporal_patch_size": 2,
    "video_processor_type": "Qwen3VLVideoProcessor",
}


@pytest.fixture(scope="module")
def qwen_resize() -> Any:
    """transformers' Qwen3VLVideoProcessor.resize, returning the size it would resize to."""
    transformers_qwen = pytest.importorskip("transformers.models.qwen3_vl.video_processing_qwen3_vl")
    from transformers.image_utils import SizeDict
    from transformers.video_processing_utils import BaseVideoProcessor

    def resize(spec: SamplingSpec, frames: int, height: int, width: int) -> tuple[int, int]:
        processor = transformers_qwen.Qwen3VLVideoProcessor(
            size={"shortest_edge": spec.min_pixels, "longest_edge": spec.max_pixels},
            max_video_tokens=spec.max_video_tokens,
            cap_pixels_per_frame=spec.cap_pixels_per_frame,
        )
        # Only the target size matters: stop before any pixels are touched.
        original = BaseVideoProcessor.resize
        BaseVideoProcessor.resize = lambda self, image, size, **kw: (size.height, size.width)  # type: ignore[method-assign]
        try:
            return processor.resize(
                videos=SimpleNamespace(shape=(1, frames, 3, height, width)),
                size=SizeDict(shortest_edge=spec.min_pixels, longest_edge=spec.max_pixels),
                resample=None,
                factor=spec.factor,
                temporal_factor=spec.temporal_patch_size,
                cap_pixels_per_frame=spec.cap_pixels_per_frame,
            )
        finally:
            BaseVideoProcessor.resize = original  # type: ignore[method-assign]

    return resize


SPECS = [
    SamplingSpec(),
    SamplingSpec(cap_pixels_per_frame=False),
    SamplingSpec().with_overrides(max_pixels=640 * 640 * 8),
    SamplingSpec(max_video_tokens=256),
]


@pytest.mark.parametrize("spec", SPECS, ids=["shipped", "uncapped", "small-budget", "256-tokens"])
def test_plan_frame_size_matches_transformers(qwen_resize: Any, spec: SamplingSpec) -> None:
    for (height, width), frames in itertools.product(SIZES, FRAME_COUNTS):
        assert plan_frame_size(frames, height, width, spec) == qwen_resize(spec, frames, height, width), (
            height,
            width,
            frames,
        )


def test_smart_resize_matches_transformers() -> None:
    qwen = pytest.importorskip("transformers.models.qwen3_vl.video_processing_qwen3_vl")
    for (height, width), frames in itertools.product(SIZES, [2, 3, 5, 60, 768]):
        for max_pixels in (25_165_824, 786_432, 131_072 * 4):
            ours = smart_resize(frames, height, width, 2, 32, 131_072, max_pixels)
            theirs = qwen.smart_resize(frames, height, width, 2, 32, 131_072, max_pixels)
            assert ours == theirs, (height, width, frames, max_pixels)
    with pytest.raises(ValueError, match="temporal"):
        smart_resize(1, 100, 100)


@pytest.mark.parametrize(("height", "width"), SIZES)
def test_planned_sizes_are_fixed_points(height: int, width: int) -> None:
    # Frames already at the planned size must pass through the processor's resize unchanged.
    spec = SamplingSpec()
    for frames in FRAME_COUNTS:
        planned = plan_frame_size(frames, height, width, spec)
        assert planned[0] % 32 == 0 and planned[1] % 32 == 0
        assert plan_frame_size(frames, *planned, spec) == planned


@pytest.mark.parametrize(("height", "width"), SIZES)
def test_window_size_is_a_fixed_point_for_any_window_length(height: int, width: int) -> None:
    spec = SamplingSpec()
    planned = plan_window_size(height, width, spec, frames=36, frame_pixels=640 * 640)
    assert planned[0] % 32 == 0 and planned[1] % 32 == 0
    if planned[0] * planned[1] > 32 * 32:  # tiny or extreme shapes are floored at one patch
        assert planned[0] * planned[1] <= max(640 * 640, int(spec.min_pixels * 1.05))
    for frames in range(2, 62, 2):
        assert plan_frame_size(frames, *planned, spec) == planned, frames


def test_portrait_phone_sizes() -> None:
    spec = SamplingSpec()
    assert plan_frame_size(60, 1920, 1080, spec) == (832, 480)
    # 120 s: the per-frame floor (1.05 x shortest_edge) of cap_pixels_per_frame keeps 480x256;
    # without the cap the summed budget alone gives 416x224.
    assert plan_frame_size(240, 1920, 1080, spec) == (480, 256)
    assert plan_frame_size(240, 1920, 1080, SamplingSpec(cap_pixels_per_frame=False)) == (416, 224)
    assert plan_window_size(1920, 1080, spec, frames=36, frame_pixels=640 * 640) == (832, 480)


@pytest.mark.parametrize(
    ("duration", "frames", "expected"),
    [
        (30.0, 900, 60),
        (1.0, 30, 4),
        (0.2, 6, 4),
        (2.5, 75, 6),
        (2.5, 5, 4),
        (1 / 30, 1, 2),
        (0.1, 3, 2),
        (600.0, 18000, 768),
        (1000.0, 30000, 768),
        (3.7, 111, 8),
    ],
)
def test_plan_frame_count(duration: float, frames: int, expected: int) -> None:
    assert plan_frame_count(duration, frames, SamplingSpec()) == expected


def test_plan_frame_count_with_odd_limits() -> None:
    spec = SamplingSpec().with_overrides(max_frames=7)
    assert plan_frame_count(30.0, 900, spec) == 6
    assert plan_frame_count(1.0, 30, SamplingSpec().with_overrides(min_frames=5)) == 6
    assert plan_frame_count(10.0, 300, SamplingSpec().with_overrides(fps=1.0)) == 10


def test_select_nearest_is_unique_increasing_and_nearest() -> None:
    pts = [i / 30 for i in range(90)]
    assert select_nearest(pts, [0.0, 1.0, 2.0, 2.9667]) == [0, 30, 60, 89]
    # Targets closer together than frames still get distinct frames.
    crowded = select_nearest([0.0, 0.1, 0.2, 0.3], [0.0, 0.01, 0.02, 0.3])
    assert crowded == [0, 1, 2, 3]
    back = select_nearest([0.0, 0.1, 0.2, 0.3], [0.3, 0.3])
    assert back == [2, 3]
    vfr = [0.0, 0.1, 0.2, 1.0, 2.0]
    assert select_nearest(vfr, [0.0, 0.7, 2.0]) == [0, 3, 4]
    assert select_nearest(vfr, [0.0, 0.5, 1.0, 1.5, 2.0]) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="more targets"):
        select_nearest([0.0], [0.0, 1.0])


def test_select_nearest_over_many_random_cases() -> None:
    import random

    rng = random.Random(7)
    for _ in range(300):
        pts = sorted({round(rng.uniform(0, 10), 3) for _ in range(rng.randint(1, 60))})
        targets = sorted(rng.uniform(0, 10) for _ in range(rng.randint(1, len(pts))))
        chosen = select_nearest(pts, targets)
        assert len(chosen) == len(targets)
        assert all(b > a for a, b in pairwise(chosen))


def test_proxy_and_window_helpers() -> None:
    pts = [i / 30 for i in range(900)]
    proxy = proxy_indices(pts, 6.0)
    assert proxy[:3] == [0, 5, 10] and len(proxy) == 180
    assert window_bounds(12.0, 3.0, 30.0) == (9.0, 15.0)
    assert window_bounds(1.0, 3.0, 30.0) == (0.0, 6.0)
    assert window_bounds(29.5, 3.0, 30.0) == (24.0, 30.0)
    assert window_bounds(99.0, 3.0, 30.0) == (24.0, 30.0)
    assert window_bounds(2.0, 3.0, 4.0) == (0.0, 4.0)
    times = [pts[i] for i in proxy]
    picked = pick_window(times, 12.0, 9.0, 15.0)
    assert len(picked) == 36 and len(picked) % 2 == 0
    assert times[picked[0]] >= 9.0 and times[picked[-1]] <= 15.0
    assert pick_window([5.0], 0.0, 0.0, 1.0) == [0, 0]
    assert pick_window([0.0, 0.5, 1.0], 0.9, 0.0, 1.0) == [1, 2]


def test_spec_from_shipped_config(tmp_path: Path) -> None:
    spec = SamplingSpec.from_processor_config(SHIPPED)
    assert spec == SamplingSpec()
    assert spec.factor == 32
    assert SamplingSpec.from_pretrained_dir(tmp_path) == SamplingSpec()
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({**SHIPPED, "fps": 3}))
    assert SamplingSpec.from_pretrained_dir(tmp_path).fps == 3
    (tmp_path / "video_preprocessor_config.json").write_text(json.dumps({**SHIPPED, "max_frames": 100}))
    assert SamplingSpec.from_pretrained_dir(tmp_path).max_frames == 100
    nested = {"video_processor": {**SHIPPED, "min_frames": 8}}
    (tmp_path / "processor_config.json").write_text(json.dumps(nested))
    assert SamplingSpec.from_pretrained_dir(tmp_path).min_frames == 8


def test_spec_reads_what_transformers_saves(tmp_path: Path) -> None:
    qwen = pytest.importorskip("transformers.models.qwen3_vl.video_processing_qwen3_vl")
    processor = qwen.Qwen3VLVideoProcessor(
        size={"shortest_edge": 65536, "longest_edge": 1_000_000}, fps=3, max_frames=64, cap_pixels_per_frame=True
    )
    processor.save_pretrained(tmp_path)
    spec = SamplingSpec.from_pretrained_dir(tmp_path)
    assert (spec.min_pixels, spec.max_pixels, spec.fps, spec.max_frames) == (65536, 1_000_000, 3.0, 64)
    assert spec.cap_pixels_per_frame


def test_overrides_keep_zero_values() -> None:
    spec = SamplingSpec().with_overrides(fps=4.0, max_pixels=1_000_000)
    assert (spec.fps, spec.max_pixels, spec.min_frames, spec.max_frames) == (4.0, 1_000_000, 4, 768)
    assert SamplingSpec().with_overrides() == SamplingSpec()
