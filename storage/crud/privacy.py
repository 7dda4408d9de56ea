"""A patient's data: exported as JSON, or erased with the files only they referenced."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

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
    Turn,
    User,
    Video,
    WeeklySummary,
)
from storage.types import utcnow

logger = logging.getLogger(__name__)

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
