"""Probe a video with the ffmpeg binary alone: streams, rotation and every frame's presentation time."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from statistics import median

from bot.video.errors import FFmpegOutOfMemory, FFmpegTimeout, RejectReason, VideoRejected
from bot.video.ffmpeg import FFmpeg

log = logging.getLogger(__name__)

# `0:V:0` is the first video stream that is not cover art / an attached picture.
VIDEO_STREAM = "0:V:0"
_NOPTS = -(2**63)
_PKT_FLAG_DISCARD = 0x4
_HEADER_BYTES = 192
_TS_PACKET = 188

_INPUT_RE = re.compile(r"^Input #0, .+, from ")
_DURATION_RE = re.compile(r"^\s+Duration: (?:(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d(?:\.\d+)?)|N/A)")
_STREAM_RE = re.compile(r"^\s+Stream #0:\d+\S*: (?P<kind>Video|Audio|Subtitle|Data|Attachment): (?P<rest>.*)$")
_DISPLAYMATRIX_RE = re.compile(r"display\s*matrix:\s*rotation of\s*(?P<deg>[-+]?\d+(?:\.\d+)?)\s*degrees", re.I)
_ROTATE_TAG_RE = re.compile(r"^\s+rotate\s*:\s*(?P<deg>[-+]?\d+(?:\.\d+)?)\s*$")
# Demuxer messages that mean the index promised packets the file does not contain.
_TRUNCATION_MARKERS = ("partial file", "ended prematurely", "moov atom not found")
# Still images and terminal art open as one-stream "videos"; they are not exercise videos.
_NOT_VIDEO_FORMATS = ("image2", "tty", "_pipe")
_NOT_VIDEO_STREAM_MARKS = ("(attached pic)", "(thumbnail)", "(timed thumbnails)")


@dataclass(frozen=True)
class VideoProbe:
    """Facts about a video file, measured without decoding it."""

    duration_s: float
    fps: float
    frame_count: int
    width: int
    height: int
    rotation: int
    codec: str
    has_audio: bool
    container: str
    pts_s: tuple[float, ...]
    # Demuxer time of the first frame (for input seeking); NaN when the stream carries no pts.
    start_s: float = 0.0

    @property
    def display_width(self) -> int:
        """Width of the upright picture."""
        return self.height if self.rotation in (90, 270) else self.width

    @property
    def display_height(self) -> int:
        """Height of the upright picture."""
        return self.width if self.rotation in (90, 270) else self.height

    @property
    def is_variable_frame_rate(self) -> bool:
        """True when frame intervals spread by more than 10% of the typical interval."""
        gaps = [b - a for a, b in pairwise(self.pts_s)]
        if len(gaps) < 2:
            return False
        typical = median(gaps)
        return typical > 0 and (max(gaps) - min(gaps)) > 0.1 * typical


@dataclass(frozen=True)
class _Header:
    """What the `-i` dump on stderr says about the input."""

    container: str
    duration_s: float | None
    video_lines: tuple[str, ...]
    has_audio: bool


@dataclass(frozen=True)
class _Packets:
    """The packet list of the video stream from the framecrc muxer."""

    time_base: float
    codec: str
    width: int
    height: int
    pts: tuple[int, ...]
    durations: tuple[int, ...]
    has_pts: bool


def probe(path: Path, *, ffmpeg: FFmpeg) -> VideoProbe:
    """Probe `path` in one ffmpeg run; raise VideoRejected when it is not a usable video."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        raise VideoRejected(RejectReason.UNREADABLE) from None
    if size == 0:
        raise VideoRejected(RejectReason.EMPTY)
    # -copyts: packet times exactly as the demuxer reports them, the clock `-copyts` decodes use.
    args = ["-nostats", "-copyts", "-i", str(path), "-map", VIDEO_STREAM, "-c", "copy", "-f", "framecrc", "-"]
    try:
        result = ffmpeg.run(args)
    except FFmpegTimeout as exc:
        raise VideoRejected(RejectReason.UNREADABLE, {"timeout_s": exc.timeout_s}) from None
    except FFmpegOutOfMemory as exc:
        # Bad input like a timeout: the same file would exhaust the same cap on every retry.
        raise VideoRejected(RejectReason.TOO_LARGE, {"memory_mb": exc.memory_mb}) from None
    stderr = result.stderr_text
    header = _parse_header(stderr)
    if header is None:
        raise VideoRejected(_classify_unopenable(path))
    if any(header.container == fmt or header.container.endswith(fmt) for fmt in _NOT_VIDEO_FORMATS):
        raise VideoRejected(RejectReason.NOT_A_VIDEO)
    if not header.video_lines:
        raise VideoRejected(RejectReason.NO_VIDEO_STREAM)
    if not result.ok:
        log.info("probe: ffmpeg exited with %d", result.returncode)
        raise VideoRejected(RejectReason.UNREADABLE)
    if any(marker in stderr for marker in _TRUNCATION_MARKERS):
        raise VideoRejected(RejectReason.UNREADABLE)
    packets = _parse_packets(result.stdout.decode("ascii", errors="replace"))
    if packets is None:
        raise VideoRejected(RejectReason.UNREADABLE)
    if not packets.pts:
        raise VideoRejected(RejectReason.EMPTY)
    return _build(header, packets)


