"""Small keyword-only data functions over a `Session` for what the bot needs.

Each function is one short unit of work and commits it (call from a thread, never across an
await). Functions that react to a Telegram update are idempotent: the same update delivered twice
finds the row it already made instead of making a second one.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from storage.db import dialect_insert, insert_once
from storage.files import VideoStore
from storage.models import (
    ACTIVE_JOB_STATES,
    Alert,
    Assessment,
    AuditLog,
    Invite,
    Job,
    PainReport,
    Prescription,
    Role,
    Turn,
    TurnStatus,
    User,
    Video,
    VideoStatus,
    WeeklySummary,
)
from storage.queue import JobKind, JobQueue
from storage.types import utcnow

logger = logging.getLogger(__name__)

# How many recent feedback messages of a chat `video_by_message` searches.
FEEDBACK_SEARCH_LIMIT = 200


def _dialect(session: Session) -> str:
    """Return the session's database dialect name."""
    return session.get_bind().dialect.name


def assess_dedupe_key(*, chat_id: int, message_id: int) -> str:
    """Return the natural key of a video's assessment job: one per (chat, message)."""
    return f"assess:{chat_id}:{message_id}"


def answer_dedupe_key(*, chat_id: int, question_message_id: int) -> str:
    """Return the natural key of a question's answer job: one per (chat, question message)."""
    return f"answer:{chat_id}:{question_message_id}"


# -- users -------------------------------------------------------------------------------------


def get_user(session: Session, *, user_id: int) -> User | None:
    """Return the user with this Telegram id, if known."""
    return session.get(User, user_id)


def get_or_create_user(
    session: Session,
    *,
    user_id: int,
    first_name: str | None,
    username: str | None,
    telegram_language: str | None,
) -> User:
    """Create the user on first contact, else refresh their Telegram profile and last-seen time."""
    now = utcnow()
    users = User.__table__  # type: ignore[attr-defined]
    statement = dialect_insert(_dialect(session), users).values(
        id=user_id,
        first_name=first_name,
        username=username,
        telegram_language=telegram_language,
        created_at=now,
        last_seen_at=now,
    )
    # An upsert, so two updates from a new user arriving together cannot collide on the key.
    statement = statement.on_conflict_do_update(
        index_elements=["id"],
        set_={
            "first_name": statement.excluded.first_name,
            "username": statement.excluded.username,
            "telegram_language": statement.excluded.telegram_language,
            "last_seen_at": statement.excluded.last_seen_at,
            "blocked_at": None,
        },
    )
    session.exec(statement)
    session.commit()
    user = session.get(User, user_id, populate_existing=True)
    assert user is not None
    return user


def set_locale(session: Session, *, user_id: int, locale: str | None) -> User | None:
    """Store the user's explicit language choice (None returns to Telegram's language)."""
    user = session.get(User, user_id)
    if user is None:
        return None
    user.locale = locale
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def set_role(session: Session, *, user_id: int, role: str) -> User | None:
    """Change a user's role (patient, therapist, admin)."""
    user = session.get(User, user_id)
    if user is None:
        return None
    user.role = role
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def ensure_therapist(session: Session, *, user_id: int) -> User:
    """Give a Telegram user the therapist role, creating the row if they never wrote to the bot."""
    user = session.get(User, user_id)
    if user is None:
        user = User(id=user_id, role=Role.THERAPIST)
        session.add(user)
    elif user.role != Role.ADMIN:
        user.role = Role.THERAPIST
    session.commit()
    session.refresh(user)
    return user


def record_consent(session: Session, *, user_id: int, at: datetime | None = None) -> User | None:
    """Record the user's consent to processing their health data; the first consent time is kept."""
    user = session.get(User, user_id)
    if user is None:
        return None
    if user.consented_at is None:
        user.consented_at = at or utcnow()
        session.add(user)
        session.commit()
        session.refresh(user)
    return user


def mark_blocked(session: Session, *, user_id: int) -> bool:
    """Remember that the user blocked the bot (Telegram answered 403)."""
    result = session.exec(
        update(User).where(col(User.id) == user_id, col(User.blocked_at).is_(None)).values(blocked_at=utcnow())
    )
    session.commit()
    return result.rowcount == 1


