"""Red flags before any model call: the safety message to the patient, an alert for the therapist."""

from __future__ import annotations

import logging

from telegram import Update

from bot.clinic.safety import SafetyHit, SafetyKind, check_text, safety_message
from bot.tg.context import BotContext
from handlers.common import reply, translator_for
from storage import crud
from storage.models import AlertKind, User

logger = logging.getLogger(__name__)

_ALERT_KINDS = {SafetyKind.FALL: AlertKind.FALL, SafetyKind.SEVERE_PAIN: AlertKind.PAIN_CRITICAL}


async def record_safety_alert(context: BotContext, user: User, hit: SafetyHit, *, event_key: str) -> None:
    """Record the alert once per event; the therapist side delivers it."""
    alert = await context.services.db(
        crud.record_alert,
        patient_id=user.id,
        therapist_id=user.therapist_id,
        kind=_ALERT_KINDS.get(hit.kind, AlertKind.RED_FLAG),
        severity=hit.severity,
        reason=hit.category,
        event_key=event_key,
    )
    if alert is not None:
        logger.warning("safety alert %s (%s) for user %s", alert.id, hit.category, user.id)
        notifier = context.services.alert_notifier
        if notifier is not None:
            await notifier(context.bot, alert)


async def handle_safety(update: Update, context: BotContext, user: User, text: str) -> bool:
    """Check the patient's text; on a red flag send the safety message and record the alert. True if hit."""
    hit = check_text(text)
    if hit is None:
        return False
    message = update.effective_message
    assert message is not None
    tr = translator_for(update, context, user)
    await reply(message, safety_message(tr, hit=hit, emergency_number=context.services.settings.emergency_number))
    await record_safety_alert(context, user, hit, event_key=f"message:{message.chat.id}:{message.message_id}")
    return True
