"""The reply to a red flag: its wording per kind, through gettext."""

from __future__ import annotations

import gettext

import pytest

from bot.clinic.safety import (
    SafetyHit,
    SafetyKind,
    safety_message,
)
from bot.i18n import Translator


class _Upper(gettext.NullTranslations):
    """A fake catalog that marks every translated string, to prove the message goes through gettext."""

    def gettext(self, message: str) -> str:
        return "TRANSLATED " + message


HIT_PER_KIND = [
    SafetyHit(SafetyKind.FALL, "fall", "critical", "en"),
    SafetyHit(SafetyKind.SEVERE_PAIN, "severe_pain", "high", "en"),
    SafetyHit(SafetyKind.RED_FLAG, "chest_pain", "critical", "en"),
    SafetyHit(SafetyKind.RED_FLAG, "numbness", "high", "en"),
]


@pytest.mark.parametrize("hit", HIT_PER_KIND, ids=lambda hit: hit.category)
def test_safety_message(hit: SafetyHit) -> None:
    message = safety_message(Translator("en"), hit=hit, emergency_number="112")
    assert message.strip()
    assert "112" in message
    assert "%(" not in message
    assert "<" not in message and ">" not in message
    assert "stop exercising" in message
    assert "doctor or therapist" in message
    assert "therapist is linked" in message
    assert "not a doctor" in message


def test_safety_message_differs_for_falls_and_goes_through_gettext() -> None:
    tr = Translator("en")
    fall = safety_message(tr, hit=HIT_PER_KIND[0], emergency_number="911")
    red_flag = safety_message(tr, hit=HIT_PER_KIND[2], emergency_number="911")
    assert fall != red_flag
    assert "hit your head" in fall
    assert "Chest pain" in red_flag
    translated = safety_message(Translator("xx", _Upper()), hit=HIT_PER_KIND[0], emergency_number=" 999 ")
    assert translated.startswith("TRANSLATED ")
    assert "999 now" in translated
