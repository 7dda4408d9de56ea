"""Filter-graph pieces for decoding: frame selection by time, scaling and manual rotation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ffmpeg as ffmpeg_python

# Seconds relative to the first decoded frame; immune to container start offsets and edit lists.
RELATIVE_CLOCK = "(t-start_t)"
# Demuxer time, for decodes that start with an input seek (needs -copyts).
ABSOLUTE_CLOCK = "t"
# The processor resizes with bicubic; the proxy (many frames) uses the cheaper area average,
# which needs about half the CPU for the same downscale and still antialiases.
MODEL_SCALER = "bicubic"
PROXY_SCALER = "area"


def frame_intervals(pts_s: Sequence[float], indices: Sequence[int]) -> list[tuple[float, float]]:
    """Time intervals, halfway to the neighbouring frames, that each contain exactly one chosen frame."""
    intervals: list[tuple[float, float]] = []
    for index in sorted(set(indices)):
        low = (pts_s[index - 1] + pts_s[index]) / 2 if index > 0 else pts_s[index] - 1.0
        high = (pts_s[index] + pts_s[index + 1]) / 2 if index + 1 < len(pts_s) else pts_s[index] + 1.0
        if intervals and intervals[-1][1] >= low:
            # Adjacent frames share a boundary: one interval selects the whole run.
            intervals[-1] = (intervals[-1][0], high)
        else:
            intervals.append((low, high))
    return intervals


def select_expression(intervals: Sequence[tuple[float, float]], clock: str, offset_s: float = 0.0) -> str:
    """A `select` expression true inside the intervals, as a binary search (O(log n) per frame).

    A plain sum of `eq(n,i)` terms costs O(n) per decoded frame, which matters for a proxy of
    thousands of frames; comparing times rather than counting frames also survives decoders
    that drop a damaged frame.
    """
    if not intervals:
        return "0"
    if len(intervals) == 1:
        low, high = intervals[0]
        return f"between({clock},{low + offset_s:.6f},{high + offset_s:.6f})"
    mid = len(intervals) // 2
    pivot = intervals[mid][0] + offset_s
    left = select_expression(intervals[:mid], clock, offset_s)
    right = select_expression(intervals[mid:], clock, offset_s)
    return f"if(lt({clock},{pivot:.6f}),{left},{right})"


def select_frames(stream: Any, expression: str) -> Any:
    """Keep only the frames for which `expression` is true."""
    return stream.filter("select", expression)


def scale_upright(stream: Any, height: int, width: int, rotation: int, *, flags: str = "bicubic") -> Any:
    """Scale to the upright size (height, width) and turn the picture by `rotation` degrees clockwise.

    Rotating after select+scale touches only the few kept, small frames instead of every
    full-size decoded frame, which is what ffmpeg's autorotate would do.
    """
    coded_w, coded_h = (height, width) if rotation in (90, 270) else (width, height)
    # Resampling in YUV and converting the small result to RGB later costs half the CPU of
    # letting swscale scale and convert to RGB in one step.
    stream = stream.filter("scale", coded_w, coded_h, flags=flags).filter("format", "yuv420p")
    if rotation == 90:
        return stream.filter("transpose", dir="clock")
    if rotation == 270:
        return stream.filter("transpose", dir="cclock")
    if rotation == 180:
        return stream.filter("hflip").filter("vflip")
    return stream


def raw_rgb_output(stream: Any, *, frames: int | None = None) -> Any:
    """Send frames as packed RGB24 to stdout, one per selected source frame."""
    extra: dict[str, Any] = {"frames:v": frames} if frames else {}
    return stream.output("pipe:", format="rawvideo", pix_fmt="rgb24", fps_mode="passthrough", **extra)


def jpeg_output(stream: Any, directory: Path, *, quality: int) -> Any:
    """Write frames as numbered JPEG files 00000.jpg, 00001.jpg, ... into `directory`."""
    return stream.output(
        str(directory / "%05d.jpg"),
        format="image2",
        vcodec="mjpeg",
        pix_fmt="yuvj420p",
        start_number=0,
        fps_mode="passthrough",
        **{"q:v": quality},
    )


def input_video(path: Path, **options: Any) -> Any:
    """The first real video stream of `path`, decoded without ffmpeg's automatic rotation."""
    return ffmpeg_python.input(str(path), noautorotate=None, **options)["V:0"]


def compile_args(outputs: Sequence[Any], script_dir: Path, *, global_args: Sequence[str] = ()) -> list[str]:
    """Arguments for ffmpeg to write `outputs`, with the filter graph moved into a script file.

    Select expressions for long clips exceed the kernel's 128 KiB limit on one argument, so the
    graph is always passed with `-/filter_complex FILE` (ffmpeg >= 7).
    """
    spec = ffmpeg_python.merge_outputs(*outputs) if len(outputs) > 1 else outputs[0]
    args: list[str] = list(spec.global_args(*global_args).get_args())
    if "-filter_complex" in args:
        at = args.index("-filter_complex")
        script = script_dir / "graph.txt"
        script.write_text(args[at + 1], encoding="utf-8")
        args[at : at + 2] = ["-/filter_complex", str(script)]
    return args
