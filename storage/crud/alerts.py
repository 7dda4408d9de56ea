"""Alerts: one row per event, whoever reports it first."""

from __future__ import annotations

import logging

from sqlmodel import Session

from storage.db import insert_once
from storage.models import (
    Alert,
)
from storage.types import utcnow

logger = logging.getLogger(__name__)


def record_alert(
    session: Session,
    *,
    patient_id: int,
    therapist_id: int | None,
    kind: str,
    severity: str,
    reason: str,
    event_key: str,
) -> Alert | None:
    """Record an alert once per event (`event_key`); None when that event was already recorded."""
    alert_id = insert_once(
        session,
        Alert,
        unique=["event_key"],
        patient_id=patient_id,
        therapist_id=therapist_id,
        kind=kind,
        severity=severity,
        reason=reason,
        event_key=event_key,
        created_at=utcnow(),
    )
    session.commit()
    return None if alert_id is None else session.get(Alert, alert_id)
