"""Pain after feedback: the one-tap 0–10 keyboard, the pain rules, and the alert they may raise."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.clinic.alerts import PAIN_BASELINE_REPORTS, PAIN_BASELINE_WINDOW, PainFinding, judge_pain
from bot.i18n import Translator
from bot.services import Services
from bot.tg.alerts import deliver_alert
from storage import crud, crud_therapist
from storage.models import Assessment, User
from storage.types import utcnow

logger = logging.getLogger(__name__)

PAIN_CALLBACK_PREFIX = "pain:"


@dataclass(frozen=True)
class PainOutcome:
    """What a pain tap led to."""

    score: int
    finding: PainFinding | None
    alert_raised: bool


def pain_keyboard(assessment_id: int) -> InlineKeyboardMarkup:
    """Eleven buttons, 0–10, carrying the feedback they belong to."""
    buttons = [
        InlineKeyboardButton(str(n), callback_data=f"{PAIN_CALLBACK_PREFIX}{assessment_id}:{n}") for n in range(11)
    ]
    return InlineKeyboardMarkup([buttons[:6], buttons[6:]])


def pain_footer(tr: Translator, assessment: Assessment) -> tuple[str, InlineKeyboardMarkup]:
    """The pain question and its one-tap keyboard, carried by the last feedback message."""
    question = tr.gettext("How much pain do you feel right now? 0 means none, 10 the worst you can imagine.")
    return question, pain_keyboard(assessment.id or 0)


async def record_pain_tap(services: Services, bot: Bot, *, user: User, assessment_id: int, score: int) -> PainOutcome:
    """Store the score, apply the pain rules, raise and deliver an alert once per report."""
    report = await services.db(crud_therapist.record_pain, user_id=user.id, assessment_id=assessment_id, score=score)
    earlier = await services.db(
        crud_therapist.earlier_pain_scores,
        user_id=user.id,
        before_id=report.id,
        since=utcnow() - PAIN_BASELINE_WINDOW,
        limit=PAIN_BASELINE_REPORTS,
    )
    finding = judge_pain(score, earlier)
    if finding is None:
        return PainOutcome(score, None, False)
    alert = await services.db(
        crud.record_alert,
        patient_id=user.id,
        therapist_id=user.therapist_id,
        kind=finding.kind,
        severity=finding.severity,
        reason=finding.reason,
        event_key=f"pain:{report.id}",
    )
    if alert is not None:
        logger.warning("pain alert %s (%s) for user %s", alert.id, finding.kind, user.id)
        await deliver_alert(services, bot, alert)
    return PainOutcome(score, finding, alert is not None)
