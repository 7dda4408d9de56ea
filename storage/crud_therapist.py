"""Keyword-only data functions for the therapist side: roles, invites, plans, pain, alerts, audit, summaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from storage.db import insert_once
from storage.models import (
    Alert,
    Assessment,
    AuditLog,
    Invite,
    PainReport,
    Prescription,
    Role,
    Turn,
    User,
    Video,
    VideoStatus,
    WeeklySummary,
)
from storage.types import utcnow

# -- roles -----------------------------------------------------------------------------------------


def remove_therapist(session: Session, *, user_id: int) -> int | None:
    """Take the therapist role away and unlink their patients; how many were unlinked (None if not a therapist)."""
    user = session.get(User, user_id)
    if user is None or user.role != Role.THERAPIST:
        return None
    user.role = Role.PATIENT
    unlinked = session.exec(
        update(User).where(col(User.therapist_id) == user_id).values(therapist_id=None, linked_at=None)
    ).rowcount
    session.commit()
    return int(unlinked or 0)


def set_timezone(session: Session, *, user_id: int, timezone: str) -> bool:
    """Store a user's IANA time zone."""
    user = session.get(User, user_id)
    if user is None:
        return False
    user.timezone = timezone
    session.commit()
    return True


def therapists(session: Session) -> list[User]:
    """Every user who can receive summaries (therapists and admins who have patients)."""
    has_patients = select(User.therapist_id).where(col(User.therapist_id).is_not(None))
    statement = select(User).where((col(User.role) == Role.THERAPIST) | (col(User.id).in_(has_patients)))
    return list(session.exec(statement.order_by(col(User.id))).all())


# -- invites ---------------------------------------------------------------------------------------


def create_invite(session: Session, *, therapist_id: int, token_hash: str, expires_at: datetime) -> Invite:
    """Store an invite by the hash of its token (the token itself is never stored)."""
    invite = Invite(therapist_id=therapist_id, token_hash=token_hash, expires_at=expires_at)
    session.add(invite)
    session.commit()
    session.refresh(invite)
    return invite


def find_invite(session: Session, *, token_hash: str) -> Invite | None:
    """The invite with this token hash, if any."""
    return session.exec(select(Invite).where(Invite.token_hash == token_hash)).first()


def redeem_invite(session: Session, *, invite_id: int, patient_id: int, now: datetime | None = None) -> Invite | None:
    """Use an invite once (atomically): consent and link the patient; None if used, expired or unknown."""
    now = now or utcnow()
    used = session.exec(
        update(Invite)
        .where(col(Invite.id) == invite_id, col(Invite.used_at).is_(None), col(Invite.expires_at) > now)
        .values(used_at=now, used_by=patient_id)
    ).rowcount
    if not used:
        session.rollback()
        return None
    invite = session.get(Invite, invite_id)
    patient = session.get(User, patient_id)
    assert invite is not None and patient is not None
    patient.therapist_id = invite.therapist_id
    patient.linked_at = now
    patient.consented_at = patient.consented_at or now
    session.commit()
    session.refresh(invite)
    return invite


# -- patients and plans ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientOverview:
    """One line of a therapist's patient list."""

    patient: User
    last_activity: datetime | None
    open_alerts: int
    paused: bool


def linked_patients(session: Session, *, therapist_id: int) -> list[User]:
    """The therapist's patients."""
    statement = select(User).where(User.therapist_id == therapist_id).order_by(col(User.first_name), col(User.id))
    return list(session.exec(statement).all())


def patient_overview(session: Session, *, therapist_id: int, since: datetime) -> list[PatientOverview]:
    """Each linked patient with their last video time and alerts since `since`."""
    rows = []
    for patient in linked_patients(session, therapist_id=therapist_id):
        last_video = session.exec(select(func.max(Video.created_at)).where(Video.user_id == patient.id)).one()
        alerts = session.exec(
            select(func.count())
            .select_from(Alert)
            .where(Alert.patient_id == patient.id, col(Alert.created_at) >= since)
        ).one()
        rows.append(PatientOverview(patient, last_video, int(alerts), patient.plan_paused_at is not None))
    return rows