# -- videos ------------------------------------------------------------------------------------


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


# -- assessments -------------------------------------------------------------------------------


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


def mark_assessment_delivered(session: Session, *, assessment_id: int, message_ids: list[int]) -> bool:
    """Record that the feedback was sent (and as which messages); False when it already was."""
    result = session.exec(
        update(Assessment)
        .where(col(Assessment.id) == assessment_id, col(Assessment.delivered_at).is_(None))
        .values(delivered_message_ids=list(message_ids), delivered_at=utcnow())
    )
    session.commit()
    return result.rowcount == 1


# -- follow-up turns ---------------------------------------------------------------------------


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
) -> tuple[Turn, int | None, bool]:
    """Record a follow-up question and its answer job in one transaction: (turn, job id, created)."""
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


# -- privacy: export and erasure ---------------------------------------------------------------


# Jobs are exported as what happened, not the queue's internals (leases, error texts).
_JOB_EXPORT_FIELDS = {"id", "kind", "state", "video_id", "turn_id", "attempt", "created_at", "finished_at"}


def _dump(rows: Any, *, exclude: set[str] | None = None, include: set[str] | None = None) -> list[dict[str, Any]]:
    """Turn rows into JSON-ready dicts (datetimes become ISO strings)."""
    return [row.model_dump(mode="json", exclude=exclude, include=include) for row in rows]


def export_user_data(session: Session, *, user_id: int) -> dict[str, Any]:
    """Collect everything stored about a user, JSON-serialisable (for /mydata)."""
    user = session.get(User, user_id)
    videos = session.exec(select(Video).where(Video.user_id == user_id).order_by(col(Video.id))).all()
    video_ids = [video.id for video in videos]
    assessments = session.exec(
        select(Assessment).where(col(Assessment.video_id).in_(video_ids)).order_by(col(Assessment.id))
    ).all()
    jobs = session.exec(
        select(Job).where(or_(col(Job.user_id) == user_id, col(Job.video_id).in_(video_ids))).order_by(col(Job.id))
    ).all()
    return {
        "exported_at": utcnow().isoformat(),
        "user": user.model_dump(mode="json") if user else None,
        "videos": _dump(videos),
        "assessments": _dump(assessments),
        "turns": _dump(session.exec(select(Turn).where(Turn.user_id == user_id).order_by(col(Turn.id))).all()),
        "pain_reports": _dump(
            session.exec(select(PainReport).where(PainReport.user_id == user_id).order_by(col(PainReport.id))).all()
        ),
        "alerts": _dump(session.exec(select(Alert).where(Alert.patient_id == user_id).order_by(col(Alert.id))).all()),
        "prescriptions": _dump(
            session.exec(
                select(Prescription).where(Prescription.patient_id == user_id).order_by(col(Prescription.id))
            ).all()
        ),
        "weekly_summaries": _dump(
            session.exec(
                select(WeeklySummary).where(WeeklySummary.patient_id == user_id).order_by(col(WeeklySummary.id))
            ).all()
        ),
        "invites": _dump(
            session.exec(
                select(Invite)
                .where(or_(col(Invite.therapist_id) == user_id, col(Invite.used_by) == user_id))
                .order_by(col(Invite.id))
            ).all(),
            exclude={"token_hash"},
        ),
        "jobs": _dump(jobs, include=_JOB_EXPORT_FIELDS),
        "audit_log": _dump(
            session.exec(
                select(AuditLog)
                .where(or_(col(AuditLog.actor_id) == user_id, col(AuditLog.patient_id) == user_id))
                .order_by(col(AuditLog.id))
            ).all()
        ),
    }


