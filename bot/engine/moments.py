"""Find the moment of a video that a follow-up question asks about ("what about 0:30?").

`parse_moment(text)` returns a `MomentRef`: an absolute time (`kind="at"`, `seconds` set), or the
clip's beginning or end (`kind="start"` / `"end"`), or None when the question names no moment.

How a question is read (the language is not known in advance, so every table applies to every text):

1. Normalise: NFKC (full-width digits and colons become ASCII), case-fold, every Unicode decimal
   digit to ASCII (Arabic-Indic, Devanagari, ...), then each language's own hook (Chinese numerals
   before a time unit or after 第 become digits: 第三十秒 → 第30秒; Arabic loses its diacritics and
   spelling variants (ة → ه, أ → ا) and its dual time nouns gain a number: دقيقتين → 2 دقيقه).
2. Collect candidates, each at the position where it starts:
   - timecodes `m:ss`, `h:mm:ss`, with an optional fraction (`0:30.5`);
   - a number with a time unit, or a chain of them (`30 s`, `1 min 5 s`, `1m5s`, `1分钟5秒`,
     `на 12-й секунде`, `10-15 seconds` → its first number). Ambiguous short units are only
     trusted inside a chain: `m`/`м`/`分` (metres, "very", pain points) must be followed by a
     seconds part, hours by a smaller part; a bare `2 hours` is a duration, never a moment;
   - a number after a "second"/"minute" noun (`second 30`, `Sekunde 30`, `en el segundo 30`);
   - a bare number after an "at" word (`at 30`, `на 30`, `bei 30`), or before an "at" postposition
     (Hindi `30 पर`): in a question about a video a bare number there means a second. Bare numbers
     are the weakest form: they are ignored when the text talks about pain (`my pain is at 5`),
     when they have more than three digits (years), when a letter sticks to them (`at 5m`) and when
     they are part of a date or decimal (`at 12.03.2024`);
   - phrases for the beginning and the end (`at the beginning`, `в конце`, `开头`, `al final`).
3. Reject what is a count, not a moment: a number followed by a count word (reps, sets, times,
   kg, degrees, days, weeks, o'clock, am/pm, "out of 10", `/10`, `%`, `3x10`), a time followed or
   preceded by an "ago" word (`2 minutes ago`, `hace 2 minutos`), and a duration
   (`for 30 seconds`, `every 30 seconds`). `the first 10 seconds` means the beginning and
   `the last 5 seconds` the end.
4. The earliest candidate in the text wins (`from 0:12 to 0:15` → 0:12).

Adding a language is one `LanguageWords` entry in `LANGUAGES` (`bot/engine/moment_words.py`);
entries are lowercase regular expression fragments written in normalised form (Arabic ه not ة), a
space in them matches any run of whitespace, and in languages written with spaces each fragment must
stand as a whole word (it may not touch a letter or a combining mark, such as a Devanagari vowel
sign, on either side).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from bot.engine.moment_words import LANGUAGES


@dataclass(frozen=True)
class MomentRef:
    """A moment in the clip: an absolute time in seconds, or the clip's beginning or end."""

    kind: Literal["at", "start", "end"]
    seconds: float | None = None


# Language-independent: scores ("5/10"), percentages, angles, "3x10".
_GENERIC_NOT_AFTER = (r"/\s*\d", r"%", r"°", r"[x×*]\s*\d")

_NUM = r"\d+(?:[.,]\d+)?"
_NUM_START = r"(?<![\d.,:/])"
_NUM_END = r"(?![\d:]|[.,]\d)"


def _combining_marks() -> str:
    """Character-class ranges of the combining marks (Devanagari vowel signs, Arabic harakat, ...)."""
    ranges: list[list[int]] = []
    for code in range(0x10000):
        if unicodedata.category(chr(code)).startswith("M"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "".join(f"\\u{first:04x}-\\u{last:04x}" for first, last in ranges)


# A letter, or a combining mark that belongs to the letter before it: "पर" is not a word in "परेशान".
_LETTER = rf"(?:[^\W\d_]|[{_combining_marks()}])"
_UNIT_RANK = {"h": 3, "m": 2, "cm": 2, "s": 1}
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "cm": 60.0, "s": 1.0}
_LOOKBEHIND_CHARS = 40


