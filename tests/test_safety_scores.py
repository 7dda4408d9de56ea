"""The red-flag check's pain scores, trivial texts, normalisation and speed."""

from __future__ import annotations

import time

import pytest

from bot.clinic.safety import (
    check_text,
    fold_accents,
    normalize,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pain 6/10", False),
        ("pain 7/10", True),
        ("pain 6.5/10", False),
        ("pain 11/10", False),
        ("pain 70/100", False),
        ("pain 2 out of 10, effort 8/10", False),
        ("if my pain gets to 8/10 should I stop?", False),
        ("no pain, squat depth 9/10", False),
        ("my pain is 7", True),
        ("pain at 7 seconds", False),
        ("pain at 0:08", False),
        ("pain 8 reps in", False),
        ("ＰＡＩＮ ８／１０", True),
        ("الألم ٨ من ١٠", True),
        ("दर्द ८/१०", True),
        ("疼痛评分九分", True),
        ("疼痛10分中3分", False),
    ],
)
def test_pain_scores(text: str, expected: bool) -> None:
    hit = check_text(text)
    assert (hit is not None and hit.category == "severe_pain") is expected, (text, hit)


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "🙂", "0:30", "?"])
def test_empty_and_trivial_text(text: str) -> None:
    assert check_text(text) is None


def test_normalisation_keeps_offsets_when_folding() -> None:
    text = normalize("  Me  CAÍ   ayer, ёлки; أُغمي   ")
    assert text == "me caí ayer, ёлки; أغمي"
    folded = fold_accents(text)
    assert folded == "me cai ayer, елки; اغمي"
    assert len(folded) == len(text)


def test_long_text_is_fast() -> None:
    text = ("my knee pain is ok and I do not fall but " * 100) + "I fell"
    started = time.perf_counter()
    hit = check_text(text)
    assert time.perf_counter() - started < 2.0
    assert hit is not None
    assert hit.category == "fall"
