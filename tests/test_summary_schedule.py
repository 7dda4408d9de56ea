"""Weekly summaries on a fake clock: sent at the therapist's local time, once per week, across restarts and downtime."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import update
from sqlmodel import Session, select

from bot.clinic.summaries import collect_summary, render_summary
from bot.clinic.weeks import due_weeks
from bot.config import Settings
from bot.i18n import Catalogs
from bot.services import Services, build_services
from bot.tg.app import sending_bot
from bot.tg.weekly import run_due_summaries
from storage import crud, crud_therapist
from storage.db import migrate
from storage.models import Assessment, PainReport, Role, User, Video, VideoStatus, WeeklySummary
from tests.fakes.botapi import FakeBotApi
from tests.fixtures.bot import make_bot_settings

BERLIN = ZoneInfo("Europe/Berlin")
THERAPIST, PATIENT = 7001, 1001
# Wednesday 2026-11-04, 12:00 in Berlin: the patient is linked; summaries go out on Mondays at 09:00.
LINKED_AT = datetime(2026, 11, 4, 12, 0, tzinfo=BERLIN)


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    """A November 2026 instant in Berlin."""
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


@pytest.fixture
def settings(bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path) -> Settings:
    """Summaries on Monday at 09:00, default zone Berlin."""
    return make_bot_settings(
        bot_api, tiny_model_dir, tmp_path / "data", summary_weekday=0, summary_hour=9, default_timezone="Europe/Berlin"
    )


def _seed(services: Services) -> None:
    """A German-speaking therapist and a linked Russian-speaking patient."""
    with Session(services.engine) as session:
        session.add(User(id=THERAPIST, role=Role.THERAPIST, first_name="Tess", telegram_language="de"))
        session.add(
            User(
                id=PATIENT,
                first_name="Иван",
                telegram_language="ru",
                consented_at=LINKED_AT,
                therapist_id=THERAPIST,
                linked_at=LINKED_AT,
            )
        )
        session.commit()


@pytest.fixture
async def clinic(bot_api: FakeBotApi, settings: Settings) -> AsyncIterator[Services]:
    """Migrated database with the two users; the chats exist in the fake Telegram."""
    migrate(settings.database_url)
    services = build_services(settings)
    _seed(services)
    bot_api.make_user(THERAPIST, "Tess", "de")
    bot_api.make_user(PATIENT, "Иван", "ru")
    yield services
    services.engine.dispose()


def _photos(api: FakeBotApi) -> list:
    """Charts the therapist received."""
    return [m for m in api.sent_messages(THERAPIST) if m.method == "sendPhoto"]


async def test_each_week_is_sent_once_across_restarts_and_downtime(
    bot_api: FakeBotApi, settings: Settings, clinic: Services
) -> None:
    """Due checks every few hours, a restart, and a missed Monday: every week arrives exactly once."""
    services = clinic
    async with sending_bot(settings) as bot:
        assert await run_due_summaries(services, bot, now=berlin(8, 20)) == 0  # linked after that week ended
        assert await run_due_summaries(services, bot, now=berlin(9, 8, 59)) == 0  # Monday, before 09:00
        assert await run_due_summaries(services, bot, now=berlin(9, 9, 1)) == 1  # week of 2 Nov
        assert await run_due_summaries(services, bot, now=berlin(9, 15)) == 0
    # Restart: new services on the same database.
    services.engine.dispose()
    restarted = build_services(settings)
    async with sending_bot(settings) as bot:
        assert await run_due_summaries(restarted, bot, now=berlin(9, 16)) == 0
        # Down all of Monday 16 Nov; back on Tuesday: the missed week is caught up, once.
        assert await run_due_summaries(restarted, bot, now=berlin(17, 10)) == 1
        assert await run_due_summaries(restarted, bot, now=berlin(17, 11)) == 0
        assert await run_due_summaries(restarted, bot, now=berlin(23, 9, 30)) == 1
    with Session(restarted.engine) as session:
        weeks = [row.week_start for row in session.exec(select(WeeklySummary).order_by(WeeklySummary.week_start))]
        assert all(row.sent_at is not None for row in session.exec(select(WeeklySummary)))
    assert weeks == [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
    photos = _photos(bot_api)
    assert len(photos) == 3
    assert all(Image.open(io.BytesIO(p.file.data)).format == "PNG" for p in photos)
    restarted.engine.dispose()


async def test_a_send_interrupted_by_a_crash_is_retried_later(
    bot_api: FakeBotApi, settings: Settings, clinic: Services
) -> None:
    """A summary claimed by a process that died is sent by the next check after the claim went stale."""
    services = clinic
    week_start = date(2026, 11, 2)
    summary_id = await services.db(
        crud_therapist.ensure_summary, therapist_id=THERAPIST, patient_id=PATIENT, week_start=week_start
    )
    claimed_at = berlin(9, 9, 0)
    assert await services.db(crud_therapist.claim_summary, summary_id=summary_id, stale_before=claimed_at)
    with Session(services.engine) as session:
        session.exec(update(WeeklySummary).values(claimed_at=claimed_at.astimezone(UTC)))
        session.commit()
    async with sending_bot(settings) as bot:
        assert await run_due_summaries(services, bot, now=berlin(9, 9, 5)) == 0  # still claimed
        assert await run_due_summaries(services, bot, now=berlin(9, 9, 30)) == 1  # stale: retried
        assert await run_due_summaries(services, bot, now=berlin(9, 10, 30)) == 0
    assert len(_photos(bot_api)) == 1


def test_due_weeks_follow_local_time_and_daylight_saving() -> None:
    """Weeks are local Monday-to-Monday; the week with the October DST change is 169 hours long."""
    weeks = due_weeks(berlin(2, 10), BERLIN, weekday=0, hour=9, count=2)
    assert [w.week_start for w in weeks] == [date(2026, 10, 19), date(2026, 10, 26)]
    assert weeks[0].end - weeks[0].start == timedelta(hours=169)
    assert weeks[-1].end - weeks[-1].start == timedelta(hours=168)
    assert weeks[-1].end == berlin(2, 0).astimezone(UTC)


async def test_summary_text_is_exception_first_in_the_therapists_language(clinic: Services) -> None:
    """Flags, adherence, pain trend and recurring problems with example moments, dates formatted by Babel."""
    services = clinic
    start, end = berlin(2, 0), berlin(9, 0)
    with Session(services.engine) as session:
        session.add(
            crud_therapist.Prescription(
                patient_id=PATIENT, therapist_id=THERAPIST, exercise="Squat", sessions_per_week=3
            )
        )
        for index, day in enumerate((3, 5)):
            video = Video(
                user_id=PATIENT,
                chat_id=PATIENT,
                message_id=10 + index,
                source="video",
                file_id=f"f{index}",
                file_unique_id=f"u{index}",
                status=VideoStatus.ASSESSED,
                created_at=berlin(day, 18),
            )
            session.add(video)
            session.flush()
            result = {
                "exercise": "Squat",
                "repetitions": 8,
                "observations": [
                    {
                        "start": 12.0,
                        "end": 15.0,
                        "kind": "issue",
                        "severity": "medium",
                        "what": "knees drift inward",
                        "cue": "push knees out",
                    },
                ],
                "summary": "ok",
            }
            session.add(
                Assessment(video_id=video.id, model_id="m", language="ru", parsed=True, result=result, text="t")
            )
        for day, score in ((3, 2), (5, 4)):
            session.add(PainReport(user_id=PATIENT, score=score, created_at=berlin(day, 19)))
        session.add(PainReport(user_id=PATIENT, score=1, created_at=berlin(1, 19)))
        session.commit()
    week = await services.db(crud_therapist.patient_week, patient_id=PATIENT, start=start, end=end)
    patient = await services.db(crud.get_user, user_id=PATIENT)
    data = collect_summary(patient, week, start=start, end=end, tz=BERLIN)
    catalogs = Catalogs.load()
    text = render_summary(data, catalogs.get("de"))
    assert data.sessions_done == 2 and data.sessions_target == 3 and len(data.sessions_per_day) == 2
    assert "0:12–0:15" in text and "knees drift inward" in text
    assert "3. Nov." in text or "3. Nov" in text  # Babel's German date format
    assert "67" in text  # 2 of 3 sessions as a German percentage
    problem = data.exercises[0].problems[0]
    assert len(problem.examples) == 2
    assert catalogs.get("de").gettext("Pain") in text


async def test_model_drafted_paragraph_is_optional_and_marked(
    bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """SUMMARY_DRAFT=1 asks the model (text only, with the week's facts); the paragraph is labelled a draft."""
    from bot.tg.weekly import _draft

    settings = make_bot_settings(bot_api, tiny_model_dir, tmp_path / "data", summary_draft=True)
    services = build_services(settings)
    requests = []
    backend = services.assessment.backend
    original = backend.complete

    async def recording(request: object) -> object:
        """Keep the request."""
        requests.append(request)
        return await original(request)  # type: ignore[arg-type]

    backend.complete = recording  # type: ignore[method-assign]
    draft = await _draft(services, "de", "Sessions: 2 of 3 prescribed.")
    assert len(requests) == 1 and requests[0].video is None  # type: ignore[attr-defined]
    assert "Sessions: 2 of 3 prescribed." in str(requests[0].messages) and "German" in str(requests[0].messages)  # type: ignore[attr-defined]
    catalogs = Catalogs.load()
    data = collect_summary(
        User(id=PATIENT, first_name="Ivan"),
        crud_therapist.PatientWeek([], [], [], [], [], [], []),
        start=berlin(2, 0),
        end=berlin(9, 0),
        tz=BERLIN,
    )
    text = render_summary(data, catalogs.get("de"), draft="Bitte Knie beobachten.")
    assert catalogs.get("de").gettext("AI draft, for you to judge:") in text and "Bitte Knie beobachten." in text
    services.settings = services.settings.model_copy(update={"summary_draft": False})
    assert await _draft(services, "de", "facts") is None and len(requests) == 1
    assert draft is None or isinstance(draft, str)
    await backend.close()
    services.engine.dispose()
