"""What a safety finding is: kinds, categories, severities, and which category is how urgent."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from bot.clinic.safety_lexicon import CATEGORIES


class SafetyKind(StrEnum):
    """What the patient reported."""

    FALL = "fall"
    SEVERE_PAIN = "severe_pain"
    RED_FLAG = "red_flag"


class SafetyCategory(StrEnum):
    """The finer category: a fall, severe pain or one of the red-flag symptoms."""

    FALL = "fall"
    SEVERE_PAIN = "severe_pain"
    NUMBNESS = "numbness"
    WEAKNESS = "weakness"
    BLADDER_BOWEL = "bladder_bowel"
    CHEST_PAIN = "chest_pain"
    FAINTING = "fainting"
    BREATHING = "breathing"


class Severity(StrEnum):
    """How urgent an alert is."""

    CRITICAL = "critical"
    HIGH = "high"


@dataclass(frozen=True)
class SafetyHit:
    """One safety finding; it deliberately carries no patient text, so it is safe to log."""

    kind: SafetyKind
    category: str
    severity: str
    language: str


CATEGORY_KIND: MappingProxyType[SafetyCategory, SafetyKind] = MappingProxyType(
    {
        SafetyCategory.FALL: SafetyKind.FALL,
        SafetyCategory.SEVERE_PAIN: SafetyKind.SEVERE_PAIN,
        SafetyCategory.NUMBNESS: SafetyKind.RED_FLAG,
        SafetyCategory.WEAKNESS: SafetyKind.RED_FLAG,
        SafetyCategory.BLADDER_BOWEL: SafetyKind.RED_FLAG,
        SafetyCategory.CHEST_PAIN: SafetyKind.RED_FLAG,
        SafetyCategory.FAINTING: SafetyKind.RED_FLAG,
        SafetyCategory.BREATHING: SafetyKind.RED_FLAG,
    }
)

# Severity of a worded hit. A numeric pain score of PAIN_SCORE_THRESHOLD or more is critical.
CATEGORY_SEVERITY: MappingProxyType[SafetyCategory, Severity] = MappingProxyType(
    {
        SafetyCategory.FALL: Severity.CRITICAL,
        SafetyCategory.CHEST_PAIN: Severity.CRITICAL,
        SafetyCategory.FAINTING: Severity.CRITICAL,
        SafetyCategory.BREATHING: Severity.CRITICAL,
        SafetyCategory.SEVERE_PAIN: Severity.HIGH,
        SafetyCategory.NUMBNESS: Severity.HIGH,
        SafetyCategory.WEAKNESS: Severity.HIGH,
        SafetyCategory.BLADDER_BOWEL: Severity.HIGH,
    }
)

PAIN_SCORE_THRESHOLD = 7.0
PAIN_SCALE_MAX = 10.0

if set(CATEGORIES) != {category.value for category in SafetyCategory}:  # pragma: no cover
    raise RuntimeError("bot.clinic.safety_lexicon.CATEGORIES and SafetyCategory disagree")
