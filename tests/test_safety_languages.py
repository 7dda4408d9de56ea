"""The red-flag check in ten languages: the hit and non-hit tables, and the lexicons behind them."""

from __future__ import annotations

import dataclasses
import re

import pytest

from bot.clinic.safety import (
    check_text,
    find_hits,
)
from bot.clinic.safety_lexicon import CATEGORIES, LEXICONS
from tests.helpers.safety_hits import HITS
from tests.helpers.safety_non_hits import NON_HITS


def _cases(table: dict[str, list[tuple[str, tuple[str, str, str]]]]) -> list[tuple[str, str, tuple[str, str, str]]]:
    return [(language, text, expected) for language, rows in table.items() for text, expected in rows]


@pytest.mark.parametrize(("language", "text", "expected"), _cases(HITS))
def test_hits(language: str, text: str, expected: tuple[str, str, str]) -> None:
    hit = check_text(text)
    assert hit is not None, text
    assert (hit.kind, hit.category, hit.severity) == expected, text
    assert hit.language == language, text


@pytest.mark.parametrize(
    ("language", "text"), [(language, text) for language, rows in NON_HITS.items() for text in rows]
)
def test_non_hits(language: str, text: str) -> None:
    assert check_text(text) is None, (language, text, find_hits(text))


def test_every_language_has_hits_for_every_category() -> None:
    for language, rows in HITS.items():
        categories = {expected[1] for _, expected in rows}
        assert categories == set(CATEGORIES), language


def test_every_lexicon_covers_every_category() -> None:
    languages = {lexicon.language for lexicon in LEXICONS}
    assert languages == {"en", "ru", "zh_Hans", "es", "de", "fr", "pt_BR", "uk", "ar", "hi"}
    assert languages == set(HITS) == set(NON_HITS)
    for lexicon in LEXICONS:
        assert set(lexicon.terms) == set(CATEGORIES), lexicon.language
        assert all(lexicon.terms[category] for category in CATEGORIES), lexicon.language


def test_lexicon_fragments_survive_case_folding() -> None:
    # Fragments are case-folded like the text; an upper-case escape would silently change meaning.
    for lexicon in LEXICONS:
        fragments = [
            *(fragment for rows in lexicon.terms.values() for fragment in rows),
            *lexicon.negations,
            *lexicon.hypotheticals,
            *lexicon.fall_hypotheticals,
            *lexicon.breakers,
            *lexicon.harmless,
            *lexicon.pain,
        ]
        for fragment in fragments:
            assert not re.search(r"\\[WSDBPAZ]|\(\?P", fragment), (lexicon.language, fragment)


def test_lexicon_tables_are_immutable() -> None:
    with pytest.raises(TypeError):
        LEXICONS[0].terms["fall"] = ()  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        LEXICONS[0].negations = ()  # type: ignore[misc]
