"""Video pipeline: probe and validate uploads, sample frames with exact timestamps, frame packs."""

from bot.video.budget import (
    SamplingSpec,
    plan_frame_count,
    plan_frame_size,
    plan_window_size,
    select_nearest,
    smart_resize,
    window_bounds,
)
from bot.video.errors import FFmpegError, FFmpegOutOfMemory, FFmpegTimeout, RejectReason, VideoRejected, describe
from bot.video.ffmpeg import FFmpeg, FFmpegResult
from bot.video.framepack import FramePack, window_from_video
from bot.video.frames import SampledFrames
from bot.video.probe import VideoProbe, probe
from bot.video.sample import sample_video
from bot.video.validate import inspect_video, validate

__all__ = [
    "FFmpeg",
    "FFmpegError",
    "FFmpegOutOfMemory",
    "FFmpegResult",
    "FFmpegTimeout",
    "FramePack",
    "RejectReason",
    "SampledFrames",
    "SamplingSpec",
    "VideoProbe",
    "VideoRejected",
    "describe",
    "inspect_video",
    "plan_frame_count",
    "plan_frame_size",
    "plan_window_size",
    "probe",
    "sample_video",
    "select_nearest",
    "smart_resize",
    "validate",
    "window_bounds",
    "window_from_video",
]
