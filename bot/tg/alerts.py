"""Alert delivery: the therapist is told at once, once per event; unsent alerts are retried."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import TelegramError

from bot.clinic.alerts import alert_message
from bot.services import Services
from storage import crud, crud_therapist
from storage.models import Alert, AlertKind
from storage.types import utcnow

logger = logging.getLogger(__name__)

# The handler delivers at once; the scheduler only retries alerts older than this.
REDELIVERY_AFTER = timedelta(seconds=60)


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
