"""Per-patient limits: when a rolling-hour quota frees up again, and how to say so."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from babel.dates import format_timedelta

from bot.i18n import Translator

WINDOW = timedelta(hours=1)


def window_start(now: datetime) -> datetime:
    """The start of the rolling hour that ends now."""
    return now - WINDOW


def retry_at(times: list[datetime], *, limit: int) -> datetime | None:
    """When one more fits into the rolling hour, given the times already in it; None when it fits now (0 = no limit)."""
    if limit <= 0 or len(times) < limit:
        return None
    ordered = sorted(times)
    return ordered[len(ordered) - limit] + WINDOW


def wait_phrase(tr: Translator, *, until: datetime, now: datetime) -> str:
    """How long until `until`, in whole minutes rounded up, as the locale says it ("in 5 minutes")."""
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    return format_timedelta(
        timedelta(minutes=minutes),
        granularity="minute",
        threshold=10**6,
        add_direction=True,
        locale=tr.babel_locale,
    )


def retention_phrase(tr: Translator, *, days: int) -> str:
    """A retention period in days as the locale says it ("30 days")."""
    return format_timedelta(timedelta(days=days), granularity="day", threshold=10**6, locale=tr.babel_locale)


def videos_per_hour_text(tr: Translator, *, limit: int, until: datetime, now: datetime) -> str:
    """The reply to a video over the hourly limit: it was not taken, and when to send it again."""
    return tr.gettext(
        "You have sent as many videos as I can take in one hour (%(limit)s), so I have not taken this one. "
        "Please send it again %(when)s.",
        limit=limit,
        when=wait_phrase(tr, until=until, now=now),
    )


def queue_full_text(tr: Translator) -> str:
    """The reply to a video while the chat already has the most unfinished videos allowed."""
    return tr.gettext(
        "I am still analysing your earlier videos, so I have not taken this one. "
        "Please send it again once my feedback on them has arrived."
    )


def questions_per_hour_text(tr: Translator, *, limit: int, until: datetime, now: datetime) -> str:
    """The reply to a question over the hourly limit: it was not taken, and when to ask again."""
    return tr.gettext(
        "You have asked as many questions as I can answer in one hour (%(limit)s). Please ask again %(when)s.",
        limit=limit,
        when=wait_phrase(tr, until=until, now=now),
    )