def _alternation(field: str, *, trailing_guard: bool = True) -> str:
    """One regex alternation of a table field across all languages, each entry guarded as a word."""
    spaced: dict[str, None] = {}
    unspaced: dict[str, None] = {}
    for words in LANGUAGES.values():
        for fragment in getattr(words, field):
            (spaced if words.spaced else unspaced)["(?:" + fragment.replace(" ", r"\s+") + ")"] = None
    groups: list[str] = []
    # Longer entries first, so that 分钟 is tried before 分 and "secs?" before "s". The word guards
    # stand once around the spaced entries (the big letter class is costly to repeat per entry).
    if spaced:
        body = "|".join(sorted(spaced, key=len, reverse=True))
        groups.append(f"(?<!{_LETTER})(?:{body})" + (f"(?!{_LETTER})" if trailing_guard else ""))
    if unspaced:
        groups.append("(?:" + "|".join(sorted(unspaced, key=len, reverse=True)) + ")")
    return "(?:" + "|".join(groups) + ")" if groups else "(?!)"


_TIMECODE = re.compile(
    r"(?<![\d:.,])(?P<a>\d{1,3}):(?P<b>[0-5]\d)(?::(?P<c>[0-5]\d))?(?:[.,](?P<frac>\d{1,3}))?(?![\d:])"
)
_COMPONENT = re.compile(
    rf"{_NUM_START}(?P<num>{_NUM})(?:\s*[-–—~到至]\s*{_NUM})?(?:{_alternation('ordinal_suffixes')})?\s*"
    rf"(?:(?P<h>{_alternation('hours')})|(?P<m>{_alternation('minutes')})"
    rf"|(?P<cm>{_alternation('chain_minutes')})|(?P<s>{_alternation('seconds')}))"
)
_JOIN_GAP = re.compile(rf"\s*(?:(?:,|{_alternation('joiners')})\s*)?")
_NOUN_NUMBER = re.compile(
    rf"(?:(?P<sec>{_alternation('second_nouns')})|(?P<min>{_alternation('minute_nouns')}))"
    rf"\s*(?:(?:no\.?|nr\.?|№|#)\s*)?(?P<num>{_NUM}){_NUM_END}"
)
_AT_NUMBER = re.compile(rf"{_alternation('at_words')}\s*(?P<num>{_NUM}){_NUM_END}(?!{_LETTER})")
_AT_AFTER_NUMBER = re.compile(
    rf"(?<!{_LETTER}){_NUM_START}(?P<num>{_NUM}){_NUM_END}\s*{_alternation('at_after_words')}"
)
_PHRASE = re.compile(rf"(?P<start>{_alternation('start_phrases')})|(?P<end>{_alternation('end_phrases')})")
_NOT_AFTER = re.compile(rf"\s*(?:{_alternation('not_after')}|" + "|".join(_GENERIC_NOT_AFTER) + ")")
_NOT_BEFORE = re.compile(rf"{_alternation('not_before')}\s*$")
_FIRST_BEFORE = re.compile(rf"{_alternation('first_words')}\s*$")
_LAST_BEFORE = re.compile(rf"{_alternation('last_words')}\s*$")
_PAIN = re.compile(_alternation("pain_words", trailing_guard=False))


