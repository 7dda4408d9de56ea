"""Summary periods: which weeks are due, the on-demand week, and range of motion per session across weeks."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from storage.models import Assessment, User, Video

MAX_CATCH_UP_WEEKS = 4
# How far back before a summary's week a range-of-motion trend looks.
ROM_LOOKBACK_WEEKS = 8


@dataclass(frozen=True)
class SummaryWeek:
    """One summary period: [start, end) in UTC, named by its first local day."""

    start: datetime
    end: datetime
    week_start: date


def zone_of(user: User, default: str) -> ZoneInfo:
    """The user's time zone (their /timezone choice, else the default, else UTC)."""
    for name in (user.timezone, default, "UTC"):
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def due_weeks(
    now: datetime, tz: ZoneInfo, *, weekday: int, hour: int, count: int = MAX_CATCH_UP_WEEKS
) -> list[SummaryWeek]:
    """The last `count` weeks whose send time (local `weekday` at `hour`) has passed, oldest first.

    A summary sent on Monday at 09:00 covers the seven days that ended at that Monday's midnight.
    """
    local_now = now.astimezone(tz)
    send_day = local_now.date() - timedelta(days=(local_now.weekday() - weekday) % 7)
    if datetime.combine(send_day, datetime.min.time().replace(hour=hour), tz) > local_now:
        send_day -= timedelta(days=7)
    weeks = []
    for back in range(count):
        end_day = send_day - timedelta(days=7 * back)
        start_day = end_day - timedelta(days=7)
        weeks.append(
            SummaryWeek(
                start=datetime.combine(start_day, datetime.min.time(), tz).astimezone(ZoneInfo("UTC")),
                end=datetime.combine(end_day, datetime.min.time(), tz).astimezone(ZoneInfo("UTC")),
                week_start=start_day,
            )
        )
    return list(reversed(weeks))


def last_seven_days(now: datetime, tz: ZoneInfo) -> SummaryWeek:
    """The on-demand period: the seven local days up to and including today."""
    today = now.astimezone(tz).date()
    start_day = today - timedelta(days=6)
    return SummaryWeek(
        start=datetime.combine(start_day, datetime.min.time(), tz).astimezone(ZoneInfo("UTC")),
        end=now,
        week_start=start_day,
    )


@dataclass(frozen=True)
class RomSession:
    """One measured session: its local date and the median range of motion of its full reps."""

    day: date
    rom_deg: float
    reps: int


@dataclass
class RomTrend:
    """Range of motion per session for one exercise and side-less joint ("knee"), oldest first."""

    joint: str
    sessions: list[RomSession] = field(default_factory=list)

    @property
    def weeks(self) -> int:
        """The span from the first session to the last in weeks, rounded up, at least 1."""
        return max(1, math.ceil((self.sessions[-1].day - self.sessions[0].day).days / 7))


def exercise_name(assessment: Assessment) -> str:
    """The exercise an assessment is about: the model's name for it, else the patient's hint, else "?"."""
    result = assessment.result or {}
    return str(result.get("exercise") or assessment.exercise_hint or "").strip() or "?"


def session_rom(measurements: dict[str, Any] | None) -> tuple[str, float, int] | None:
    """The side-less rep joint, median ROM of the full (non-partial) reps and their count; None without any."""
    measurements = measurements or {}
    roms = [
        float(rep["rom_deg"])
        for rep in measurements.get("reps") or []
        if not rep.get("partial") and rep.get("rom_deg") is not None
    ]
    if not roms or not measurements.get("rep_joint"):
        return None
    joint = str(measurements["rep_joint"]).removeprefix("left_").removeprefix("right_")
    return joint, median(roms), len(roms)


def rom_trends(measured: list[tuple[datetime, Assessment]], tz: ZoneInfo) -> dict[str, list[RomTrend]]:
    """ROM per session by exercise (casefolded) and joint, oldest first; unmeasured sessions are left out."""
    trends: dict[str, dict[str, RomTrend]] = defaultdict(dict)
    seen: set[int] = set()
    for moment, assessment in sorted(measured, key=lambda pair: pair[0]):
        rom = session_rom(assessment.measurements)
        if rom is None or assessment.video_id in seen:
            continue
        seen.add(assessment.video_id)
        joint, rom_deg, reps = rom
        trend = trends[exercise_name(assessment).casefold()].setdefault(joint, RomTrend(joint=joint))
        trend.sessions.append(RomSession(moment.astimezone(tz).date(), rom_deg, reps))
    return {name: list(joints.values()) for name, joints in trends.items()}


def measured_before(
    session: Session, *, patient_id: int, start: datetime, weeks: int = ROM_LOOKBACK_WEEKS
) -> list[tuple[datetime, Assessment]]:
    """The patient's assessments with measurements from the `weeks` before `start`, with their video's time."""
    statement = (
        select(Video.created_at, Assessment)
        .join(Assessment, col(Assessment.video_id) == col(Video.id))
        .where(
            Video.user_id == patient_id,
            col(Video.created_at) >= start - timedelta(weeks=weeks),
            col(Video.created_at) < start,
            col(Assessment.measurements).is_not(None),
        )
        .order_by(col(Video.created_at))
    )
    return [(moment, assessment) for moment, assessment in session.exec(statement).all()]