def _build(header: _Header, packets: _Packets) -> VideoProbe:
    """Combine the header and the packet list into a VideoProbe, checking they agree."""
    order = sorted(range(len(packets.pts)), key=packets.pts.__getitem__)
    first, last = packets.pts[order[0]], packets.pts[order[-1]]
    tb = packets.time_base
    pts_s = tuple((packets.pts[i] - first) * tb for i in order)
    gaps = [b - a for a, b in pairwise(pts_s)]
    last_duration = packets.durations[order[-1]] * tb
    if last_duration <= 0:
        last_duration = median(gaps) if gaps else 0.0
    duration_s = (last - first) * tb + last_duration
    if duration_s <= 0:
        duration_s = header.duration_s or 0.0
    if duration_s <= 0:
        raise VideoRejected(RejectReason.EMPTY)
    # A container that claims far more time than its video packets cover lost data (cut upload).
    if header.duration_s is not None and header.duration_s > 1.5 * duration_s + 1.0:
        raise VideoRejected(RejectReason.UNREADABLE, {"duration_s": header.duration_s})
    return VideoProbe(
        duration_s=duration_s,
        fps=len(pts_s) / duration_s,
        frame_count=len(pts_s),
        width=packets.width,
        height=packets.height,
        rotation=_rotation(header.video_lines),
        codec=packets.codec,
        has_audio=header.has_audio,
        container=header.container,
        pts_s=pts_s,
        start_s=first * tb if packets.has_pts else math.nan,
    )


def _parse_header(stderr: str) -> _Header | None:
    """Read container, duration and stream sections from ffmpeg's input dump; None if it never opened."""
    lines = stderr.splitlines()
    start = next((i for i, line in enumerate(lines) if _INPUT_RE.match(line)), None)
    if start is None:
        return None
    container = lines[start][len("Input #0, ") :].split(", from ", 1)[0]
    duration_s: float | None = None
    streams: list[tuple[str, list[str]]] = []
    for line in lines[start + 1 :]:
        if not line.startswith(" "):
            break
        if (found := _DURATION_RE.match(line)) and found["h"] is not None:
            duration_s = int(found["h"]) * 3600 + int(found["m"]) * 60 + float(found["s"])
        elif found_stream := _STREAM_RE.match(line):
            streams.append((found_stream["kind"], [line]))
        elif streams:
            streams[-1][1].append(line)
    video = next(
        (
            body
            for kind, body in streams
            if kind == "Video" and not any(mark in body[0] for mark in _NOT_VIDEO_STREAM_MARKS)
        ),
        [],
    )
    has_audio = any(kind == "Audio" for kind, _ in streams)
    return _Header(container, duration_s, tuple(video), has_audio)


def _rotation(video_lines: tuple[str, ...]) -> int:
    """Clockwise degrees (0/90/180/270) that make the stored picture upright."""
    for line in video_lines:
        if found := _DISPLAYMATRIX_RE.search(line):
            # The display matrix angle is counter-clockwise; phones store portrait video as -90.
            return _snap(-float(found["deg"]))
    for line in video_lines:
        if found := _ROTATE_TAG_RE.match(line):
            # The legacy `rotate` tag is already clockwise.
            return _snap(float(found["deg"]))
    return 0


def _snap(degrees: float) -> int:
    """Round an angle to the nearest quarter turn in [0, 360)."""
    return (round(degrees / 90.0) * 90) % 360


def _parse_packets(text: str) -> _Packets | None:
    """Parse framecrc output: header lines, then `stream, dts, pts, duration, size, crc[, F=flags]`."""
    meta: dict[str, str] = {}
    pts: list[int] = []
    durations: list[int] = []
    has_pts = True
    for line in text.splitlines():
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            meta[key.split(" ")[0]] = value.strip()
            continue
        fields = [field.strip() for field in line.split(",")]
        if len(fields) < 6:
            continue
        # Optional trailing fields: `F=0x..` (flags, absent means keyframe) and side data `S=n, ...`.
        flag_field = next((field for field in fields[6:] if field.startswith("F=")), "F=0x1")
        flags = int(flag_field.removeprefix("F="), 16)
        if flags & _PKT_FLAG_DISCARD:
            # Packets before an edit list's start are decoded only as references, never shown.
            continue
        dts, value = int(fields[1]), int(fields[2])
        if value == _NOPTS:
            # Raw elementary streams carry no pts; their dts are evenly spaced presentation slots.
            has_pts = False
            value = dts
        if value == _NOPTS:
            return None
        pts.append(value)
        durations.append(max(0, int(fields[3])))
    try:
        num, den = (int(part) for part in meta["tb"].split("/"))
        width, height = (int(part) for part in meta["dimensions"].split("x"))
        codec = meta.get("codec_id", "unknown")
    except (KeyError, ValueError):
        return None if pts else _Packets(1.0, "unknown", 0, 0, (), (), True)
    return _Packets(num / den, codec, width, height, tuple(pts), tuple(durations), has_pts)


def _classify_unopenable(path: Path) -> RejectReason:
    """A file ffmpeg cannot open is corrupt media if it starts like a container, else not a video."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEADER_BYTES)
    except OSError:
        return RejectReason.UNREADABLE
    return RejectReason.UNREADABLE if _looks_like_media(head) else RejectReason.NOT_A_VIDEO


def _looks_like_media(head: bytes) -> bool:
    """True when the first bytes carry a common video container signature."""
    iso_boxes = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot")
    signatures = (b"\x1a\x45\xdf\xa3", b"RIFF", b"OggS", b"FLV", b"\x00\x00\x01\xba", b"\x30\x26\xb2\x75")
    is_transport_stream = len(head) > _TS_PACKET and head[0] == head[_TS_PACKET] == 0x47
    return head[4:8] in iso_boxes or head.startswith(signatures) or is_transport_stream
