"""Alert rules and texts: when pain needs the therapist, and how an alert reads in their language."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from babel.numbers import format_decimal

from bot.i18n import Translator
from storage.models import Alert, AlertKind, AlertSeverity, User

PAIN_CRITICAL_SCORE = 7
PAIN_RISE_POINTS = 2
PAIN_BASELINE_REPORTS = 3
PAIN_BASELINE_WINDOW = timedelta(days=14)


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
