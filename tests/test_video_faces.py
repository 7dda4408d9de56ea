"""Face blurring on real photos that scikit-image ships (the astronaut portrait of Eileen Collins, a coffee cup)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from bot.video.faces import FaceBlurrer, expand_box, haar_available

# Eyes, nose, mouth and chin of the astronaut (512x512), checked by eye; any box must cover all of it.
FACE_CORE = (185, 75, 265, 172)  # x0, y0, x1, y1
BACKENDS = ["lbp", "haar", "haar+lbp"]


@pytest.fixture(scope="module", params=BACKENDS)
def blurrer(request: pytest.FixtureRequest) -> FaceBlurrer:
    return FaceBlurrer(backend=request.param)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    image = data.astronaut()
    assert image.shape == (512, 512, 3)
    return image


def outside_mask(shape: tuple[int, ...], boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    mask = np.ones(shape[:2], bool)
    for x, y, w, h in boxes:
        mask[y : y + h, x : x + w] = False
    return mask


def region(image: np.ndarray, core: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = core
    return image[y0:y1, x0:x1]


def laplacian_var(rgb: np.ndarray) -> float:
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float64)
    return float(cv2.Laplacian(grey, cv2.CV_64F)[1:-1, 1:-1].var())


def covers(box: tuple[int, int, int, int], core: tuple[int, int, int, int]) -> bool:
    x, y, w, h = box
    return x <= core[0] and y <= core[1] and x + w >= core[2] and y + h >= core[3]


def assert_face_obscured(before: np.ndarray, after: np.ndarray, core: tuple[int, int, int, int]) -> None:
    face_before, face_after = region(before, core), region(after, core)
    mad = np.abs(face_before.astype(np.int16) - face_after.astype(np.int16)).mean()
    assert mad > 12, f"face barely changed (mean abs diff {mad:.1f})"
    ratio = laplacian_var(face_before) / max(laplacian_var(face_after), 1e-9)
    assert ratio > 5, f"high-frequency energy only dropped {ratio:.1f}x"


def test_detect_covers_the_face(blurrer: FaceBlurrer, astronaut: np.ndarray) -> None:
    boxes = blurrer.detect(astronaut)
    face = [b for b in boxes if covers(b, FACE_CORE)]
    assert face, f"no box covers the face: {boxes}"
    for x, y, w, h in face:
        assert w < 220 and h < 220, "face box is far larger than the face"
        assert abs(x + w / 2 - 225) < 30 and abs(y + h / 2 - 118) < 30
    for box in boxes:
        assert all(isinstance(v, int) for v in box)
        x, y, w, h = box
        assert x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= 512 and y + h <= 512


def test_boxes_are_expanded_by_the_margin(astronaut: np.ndarray) -> None:
    tight = FaceBlurrer(backend="lbp", margin=0.0).detect(astronaut)
    loose = FaceBlurrer(backend="lbp", margin=0.25).detect(astronaut)
    assert len(tight) == len(loose)
    for (x, y, w, h), (lx, ly, lw, lh) in zip(sorted(tight), sorted(loose), strict=True):
        assert (lx, ly, lw, lh) == expand_box((x, y, w, h), 0.25, 512, 512)
        if x > w and y > h:  # not clipped by the image border
            assert lw == w + 2 * round(w * 0.25) and lh == h + 2 * round(h * 0.25)


def test_detect_maps_boxes_back_from_the_downscaled_copy(blurrer: FaceBlurrer, astronaut: np.ndarray) -> None:
    # 1280x1024 canvas: detection runs at half size, and the face sits at an offset of (128, 0) at 2x scale.
    canvas = np.full((1024, 1280, 3), 90, np.uint8)
    canvas[:, 128 : 128 + 1024] = cv2.resize(astronaut, (1024, 1024), interpolation=cv2.INTER_CUBIC)
    core = (128 + 2 * FACE_CORE[0], 2 * FACE_CORE[1], 128 + 2 * FACE_CORE[2], 2 * FACE_CORE[3])
    boxes = blurrer.detect(canvas)
    face = [b for b in boxes if covers(b, core)]
    assert face, f"no box covers the face at 2x: {boxes}"
    assert all(b[2] < 440 for b in face)
    out = blurrer.blur(canvas)
    assert_face_obscured(canvas, out, core)
    assert np.array_equal(out[outside_mask(canvas.shape, boxes)], canvas[outside_mask(canvas.shape, boxes)])


def test_blur_obscures_the_face_and_nothing_else(blurrer: FaceBlurrer, astronaut: np.ndarray) -> None:
    boxes = blurrer.detect(astronaut)
    out = blurrer.blur(astronaut)
    assert out.shape == astronaut.shape and out.dtype == np.uint8
    assert_face_obscured(astronaut, out, FACE_CORE)
    outside = outside_mask(astronaut.shape, boxes)
    assert np.array_equal(out[outside], astronaut[outside])
    assert not np.array_equal(out, astronaut)


def test_blur_is_strong_at_the_pixel_level(blurrer: FaceBlurrer, astronaut: np.ndarray) -> None:
    # Eyes and mouth are gone: the face core is close to flat (pixelated, then smoothed) compared with the original.
    out = blurrer.blur(astronaut)
    face = region(out, FACE_CORE).astype(np.float64)
    orig = region(astronaut, FACE_CORE).astype(np.float64)
    assert laplacian_var(region(out, FACE_CORE)) < 2.0
    # Residual detail after removing a heavy blur: small in the output, large in the original.
    residual = np.abs(face - cv2.GaussianBlur(face, (0, 0), 3)).mean()
    residual_orig = np.abs(orig - cv2.GaussianBlur(orig, (0, 0), 3)).mean()
    assert residual < residual_orig / 5


def test_input_is_not_modified(blurrer: FaceBlurrer, astronaut: np.ndarray) -> None:
    frame = astronaut.copy()
    out = blurrer.blur(frame)
    assert np.array_equal(frame, astronaut)
    assert not np.shares_memory(out, frame)


@pytest.mark.parametrize("name", ["coffee", "gradient"])
def test_image_without_a_face_is_returned_unchanged(blurrer: FaceBlurrer, name: str) -> None:
    if name == "coffee":
        image = data.coffee()
    else:
        ramp = np.linspace(0, 255, 640, dtype=np.float64)
        image = np.stack([np.tile(ramp, (360, 1)), np.tile(ramp[::-1], (360, 1)), np.full((360, 640), 128.0)], axis=-1)
        image = image.astype(np.uint8)
    assert blurrer.detect(image) == []
    out = blurrer.blur(image)
    assert np.array_equal(out, image)
    assert out is not image


def test_non_contiguous_and_odd_sized_input(blurrer: FaceBlurrer, astronaut: np.ndarray) -> None:
    view = astronaut[:, ::-1]  # mirrored view, not C-contiguous
    out = blurrer.blur(view)
    mirrored_core = (512 - FACE_CORE[2], FACE_CORE[1], 512 - FACE_CORE[0], FACE_CORE[3])
    assert_face_obscured(np.ascontiguousarray(view), out, mirrored_core)
    tiny = np.zeros((1, 1, 3), np.uint8)
    assert np.array_equal(blurrer.blur(tiny), tiny)


def test_blur_pil(blurrer: FaceBlurrer, astronaut: np.ndarray) -> None:
    out = blurrer.blur_pil(Image.fromarray(astronaut))
    assert out.mode == "RGB" and out.size == (512, 512)
    assert np.array_equal(np.asarray(out), blurrer.blur(astronaut))

    alpha = np.tile(np.arange(512, dtype=np.uint8)[:, None] // 2, (1, 512))
    rgba = Image.fromarray(np.dstack([astronaut, alpha]), "RGBA")
    out_rgba = blurrer.blur_pil(rgba)
    assert out_rgba.mode == "RGBA"
    assert np.array_equal(np.asarray(out_rgba)[..., 3], alpha)
    assert np.array_equal(np.asarray(out_rgba)[..., :3], blurrer.blur(astronaut))


def test_rejects_non_rgb_uint8(blurrer: FaceBlurrer, astronaut: np.ndarray) -> None:
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        blurrer.blur(astronaut[..., 0])
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        blurrer.detect(astronaut.astype(np.float32))


def test_backend_selection() -> None:
    with pytest.raises(ValueError, match="backend"):
        FaceBlurrer(backend="yunet")  # type: ignore[arg-type]
    # The locked opencv-contrib-python (5.x) ships the Haar cascades; a plain opencv-python 5.x would fall back to LBP.
    assert haar_available()
    assert FaceBlurrer().backend == "haar"


def test_blur_boxes_clips_and_keeps_the_outside() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (100, 160, 3), dtype=np.uint8)
    blurrer = FaceBlurrer(backend="lbp")
    out = blurrer.blur_boxes(image, [(-20, 60, 60, 60), (150, -5, 40, 30)])
    clipped = [(0, 60, 40, 40), (150, 0, 10, 25)]
    assert np.array_equal(out[outside_mask(image.shape, clipped)], image[outside_mask(image.shape, clipped)])
    assert not np.array_equal(out[60:100, 0:40], image[60:100, 0:40])
    assert expand_box((10, 10, 40, 20), 0.25, 160, 100) == (0, 5, 60, 30)
    assert expand_box((150, 90, 40, 40), 0.25, 160, 100) == (140, 80, 20, 20)


def marked(image: np.ndarray, index: int) -> np.ndarray:
    frame = image.copy()
    frame[0, 0] = index  # the fake detectors below tell frames apart by this pixel
    return frame


def test_sequence_carries_a_box_over_a_missed_frame(
    blurrer: FaceBlurrer, astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    shifted = np.roll(astronaut, (3, 4), axis=(0, 1))  # the face moved by (4, 3) px in the middle frame
    frames = [marked(astronaut, 0), marked(shifted, 1), marked(astronaut, 2)]
    originals = [f.copy() for f in frames]
    real_detect = blurrer.detect
    monkeypatch.setattr(blurrer, "detect", lambda rgb: [] if rgb[0, 0, 0] == 1 else real_detect(rgb))
    assert real_detect(frames[1]), "the real detector finds the shifted face; the miss is simulated"
    assert np.array_equal(blurrer.blur(frames[1]), frames[1]), "on its own, the missed frame stays unblurred"

    out = blurrer.blur_sequence(frames)
    assert len(out) == 3
    shifted_core = (FACE_CORE[0] + 4, FACE_CORE[1] + 3, FACE_CORE[2] + 4, FACE_CORE[3] + 3)
    assert_face_obscured(frames[1], out[1], shifted_core)
    carried = blurrer.sequence_boxes(frames)[1]
    assert carried, "no box carried into the missed frame"
    outside = outside_mask(frames[1].shape, carried)
    assert np.array_equal(out[1][outside], frames[1][outside])
    for i in (0, 2):
        assert np.array_equal(out[i], blurrer.blur(frames[i]))
    assert all(np.array_equal(f, o) for f, o in zip(frames, originals, strict=True))


def test_sequence_carries_at_most_two_frames(astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    blurrer = FaceBlurrer(backend="lbp")
    face_box = (150, 40, 140, 145)
    frames = [marked(astronaut, i) for i in range(6)]
    monkeypatch.setattr(blurrer, "detect", lambda rgb: [face_box] if rgb[0, 0, 0] == 0 else [])
    out = blurrer.blur_sequence(frames)
    for i in (0, 1, 2):
        assert_face_obscured(frames[i], out[i], FACE_CORE)
        outside = outside_mask(astronaut.shape, [face_box])
        assert np.array_equal(out[i][outside], frames[i][outside])
    for i in (3, 4, 5):
        assert np.array_equal(out[i], frames[i])
    assert blurrer.sequence_boxes(frames) == [[face_box], [face_box], [face_box], [], [], []]
    assert blurrer.sequence_boxes(frames, window=0) == [[face_box], [], [], [], [], []]


def test_sequence_keeps_a_second_missed_face(astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    # Frame 1 still finds face A but misses face B: B is carried from its neighbours, A is not duplicated.
    blurrer = FaceBlurrer(backend="lbp")
    face_a, face_b, face_a_moved = (10, 10, 100, 100), (300, 300, 120, 120), (14, 12, 100, 100)
    per_frame = {0: [face_a, face_b], 1: [face_a_moved], 2: [face_a, face_b]}
    frames = [marked(astronaut, i) for i in range(3)]
    monkeypatch.setattr(blurrer, "detect", lambda rgb: per_frame[int(rgb[0, 0, 0])])
    assert blurrer.sequence_boxes(frames)[1] == [face_a_moved, face_b]


def test_sequence_with_real_detection(blurrer: FaceBlurrer, astronaut: np.ndarray) -> None:
    frames = [np.roll(astronaut, (0, dx), axis=(0, 1)) for dx in (0, 3, 6, 9)]
    out = blurrer.blur_sequence(frames)
    for dx, before, after in zip((0, 3, 6, 9), frames, out, strict=True):
        assert_face_obscured(before, after, (FACE_CORE[0] + dx, FACE_CORE[1], FACE_CORE[2] + dx, FACE_CORE[3]))
    assert blurrer.blur_sequence([]) == []
