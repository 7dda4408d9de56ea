"""Data functions the bot uses, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from storage import crud
from storage.files import VideoStore
from storage.models import (
    Alert,
    AuditLog,
    Invite,
    Job,
    PainReport,
    Prescription,
    Turn,
    User,
    Video,
    VideoStatus,
    WeeklySummary,
)
from storage.queue import JobKind, JobQueue, JobState


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    with Session(db_engine) as session:
        yield session


@pytest.fixture
def queue(db_engine: Engine) -> JobQueue:
    return JobQueue(db_engine, lease_s=30)


def new_user(session: Session, user_id: int = 501, **fields) -> User:
    user = crud.get_or_create_user(session, user_id=user_id, first_name="Ann", username="ann", telegram_language="ru")
    for name, value in fields.items():
        setattr(user, name, value)
    session.add(user)
    session.commit()
    return user


def video_fields(message_id: int, **overrides) -> dict:
    fields = {
        "chat_id": 501,
        "message_id": message_id,
        "source": "video",
        "file_id": f"file-{message_id}",
        "file_unique_id": f"uniq-{message_id}",
        "mime_type": "video/mp4",
        "file_name": None,
        "declared_size": 1234,
        "declared_duration": 12.5,
        "caption": "squats",
    }
    return fields | overrides


def count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_get_or_create_user_refreshes_profile(session: Session) -> None:
    user = crud.get_or_create_user(session, user_id=2**40, first_name="A", username=None, telegram_language="en")
    assert (user.id, user.role, user.locale, user.consented_at) == (2**40, "patient", None, None)
    first_seen = user.last_seen_at
    again = crud.get_or_create_user(session, user_id=2**40, first_name="B", username="b", telegram_language="de")
    assert (again.first_name, again.username, again.telegram_language) == ("B", "b", "de")
    assert again.created_at == user.created_at and again.last_seen_at >= first_seen
    assert count(session, User) == 1

    assert crud.set_locale(session, user_id=2**40, locale="zh_Hans").locale == "zh_Hans"
    consented = crud.record_consent(session, user_id=2**40)
    assert consented.consented_at is not None
    assert crud.record_consent(session, user_id=2**40).consented_at == consented.consented_at
    assert crud.set_role(session, user_id=2**40, role="therapist").role == "therapist"
    assert crud.get_user(session, user_id=12345) is None
    assert crud.set_locale(session, user_id=12345, locale="en") is None
    assert crud.mark_blocked(session, user_id=2**40)
    assert not crud.mark_blocked(session, user_id=2**40)


def test_record_video_with_job_is_idempotent(session: Session, queue: JobQueue) -> None:
    user = new_user(session)
    video, job_id, created = crud.record_video_with_job(
        session, user=user, queue=queue, awaiting_consent=False, **video_fields(10)
    )
    assert created and job_id is not None
    assert (video.status, video.chat_id, video.message_id, video.caption) == ("queued", 501, 10, "squats")
    job = session.get(Job, job_id)
    assert (job.kind, job.video_id, job.dedupe_key, job.priority) == ("assess", video.id, "assess:501:10", 10)

    # The same Telegram update delivered again.
    again, again_job, again_created = crud.record_video_with_job(
        session, user=user, queue=queue, awaiting_consent=False, **video_fields(10)
    )
    assert (again.id, again_job, again_created) == (video.id, None, False)
    assert count(session, Video) == 1
    assert count(session, Job) == 1
    assert queue.position(job_id) == 1


def test_videos_wait_for_consent_then_queue_once(session: Session, queue: JobQueue) -> None:
    user = new_user(session)
    for message_id in (1, 2):
        video, job_id, created = crud.record_video_with_job(
            session, user=user, queue=queue, awaiting_consent=True, **video_fields(message_id)
        )
        assert created and job_id is None and video.status == VideoStatus.AWAITING_CONSENT
    assert count(session, Job) == 0

    crud.record_consent(session, user_id=user.id)
    queued = crud.enqueue_awaiting_videos(session, user_id=user.id, queue=queue)
    assert [video.message_id for video in queued] == [1, 2]
    assert all(video.status == VideoStatus.QUEUED for video in queued)
    assert count(session, Job) == 2
    assert crud.enqueue_awaiting_videos(session, user_id=user.id, queue=queue) == []
    assert count(session, Job) == 2


def test_expire_unconsented_videos(session: Session, queue: JobQueue) -> None:
    user = new_user(session)
    crud.record_video_with_job(session, user=user, queue=queue, awaiting_consent=True, **video_fields(1))
    assert crud.expire_unconsented_videos(session, older_than=datetime.now(UTC) - timedelta(hours=1)) == 0
    assert crud.expire_unconsented_videos(session, older_than=datetime.now(UTC) + timedelta(seconds=1)) == 1
    video = session.exec(select(Video)).one()
    session.refresh(video)
    assert (video.status, video.reject_reason) == ("cancelled", "consent_timeout")


def test_video_pipeline_updates(session: Session, queue: JobQueue) -> None:
    user = new_user(session)
    video, _, _ = crud.record_video_with_job(session, user=user, queue=queue, awaiting_consent=False, **video_fields(3))
    assert crud.set_video_status(session, video_id=video.id, status="processing")
    assert crud.record_video_file(session, video_id=video.id, sha256="ab" * 32, stored_path="videos/x", size_bytes=9)
    assert crud.record_video_probe(
        session, video_id=video.id, duration_s=12.0, fps=30.0, width=720, height=1280, rotation=90, codec="h264"
    )
    assert crud.set_video_frames(session, video_id=video.id, frames_path="frames/ab/x")
    assert crud.set_status_message(session, video_id=video.id, message_id=4)
    stored = crud.get_video(session, video_id=video.id)
    session.refresh(stored)
    assert (stored.status, stored.sha256, stored.rotation, stored.frames_path, stored.status_message_id) == (
        "processing",
        "ab" * 32,
        90,
        "frames/ab/x",
        4,
    )
    assert not crud.set_video_status(session, video_id=999_999, status="failed")


def test_assessment_turns_and_reply_lookup(session: Session, queue: JobQueue) -> None:
    user = new_user(session)
    video, job_id, _ = crud.record_video_with_job(
        session, user=user, queue=queue, awaiting_consent=False, **video_fields(20)
    )
    crud.set_status_message(session, video_id=video.id, message_id=21)
    assert crud.latest_assessed_video(session, user_id=user.id) is None

    result = {"exercise": "squat", "observations": [{"start_s": 12, "end_s": 15, "cue": "knees out"}]}
    assessment = crud.save_assessment(
        session,
        video_id=video.id,
        job_id=job_id,
        model_id="tiny",
        language="ru",
        parsed=True,
        result=result,
        text="Приседания: 0:12–0:15 колени внутрь",
        raw_output="{}",
    )
    # A re-run (at-least-once) keeps the first assessment.
    rerun = crud.save_assessment(
        session,
        video_id=video.id,
        job_id=job_id,
        model_id="tiny",
        language="ru",
        parsed=False,
        result=None,
        text="other",
        raw_output=None,
    )
    assert rerun.id == assessment.id and rerun.result == result and rerun.text.startswith("Приседания")
    assert crud.latest_assessed_video(session, user_id=user.id).id == video.id

    assert crud.add_delivered_message(session, assessment_id=assessment.id, message_id=22) == [22]
    assert crud.add_delivered_message(session, assessment_id=assessment.id, message_id=23) == [22, 23]
    assert crud.add_delivered_message(session, assessment_id=assessment.id, message_id=23) == [22, 23]
    assert crud.mark_assessment_delivered(session, assessment_id=assessment.id, message_ids=[22, 23])
    assert not crud.mark_assessment_delivered(session, assessment_id=assessment.id, message_ids=[99])

    for message_id in (20, 21, 22, 23):
        assert crud.video_by_message(session, chat_id=501, message_id=message_id).id == video.id
    assert crud.video_by_message(session, chat_id=501, message_id=24) is None
    assert crud.video_by_message(session, chat_id=999, message_id=20) is None

    turn, answer_job, created = crud.record_turn_with_job(
        session,
        video_id=video.id,
        user_id=user.id,
        chat_id=501,
        question_message_id=30,
        question="а что на 12 секунде?",
        moment_s=12.0,
        queue=queue,
    )
    assert created and answer_job is not None
    job = session.get(Job, answer_job)
    assert (job.kind, job.priority, job.turn_id, job.video_id) == (JobKind.ANSWER, 0, turn.id, video.id)
    duplicate, no_job, created_again = crud.record_turn_with_job(
        session,
        video_id=video.id,
        user_id=user.id,
        chat_id=501,
        question_message_id=30,
        question="а что на 12 секунде?",
        moment_s=12.0,
        queue=queue,
    )
    assert (duplicate.id, no_job, created_again) == (turn.id, None, False)

    assert crud.save_turn_answer(session, turn_id=turn.id, answer="Колени уходят внутрь", status="answered")
    assert not crud.save_turn_answer(session, turn_id=turn.id, answer="again", status="answered")
    assert crud.mark_turn_delivered(session, turn_id=turn.id, message_id=31)
    assert not crud.mark_turn_delivered(session, turn_id=turn.id, message_id=32)
    assert crud.video_by_message(session, chat_id=501, message_id=31).id == video.id
    assert crud.video_by_message(session, chat_id=501, message_id=30).id == video.id

    for index in range(3):
        crud.record_turn_with_job(
            session,
            video_id=video.id,
            user_id=user.id,
            chat_id=501,
            question_message_id=40 + index,
            question=f"q{index}",
            moment_s=None,
            queue=queue,
        )
    assert [t.question_message_id for t in crud.recent_turns(session, video_id=video.id, limit=2)] == [41, 42]
    assert crud.get_turn(session, turn_id=turn.id).answer == "Колени уходят внутрь"


def _populate_everything(session: Session, queue: JobQueue, store: VideoStore) -> tuple[User, User, Video]:
    new_user(session, 900, role="therapist")
    patient = new_user(session, 501, therapist_id=900)
    other = new_user(session, 777)
    video, _, _ = crud.record_video_with_job(
        session, user=patient, queue=queue, awaiting_consent=False, **video_fields(50)
    )
    own = store.store_stream(io.BytesIO(b"patient video"), suffix=".mp4")
    shared = store.store_stream(io.BytesIO(b"same bytes"), suffix=".mp4")
    frames = store.frames_dir(own.sha256)
    frames.mkdir(parents=True)
    (frames / "0.jpg").write_bytes(b"x")
    crud.record_video_file(session, video_id=video.id, sha256=own.sha256, stored_path=own.rel, size_bytes=13)
    crud.set_video_frames(session, video_id=video.id, frames_path=store.frames_rel(own.sha256))
    second, _, _ = crud.record_video_with_job(
        session, user=patient, queue=queue, awaiting_consent=False, **video_fields(51)
    )
    crud.record_video_file(session, video_id=second.id, sha256=shared.sha256, stored_path=shared.rel, size_bytes=10)
    others, _, _ = crud.record_video_with_job(
        session, user=other, queue=queue, awaiting_consent=False, **video_fields(52, chat_id=777)
    )
    crud.record_video_file(session, video_id=others.id, sha256=shared.sha256, stored_path=shared.rel, size_bytes=10)

    assessment = crud.save_assessment(
        session,
        video_id=video.id,
        job_id=None,
        model_id="tiny",
        language="en",
        parsed=True,
        result={"exercise": "squat"},
        text="Squat",
        raw_output=None,
    )
    crud.record_turn_with_job(
        session,
        video_id=video.id,
        user_id=patient.id,
        chat_id=501,
        question_message_id=60,
        question="and at 0:30?",
        moment_s=30.0,
        queue=queue,
    )
    now = datetime.now(UTC)
    session.add(PainReport(user_id=patient.id, assessment_id=assessment.id, score=7))
    session.add(
        Alert(
            patient_id=patient.id,
            therapist_id=900,
            kind="pain_critical",
            severity="critical",
            reason="pain>=7",
            event_key="pain:1",
        )
    )
    session.add(Invite(token_hash="f" * 64, therapist_id=900, expires_at=now + timedelta(days=7), used_by=501))
    session.add(Prescription(patient_id=patient.id, therapist_id=900, exercise="squat", sessions_per_week=3))
    session.add(WeeklySummary(therapist_id=900, patient_id=patient.id, week_start=date(2030, 1, 6), text="ok"))
    session.add(AuditLog(actor_id=900, patient_id=patient.id, action="view_summary"))
    session.add(AuditLog(actor_id=900, patient_id=other.id, action="view_summary"))
    session.commit()
    return patient, other, video


def test_export_user_data_shape(session: Session, queue: JobQueue, tmp_path: Path) -> None:
    patient, _, video = _populate_everything(session, queue, VideoStore(tmp_path))
    export = crud.export_user_data(session, user_id=patient.id)
    json.dumps(export)  # serialisable as is
    assert set(export) == {
        "exported_at",
        "user",
        "videos",
        "assessments",
        "turns",
        "pain_reports",
        "alerts",
        "prescriptions",
        "weekly_summaries",
        "invites",
        "jobs",
        "audit_log",
    }
    assert export["user"]["id"] == patient.id and export["user"]["therapist_id"] == 900
    assert [v["message_id"] for v in export["videos"]] == [50, 51]
    assert export["assessments"][0]["video_id"] == video.id
    assert export["turns"][0]["question"] == "and at 0:30?"
    assert export["pain_reports"][0]["score"] == 7
    assert export["alerts"][0]["kind"] == "pain_critical"
    assert export["prescriptions"][0]["exercise"] == "squat"
    assert export["weekly_summaries"][0]["week_start"] == "2030-01-06"
    assert "token_hash" not in export["invites"][0]
    assert {job["kind"] for job in export["jobs"]} == {"assess", "answer"}
    assert "errors" not in export["jobs"][0] and "lease_owner" not in export["jobs"][0]
    assert [row["action"] for row in export["audit_log"]] == ["view_summary"]
    datetime.fromisoformat(export["videos"][0]["created_at"])
    assert crud.export_user_data(session, user_id=4242)["user"] is None


def test_erase_user_removes_rows_and_files(db_engine: Engine, session: Session, tmp_path: Path) -> None:
    queue = JobQueue(db_engine, lease_s=30)
    store = VideoStore(tmp_path)
    patient, other, video = _populate_everything(session, queue, store)
    own_rel, frames_rel = video.stored_path, video.frames_path
    shared_rel = session.exec(select(Video.stored_path).where(Video.message_id == 51)).one()
    running = [job for job in queue.claim("worker", 10) if job.chat_id == patient.id]
    assert running

    deleted = crud.erase_user(session, user_id=patient.id, store=store)

    assert sorted(deleted) == sorted([own_rel, frames_rel])
    assert not store.path(own_rel).exists() and not store.path(frames_rel).exists()
    assert store.path(shared_rel).exists()  # still used by another user's video
    # The worker running the patient's job has lost its fence.
    assert not queue.complete(running[0])
    assert crud.get_user(session, user_id=patient.id) is None
    for model, column in [
        (Video, Video.user_id),
        (Turn, Turn.user_id),
        (PainReport, PainReport.user_id),
        (Alert, Alert.patient_id),
        (Prescription, Prescription.patient_id),
        (WeeklySummary, WeeklySummary.patient_id),
        (AuditLog, AuditLog.patient_id),
        (Job, Job.user_id),
    ]:
        assert session.exec(select(func.count()).select_from(model).where(column == patient.id)).one() == 0
    assert session.exec(select(Invite.used_by)).one() is None
    # Other people's rows survive.
    assert crud.get_user(session, user_id=other.id) is not None
    assert crud.get_user(session, user_id=900) is not None
    assert session.exec(select(func.count()).select_from(Video)).one() == 1
    assert session.exec(select(func.count()).select_from(AuditLog)).one() == 1
    assert queue.counts().get(JobState.QUEUED, 0) + queue.counts().get(JobState.RUNNING, 0) == 1
    assert crud.export_user_data(session, user_id=patient.id)["videos"] == []


def test_erase_therapist_unlinks_patients(session: Session, queue: JobQueue, tmp_path: Path) -> None:
    patient, _, _ = _populate_everything(session, queue, VideoStore(tmp_path))
    crud.erase_user(session, user_id=900, store=VideoStore(tmp_path))
    session.expire_all()
    assert crud.get_user(session, user_id=patient.id).therapist_id is None
    assert session.exec(select(Prescription.therapist_id)).one() is None
    assert session.exec(select(Alert.therapist_id)).one() is None
    assert session.exec(select(func.count()).select_from(Invite)).one() == 0
    assert session.exec(select(func.count()).select_from(WeeklySummary)).one() == 0