def add_prescription(
    session: Session, *, patient_id: int, therapist_id: int, exercise: str, focus: str | None, sessions_per_week: int
) -> Prescription:
    """Add one exercise to a patient's plan."""
    prescription = Prescription(
        patient_id=patient_id,
        therapist_id=therapist_id,
        exercise=exercise,
        focus=focus,
        sessions_per_week=sessions_per_week,
    )
    session.add(prescription)
    session.commit()
    session.refresh(prescription)
    return prescription


def active_prescriptions(session: Session, *, patient_id: int) -> list[Prescription]:
    """The patient's current plan, oldest exercise first."""
    statement = (
        select(Prescription)
        .where(Prescription.patient_id == patient_id, col(Prescription.active).is_(True))
        .order_by(col(Prescription.id))
    )
    return list(session.exec(statement).all())


def clear_prescriptions(session: Session, *, patient_id: int) -> int:
    """End every active prescription of a patient; how many."""
    ended = session.exec(
        update(Prescription)
        .where(col(Prescription.patient_id) == patient_id, col(Prescription.active).is_(True))
        .values(active=False, updated_at=utcnow())
    ).rowcount
    session.commit()
    return int(ended or 0)


def pause_plan(session: Session, *, user_id: int, reason: str) -> bool:
    """Pause a patient's programme (after a fall) until the therapist resumes it; False if already paused."""
    paused = session.exec(
        update(User)
        .where(col(User.id) == user_id, col(User.plan_paused_at).is_(None))
        .values(plan_paused_at=utcnow(), plan_paused_reason=reason)
    ).rowcount
    session.commit()
    return bool(paused)


def resume_plan(session: Session, *, user_id: int) -> bool:
    """Resume a paused programme; False if it was not paused."""
    resumed = session.exec(
        update(User)
        .where(col(User.id) == user_id, col(User.plan_paused_at).is_not(None))
        .values(plan_paused_at=None, plan_paused_reason=None)
    ).rowcount
    session.commit()
    return bool(resumed)


# -- pain and alerts -------------------------------------------------------------------------------


def record_pain(session: Session, *, user_id: int, assessment_id: int | None, score: int) -> PainReport:
    """Store a pain score; a second tap on the same feedback's keyboard corrects the first."""
    if assessment_id is not None:
        existing = session.exec(select(PainReport).where(PainReport.assessment_id == assessment_id)).first()
        if existing is not None:
            existing.score = score
            existing.created_at = utcnow()
            session.commit()
            session.refresh(existing)
            return existing
    report = PainReport(user_id=user_id, assessment_id=assessment_id, score=score)
    session.add(report)
    session.commit()
    session.refresh(report)
    return report


def earlier_pain_scores(session: Session, *, user_id: int, before_id: int, since: datetime, limit: int) -> list[int]:
    """The patient's most recent pain scores before report `before_id`, within the window, newest first."""
    statement = (
        select(PainReport.score)
        .where(
            PainReport.user_id == user_id,
            col(PainReport.id) != before_id,
            col(PainReport.created_at) >= since,
        )
        .order_by(col(PainReport.created_at).desc(), col(PainReport.id).desc())
        .limit(limit)
    )
    return list(session.exec(statement).all())


def unsent_alerts(session: Session, *, created_before: datetime, limit: int = 50) -> list[Alert]:
    """Alerts for a linked therapist, raised before `created_before`, that were not delivered yet."""
    statement = (
        select(Alert)
        .where(
            col(Alert.sent_at).is_(None),
            col(Alert.therapist_id).is_not(None),
            col(Alert.created_at) < created_before,
        )
        .order_by(col(Alert.id))
        .limit(limit)
    )
    return list(session.exec(statement).all())


def mark_alert_sent(session: Session, *, alert_id: int) -> bool:
    """Record that the therapist got the alert; False if someone else already did."""
    marked = session.exec(
        update(Alert).where(col(Alert.id) == alert_id, col(Alert.sent_at).is_(None)).values(sent_at=utcnow())
    ).rowcount
    session.commit()
    return bool(marked)


def record_audit(session: Session, *, actor_id: int, patient_id: int, action: str) -> None:
    """Note that a therapist read a patient's data (the patient sees it in /mydata)."""
    session.add(AuditLog(actor_id=actor_id, patient_id=patient_id, action=action))
    session.commit()


# -- what a weekly summary is made of --------------------------------------------------------------


