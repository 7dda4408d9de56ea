"""Raw-video retention: downloaded files and frame packs go after a while; the findings stay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from storage.crud.privacy import delete_unreferenced_files
from storage.files import VideoStore
from storage.models import Video, VideoStatus
from storage.types import utcnow

# `Video.reject_reason` of an assessed video whose recording was deleted by the retention rule.
RAW_PURGED = "raw_purged"
# Videos whose work is over: only these lose their files (a queued or running job still needs its file).
FINISHED_VIDEO_STATES: tuple[str, ...] = (
    VideoStatus.ASSESSED,
    VideoStatus.REJECTED,
    VideoStatus.FAILED,
    VideoStatus.CANCELLED,
)


@dataclass(frozen=True)
class PurgeResult:
    """How many video rows lost their files, and which stored paths were deleted."""

    videos: int
    deleted: list[str]


def is_purged(video: Video) -> bool:
    """Whether the video's recording was deleted by the retention rule (its feedback is kept)."""
    return video.reject_reason == RAW_PURGED


def purge_raw_videos(session: Session, *, older_than: datetime, store: VideoStore) -> PurgeResult:
    """Delete files and frame packs of finished videos received before `older_than`; mark the rows purged."""
    rows = session.exec(
        select(Video.id, Video.status, Video.stored_path, Video.frames_path).where(
            col(Video.created_at) < older_than,
            col(Video.status).in_(FINISHED_VIDEO_STATES),
            or_(col(Video.stored_path).is_not(None), col(Video.frames_path).is_not(None)),
        )
    ).all()
    if not rows:
        session.commit()
        return PurgeResult(videos=0, deleted=[])
    paths: list[str] = []
    now = utcnow()
    for video_id, status, stored_path, frames_path in rows:
        paths += [path for path in (stored_path, frames_path) if path]
        values: dict[str, object] = {"stored_path": None, "frames_path": None, "updated_at": now}
        if status == VideoStatus.ASSESSED:
            values["reject_reason"] = RAW_PURGED
        session.exec(update(Video).where(col(Video.id) == video_id).values(**values))
    session.commit()
    # Content-addressed files may be shared with a newer copy of the same video: only unreferenced ones go.
    return PurgeResult(videos=len(rows), deleted=delete_unreferenced_files(session, paths=paths, store=store))
