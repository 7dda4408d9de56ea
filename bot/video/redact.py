"""Faces out of a frame pack before it is committed: every JPEG that stays on disk has its faces blurred."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from bot.video.faces import Box, FaceBlurrer, carry_boxes

log = logging.getLogger(__name__)

_JPEG_QUALITY = 92


class PackRedactor:
    """Blurs the faces in a folder of JPEG frames; one cascade set per thread (OpenCV's are not thread-safe)."""

    def __init__(self, *, window: int = 2, detect_long_side: int = 320) -> None:
        """`window`: frames a detected box is carried to each side (a face the detector missed in one frame)."""
        if window < 0:
            raise ValueError("window must be >= 0")
        self.window = window
        self.detect_long_side = detect_long_side
        self._local = threading.local()

    def _blurrer(self) -> FaceBlurrer:
        """The detector of the calling thread, loaded on first use."""
        blurrer = getattr(self._local, "blurrer", None)
        if blurrer is None:
            blurrer = FaceBlurrer(detect_long_side=self.detect_long_side)
            self._local.blurrer = blurrer
        return blurrer

    def redact_folder(self, folder: Path, *, detect_every: int = 1) -> int:
        """Blur faces in place in every `*.jpg` of `folder`, detecting on every k-th; returns files with a face."""
        if detect_every < 1:
            raise ValueError("detect_every must be >= 1")
        paths = sorted(Path(folder).glob("*.jpg"))
        if not paths:
            return 0
        # A box must reach every frame between two detected ones, or an undetected frame stays in the clear.
        window = max(self.window, detect_every - 1)
        blurrer = self._blurrer()
        detected: list[list[Box] | None] = [None] * len(paths)
        size = (0, 0)
        last = len(paths) - 1
        for i in [*range(0, last, detect_every), last]:
            rgb = _load(paths[i])
            size = (rgb.shape[1], rgb.shape[0])
            detected[i] = blurrer.detect(rgb)
        changed = 0
        for i, path in enumerate(paths):
            boxes = carry_boxes(detected, i, window, *size)
            if not boxes:
                continue
            # Untouched frames keep their bytes: only frames with a face are re-encoded.
            Image.fromarray(blurrer.blur_boxes(_load(path), boxes)).save(path, quality=_JPEG_QUALITY)
            changed += 1
        return changed


def _load(path: Path) -> np.ndarray:
    """A JPEG as an HxWx3 uint8 RGB array."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))
