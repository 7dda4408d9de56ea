"""Assemble the assessment engine (ffmpeg, model backend, limits) from settings."""

from __future__ import annotations

from typing import Any

from bot.config import Settings
from bot.engine.assess import AssessmentService, ModelLimits, VideoLimits
from bot.pose.stage import PoseStage, build_pose_stage
from bot.video import FFmpeg
from bot.video.redact import PackRedactor
from bot.vlm.backend import VisionLanguageBackend


def sampling_overrides(settings: Settings) -> dict[str, Any]:
    """Frame and pixel limits set by the operator (0 keeps the model's own processor values)."""
    return {
        "fps": settings.video_fps,
        "min_frames": settings.video_min_frames,
        "max_frames": settings.video_max_frames,
        "max_pixels": settings.video_max_pixels,
    }


def build_backend(settings: Settings) -> VisionLanguageBackend:
    """The configured model backend (not started)."""
    if settings.vlm_backend == "openai":
        from bot.vlm.openai_backend import OpenAIBackend

        return OpenAIBackend(
            settings.vlm_api_url, model=settings.model, sampling_overrides=sampling_overrides(settings)
        )
    from bot.vlm.transformers_backend import TransformersBackend

    return TransformersBackend(
        settings.model, device=settings.model_device, sampling_overrides=sampling_overrides(settings)
    )


def build_assessment_service(settings: Settings, backend: VisionLanguageBackend | None = None) -> AssessmentService:
    """The engine with its backend, ffmpeg and limits."""
    return AssessmentService(
        backend=backend or build_backend(settings),
        ffmpeg=FFmpeg.locate(
            settings.ffmpeg_binary, timeout_s=settings.ffmpeg_timeout_s, memory_mb=settings.ffmpeg_memory_mb
        ),
        video_limits=VideoLimits(
            max_duration_s=settings.max_video_s,
            max_pixels=settings.max_video_pixels,
            window_half_s=settings.window_half_s,
            window_fps=settings.window_fps,
            window_frame_pixels=settings.window_frame_pixels,
            segment_s=settings.segment_s,
        ),
        model_limits=ModelLimits(max_new_tokens=settings.max_new_tokens, timeout_s=settings.model_timeout_s),
        redactor=PackRedactor() if settings.blur_faces else None,
    )


def build_pose(settings: Settings) -> PoseStage:
    """The pose stage POSE_BACKEND, POSE_MODEL and POSE_DEVICE describe (nothing loaded yet)."""
    return build_pose_stage(settings.pose_backend, settings.pose_model, device=settings.pose_device)