@dataclass(frozen=True)
class PatientWeek:
    """A patient's data between two instants, for a summary."""

    videos: list[Video]
    assessments: list[Assessment]
    pain: list[PainReport]
    earlier_pain: list[PainReport]
    alerts: list[Alert]
    questions: list[Turn]
    prescriptions: list[Prescription]


def patient_week(session: Session, *, patient_id: int, start: datetime, end: datetime) -> PatientWeek:
    """Everything a summary of [start, end) needs for one patient."""
    videos = list(
        session.exec(
            select(Video)
            .where(Video.user_id == patient_id, col(Video.created_at) >= start, col(Video.created_at) < end)
            .order_by(col(Video.created_at))
        ).all()
    )
    video_ids = [v.id for v in videos]
    assessments = list(
        session.exec(
            select(Assessment).where(col(Assessment.video_id).in_(video_ids)).order_by(col(Assessment.id))
        ).all()
    )

    def pain_between(low: datetime, high: datetime) -> list[PainReport]:
        """Pain reports in [low, high)."""
        return list(
            session.exec(
                select(PainReport)
                .where(
                    PainReport.user_id == patient_id,
                    col(PainReport.created_at) >= low,
                    col(PainReport.created_at) < high,
                )
                .order_by(col(PainReport.created_at))
            ).all()
        )

    alerts = list(
        session.exec(
            select(Alert)
            .where(Alert.patient_id == patient_id, col(Alert.created_at) >= start, col(Alert.created_at) < end)
            .order_by(col(Alert.created_at))
        ).all()
    )
    questions = list(
        session.exec(
            select(Turn)
            .where(
                Turn.user_id == patient_id,
                col(Turn.needs_therapist).is_(True),
                col(Turn.created_at) >= start,
                col(Turn.created_at) < end,
            )
            .order_by(col(Turn.created_at))
        ).all()
    )
    return PatientWeek(
        videos=videos,
        assessments=assessments,
        pain=pain_between(start, end),
        earlier_pain=pain_between(start - (end - start), start),
        alerts=alerts,
        questions=questions,
        prescriptions=active_prescriptions(session, patient_id=patient_id),
    )


def rejected_count(videos: list[Video]) -> int:
    """How many of the videos could not be used."""
    return sum(1 for v in videos if v.status == VideoStatus.REJECTED)


# -- weekly summary bookkeeping (each week exactly once) -------------------------------------------


def ensure_summary(session: Session, *, therapist_id: int, patient_id: int, week_start: date) -> int:
    """The id of the (therapist, patient, week) summary row, created if missing (race-free)."""
    insert_once(
        session,
        WeeklySummary,
        unique=["therapist_id", "patient_id", "week_start"],
        therapist_id=therapist_id,
        patient_id=patient_id,
        week_start=week_start,
        status="pending",
        created_at=utcnow(),
    )
    session.commit()
    return session.exec(
        select(WeeklySummary.id).where(
            WeeklySummary.therapist_id == therapist_id,
            WeeklySummary.patient_id == patient_id,
            WeeklySummary.week_start == week_start,
        )
    ).one()


def claim_summary(session: Session, *, summary_id: int, stale_before: datetime) -> bool:
    """Take the right to send a summary: pending, or claimed by a process that died before `stale_before`."""
    claimed = session.exec(
        update(WeeklySummary)
        .where(
            col(WeeklySummary.id) == summary_id,
            col(WeeklySummary.sent_at).is_(None),
            (col(WeeklySummary.claimed_at).is_(None)) | (col(WeeklySummary.claimed_at) < stale_before),
        )
        .values(status="sending", claimed_at=utcnow())
    ).rowcount
    session.commit()
    return bool(claimed)


def mark_summary_sent(session: Session, *, summary_id: int, text: str) -> None:
    """Record the sent summary."""
    session.exec(
        update(WeeklySummary)
        .where(col(WeeklySummary.id) == summary_id)
        .values(status="sent", sent_at=utcnow(), text=text)
    )
    session.commit()


def release_summary(session: Session, *, summary_id: int) -> None:
    """Give a claimed summary back after a failed send, so the next check retries it."""
    session.exec(
        update(WeeklySummary)
        .where(col(WeeklySummary.id) == summary_id, col(WeeklySummary.sent_at).is_(None))
        .values(status="pending", claimed_at=None)
    )
    session.commit()
