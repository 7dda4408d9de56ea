"""The safety lexicon compiled into regular expressions, and the text normalisation both share."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from bot.clinic.safety_lexicon import LEXICONS, Lexicon
from bot.clinic.safety_types import SafetyCategory

# --- Normalisation -----------------------------------------------------------------------------

# Devanagari vowel signs are combining marks, not `\w`, so a word boundary must treat them as letters.
_WORD = r"[\w\u0900-\u0963\u0966-\u097f]"
_WORD_START = rf"(?<!{_WORD})"
_BOUNDARY = rf"(?:(?<={_WORD})(?!{_WORD})|(?<!{_WORD})(?={_WORD}))"

_APOSTROPHES = "\u2019\u2018\u02bc`\u00b4\u02b9\u2032"
# Marks that never change a word's meaning for matching: Arabic short vowels and tatweel, the Hindi
# nukta (often omitted), zero-width joiners, soft hyphens, stray Latin combining marks.
_DROPPED = (
    "".join(chr(code) for code in range(0x064B, 0x0660))
    + "\u0670\u0640\u093c\u200b\u200c\u200d\u2060\ufeff\u00ad"
    + "".join(chr(code) for code in range(0x0300, 0x0370))
)
_TRANSLATE = str.maketrans({**dict.fromkeys(_APOSTROPHES, "'"), **dict.fromkeys(_DROPPED, None)})
_SPACES = re.compile(r"\s+")
# Arabic letter variants people write interchangeably; each maps to one character so that the
# folded text keeps the length (and the offsets) of the unfolded one.
_EXTRA_FOLD = MappingProxyType({"ة": "ه", "ى": "ي", "ٱ": "ا"})


def normalize(text: str) -> str:
    """NFKC, case-fold, ASCII digits and apostrophes, no ignorable marks, single spaces."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    folded = folded.translate(_TRANSLATE)
    folded = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in folded)
    return _SPACES.sub(" ", folded).strip()


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """One character without its accent: `á` → `a`, `й` → `и`, `أ` → `ا`; others unchanged."""
    if char.isascii():
        return char
    if char in _EXTRA_FOLD:
        return _EXTRA_FOLD[char]
    parts = unicodedata.normalize("NFD", char)
    if len(parts) > 1 and all(unicodedata.combining(part) for part in parts[1:]):
        return parts[0]
    return char


def fold_accents(text: str) -> str:
    """Strip accents character by character; the result has the same length as `text`."""
    return "".join(_fold_char(char) for char in text)


# --- Compiling the lexicon ---------------------------------------------------------------------

CLAUSE_END = re.compile(r"[!?;\n。、…।؟؛]|[.,،](?!\d)")
_GAP = re.compile(r"\{w([23]?)\}")


@dataclass(frozen=True)
class CompiledTerm:
    """One compiled term: its category and whether it reads the accent-bearing text."""

    category: SafetyCategory
    pattern: re.Pattern[str]
    on_accented: bool


@dataclass(frozen=True)
class CompiledLexicon:
    """A `Lexicon` turned into regular expressions."""

    language: str
    spaced: bool
    terms: tuple[CompiledTerm, ...]
    harmless: tuple[re.Pattern[str], ...]
    negation: re.Pattern[str] | None
    negation_tail: re.Pattern[str] | None  # unspaced languages: negation near the end of the text
    post_negation: re.Pattern[str] | None
    anti_negation: re.Pattern[str] | None
    breaker: re.Pattern[str] | None
    hypothetical: re.Pattern[str] | None
    fall_hypothetical: re.Pattern[str] | None
    complementizer: re.Pattern[str] | None
    scores: tuple[re.Pattern[str], ...]
    markers: re.Pattern[str] | None  # read on the accented text
    cue_words: re.Pattern[str] | None  # read on the folded text
    number_words: MappingProxyType[str, int]
    negation_window: int
    post_negation_window: int


def _normalize_fragment(fragment: str, *, fold: bool) -> str:
    """Give a lexicon fragment the same normalisation as the text it will be matched on."""
    # Fragments are lowercase and free of upper-case escapes, so case-folding leaves the syntax intact.
    text = normalize(fragment)
    return fold_accents(text) if fold else text


def _fragment(fragment: str, lexicon: Lexicon, *, cues: str, clitics: str, fold: bool = True) -> str:
    r"""Expand one fragment: word start, `\b`, `{w}` gaps, clitics; normalised like the text."""
    anchored = not fragment.startswith("~")
    body = _normalize_fragment(fragment.removeprefix("~"), fold=fold)
    body = body.replace(r"\b", _BOUNDARY)
    body = _GAP.sub(lambda match: _gap(lexicon, cues, int(match.group(1) or 1)), body)
    if not lexicon.spaced or not anchored:
        return body
    return f"{_WORD_START}{clitics}(?:{body})"


def _gap(lexicon: Lexicon, cues: str, words: int) -> str:
    """Up to `words` words (two characters each in unspaced scripts) that are not cue words."""
    refuse = f"(?!{cues})" if cues else ""
    if lexicon.spaced:
        return rf"(?:\s+{refuse}[^\s.,!?;:،؟।]+){{0,{words}}}"
    return rf"(?:{refuse}[^\s,.!?;:。、]){{0,{2 * words}}}"


def _alternation(fragments: Iterable[str], lexicon: Lexicon, *, clitics: str = "", cues: str = "") -> str:
    """Several fragments as one non-capturing alternation ('' when there are none)."""
    parts = [_fragment(fragment, lexicon, cues=cues, clitics=clitics) for fragment in fragments]
    return "|".join(f"(?:{part})" for part in parts)


