"""Pain rules and alert delivery: the therapist is told at once, once per event."""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from babel.numbers import format_decimal
from telegram import Bot
from telegram.error import TelegramError

from bot.i18n import Translator
from bot.services import Services
from storage import crud, crud_therapist
from storage.models import Alert, AlertKind, AlertSeverity, User
from storage.types import utcnow

logger = logging.getLogger(__name__)

PAIN_CRITICAL_SCORE = 7
PAIN_RISE_POINTS = 2
PAIN_BASELINE_REPORTS = 3
PAIN_BASELINE_WINDOW = timedelta(days=14)
# The handler delivers at once; the scheduler only retries alerts older than this.
REDELIVERY_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class PainFinding:
    """A pain report that needs an alert."""

    kind: AlertKind
    severity: AlertSeverity
    reason: str


def judge_pain(score: int, earlier_scores: Sequence[int]) -> PainFinding | None:
    """Pain ≥ 7 is critical; ≥ 2 points above the median of the last three reports (14 days) is high."""
    if score >= PAIN_CRITICAL_SCORE:
        return PainFinding(AlertKind.PAIN_CRITICAL, AlertSeverity.CRITICAL, f"score:{score}")
    recent = list(earlier_scores)[:PAIN_BASELINE_REPORTS]
    if recent:
        baseline = statistics.median(recent)
        if score - baseline >= PAIN_RISE_POINTS:
            return PainFinding(AlertKind.PAIN_RISE, AlertSeverity.HIGH, f"rise:{baseline:g}:{score}")
    return None


def patient_label(patient: User) -> str:
    """How a therapist recognises a patient: name, @username and id."""
    name = patient.first_name or ""
    handle = f" @{patient.username}" if patient.username else ""
    return f"{name}{handle} (id {patient.id})".strip()


def reason_text(tr: Translator, kind: str, reason: str) -> str:
    """An alert's reason in the therapist's language (never the patient's own words)."""
    if kind == AlertKind.FALL:
        return tr.gettext("reported a fall; their plan is paused until you resume it with /resume")
    if kind == AlertKind.PAIN_CRITICAL and reason.startswith("score:"):
        return tr.gettext("reported pain %(score)s/10", score=reason.split(":")[1])
    if kind == AlertKind.PAIN_CRITICAL:
        return tr.gettext("described severe pain")
    if kind == AlertKind.PAIN_RISE:
        _, baseline, score = reason.split(":")
        return tr.gettext(
            "pain rose to %(score)s/10 from a recent level of %(baseline)s/10",
            score=score,
            baseline=format_decimal(float(baseline), locale=tr.babel_locale),
        )
    return red_flag_text(tr, reason)


def red_flag_text(tr: Translator, category: str) -> str:
    """A red-flag category in words."""
    texts = {
        "numbness": tr.gettext("reported numbness or tingling"),
        "weakness": tr.gettext("reported new weakness"),
        "bladder_bowel": tr.gettext("reported bladder or bowel changes"),
        "chest_pain": tr.gettext("reported chest pain"),
        "fainting": tr.gettext("reported fainting or dizziness"),
        "breathing": tr.gettext("reported trouble breathing"),
        "severe_pain": tr.gettext("described severe pain"),
        "fall": tr.gettext("reported a fall"),
    }
    return texts.get(category, tr.gettext("reported a warning sign"))


def alert_message(tr: Translator, alert: Alert, patient: User) -> str:
    """The therapist's alert: who, what, how urgent."""
    if alert.severity == AlertSeverity.CRITICAL:
        heading = tr.gettext(
            "⚠️ Urgent: %(patient)s %(reason)s.",
            patient=patient_label(patient),
            reason=reason_text(tr, alert.kind, alert.reason),
        )
    else:
        heading = tr.gettext(
            "⚠️ Alert: %(patient)s %(reason)s.",
            patient=patient_label(patient),
            reason=reason_text(tr, alert.kind, alert.reason),
        )
    advice = tr.gettext("The patient was told to stop exercising and to seek care if needed. Please get in touch.")
    return f"{heading}\n{advice}"


async def deliver_alert(services: Services, bot: Bot, alert: Alert) -> bool:
    """Send an alert to the patient's therapist (once) and note the read in the audit log."""
    if alert.therapist_id is None or alert.id is None:
        return False
    therapist = await services.db(crud.get_user, user_id=alert.therapist_id)
    patient = await services.db(crud.get_user, user_id=alert.patient_id)
    if therapist is None or patient is None:
        return False
    tr = services.translator(therapist)
    # Sent first, then recorded: a crash in between can repeat an alert, never lose one.
    try:
        await bot.send_message(chat_id=therapist.id, text=alert_message(tr, alert, patient))
    except TelegramError as error:
        logger.warning("alert %s not delivered yet: %s", alert.id, type(error).__name__)
        return False
    if not await services.db(crud_therapist.mark_alert_sent, alert_id=alert.id):
        return False
    await services.db(crud_therapist.record_audit, actor_id=therapist.id, patient_id=patient.id, action="alert")
    logger.info("alert %s delivered to therapist %s", alert.id, therapist.id)
    return True


async def raise_alert(services: Services, bot: Bot, alert: Alert) -> None:
    """A new alert: pause the plan after a fall (until the therapist resumes it), then tell the therapist."""
    is_fall = alert.kind == AlertKind.FALL and alert.therapist_id is not None
    if is_fall and await services.db(crud_therapist.pause_plan, user_id=alert.patient_id, reason="fall"):
        patient = await services.db(crud.get_user, user_id=alert.patient_id)
        tr = services.translator(patient)
        await bot.send_message(
            chat_id=alert.patient_id,
            text=tr.gettext("Your exercise plan is paused until your therapist has reviewed what happened."),
        )
    await deliver_alert(services, bot, alert)


async def redeliver_alerts(services: Services, bot: Bot) -> int:
    """Deliver alerts still unsent a minute after they were raised (the therapist was unreachable)."""
    sent = 0
    cutoff = utcnow() - REDELIVERY_AFTER
    for alert in await services.db(crud_therapist.unsent_alerts, created_before=cutoff, limit=50):
        sent += await deliver_alert(services, bot, alert)
    return sent