def erase_user(session: Session, *, user_id: int, store: VideoStore) -> list[str]:
    """Delete every row about a user and their files (those no other user's video shares).

    Their jobs are cancelled first, so a worker still running one loses its fence. Files are
    deleted only after the rows are committed; returns the relative paths deleted.
    """
    video_ids = select(Video.id).where(Video.user_id == user_id)
    job_filter = or_(col(Job.user_id) == user_id, col(Job.chat_id) == user_id, col(Job.video_id).in_(video_ids))
    # Write first: this takes SQLite's write lock, so nothing read below can change before the
    # commit, and a worker running one of these jobs loses its fence.
    session.exec(
        update(Job)
        .where(job_filter, col(Job.state).in_(ACTIVE_JOB_STATES))
        .values(state="cancelled", lease_expires_at=None, finished_at=utcnow(), updated_at=utcnow())
    )
    videos = session.exec(select(Video).where(Video.user_id == user_id)).all()
    candidate_paths = sorted({p for video in videos for p in (video.stored_path, video.frames_path) if p})
    session.exec(delete(Job).where(job_filter))
    assessment_ids = select(Assessment.id).where(col(Assessment.video_id).in_(video_ids))
    session.exec(
        delete(PainReport).where(
            or_(col(PainReport.user_id) == user_id, col(PainReport.assessment_id).in_(assessment_ids))
        )
    )
    session.exec(delete(Turn).where(or_(col(Turn.user_id) == user_id, col(Turn.video_id).in_(video_ids))))
    session.exec(delete(Assessment).where(col(Assessment.video_id).in_(video_ids)))
    session.exec(delete(Video).where(col(Video.user_id) == user_id))
    session.exec(delete(Alert).where(col(Alert.patient_id) == user_id))
    session.exec(update(Alert).where(col(Alert.therapist_id) == user_id).values(therapist_id=None))
    session.exec(delete(Prescription).where(col(Prescription.patient_id) == user_id))
    session.exec(update(Prescription).where(col(Prescription.therapist_id) == user_id).values(therapist_id=None))
    session.exec(
        delete(WeeklySummary).where(
            or_(col(WeeklySummary.patient_id) == user_id, col(WeeklySummary.therapist_id) == user_id)
        )
    )
    session.exec(delete(Invite).where(col(Invite.therapist_id) == user_id))
    session.exec(update(Invite).where(col(Invite.used_by) == user_id).values(used_by=None))
    session.exec(delete(AuditLog).where(or_(col(AuditLog.actor_id) == user_id, col(AuditLog.patient_id) == user_id)))
    session.exec(update(User).where(col(User.therapist_id) == user_id).values(therapist_id=None))
    session.exec(delete(User).where(col(User.id) == user_id))
    shared = set()
    if candidate_paths:
        shared = set(
            session.exec(select(Video.stored_path).where(col(Video.stored_path).in_(candidate_paths))).all()
        ) | set(session.exec(select(Video.frames_path).where(col(Video.frames_path).in_(candidate_paths))).all())
    session.commit()
    deleted = []
    for rel in candidate_paths:
        if rel in shared:
            continue
        try:
            if store.delete(rel):
                deleted.append(rel)
        except OSError as exc:
            # The rows are gone already; a file left behind is logged (no path: it holds a hash).
            logger.warning("erase: a file could not be deleted (%s)", type(exc).__name__)
    logger.info("user data erased: %s videos, %s files", len(videos), len(deleted))
    return deleted


def delete_unreferenced_files(session: Session, *, paths: list[str], store: VideoStore) -> list[str]:
    """Delete stored files and frame folders no video refers to (a job's output after its video was erased)."""
    wanted = sorted({path for path in paths if path})
    if not wanted:
        return []
    used = set(session.exec(select(Video.stored_path).where(col(Video.stored_path).in_(wanted))).all())
    used |= set(session.exec(select(Video.frames_path).where(col(Video.frames_path).in_(wanted))).all())
    session.commit()
    return [rel for rel in wanted if rel not in used and store.delete(rel)]


# -- alerts --------------------------------------------------------------------------------------


def record_alert(
    session: Session,
    *,
    patient_id: int,
    therapist_id: int | None,
    kind: str,
    severity: str,
    reason: str,
    event_key: str,
) -> Alert | None:
    """Record an alert once per event (`event_key`); None when that event was already recorded."""
    alert_id = insert_once(
        session,
        Alert,
        unique=["event_key"],
        patient_id=patient_id,
        therapist_id=therapist_id,
        kind=kind,
        severity=severity,
        reason=reason,
        event_key=event_key,
        created_at=utcnow(),
    )
    session.commit()
    return None if alert_id is None else session.get(Alert, alert_id)
