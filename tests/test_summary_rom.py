"""Range of motion in the weekly summary: per-session ROM per exercise as a trend in the text and a chart panel."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.clinic.summaries import SummaryData, collect_summary, render_summary, summary_facts
from bot.clinic.summary_chart import build_figure, render_chart, rom_series
from bot.clinic.weeks import RomSession, RomTrend, measured_before, session_rom
from bot.i18n import Translator
from storage.crud_therapist import PatientWeek
from storage.models import Assessment, User, Video, VideoStatus

BERLIN = ZoneInfo("Europe/Berlin")
PATIENT = 1001
EN = Translator(locale="en")


def at(month: int, day: int, hour: int = 10) -> datetime:
    """A 2026 instant in Berlin."""
    return datetime(2026, month, day, hour, tzinfo=BERLIN)


def rep(rom: float, *, partial: bool = False) -> dict[str, Any]:
    """One repetition as the pose stage records it."""
    return {
        "start_s": 1.0,
        "end_s": 3.0,
        "peak_s": 2.0,
        "rom_deg": rom,
        "min_deg": 168.0 - rom,
        "max_deg": 168.0,
        "partial": partial,
    }


def measured(*roms: float, joint: str = "left_knee", partial: tuple[float, ...] = ()) -> dict[str, Any]:
    """A `measurements` value with full reps of the given ROM (and partial ones)."""
    reps = [rep(r) for r in roms] + [rep(r, partial=True) for r in partial]
    return {
        "backend": "vitpose",
        "model": "test",
        "dominant": joint,
        "rep_joint": joint,
        "reps": reps,
        "joints": {joint: {"min_deg": 92.0, "max_deg": 168.0}},
        "key_frames": [],
        "conflicts": [],
    }


def session(
    video_id: int, moment: datetime, measurements: dict[str, Any] | None, exercise: str = "Squat"
) -> tuple[Video, Assessment]:
    """An assessed video and its assessment (not stored)."""
    video = Video(id=video_id, user_id=PATIENT, created_at=moment, status=VideoStatus.ASSESSED)
    assessment = Assessment(
        id=video_id,
        video_id=video_id,
        model_id="m",
        language="en",
        result={"exercise": exercise, "observations": []},
        measurements=measurements,
        text="",
    )
    return video, assessment


def week_of(*sessions: tuple[Video, Assessment]) -> PatientWeek:
    """A PatientWeek holding only these videos and assessments."""
    return PatientWeek([v for v, _ in sessions], [a for _, a in sessions], [], [], [], [], [])


def summary(
    *sessions: tuple[Video, Assessment], history: list[tuple[datetime, Assessment]] | None = None
) -> SummaryData:
    """The summary of the week of 2 November 2026 (Berlin)."""
    patient = User(id=PATIENT, first_name="Ann")
    return collect_summary(
        patient, week_of(*sessions), start=at(11, 2, 0), end=at(11, 9, 0), tz=BERLIN, history=history
    )


def rising() -> SummaryData:
    """ROM rising over three weeks; unmeasured, rep-less and partial-only sessions mixed in."""
    earlier = [
        session(1, at(10, 19), measured(76.0, 78.0, 80.0, partial=(30.0,))),  # median 78, the partial rep ignored
        session(2, at(10, 26), None),  # the pose stage did not run
        session(3, at(10, 28), measured(partial=(20.0, 25.0))),  # partial reps only
        session(4, at(10, 29), measured(100.0), exercise="Bridge"),  # not done this week
    ]
    return summary(
        session(5, at(11, 3), measured()),  # no reps found
        session(6, at(11, 4), measured(85.0, joint="right_knee")),
        session(7, at(11, 5), None),
        session(8, at(11, 6), measured(90.0, 92.0)),  # median 91
        history=[(video.created_at, assessment) for video, assessment in earlier],
    )


def test_session_rom_is_the_median_of_full_reps() -> None:
    assert session_rom(measured(70.0, 90.0, 80.0, partial=(10.0,))) == ("knee", 80.0, 3)
    assert session_rom(measured(60.0, 62.0, joint="right_hip")) == ("hip", 61.0, 2)
    assert session_rom(measured()) is None
    assert session_rom(measured(partial=(50.0,))) is None
    assert session_rom(None) is None


def test_trend_weeks_round_up_and_are_at_least_one() -> None:
    def weeks(*days: date) -> int:
        return RomTrend("knee", [RomSession(day, 80.0, 3) for day in days]).weeks

    assert weeks(date(2026, 11, 2)) == 1
    assert weeks(date(2026, 11, 2), date(2026, 11, 4)) == 1
    assert weeks(date(2026, 11, 2), date(2026, 11, 16)) == 2
    assert weeks(date(2026, 11, 2), date(2026, 11, 17)) == 3


def test_text_names_the_rising_trend_over_earlier_weeks() -> None:
    data = rising()
    (squat,) = data.exercises
    assert squat.exercise == "Squat" and squat.videos == 4
    (trend,) = squat.rom
    assert trend.joint == "knee"
    assert [(s.day, s.rom_deg) for s in trend.sessions] == [
        (date(2026, 10, 19), 78.0),
        (date(2026, 11, 4), 85.0),
        (date(2026, 11, 6), 91.0),
    ]
    text = render_summary(data, EN)
    assert "• knee range of motion 78° → 91° over 3 weeks (3 measured sessions)" in text
    assert "Bridge" not in text  # measured only in an earlier week
    assert "Range of motion is measured from the videos by a pose model" in text
    assert "Squat: knee range of motion per session (degrees): [78, 85, 91]." in summary_facts(data)


def test_this_week_alone_and_a_single_session() -> None:
    data = summary(session(1, at(11, 3), measured(70.0)), session(2, at(11, 5), measured(74.0)))
    assert "knee range of motion 70° → 74° over 1 week (2 measured sessions)" in render_summary(data, EN)
    single = summary(session(1, at(11, 3), measured(80.0, 82.0, joint="left_elbow")))
    assert "• elbow range of motion 81° (1 measured session)" in render_summary(single, EN)


def test_sessions_without_measurements_add_no_rom() -> None:
    data = summary(session(1, at(11, 3), None), session(2, at(11, 4), measured(partial=(40.0,))))
    assert data.exercises[0].rom == []
    text = render_summary(data, EN)
    assert "range of motion" not in text.casefold()
    assert rom_series(data, EN) == []
    assert len(build_figure(data, EN).axes) == 2


def test_exercise_hint_keys_the_trend_when_the_model_named_none() -> None:
    video, assessment = session(1, at(11, 3), measured(66.0))
    assessment.result = {"observations": []}
    assessment.exercise_hint = "Heel slide"
    data = summary((video, assessment))
    assert data.exercises[0].exercise == "Heel slide"
    assert "knee range of motion 66°" in render_summary(data, EN)


def test_chart_draws_a_rom_panel() -> None:
    data = rising()
    ((label, days, roms),) = rom_series(data, EN)
    assert label == "Squat · knee"
    assert days == [date(2026, 10, 19), date(2026, 11, 4), date(2026, 11, 6)] and roms == [78.0, 85.0, 91.0]
    figure = build_figure(data, EN)
    assert len(figure.axes) == 3
    rom_axes = figure.axes[2]
    (line,) = rom_axes.get_lines()
    assert list(line.get_ydata()) == [78.0, 85.0, 91.0]
    assert list(line.get_xdata()) == [0, 16, 18]
    assert rom_axes.get_title(loc="left") == "ROM per session (°)"
    png = render_chart(data, EN)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.height > image.width


def test_measured_before_reads_earlier_measured_sessions(db_engine: Engine) -> None:
    with Session(db_engine) as db:
        db.add(User(id=PATIENT, first_name="Ann"))
        db.add(User(id=PATIENT + 1, first_name="Bo"))
        db.commit()
        rows = [
            (PATIENT, at(8, 1), measured(60.0)),  # more than eight weeks before
            (PATIENT, at(10, 19), measured(78.0)),
            (PATIENT, at(10, 26), None),  # nothing measured
            (PATIENT + 1, at(10, 27), measured(99.0)),  # someone else
            (PATIENT, at(11, 3), measured(85.0)),  # this week, not "before"
        ]
        for number, (user_id, moment, measurements) in enumerate(rows, start=1):
            db.add(
                Video(
                    id=number,
                    user_id=user_id,
                    chat_id=user_id,
                    message_id=number,
                    source="video",
                    file_id=f"f{number}",
                    file_unique_id=f"u{number}",
                    status=VideoStatus.ASSESSED,
                    created_at=moment,
                )
            )
            db.flush()
            db.add(Assessment(video_id=number, model_id="m", language="en", measurements=measurements, text=""))
        db.commit()
        found = measured_before(db, patient_id=PATIENT, start=at(11, 2, 0))
    assert [(moment, assessment.video_id) for moment, assessment in found] == [(at(10, 19), 2)]
