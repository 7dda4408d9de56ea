"""Face blurring for privacy: every frame we store or send back has its faces obscured.

Detection uses a cascade classifier on a downscaled, histogram-equalised grey copy of the frame:

* ``"haar"``: OpenCV's shipped Haar cascades from ``cv2.data.haarcascades`` (frontal face default, plus the
  profile face on the image and on its mirror image for the other side). opencv-python(-headless) 4.x and
  opencv-contrib-python(-headless) 5.x ship them; opencv-python(-headless) 5.x has neither
  ``cv2.CascadeClassifier`` nor the XML files.
* ``"lbp"``: the LBP frontal face cascade that scikit-image ships (``skimage.data.lbp_frontal_face_cascade_filename``),
  used when the Haar cascades are not available. It also finds smaller faces (~25 px at detection scale) than the
  Haar frontal cascade (~40 px), so ``"haar+lbp"`` runs both where recall matters more than time.

YuNet (``cv2.FaceDetectorYN``) is not used: its ONNX weights ship in neither opencv-python nor opencv-contrib-python.

Each detected box is mapped back to the input's pixels and expanded by a margin so hair and chin edges are covered;
the whole expanded box is pixelated and then Gaussian-blurred (a rectangle, not an inscribed ellipse: an ellipse
leaves the chin and jaw corners of a box found a little high or off-centre in the clear). Pixels outside the
expanded boxes are left exactly as they were.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Literal

import cv2
import numpy as np
from PIL import Image

Box = tuple[int, int, int, int]
Backend = Literal["auto", "haar", "lbp", "haar+lbp"]

HAAR_FRONTAL = "haarcascade_frontalface_default.xml"
HAAR_PROFILE = "haarcascade_profileface.xml"


def haar_available() -> bool:
    """Whether this OpenCV build has ``cv2.CascadeClassifier`` and ships the frontal and profile Haar cascades."""
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if not hasattr(cv2, "CascadeClassifier") or not folder:
        return False
    return all(os.path.isfile(os.path.join(folder, name)) for name in (HAAR_FRONTAL, HAAR_PROFILE))


def expand_box(box: Box, margin: float, width: int, height: int) -> Box:
    """The box grown by `margin` of its size on every side, clipped to a `width` x `height` image."""
    x, y, w, h = box
    dx, dy = round(w * margin), round(h * margin)
    x0, y0 = max(0, x - dx), max(0, y - dy)
    x1, y1 = min(width, x + w + dx), min(height, y + h + dy)
    return (x0, y0, max(0, x1 - x0), max(0, y1 - y0))


def _check_rgb(rgb: np.ndarray) -> None:
    """Raise ValueError unless `rgb` is an HxWx3 uint8 array."""
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        shape = getattr(rgb, "shape", None)
        dtype = getattr(rgb, "dtype", None)
        raise ValueError(f"expected an HxWx3 uint8 RGB array, got shape {shape} dtype {dtype}")


def _covered(box: Box, others: list[Box], threshold: float = 0.8) -> bool:
    """Whether at least `threshold` of `box`'s area lies inside one of `others`."""
    x, y, w, h = box
    area = w * h
    if area <= 0:
        return True
    for ox, oy, ow, oh in others:
        iw = min(x + w, ox + ow) - max(x, ox)
        ih = min(y + h, oy + oh) - max(y, oy)
        if iw > 0 and ih > 0 and iw * ih >= threshold * area:
            return True
    return False


def carry_boxes(detected: list[list[Box] | None], index: int, window: int, width: int, height: int) -> list[Box]:
    """Frame `index`'s boxes plus those of frames up to `window` away that none of its own covers.

    `None` marks a frame that was not run through the detector (detection on every k-th frame only).
    """
    boxes = list(detected[index] or [])
    for offset in range(1, window + 1):
        for j in (index - offset, index + offset):
            if not 0 <= j < len(detected):
                continue
            for box in detected[j] or []:
                carried = expand_box(box, 0.0, width, height)
                if carried[2] > 0 and carried[3] > 0 and not _covered(carried, boxes):
                    boxes.append(carried)
    return boxes


