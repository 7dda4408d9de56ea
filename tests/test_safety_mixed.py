"""The red-flag check on texts with several mentions: severity order, negations, mixed and shared words."""

from __future__ import annotations

from bot.clinic.safety import (
    check_text,
    find_hits,
)


def test_most_severe_hit_wins() -> None:
    assert check_text("my foot is numb and then I fell").category == "fall"
    assert check_text("I fell and now I have chest pain").category == "chest_pain"
    assert check_text("I'm in severe pain and my leg is numb").category == "severe_pain"
    assert check_text("pain 9/10 and my foot is numb").severity == "critical"
    found = find_hits("I fell, my foot is numb, and I wet myself")
    assert [hit.category for hit in found] == ["fall", "bladder_bowel", "numbness"]


def test_a_negated_mention_does_not_hide_a_real_one() -> None:
    assert check_text("I didn't fall, but my leg is numb").category == "numbness"
    assert check_text("No numbness. But I fell on the stairs").category == "fall"
    assert check_text("я не упала, но нога онемела").category == "numbness"


def test_mixed_language_text() -> None:
    hit = check_text("Doctor said rehab is fine, но вчера я упала")
    assert hit is not None
    assert (hit.category, hit.language) == ("fall", "ru")


def test_words_shared_by_languages_are_read_in_the_language_of_the_text() -> None:
    # "caí" is Spanish and Portuguese; each language's own negation decides.
    assert check_text("no me caí") is None
    assert check_text("não caí") is None
    assert check_text("eu caí").language == "pt_BR"
    # A cognate with no other clue is still a hit, under the first language that has it.
    assert check_text("incontinence").category == "bladder_bowel"
    assert check_text("tengo incontinencia").language == "es"
    # "никакой" (Russian) negates the Ukrainian-looking "боли в груди" too.
    assert check_text("никакой боли в груди") is None