def _normalize(text: str) -> str:
    """NFKC, case-fold, ASCII digits, then each language's own hook."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)
    for words in LANGUAGES.values():
        if words.normalize is not None:
            text = words.normalize(text)
    return text


def _number(text: str) -> float:
    """Read a number written with a decimal point or comma."""
    return float(text.replace(",", "."))


@dataclass(frozen=True)
class _Candidate:
    """A moment found at a position of the normalised text."""

    position: int
    ref: MomentRef


@dataclass(frozen=True)
class _Part:
    """One number with a time unit."""

    start: int
    end: int
    unit: str
    value: float


def _parts(text: str) -> list[_Part]:
    """Every number-with-unit in the text, in order."""
    parts = []
    for match in _COMPONENT.finditer(text):
        unit = next(name for name in ("h", "m", "cm", "s") if match.group(name) is not None)
        parts.append(_Part(match.start(), match.end(), unit, _number(match.group("num"))))
    return parts


def _chains(text: str) -> Iterator[list[_Part]]:
    """Yield runs of adjacent number-with-unit parts in falling order (`1 h 2 min 3 s`) that make a time."""
    parts = _parts(text)
    i = 0
    while i < len(parts):
        chain = [parts[i]]
        while i + len(chain) < len(parts):
            nxt = parts[i + len(chain)]
            gap = _JOIN_GAP.fullmatch(text, chain[-1].end, nxt.start)
            if gap is None or _UNIT_RANK[nxt.unit] >= _UNIT_RANK[chain[-1].unit]:
                break
            chain.append(nxt)
        i += len(chain)
        # Ambiguous minutes and hours only count when a smaller part follows them.
        if chain[-1].unit in ("cm", "h"):
            continue
        yield chain


def _rejected_after(text: str, end: int) -> bool:
    """Whether what follows position `end` makes the number a count, a score or a past time."""
    return _NOT_AFTER.match(text, end) is not None


def _before(text: str, start: int) -> str:
    """Return a little of the text before `start`, for prefix checks."""
    return text[max(0, start - _LOOKBEHIND_CHARS) : start]


def _timecodes(text: str) -> Iterator[tuple[int, int, float]]:
    """Every `m:ss` / `h:mm:ss` timecode as (start, end, seconds)."""
    for match in _TIMECODE.finditer(text):
        a, b, c = match.group("a"), match.group("b"), match.group("c")
        seconds = int(a) * 3600 + int(b) * 60 + int(c) if c is not None else int(a) * 60 + int(b)
        frac = match.group("frac")
        yield match.start(), match.end(), seconds + (float(f"0.{frac}") if frac else 0.0)


def _structured(text: str) -> tuple[list[_Candidate], list[tuple[int, int]]]:
    """Timecodes and unit chains, with the spans they cover."""
    found: list[_Candidate] = []
    covered: list[tuple[int, int]] = []
    for start, end, seconds in _timecodes(text):
        covered.append((start, end))
        if not _rejected_after(text, end):
            found.append(_Candidate(start, MomentRef("at", seconds)))
    for chain in _chains(text):
        start, end = chain[0].start, chain[-1].end
        covered.append((start, end))
        before = _before(text, start)
        if _FIRST_BEFORE.search(before):
            found.append(_Candidate(start, MomentRef("start")))
        elif _LAST_BEFORE.search(before):
            found.append(_Candidate(start, MomentRef("end")))
        elif not _NOT_BEFORE.search(before) and not _rejected_after(text, end):
            seconds = sum(part.value * _UNIT_SECONDS[part.unit] for part in chain)
            found.append(_Candidate(start, MomentRef("at", seconds)))
    return found, covered


def _weak(text: str, covered: list[tuple[int, int]]) -> Iterator[_Candidate]:
    """Numbers after a "second" noun or an "at" word that no stronger form already explains."""

    def free(position: int) -> bool:
        return not any(start <= position < end for start, end in covered)

    for match in _NOUN_NUMBER.finditer(text):
        if free(match.start("num")) and not _rejected_after(text, match.end()):
            factor = 60.0 if match.group("min") is not None else 1.0
            yield _Candidate(match.start(), MomentRef("at", _number(match.group("num")) * factor))
    if _PAIN.search(text):
        return
    for match in itertools.chain(_AT_NUMBER.finditer(text), _AT_AFTER_NUMBER.finditer(text)):
        digits = match.group("num").replace(",", ".").split(".")[0]
        if len(digits) <= 3 and free(match.start("num")) and not _rejected_after(text, match.end()):
            yield _Candidate(match.start(), MomentRef("at", _number(match.group("num"))))


def parse_moment(text: str) -> MomentRef | None:
    """Return the first moment of the clip that `text` refers to, or None when it names no moment."""
    norm = _normalize(text)
    candidates, covered = _structured(norm)
    candidates.extend(_weak(norm, covered))
    for match in _PHRASE.finditer(norm):
        kind: Literal["start", "end"] = "start" if match.group("start") is not None else "end"
        candidates.append(_Candidate(match.start(), MomentRef(kind)))
    if not candidates:
        return None
    return min(candidates, key=lambda candidate: candidate.position).ref


# A moment this far past the last frame is still "the end" (rounding in the patient's question).
_END_TOLERANCE_S = 0.5


def resolve_moment(moment: MomentRef, duration_s: float) -> float:
    """Seconds into the clip for a parsed moment (`start` is 0, `end` the clip's length)."""
    if moment.kind == "start":
        return 0.0
    if moment.kind == "end":
        return duration_s
    return float(moment.seconds or 0.0)


@dataclass(frozen=True)
class MomentLocation:
    """Where in the clip a question points: the parsed moment, its second, and whether it is past the end."""

    moment: MomentRef | None
    seconds: float | None
    past_end: bool


def locate_moment(question: str, duration_s: float) -> MomentLocation:
    """Parse the moment in a question and place it in a clip of `duration_s` seconds."""
    moment = parse_moment(question)
    if moment is None:
        return MomentLocation(None, None, False)
    seconds = resolve_moment(moment, duration_s)
    if seconds > duration_s + _END_TOLERANCE_S:
        return MomentLocation(moment, seconds, True)
    return MomentLocation(moment, min(seconds, duration_s), False)
