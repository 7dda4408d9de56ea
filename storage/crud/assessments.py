"""Assessments and follow-up turns: saved once, delivered part by part."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.db import insert_once
from storage.models import (
    Assessment,
    Turn,
    TurnStatus,
    Video,
    VideoStatus,
)
from storage.queue import JobKind, JobQueue
from storage.types import utcnow

logger = logging.getLogger(__name__)


def answer_dedupe_key(*, chat_id: int, question_message_id: int) -> str:
    """Return the natural key of a question's answer job: one per (chat, question message)."""
    return f"answer:{chat_id}:{question_message_id}"


def video_of_assessment(session: Session, *, assessment_id: int) -> Video | None:
    """The video an assessment belongs to."""
    assessment = session.get(Assessment, assessment_id)
    return None if assessment is None else session.get(Video, assessment.video_id)


def get_assessment(session: Session, *, video_id: int) -> Assessment | None:
    """Return a video's stored assessment (a retried job reuses it instead of calling the model)."""
    return session.exec(select(Assessment).where(Assessment.video_id == video_id)).first()


def save_assessment(
    session: Session,
    *,
    video_id: int,
    job_id: int | None,
    model_id: str,
    language: str,
    parsed: bool,
    result: dict[str, Any] | None,
    text: str,
    raw_output: str | None,
    exercise_hint: str | None = None,
    measurements: dict[str, Any] | None = None,
) -> Assessment:
    """Store a video's assessment and mark the video assessed; the first stored assessment wins."""
    # At-least-once: a re-run must not replace feedback that may already have been sent.
    insert_once(
        session,
        Assessment,
        unique=["video_id"],
        video_id=video_id,
        job_id=job_id,
        model_id=model_id,
        language=language,
        parsed=parsed,
        result=result,
        text=text,
        raw_output=raw_output,
        exercise_hint=exercise_hint,
        measurements=measurements,
        delivered_message_ids=[],
        created_at=utcnow(),
    )
    session.exec(
        update(Video)
        .where(col(Video.id) == video_id)
        .values(status=VideoStatus.ASSESSED, reject_reason=None, updated_at=utcnow())
    )
    session.commit()
    assessment = get_assessment(session, video_id=video_id)
    assert assessment is not None
    return assessment


def add_delivered_message(session: Session, *, assessment_id: int, message_id: int) -> list[int]:
    """Record one sent part of the feedback (before sending the next), returning all parts so far."""
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise LookupError("no such assessment")
    ids = list(assessment.delivered_message_ids or [])
    if message_id not in ids:
        assessment.delivered_message_ids = [*ids, message_id]
        session.add(assessment)
        session.commit()
        session.refresh(assessment)
    return list(assessment.delivered_message_ids)


def record_key_frames_sent(session: Session, *, assessment_id: int, message_ids: list[int]) -> None:
    """Record that the key-frame pictures were sent (so a repeated delivery does not send them again)."""
    assessment = session.get(Assessment, assessment_id)
    if assessment is None or assessment.measurements is None:
        raise LookupError("no such measured assessment")
    assessment.measurements = {**assessment.measurements, "key_frames_message_ids": list(message_ids)}
    session.add(assessment)
    session.commit()


def mark_assessment_delivered(session: Session, *, assessment_id: int, message_ids: list[int]) -> bool:
    """Record that the feedback was sent (and as which messages); False when it already was."""
    result = session.exec(
        update(Assessment)
        .where(col(Assessment.id) == assessment_id, col(Assessment.delivered_at).is_(None))
        .values(delivered_message_ids=list(message_ids), delivered_at=utcnow())
    )
    session.commit()
    return result.rowcount == 1


def _insert_turn(
    session: Session,
    *,
    video_id: int,
    user_id: int,
    chat_id: int,
    question_message_id: int,
    question: str,
    moment_s: float | None,
    status: str,
    needs_therapist: bool,
    spoken: bool = False,
) -> int | None:
    """Insert a question once per (chat, message); the new id, or None when it was already there."""
    return insert_once(
        session,
        Turn,
        unique=["chat_id", "question_message_id"],
        video_id=video_id,
        user_id=user_id,
        chat_id=chat_id,
        question_message_id=question_message_id,
        question=question,
        spoken=spoken,
        moment_s=moment_s,
        status=status,
        needs_therapist=needs_therapist,
        created_at=utcnow(),
    )


def record_turn_with_job(
    session: Session,
    *,
    video_id: int,
    user_id: int,
    chat_id: int,
    question_message_id: int,
    question: str,
    moment_s: float | None,
    queue: JobQueue,
    spoken: bool = False,
) -> tuple[Turn, int | None, bool]:
    """Record a follow-up question (typed, or the transcript of a spoken one) and its answer job at once."""
    turn_id = _insert_turn(
        session,
        video_id=video_id,
        user_id=user_id,
        chat_id=chat_id,
        question_message_id=question_message_id,
        question=question,
        moment_s=moment_s,
        status=TurnStatus.PENDING,
        needs_therapist=False,
        spoken=spoken,
    )
    if turn_id is None:
        session.commit()  # nothing of ours was written; end the transaction
        existing = session.exec(
            select(Turn).where(Turn.chat_id == chat_id, Turn.question_message_id == question_message_id)
        ).one()
        return existing, None, False
    job_id = queue.enqueue(
        session,
        kind=JobKind.ANSWER,
        chat_id=chat_id,
        user_id=user_id,
        video_id=video_id,
        turn_id=turn_id,
        dedupe_key=answer_dedupe_key(chat_id=chat_id, question_message_id=question_message_id),
    )
    session.commit()
    turn = session.get(Turn, turn_id)
    assert turn is not None
    return turn, job_id, True


def record_escalated_question(
    session: Session, *, video_id: int, user_id: int, chat_id: int, question_message_id: int, question: str
) -> Turn | None:
    """Record a question answered with the safety message, for the therapist (once per message)."""
    turn_id = _insert_turn(
        session,
        video_id=video_id,
        user_id=user_id,
        chat_id=chat_id,
        question_message_id=question_message_id,
        question=question,
        moment_s=None,
        status=TurnStatus.SAFETY,
        needs_therapist=True,
    )
    session.commit()
    return None if turn_id is None else session.get(Turn, turn_id)


def get_turn(session: Session, *, turn_id: int) -> Turn | None:
    """Return the turn with this id."""
    return session.get(Turn, turn_id)


def recent_turns(session: Session, *, video_id: int, limit: int) -> list[Turn]:
    """Return the last `limit` turns about a video, oldest first (context for the model)."""
    newest_first = session.exec(
        select(Turn).where(Turn.video_id == video_id).order_by(col(Turn.id).desc()).limit(limit)
    ).all()
    return list(reversed(newest_first))


def save_turn_answer(
    session: Session, *, turn_id: int, answer: str, status: str, needs_therapist: bool = False
) -> bool:
    """Store a turn's answer; False when it was already answered (the first answer wins)."""
    result = session.exec(
        update(Turn)
        .where(col(Turn.id) == turn_id, col(Turn.status) == TurnStatus.PENDING)
        .values(answer=answer, status=status, needs_therapist=needs_therapist, answered_at=utcnow())
    )
    session.commit()
    return result.rowcount == 1


def mark_turn_delivered(session: Session, *, turn_id: int, message_id: int) -> bool:
    """Record the message that delivered a turn's answer; False when one was already recorded."""
    result = session.exec(
        update(Turn)
        .where(col(Turn.id) == turn_id, col(Turn.answer_message_id).is_(None))
        .values(answer_message_id=message_id)
    )
    session.commit()
    return result.rowcount == 1
