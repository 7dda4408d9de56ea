"""Sending summaries: each week exactly once at the therapist's local time (caught up after downtime), or on demand."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_skeleton
from telegram import Bot, InputFile
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.services import Services
from bot.summaries import collect_summary, render_summary, summary_facts
from bot.summary_chart import render_chart
from bot.vlm.backend import GenerationRequest, ModelError
from bot.vlm.prompts import summary_draft_messages
from bot.vlm.render import Markup, split_message
from bot.vlm.schema import fallback_text
from storage import crud_therapist
from storage.models import User
from storage.types import utcnow

logger = logging.getLogger(__name__)

MAX_CATCH_UP_WEEKS = 4
# A claim older than this belongs to a process that died while sending.
CLAIM_STALE_AFTER = timedelta(minutes=10)
DRAFT_MAX_TOKENS = 256


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


async def _draft(services: Services, locale: str, facts: str) -> str | None:
    """An optional model-drafted paragraph (SUMMARY_DRAFT); None when off or unusable."""
    if not services.settings.summary_draft:
        return None
    backend = services.assessment.backend
    request = GenerationRequest(
        messages=summary_draft_messages(locale=locale, facts=facts),
        video=None,
        max_new_tokens=DRAFT_MAX_TOKENS,
        timeout_s=services.settings.model_timeout_s,
    )
    try:
        await backend.start()
        completion = await backend.complete(request)
    except ModelError as error:
        logger.info("summary draft skipped: %s", type(error).__name__)
        return None
    return fallback_text(completion.text) or None


async def send_patient_summary(
    services: Services, bot: Bot, *, therapist: User, patient: User, period: SummaryWeek, action: str
) -> str:
    """Send one summary (text, then the chart) to the therapist; returns the text."""
    settings = services.settings
    tz = zone_of(therapist, settings.default_timezone)
    tr = services.translator(therapist)
    week = await services.db(crud_therapist.patient_week, patient_id=patient.id, start=period.start, end=period.end)
    data = collect_summary(patient, week, start=period.start, end=period.end, tz=tz)
    draft = await _draft(services, tr.locale, summary_facts(data))
    text = render_summary(data, tr, draft=draft)
    for chunk in split_message(text, markup=Markup.HTML):
        await bot.send_message(chat_id=therapist.id, text=chunk, parse_mode=ParseMode.HTML)
    png = await asyncio.to_thread(render_chart, data, tr)
    caption = tr.gettext(
        "Sessions per day and pain, %(start)s – %(end)s",
        start=format_skeleton("MMMd", data.start, locale=tr.babel_locale),
        end=format_skeleton("MMMd", data.end, locale=tr.babel_locale),
    )
    await bot.send_photo(chat_id=therapist.id, photo=InputFile(png, filename="summary.png"), caption=caption)
    await services.db(crud_therapist.record_audit, actor_id=therapist.id, patient_id=patient.id, action=action)
    return text


async def run_due_summaries(services: Services, bot: Bot, *, now: datetime | None = None) -> int:
    """Send every summary whose time has come and that was not sent yet; how many were sent."""
    now = now or utcnow()
    settings = services.settings
    sent = 0
    for therapist in await services.db(crud_therapist.therapists):
        tz = zone_of(therapist, settings.default_timezone)
        patients = await services.db(crud_therapist.linked_patients, therapist_id=therapist.id)
        for period in due_weeks(now, tz, weekday=settings.summary_weekday, hour=settings.summary_hour):
            for patient in patients:
                if patient.linked_at is None or patient.linked_at >= period.end:
                    continue
                sent += await _send_once(services, bot, therapist, patient, period, now)
    return sent


async def _send_once(
    services: Services, bot: Bot, therapist: User, patient: User, period: SummaryWeek, now: datetime
) -> int:
    """Claim the (therapist, patient, week) row and send it; 1 if this call sent it."""
    summary_id = await services.db(
        crud_therapist.ensure_summary, therapist_id=therapist.id, patient_id=patient.id, week_start=period.week_start
    )
    if not await services.db(crud_therapist.claim_summary, summary_id=summary_id, stale_before=now - CLAIM_STALE_AFTER):
        return 0
    try:
        text = await send_patient_summary(
            services, bot, therapist=therapist, patient=patient, period=period, action="weekly_summary"
        )
    except TelegramError as error:
        await services.db(crud_therapist.release_summary, summary_id=summary_id)
        logger.warning("summary %s not sent: %s", summary_id, type(error).__name__)
        return 0
    await services.db(crud_therapist.mark_summary_sent, summary_id=summary_id, text=text)
    logger.info("weekly summary %s sent to therapist %s", summary_id, therapist.id)
    return 1


async def send_summaries_now(services: Services, bot: Bot, *, now: datetime | None = None) -> int:
    """On demand (`rehab-bot summaries --now`): the last seven days for every therapist and patient."""
    now = now or utcnow()
    sent = 0
    for therapist in await services.db(crud_therapist.therapists):
        tz = zone_of(therapist, services.settings.default_timezone)
        for patient in await services.db(crud_therapist.linked_patients, therapist_id=therapist.id):
            await send_patient_summary(
                services, bot, therapist=therapist, patient=patient, period=last_seven_days(now, tz), action="report"
            )
            sent += 1
    return sent
