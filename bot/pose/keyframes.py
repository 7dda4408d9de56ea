"""Key-frame pictures: the stored proxy frame at a moment, with the skeleton and the measured angle drawn on it.

Pictures come from the frame pack (faces already blurred there), never from a new decode of the video.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bot.pose.angles import TRIPLETS, joint_angles
from bot.pose.measure import Measurements, PoseTrack
from bot.video import pack
from bot.video.framepack import FramePack, decode_jpegs

# Telegram takes at most 10 pictures in one media group.
MAX_KEY_FRAMES = 10
# Moments closer than this share one picture.
_MERGE_S = 1.0
# The track's keypoints are used for a moment only when a measured frame lies this close to it.
_NEAREST_S = 0.5
_EDGES = (
    (5, 6), (5, 7), (7, 9), (6, 8), (8, 10), (5, 11), (6, 12), (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
)  # fmt: skip
_LINE = (80, 220, 120)
_JOINT = (255, 255, 255)
_HIGHLIGHT = (255, 170, 0)


@dataclass(frozen=True)
class KeyFrame:
    """A written picture of one moment, and the angle drawn on it (None without a measurement)."""

    t_s: float
    path: Path
    joint: str | None
    angle_deg: float | None

    def as_json(self) -> dict[str, Any]:
        """`{"t_s", "path", "joint", "angle_deg"}` for the envelope and the stored measurements."""
        angle = None if self.angle_deg is None else round(self.angle_deg, 1)
        return {"t_s": round(self.t_s, 2), "path": str(self.path), "joint": self.joint, "angle_deg": angle}


def key_moments(flagged: list[float], m: Measurements | None, *, duration_s: float) -> list[float]:
    """The moments to picture: the flagged ones (issues, missed targets), else the deepest measured moment."""
    moments = sorted(min(max(t, 0.0), duration_s) for t in flagged)
    if not moments and m is not None and m.rep_joint is not None and m.rep_joint in m.extremes:
        deepest = min(m.reps, key=lambda rep: rep.min_deg, default=None) if m.reps else None
        moments = [deepest.peak_s if deepest is not None else m.extremes[m.rep_joint][0]]
    merged: list[float] = []
    for t in moments:
        if not merged or t - merged[-1] >= _MERGE_S:
            merged.append(t)
    return merged[:MAX_KEY_FRAMES]


def flagged_moments(result: Any, m: Measurements | None) -> list[float]:
    """Moments the feedback flags: the model's issues and the reps that missed the therapist's target."""
    moments = [o.start for o in getattr(result, "observations", []) if o.kind == "issue"] if result else []
    if m is not None and m.missed_target:
        moments += [m.reps[k].peak_s for k in m.missed_target]
    return moments


def _nearest(times: np.ndarray, t: float) -> int | None:
    """Index of the time nearest `t` when it is close enough."""
    if times.size == 0:
        return None
    index = int(np.argmin(np.abs(times - t)))
    return index if abs(float(times[index]) - t) <= _NEAREST_S else None


def _draw(image: Image.Image, points: np.ndarray, scores: np.ndarray, joint: str | None, angle: float | None) -> None:
    """Skeleton lines, joints, and the angle at the measured joint."""
    draw = ImageDraw.Draw(image)
    width = max(2, image.width // 160)
    seen = (scores >= 0.3) & np.all(np.isfinite(points), axis=1)
    for a, b in _EDGES:
        if seen[a] and seen[b]:
            draw.line([tuple(points[a]), tuple(points[b])], fill=_LINE, width=width)
    for k in range(5, 17):
        if seen[k]:
            x, y = points[k]
            draw.ellipse([x - width, y - width, x + width, y + width], fill=_JOINT)
    if joint in TRIPLETS and angle is not None:
        a, b, c = TRIPLETS[joint]
        if seen[a] and seen[b] and seen[c]:
            draw.line([tuple(points[a]), tuple(points[b]), tuple(points[c])], fill=_HIGHLIGHT, width=width + 1)
            x, y = points[b]
            label = f"{angle:.0f}°"
            font = ImageFont.load_default(size=max(12, image.height // 18))
            box = draw.textbbox((x + 8, y - 8), label, font=font)
            draw.rectangle([box[0] - 3, box[1] - 3, box[2] + 3, box[3] + 3], fill=(0, 0, 0))
            draw.text((x + 8, y - 8), label, fill=_HIGHLIGHT, font=font)


def picture_moments(
    pack_dir: Path,
    moments: list[float],
    out_dir: Path,
    *,
    track: PoseTrack | None,
    joint: str | None,
    track_size: tuple[int, int] | None = None,
    stem: str = "key",
) -> list[KeyFrame]:
    """Write one JPEG per moment from the pack's proxy frames, with skeleton and angle when measured.

    `track_size` is the (width, height) of the frames the keypoints were found in; they are scaled to the proxy's.
    """
    if not moments:
        return []
    framepack = FramePack.open(pack_dir)
    section = framepack.manifest.proxy
    proxy_times = np.asarray(section.timestamps_s)
    positions = [int(np.argmin(np.abs(proxy_times - t))) for t in moments]
    frames = decode_jpegs(
        [Path(pack_dir) / pack.PROXY_DIR / pack.jpeg_name(p) for p in positions], section.height, section.width
    )
    angles = joint_angles(track) if track is not None else {}
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for index, (t, frame) in enumerate(zip(moments, frames, strict=True)):
        image = Image.fromarray(frame)
        angle, used_joint = None, None
        near = _nearest(track.times_s, t) if track is not None else None
        if track is not None and near is not None:
            series = angles.get(joint or "")
            if series is not None and np.isfinite(series[near]):
                angle, used_joint = float(series[near]), joint
            scale = np.ones(2)
            if track_size is not None:
                scale = np.array([section.width / track_size[0], section.height / track_size[1]])
            _draw(image, track.keypoints[near] * scale, track.scores[near], used_joint, angle)
        path = out_dir / f"{stem}-{index + 1:02d}-{round(t * 1000):07d}ms.jpg"
        image.save(path, format="JPEG", quality=88)
        written.append(KeyFrame(t_s=float(proxy_times[positions[index]]), path=path, joint=used_joint, angle_deg=angle))
    return written
