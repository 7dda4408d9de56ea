"""Videos: recorded with their job in one transaction, probed, stored, found by message."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from storage.db import insert_once
from storage.models import (
    Assessment,
    Job,
    Turn,
    User,
    Video,
    VideoStatus,
)
from storage.queue import JobKind, JobQueue
from storage.types import utcnow

logger = logging.getLogger(__name__)

# How many recent feedback messages of a chat `video_by_message` searches.
FEEDBACK_SEARCH_LIMIT = 200


def assess_dedupe_key(*, chat_id: int, message_id: int) -> str:
    """Return the natural key of a video's assessment job: one per (chat, message)."""
    return f"assess:{chat_id}:{message_id}"


def job_stage(session: Session, *, job_id: int) -> str | None:
    """The stage a job last recorded (an earlier attempt's, until this one records its own)."""
    job = session.get(Job, job_id)
    return None if job is None else job.stage


def get_video(session: Session, *, video_id: int) -> Video | None:
    """Return the video with this id."""
    return session.get(Video, video_id)


def record_video_with_job(
    session: Session,
    *,
    user: User,
    chat_id: int,
    message_id: int,
    source: str,
    file_id: str,
    file_unique_id: str,
    mime_type: str | None,
    file_name: str | None,
    declared_size: int | None,
    declared_duration: float | None,
    caption: str | None,
    queue: JobQueue,
    awaiting_consent: bool,
) -> tuple[Video, int | None, bool]:
    """Record a received video and its assessment job in one transaction: (video, job id, created).

    A repeated (chat_id, message_id) returns the existing row, no job id and created=False.
    A video from a user who has not consented yet waits without a job (`enqueue_awaiting_videos`).
    """
    now = utcnow()
    video_id = insert_once(
        session,
        Video,
        unique=["chat_id", "message_id"],
        user_id=user.id,
        chat_id=chat_id,
        message_id=message_id,
        source=source,
        file_id=file_id,
        file_unique_id=file_unique_id,
        mime_type=mime_type,
        file_name=file_name,
        declared_size=declared_size,
        declared_duration=declared_duration,
        caption=caption,
        status=VideoStatus.AWAITING_CONSENT if awaiting_consent else VideoStatus.QUEUED,
        created_at=now,
        updated_at=now,
    )
    if video_id is None:
        session.commit()  # nothing of ours was written; end the transaction
        existing = session.exec(select(Video).where(Video.chat_id == chat_id, Video.message_id == message_id)).one()
        return existing, None, False
    job_id = None
    if not awaiting_consent:
        job_id = queue.enqueue(
            session,
            kind=JobKind.ASSESS,
            chat_id=chat_id,
            user_id=user.id,
            video_id=video_id,
            dedupe_key=assess_dedupe_key(chat_id=chat_id, message_id=message_id),
        )
    session.commit()
    video = session.get(Video, video_id)
    assert video is not None
    return video, job_id, True


def enqueue_awaiting_videos(session: Session, *, user_id: int, queue: JobQueue) -> list[Video]:
    """After consent: queue every video the user sent while consent was pending."""
    # Write first: of two concurrent calls only the one whose UPDATE moved the rows enqueues them.
    moved = session.exec(
        update(Video)
        .where(col(Video.user_id) == user_id, col(Video.status) == VideoStatus.AWAITING_CONSENT)
        .values(status=VideoStatus.QUEUED, updated_at=utcnow())
        .returning(col(Video.id), col(Video.chat_id), col(Video.message_id))
    ).all()
    for video_id, chat_id, message_id in sorted(moved):
        queue.enqueue(
            session,
            kind=JobKind.ASSESS,
            chat_id=chat_id,
            user_id=user_id,
            video_id=video_id,
            dedupe_key=assess_dedupe_key(chat_id=chat_id, message_id=message_id),
        )
    session.commit()
    ids = [video_id for video_id, _, _ in moved]
    return list(session.exec(select(Video).where(col(Video.id).in_(ids)).order_by(col(Video.id))).all())


def expire_unconsented_videos(session: Session, *, older_than: datetime) -> int:
    """Cancel videos that waited for consent since before `older_than`; how many."""
    result = session.exec(
        update(Video)
        .where(col(Video.status) == VideoStatus.AWAITING_CONSENT, col(Video.created_at) < older_than)
        .values(status=VideoStatus.CANCELLED, reject_reason="consent_timeout", updated_at=utcnow())
    )
    session.commit()
    return result.rowcount


