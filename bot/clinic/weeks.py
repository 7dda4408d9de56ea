"""Summary periods: which weeks are due at a therapist's local send time, and the on-demand week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.models import User

MAX_CATCH_UP_WEEKS = 4


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
