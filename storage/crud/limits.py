"""What the per-patient limits count: recent videos and questions, and a chat's unfinished videos."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from storage.models import Turn, Video, VideoStatus

# Videos that are not finished yet: waiting for consent, queued or being analysed.
UNFINISHED_VIDEO_STATES: tuple[str, ...] = (
    VideoStatus.AWAITING_CONSENT,
    VideoStatus.QUEUED,
    VideoStatus.PROCESSING,
)


@dataclass(frozen=True)
class UploadCounts:
    """What decides whether a new video is taken: the user's recent video times and the chat's unfinished ones."""

    recent: list[datetime]
    unfinished: int


def upload_counts(
    session: Session, *, user_id: int, chat_id: int, message_id: int, since: datetime
) -> UploadCounts | None:
    """The counts for a new video message; None when this message is already recorded (a repeated update)."""
    known = session.exec(
        select(Video.id).where(Video.chat_id == chat_id, Video.message_id == message_id).limit(1)
    ).first()
    if known is not None:
        session.commit()
        return None
    recent = list(
        session.exec(
            select(Video.created_at)
            .where(Video.user_id == user_id, col(Video.created_at) >= since)
            .order_by(col(Video.created_at))
        ).all()
    )
    unfinished = session.exec(
        select(func.count())
        .select_from(Video)
        .where(Video.chat_id == chat_id, col(Video.status).in_(UNFINISHED_VIDEO_STATES))
    ).one()
    session.commit()
    return UploadCounts(recent=recent, unfinished=int(unfinished))


def recent_question_times(session: Session, *, user_id: int, since: datetime) -> list[datetime]:
    """When the user asked each follow-up question since `since`, oldest first."""
    times = list(
        session.exec(
            select(Turn.created_at)
            .where(Turn.user_id == user_id, col(Turn.created_at) >= since)
            .order_by(col(Turn.created_at))
        ).all()
    )
    session.commit()
    return times


def question_known(session: Session, *, chat_id: int, message_id: int) -> bool:
    """Whether this question message is already recorded (a repeated update is never refused)."""
    found = session.exec(
        select(Turn.id).where(Turn.chat_id == chat_id, Turn.question_message_id == message_id).limit(1)
    ).first()
    session.commit()
    return found is not None