def set_video_status(session: Session, *, video_id: int, status: str, reject_reason: str | None = None) -> bool:
    """Move a video to a new status (with a reason code when rejected or failed)."""
    result = session.exec(
        update(Video)
        .where(col(Video.id) == video_id)
        .values(status=status, reject_reason=reject_reason, updated_at=utcnow())
    )
    session.commit()
    return result.rowcount == 1


def record_video_file(session: Session, *, video_id: int, sha256: str, stored_path: str, size_bytes: int) -> bool:
    """Record where the downloaded file was stored."""
    result = session.exec(
        update(Video)
        .where(col(Video.id) == video_id)
        .values(sha256=sha256, stored_path=stored_path, size_bytes=size_bytes, updated_at=utcnow())
    )
    session.commit()
    return result.rowcount == 1


def record_video_probe(
    session: Session,
    *,
    video_id: int,
    duration_s: float | None,
    fps: float | None,
    width: int | None,
    height: int | None,
    rotation: int | None,
    codec: str | None,
) -> bool:
    """Record what probing the file found."""
    result = session.exec(
        update(Video)
        .where(col(Video.id) == video_id)
        .values(
            duration_s=duration_s,
            fps=fps,
            width=width,
            height=height,
            rotation=rotation,
            codec=codec,
            updated_at=utcnow(),
        )
    )
    session.commit()
    return result.rowcount == 1


def set_video_frames(session: Session, *, video_id: int, frames_path: str | None) -> bool:
    """Record (or clear) the relative folder of the video's decoded frame pack."""
    result = session.exec(
        update(Video).where(col(Video.id) == video_id).values(frames_path=frames_path, updated_at=utcnow())
    )
    session.commit()
    return result.rowcount == 1


def set_status_message(session: Session, *, video_id: int, message_id: int) -> bool:
    """Remember the bot's "queued…" reply so progress edits and replies to it find the video."""
    result = session.exec(
        update(Video).where(col(Video.id) == video_id).values(status_message_id=message_id, updated_at=utcnow())
    )
    session.commit()
    return result.rowcount == 1


def latest_assessed_video(session: Session, *, user_id: int) -> Video | None:
    """Return the user's latest assessed video (what a question without a reply is about)."""
    return session.exec(
        select(Video)
        .where(Video.user_id == user_id, Video.status == VideoStatus.ASSESSED)
        .order_by(col(Video.created_at).desc(), col(Video.id).desc())
        .limit(1)
    ).first()


def latest_video(session: Session, *, user_id: int) -> Video | None:
    """Return the user's newest video that is or will be assessed: the context of a follow-up question."""
    return session.exec(
        select(Video)
        .where(
            Video.user_id == user_id,
            col(Video.status).in_([VideoStatus.QUEUED, VideoStatus.PROCESSING, VideoStatus.ASSESSED]),
        )
        .order_by(col(Video.created_at).desc(), col(Video.id).desc())
        .limit(1)
    ).first()


def video_by_message(session: Session, *, chat_id: int, message_id: int) -> Video | None:
    """Find the video a message belongs to: the video, the bot's status reply, its feedback or a turn."""
    video = session.exec(
        select(Video).where(
            Video.chat_id == chat_id,
            or_(col(Video.message_id) == message_id, col(Video.status_message_id) == message_id),
        )
    ).first()
    if video is not None:
        return video
    turn = session.exec(
        select(Turn).where(
            Turn.chat_id == chat_id,
            or_(col(Turn.question_message_id) == message_id, col(Turn.answer_message_id) == message_id),
        )
    ).first()
    if turn is not None:
        return session.get(Video, turn.video_id)
    # Feedback message ids live in a JSON list; scanning a chat's recent assessments keeps the
    # query portable across SQLite and PostgreSQL (a chat has few videos).
    rows = session.exec(
        select(Assessment.delivered_message_ids, Video)
        .join(Video, col(Video.id) == col(Assessment.video_id))
        .where(Video.chat_id == chat_id)
        .order_by(col(Assessment.id).desc())
        .limit(FEEDBACK_SEARCH_LIMIT)
    ).all()
    for delivered, candidate in rows:
        if message_id in (delivered or []):
            return candidate
    return None
