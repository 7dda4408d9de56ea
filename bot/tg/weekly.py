"""Sending summaries: each week exactly once at the therapist's local time (caught up after downtime), or on demand."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from babel.dates import format_skeleton
from telegram import Bot, InputFile
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.clinic.summaries import collect_summary, render_summary, summary_facts
from bot.clinic.summary_chart import render_chart
from bot.clinic.weeks import SummaryWeek, due_weeks, last_seven_days, measured_before, zone_of
from bot.services import Services
from bot.vlm.backend import GenerationRequest, ModelError
from bot.vlm.fallback import fallback_text
from bot.vlm.prompts import summary_draft_messages
from bot.vlm.render import Markup, split_message
from storage import crud_therapist
from storage.models import User
from storage.types import utcnow

logger = logging.getLogger(__name__)

# A claim older than this belongs to a process that died while sending.
CLAIM_STALE_AFTER = timedelta(minutes=10)
DRAFT_MAX_TOKENS = 256


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
    history = await services.db(measured_before, patient_id=patient.id, start=period.start)
    data = collect_summary(patient, week, start=period.start, end=period.end, tz=tz, history=history)
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
    if any(quality.rom for quality in data.exercises):
        caption += "\n" + tr.gettext("Bottom panel: range of motion per session, earlier weeks included.")
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