class FaceBlurrer:
    """Detects and blurs faces in RGB frames; build one per worker (it holds the loaded cascades, not thread-safe)."""

    def __init__(
        self,
        *,
        backend: Backend = "auto",
        detect_long_side: int = 640,
        margin: float = 0.25,
        min_face: int = 20,
        pixel_blocks: int = 8,
    ) -> None:
        """Load the cascade(s); `"auto"` is OpenCV's Haar cascades where shipped, else scikit-image's LBP cascade."""
        if detect_long_side < 64:
            raise ValueError("detect_long_side must be at least 64")
        if margin < 0:
            raise ValueError("margin must be >= 0")
        self.detect_long_side = detect_long_side
        self.margin = margin
        self.min_face = max(8, min_face)
        self.pixel_blocks = max(2, pixel_blocks)
        if backend == "auto":
            backend = "haar" if haar_available() else "lbp"
        if backend not in ("haar", "lbp", "haar+lbp"):
            raise ValueError(f"unknown face detector backend {backend!r}")
        self.backend: str = backend
        self._detectors: list[Callable[[np.ndarray], list[Box]]] = []
        if "haar" in backend:
            self._detectors.append(self._haar_detector())
        if "lbp" in backend:
            self._detectors.append(self._lbp_detector())

    def _haar_detector(self) -> Callable[[np.ndarray], list[Box]]:
        """A grey-image detector running OpenCV's frontal cascade and the profile cascade on both sides."""
        if not haar_available():
            raise RuntimeError(
                "OpenCV's Haar cascades are not available in this build (opencv-python 5.x dropped "
                "CascadeClassifier; install opencv-contrib-python or opencv-python-headless<5)"
            )
        folder = cv2.data.haarcascades
        frontal = cv2.CascadeClassifier(os.path.join(folder, HAAR_FRONTAL))
        profile = cv2.CascadeClassifier(os.path.join(folder, HAAR_PROFILE))
        if frontal.empty() or profile.empty():
            raise RuntimeError(f"could not load the Haar cascades from {folder}")
        min_size = (self.min_face, self.min_face)

        def detect(grey: np.ndarray) -> list[Box]:
            """Frontal and two-sided profile detections on a grey image."""
            width = grey.shape[1]
            mirrored = np.ascontiguousarray(grey[:, ::-1])
            found: list[Box] = []
            for cascade, image, flipped in ((frontal, grey, False), (profile, grey, False), (profile, mirrored, True)):
                neighbours = 5 if cascade is profile else 4
                for x, y, w, h in cascade.detectMultiScale(image, 1.1, neighbours, minSize=min_size):
                    found.append((width - int(x) - int(w) if flipped else int(x), int(y), int(w), int(h)))
            return found

        return detect

    def _lbp_detector(self) -> Callable[[np.ndarray], list[Box]]:
        """A grey-image detector running scikit-image's shipped LBP frontal face cascade."""
        from skimage.data import lbp_frontal_face_cascade_filename
        from skimage.feature import Cascade

        cascade = Cascade(lbp_frontal_face_cascade_filename())
        min_size = (self.min_face, self.min_face)

        def detect(grey: np.ndarray) -> list[Box]:
            """LBP frontal detections on a grey image."""
            found = cascade.detect_multi_scale(
                img=grey, scale_factor=1.2, step_ratio=1, min_size=min_size, max_size=grey.shape[:2]
            )
            return [(int(d["c"]), int(d["r"]), int(d["width"]), int(d["height"])) for d in found]

        return detect

    def detect(self, rgb: np.ndarray) -> list[Box]:
        """Face boxes (x, y, w, h) in `rgb`'s pixels, already expanded by the margin and clipped to the image."""
        _check_rgb(rgb)
        height, width = rgb.shape[:2]
        if height < 2 or width < 2:
            return []
        scale = min(1.0, self.detect_long_side / max(height, width))
        grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        grey = cv2.equalizeHist(grey)
        boxes: list[Box] = []
        found = [box for detector in self._detectors for box in detector(grey)]
        for x, y, w, h in found:
            mapped = (int(x / scale), int(y / scale), int(np.ceil(w / scale)), int(np.ceil(h / scale)))
            box = expand_box(mapped, self.margin, width, height)
            if box[2] > 0 and box[3] > 0 and box not in boxes:
                boxes.append(box)
        return boxes

    def _obscure(self, crop: np.ndarray) -> np.ndarray:
        """`crop` pixelated to a few blocks across and then Gaussian-blurred with a kernel proportional to its size."""
        h, w = crop.shape[:2]
        cells = max(1, round(min(h, w) / self.pixel_blocks))
        small = cv2.resize(crop, (max(1, w // cells), max(1, h // cells)), interpolation=cv2.INTER_AREA)
        blocky = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        kernel = max(3, (min(h, w) // 4) | 1)
        return cv2.GaussianBlur(blocky, (kernel, kernel), 0, borderType=cv2.BORDER_REPLICATE)

    def blur_boxes(self, rgb: np.ndarray, boxes: list[Box]) -> np.ndarray:
        """A copy of `rgb` with each (already expanded) box obscured; every pixel outside the boxes is unchanged."""
        _check_rgb(rgb)
        out = rgb.copy()
        height, width = out.shape[:2]
        for box in boxes:
            x, y, w, h = expand_box(box, 0.0, width, height)
            if w < 2 or h < 2:
                continue
            out[y : y + h, x : x + w] = self._obscure(np.ascontiguousarray(out[y : y + h, x : x + w]))
        return out

    def blur(self, rgb: np.ndarray) -> np.ndarray:
        """A new HxWx3 uint8 copy of `rgb` with every detected face obscured; the input is not modified."""
        return self.blur_boxes(rgb, self.detect(rgb))

    def blur_pil(self, image: Image.Image) -> Image.Image:
        """`blur` for a PIL image; RGBA keeps its alpha, other modes come back as RGB."""
        if image.mode == "RGBA":
            blurred = Image.fromarray(self.blur(np.asarray(image.convert("RGB"))))
            blurred.putalpha(image.getchannel("A"))
            return blurred
        return Image.fromarray(self.blur(np.asarray(image.convert("RGB"))))

    def sequence_boxes(self, frames: list[np.ndarray], window: int = 2) -> list[list[Box]]:
        """Each frame's boxes plus those of frames up to `window` away that no box of its own covers."""
        detected: list[list[Box] | None] = [self.detect(frame) for frame in frames]
        return [carry_boxes(detected, i, window, frame.shape[1], frame.shape[0]) for i, frame in enumerate(frames)]

    def blur_sequence(self, frames: list[np.ndarray], window: int = 2) -> list[np.ndarray]:
        """Blurred copies of consecutive frames; a face missed in one frame is blurred with a neighbour's box."""
        boxes = self.sequence_boxes(frames, window)
        return [self.blur_boxes(frame, frame_boxes) for frame, frame_boxes in zip(frames, boxes, strict=True)]