def _maybe(pattern: str) -> re.Pattern[str] | None:
    """Compile `pattern`, or None for an empty cue list."""
    return re.compile(pattern) if pattern else None


def _compile(lexicon: Lexicon) -> CompiledLexicon:
    """Compile one language's tables."""
    clitics, cue_clitics = lexicon.clitics, lexicon.cue_clitics
    negation = _alternation(lexicon.negations, lexicon, clitics=cue_clitics)
    hypothetical = _alternation(lexicon.hypotheticals, lexicon, clitics=cue_clitics)
    fall_hypothetical = _alternation(lexicon.fall_hypotheticals, lexicon, clitics=cue_clitics)
    breaker = _alternation(lexicon.breakers, lexicon, clitics=cue_clitics)
    # Gaps inside a term may not swallow a cue: "ich bin nicht gefallen" must not match "bin {w3} gefallen".
    cues = "|".join(part for part in (negation, hypothetical, fall_hypothetical, breaker) if part)

    terms: list[CompiledTerm] = []
    for table, on_accented in ((lexicon.terms, False), (lexicon.exact_terms, True)):
        for category, fragments in table.items():
            for fragment in fragments:
                pattern = _fragment(fragment, lexicon, cues=cues, clitics=clitics, fold=not on_accented)
                terms.append(CompiledTerm(SafetyCategory(category), re.compile(pattern), on_accented))

    numbers = MappingProxyType({fold_accents(normalize(word)): value for word, value in lexicon.number_words.items()})
    return CompiledLexicon(
        language=lexicon.language,
        spaced=lexicon.spaced,
        terms=tuple(terms),
        harmless=tuple(
            re.compile(_fragment(fragment, lexicon, cues="", clitics=clitics)) for fragment in lexicon.harmless
        ),
        negation=_maybe(negation),
        negation_tail=(
            None
            if lexicon.spaced or not negation
            else re.compile(rf"(?:{negation})[^\s]{{0,{lexicon.negation_window}}}\s*$")
        ),
        post_negation=_maybe(_alternation(lexicon.post_negations, lexicon, clitics=cue_clitics)),
        anti_negation=_maybe(_alternation(lexicon.anti_negations, lexicon, clitics=cue_clitics)),
        breaker=_maybe(breaker),
        hypothetical=_maybe(hypothetical),
        fall_hypothetical=_maybe(fall_hypothetical),
        complementizer=_maybe(
            rf"\s*(?:{_alternation(lexicon.complementizers, lexicon, clitics=cue_clitics)})"
            if lexicon.complementizers
            else ""
        ),
        scores=_compile_scores(lexicon, numbers),
        markers=_maybe(
            "|".join(
                f"(?:{_fragment(fragment, lexicon, cues='', clitics='', fold=False)})" for fragment in lexicon.markers
            )
        ),
        cue_words=_maybe(
            "|".join(
                f"(?:{part})"
                for part in (
                    negation,
                    hypothetical,
                    fall_hypothetical,
                    breaker,
                    _alternation(lexicon.post_negations, lexicon, clitics=cue_clitics),
                    _alternation(lexicon.pain, lexicon, clitics=clitics),
                )
                if part
            )
        ),
        number_words=numbers,
        negation_window=lexicon.negation_window,
        post_negation_window=lexicon.post_negation_window,
    )


def _compile_scores(lexicon: Lexicon, numbers: MappingProxyType[str, int]) -> tuple[re.Pattern[str], ...]:
    """The pain-score patterns, each with a `score` group."""
    if not lexicon.pain:
        return ()
    pain = _alternation(lexicon.pain, lexicon, clitics=lexicon.clitics)
    words = "|".join(re.escape(word) for word in sorted(numbers, key=len, reverse=True))
    number = r"(?<![\d.,:])\d+(?:[.,]\d+)?"
    if words and lexicon.spaced:
        number += rf"|{_WORD_START}(?:{words})(?!{_WORD})"
    elif words:
        number += f"|{words}"
    tens = "|".join(["10", *(_fragment(word, lexicon, cues="", clitics="") for word in lexicon.ten_words)])
    # "8/10", "8 out of 10", "8 из 10": the scale word needs a space after it, the slash does not.
    scale_options = ["/", *(rf"{_normalize_fragment(word, fold=True)}\s" for word in lexicon.scale_words)]
    # Units may touch the number ("8kg", "30s"), so they are not anchored at a word start.
    units = _alternation((f"~{unit}" for unit in lexicon.units), lexicon)
    not_a_count = rf"(?!\s*(?:{units})(?!{_WORD}))" if units else ""
    scale = rf"\s*(?:{'|'.join(scale_options)})\s*(?:{tens})(?!{_WORD}){not_a_count}"
    end = r"(?!\s*[:.,/]?\s*\d)" + not_a_count
    filler = _alternation(lexicon.score_fillers, lexicon) or "[:=~-]"
    slots = {
        "{pain}": f"(?P<pain>{pain})",
        "{n}": f"(?P<score>{number})",
        "{scale}": scale,
        "{end}": end,
        "{filler}": f"(?:{filler})",
    }
    compiled = []
    for template in lexicon.score_templates:
        pattern = _normalize_fragment(template, fold=True)
        for slot, value in slots.items():
            pattern = pattern.replace(slot, value)
        compiled.append(re.compile(pattern))
    return tuple(compiled)


COMPILED_LEXICONS: tuple[CompiledLexicon, ...] = tuple(_compile(lexicon) for lexicon in LEXICONS)
