"""Small keyword-only data functions over a `Session` for what the bot needs.

Each function is one short unit of work and commits it (call from a thread, never across an
await). Functions that react to a Telegram update are idempotent: the same update delivered twice
finds the row it already made instead of making a second one. Callers use `crud.<function>`; the
functions live in one module per table family.
"""

from __future__ import annotations

from storage.crud.alerts import record_alert
from storage.crud.assessments import (
    add_delivered_message,
    answer_dedupe_key,
    get_assessment,
    get_turn,
    mark_assessment_delivered,
    mark_turn_delivered,
    recent_turns,
    record_escalated_question,
    record_key_frames_sent,
    record_turn_with_job,
    save_assessment,
    save_turn_answer,
    video_of_assessment,
)
from storage.crud.limits import UploadCounts, question_known, recent_question_times, upload_counts
from storage.crud.privacy import delete_unreferenced_files, erase_user, export_user_data
from storage.crud.retention import RAW_PURGED, PurgeResult, is_purged, purge_raw_videos
from storage.crud.users import (
    ensure_therapist,
    get_or_create_user,
    get_user,
    mark_blocked,
    record_consent,
    set_locale,
    set_role,
)
from storage.crud.videos import (
    FEEDBACK_SEARCH_LIMIT,
    assess_dedupe_key,
    enqueue_awaiting_videos,
    expire_unconsented_videos,
    get_video,
    job_stage,
    latest_assessed_video,
    latest_video,
    record_video_file,
    record_video_probe,
    record_video_with_job,
    set_status_message,
    set_video_frames,
    set_video_status,
    video_by_message,
)

__all__ = [
    "FEEDBACK_SEARCH_LIMIT",
    "RAW_PURGED",
    "PurgeResult",
    "UploadCounts",
    "add_delivered_message",
    "answer_dedupe_key",
    "assess_dedupe_key",
    "delete_unreferenced_files",
    "enqueue_awaiting_videos",
    "ensure_therapist",
    "erase_user",
    "expire_unconsented_videos",
    "export_user_data",
    "get_assessment",
    "get_or_create_user",
    "get_turn",
    "get_user",
    "get_video",
    "is_purged",
    "job_stage",
    "latest_assessed_video",
    "latest_video",
    "mark_assessment_delivered",
    "mark_blocked",
    "mark_turn_delivered",
    "purge_raw_videos",
    "question_known",
    "recent_question_times",
    "recent_turns",
    "record_alert",
    "record_consent",
    "record_escalated_question",
    "record_key_frames_sent",
    "record_turn_with_job",
    "record_video_file",
    "record_video_probe",
    "record_video_with_job",
    "save_assessment",
    "save_turn_answer",
    "set_locale",
    "set_role",
    "set_status_message",
    "set_video_frames",
    "set_video_status",
    "upload_counts",
    "video_by_message",
    "video_of_assessment",
]
