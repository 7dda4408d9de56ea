"""Faces are blurred in the stored frame pack before it is committed; the model's in-memory frames are not."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from bot.config import Settings
from bot.engine.build import build_assessment_service
from bot.video import FFmpeg, SamplingSpec, probe, sample_video
from bot.video import pack as pack_files
from bot.video.redact import PackRedactor
from tests.fixtures.videos import run_ffmpeg

# Eyes, nose, mouth and chin of the astronaut in the 512x512 photo (as in test_video_faces).
FACE_CORE = (185, 75, 265, 172)
# Far from the face: the flag and the background on the right.
AWAY = (400, 300, 500, 500)


@pytest.fixture(scope="module")
def ffmpeg() -> FFmpeg:
    return FFmpeg.locate(timeout_s=120)


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("faces")
    still = folder / "astronaut.png"
    Image.fromarray(data.astronaut()).save(still)
    path = folder / "astronaut.mp4"
    run_ffmpeg(
        "-loop", "1", "-i", str(still), "-t", "2", "-r", "10",
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    return path


def region(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The pixels of a box given in the 512x512 photo's coordinates, scaled to `image`."""
    sy, sx = image.shape[0] / 512, image.shape[1] / 512
    x0, y0, x1, y1 = box
    return image[round(y0 * sy) : round(y1 * sy), round(x0 * sx) : round(x1 * sx)].astype(np.int16)


def jpegs(folder: Path) -> list[np.ndarray]:
    """Every JPEG of a pack folder, in order."""
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.jpg"))]


def diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two same-shaped regions."""
    assert a.shape == b.shape
    return float(np.abs(a - b).mean())


def test_pack_is_blurred_and_model_frames_are_not(face_clip: Path, ffmpeg: FFmpeg, tmp_path: Path) -> None:
    facts = probe(face_clip, ffmpeg=ffmpeg)
    plain_dir, blurred_dir = tmp_path / "plain", tmp_path / "blurred"
    plain = sample_video(face_clip, facts, ffmpeg=ffmpeg, spec=SamplingSpec(), cache_dir=plain_dir)
    blurred = sample_video(
        face_clip, facts, ffmpeg=ffmpeg, spec=SamplingSpec(), cache_dir=blurred_dir, redactor=PackRedactor()
    )
    # The model sees the faces as filmed: redaction touches only what is written.
    assert np.array_equal(plain.frames, blurred.frames)
    for folder in (pack_files.MODEL_DIR, pack_files.PROXY_DIR):
        stored_plain, stored_blurred = jpegs(plain_dir / folder), jpegs(blurred_dir / folder)
        assert len(stored_plain) == len(stored_blurred) >= 2
        for before, after in zip(stored_plain, stored_blurred, strict=True):
            assert diff(region(before, FACE_CORE), region(after, FACE_CORE)) > 15, folder
            assert diff(region(before, AWAY), region(after, AWAY)) < 2, folder
    # Without a redactor the pack keeps the face (the check above is not passing by accident).
    model_frame = plain.frames[0]
    assert diff(region(model_frame, FACE_CORE), region(jpegs(plain_dir / pack_files.MODEL_DIR)[0], FACE_CORE)) < 6


def test_frames_with_no_face_keep_their_bytes(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    for i in range(5):
        Image.fromarray(rng.integers(0, 40, (120, 160, 3), dtype=np.uint8)).save(tmp_path / pack_files.jpeg_name(i))
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.jpg")}
    assert PackRedactor().redact_folder(tmp_path, detect_every=2) == 0
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.jpg")} == before


def test_a_face_between_detected_frames_is_blurred(tmp_path: Path) -> None:
    # Detection on every 3rd frame: the frames in between get the neighbours' boxes.
    photo = data.astronaut()
    for i in range(7):
        Image.fromarray(photo).save(tmp_path / pack_files.jpeg_name(i), quality=95)
    assert PackRedactor(window=0).redact_folder(tmp_path, detect_every=3) == 7
    for stored in jpegs(tmp_path):
        assert diff(region(photo, FACE_CORE), region(stored, FACE_CORE)) > 15


def test_stale_builds_are_swept(tmp_path: Path) -> None:
    pack_dir = tmp_path / "video-1"
    stale = tmp_path / ".video-1.building-dead"
    fresh = tmp_path / ".video-1.building-live"
    for folder in (stale, fresh):
        (folder / "proxy").mkdir(parents=True)
    old = time.time() - pack_files.STALE_BUILD_S - 60
    os.utime(stale, (old, old))
    building = pack_files.building_dir(pack_dir)
    assert not stale.exists() and fresh.exists() and building.exists()


def test_blurring_follows_the_setting(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).blur_faces is True
    assert isinstance(build_assessment_service(Settings(data_dir=tmp_path), backend=object()).redactor, PackRedactor)  # type: ignore[arg-type]
    off = Settings(data_dir=tmp_path, blur_faces=False)
    assert build_assessment_service(off, backend=object()).redactor is None  # type: ignore[arg-type]
