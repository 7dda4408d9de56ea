"""Red-flag check on a patient's text, run before any model call.

`check_text(text)` looks for a reported fall, severe pain or a red-flag symptom in a question or a
video caption and returns a `SafetyHit` (the most severe one) or None. The caller then sends
`safety_message(...)` instead of a model answer and records the hit as an alert for the therapist.
A hit names the kind, category, severity and the language that matched, never the patient's words:
hits go into logs and alerts, and patient text must not.

Severity (clinical notes, "Alerts"):

- critical: a fall; chest pain, fainting, breathing trouble; a pain score of 7/10 or more (the
  notes rate "pain ≥ 7/10" critical).
- high: new numbness or tingling, limb weakness, bladder or bowel changes, severe pain described
  in words without a score ("unbearable pain").

A rise in pain of 2 points or more (also "high" in the notes) needs the patient's history and is
left to the caller, which stores pain scores.

How a text is read (the language is not known in advance, so every table applies to every text):

1. Normalise: NFKC, case-fold, typographic apostrophes to `'`, every decimal digit to ASCII,
   Arabic short vowels and tatweel and the Hindi nukta dropped, whitespace collapsed. A second,
   accent-folded copy of the same length (`caída` → `caida`, `ё` → `е`, `أ` → `ا`) is what most
   terms are matched on; accent-bearing terms (Portuguese `caí`) are matched on the first copy.
2. Blank out harmless phrases from every language ("fall asleep", "this fall", "упал духом",
   "knee falls inward", "auf jeden Fall").
3. Each language's terms are searched. A match does not count when:
   - a negation stands shortly before it in the same clause ("I did not fall", "no numbness",
     "я не упал", "没有摔倒"), or, where the language puts it there, just after it
     ("онемения нет", "मैं गिरा नहीं"). A clause ends at `, . ! ? ;` and the negation's reach ends
     at a breaker ("but", "after", "because", "and"): "I can't walk since I fell" is a fall;
   - the clause is a question or plan rather than a report: "if", "in case", "avoid", "prevent"
     ("what should I do if I feel numb", "how do I avoid falling?");
   - for falls only: fear, a modal or "almost" ("I'm afraid I might fall", "I almost fell",
     "чуть не упал", "差点摔倒"). Nearly falling during a balance exercise is not a fall, while
     "I feel like I'm going to faint" is a symptom and does count.
4. A numeric pain score of 7 or more out of 10 beside a pain word counts as severe pain:
   "pain 8/10", "8 out of 10 pain", "pain is 9", "боль 8 из 10", "疼痛8分". Scores below 7 do
   not, and a number that is a time or a count is no score ("pain at 0:30", "pain 10 seconds in").
5. A word several languages share ("incontinence", Spanish and Portuguese "caí") is judged by the
   language the text looks most like (its common words and cue words, counted), so "não caí" is
   negated by Portuguese although Spanish does not know "não"; on a tie, any reading that counts
   is enough. `SafetyHit.language` is that language.
6. Of several hits the most severe wins (then: chest pain, breathing, fainting, fall, severe pain,
   bladder/bowel, weakness, numbness).

The rules lean towards alerting: an unsure report ("I think I fell?", "is numbness normal?") is a
hit, and so is someone else's fall ("Dad fell"), since the sender may be a carer. Known limits:
sarcasm, misspellings beyond the listed variants, a negation far from its word or with no comma
("No I fell" reads as negated), pain described by a change rather than a score ("from 3 to 8"),
and everything a fixed word list cannot know; it is a safety net, not a diagnosis.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType

from bot.clinic.safety_patterns import CLAUSE_END, COMPILED_LEXICONS, CompiledLexicon, fold_accents, normalize
from bot.clinic.safety_types import (
    CATEGORY_KIND,
    CATEGORY_SEVERITY,
    PAIN_SCALE_MAX,
    PAIN_SCORE_THRESHOLD,
    SafetyCategory,
    SafetyHit,
    SafetyKind,
    Severity,
)
from bot.i18n import Translator

__all__ = [
    "CATEGORY_KIND",
    "CATEGORY_SEVERITY",
    "SafetyCategory",
    "SafetyHit",
    "SafetyKind",
    "Severity",
    "check_text",
    "find_hits",
    "fold_accents",
    "normalize",
    "safety_message",
]

# Tie-break among hits of equal severity: the most acute first.
_CATEGORY_PRIORITY: tuple[SafetyCategory, ...] = (
    SafetyCategory.CHEST_PAIN,
    SafetyCategory.BREATHING,
    SafetyCategory.FAINTING,
    SafetyCategory.FALL,
    SafetyCategory.SEVERE_PAIN,
    SafetyCategory.BLADDER_BOWEL,
    SafetyCategory.WEAKNESS,
    SafetyCategory.NUMBNESS,
)
_SEVERITY_RANK = MappingProxyType({Severity.CRITICAL: 0, Severity.HIGH: 1})


# --- Matching ----------------------------------------------------------------------------------


def _clause_start(text: str, position: int, *, joiner: re.Pattern[str] | None = None) -> int:
    """Where the clause holding `position` starts; a comma before a `joiner` does not end a clause."""
    for match in reversed(list(CLAUSE_END.finditer(text, 0, position))):
        if joiner is not None and match.group() == "," and joiner.match(text, match.end()):
            continue
        return match.end()
    return 0


def _after_last(pattern: re.Pattern[str] | None, text: str) -> str:
    """`text` after the last match of `pattern` (all of it when there is none)."""
    if pattern is None:
        return text
    last = None
    for last in pattern.finditer(text):  # noqa: B007 - only the last match matters
        pass
    return text if last is None else text[last.end() :]


def _before_first(pattern: re.Pattern[str] | None, text: str) -> str:
    """`text` up to the first match of `pattern`."""
    if pattern is None:
        return text
    match = pattern.search(text)
    return text if match is None else text[: match.start()]


def _blank(pattern: re.Pattern[str] | None, text: str) -> str:
    """`text` with every match of `pattern` replaced by spaces (offsets stay valid)."""
    if pattern is None:
        return text
    return pattern.sub(lambda match: " " * len(match.group()), text)


def _negated_before(language: CompiledLexicon, before: str) -> bool:
    """Whether a negation reaches forward to the end of `before`."""
    text = _blank(language.anti_negation, _after_last(language.breaker, before))
    if language.negation_tail is not None:
        return language.negation_tail.search(text) is not None
    if language.negation is None:
        return False
    window = " ".join(text.split()[-language.negation_window :])
    return language.negation.search(window) is not None


def _negated_after(language: CompiledLexicon, after: str) -> bool:
    """Whether a post-posed negation ("онемения нет") follows closely in `after`."""
    if language.post_negation is None:
        return False
    window = " ".join(_before_first(language.breaker, after).split()[: language.post_negation_window])
    return language.post_negation.search(window) is not None


def _suppressed(language: CompiledLexicon, text: str, start: int, end: int, category: SafetyCategory) -> bool:
    """Whether the match at `start:end` is negated, hypothetical, or (for falls) feared or nearly."""
    before = text[_clause_start(text, start) : start]
    if _negated_before(language, before):
        return True
    clause_end = CLAUSE_END.search(text, end)
    if _negated_after(language, text[end : clause_end.start() if clause_end else len(text)]):
        return True
    # Fear and hedges reach across a comma that only introduces a clause: "Angst, dass ich stürze".
    scope = _after_last(language.breaker, text[_clause_start(text, start, joiner=language.complementizer) : start])
    if language.hypothetical is not None and language.hypothetical.search(scope):
        return True
    return (
        category is SafetyCategory.FALL
        and language.fall_hypothetical is not None
        and language.fall_hypothetical.search(scope) is not None
    )


def _blank_harmless(accented: str, folded: str) -> tuple[str, str]:
    """Blank the harmless phrases of every language out of both copies of the text."""
    spans = [
        match.span()
        for language in COMPILED_LEXICONS
        for pattern in language.harmless
        for match in pattern.finditer(folded)
    ]
    if not spans:
        return accented, folded
    accented_chars, folded_chars = list(accented), list(folded)
    for start, end in spans:
        accented_chars[start:end] = " " * (end - start)
        folded_chars[start:end] = " " * (end - start)
    return "".join(accented_chars), "".join(folded_chars)


def _score_value(language: CompiledLexicon, raw: str) -> float | None:
    """A matched score as a number, or None when it is not one."""
    if raw in language.number_words:
        return float(language.number_words[raw])
    try:
        return float(raw.replace(",", "."))
    except ValueError:
        return None


@dataclass(frozen=True)
class _Candidate:
    """One match of one language's term, before languages sharing the word are reconciled."""

    language: int  # index into COMPILED_LEXICONS
    category: SafetyCategory
    severity: Severity
    start: int
    end: int
    suppressed: bool


def _term_candidates(index: int, accented: str, folded: str) -> Iterable[_Candidate]:
    """Every match of one language's terms, each with its negation/hypothesis verdict."""
    language = COMPILED_LEXICONS[index]
    for term in language.terms:
        source = accented if term.on_accented else folded
        for match in term.pattern.finditer(source):
            yield _Candidate(
                language=index,
                category=term.category,
                severity=CATEGORY_SEVERITY[term.category],
                start=match.start(),
                end=match.end(),
                suppressed=_suppressed(language, folded, match.start(), match.end(), term.category),
            )


def _score_candidates(index: int, folded: str) -> Iterable[_Candidate]:
    """Pain scores of 7/10 or more in one language (critical, per the clinical notes)."""
    language = COMPILED_LEXICONS[index]
    for pattern in language.scores:
        for match in pattern.finditer(folded):
            value = _score_value(language, match.group("score"))
            if value is None or not PAIN_SCORE_THRESHOLD <= value <= PAIN_SCALE_MAX:
                continue
            # "8/10 reps without pain": the pain word's own clause decides, as does the score's.
            suppressed = any(
                _suppressed(language, folded, position, match.end(), SafetyCategory.SEVERE_PAIN)
                for position in {match.start(), match.start("pain")}
            )
            yield _Candidate(
                language=index,
                category=SafetyCategory.SEVERE_PAIN,
                severity=Severity.CRITICAL,
                start=match.start(),
                end=match.end(),
                suppressed=suppressed,
            )


def _language_weights(accented: str, folded: str) -> tuple[int, ...]:
    """How much the text looks like each language: its marker and cue words, counted."""
    weights = []
    for language in COMPILED_LEXICONS:
        weight = len(language.markers.findall(accented)) if language.markers else 0
        weight += len(language.cue_words.findall(folded)) if language.cue_words else 0
        weights.append(weight)
    return tuple(weights)


def _clusters(candidates: list[_Candidate]) -> Iterable[list[_Candidate]]:
    """Group overlapping matches of the same category and severity (one word read by several languages)."""
    keyed: dict[tuple[SafetyCategory, Severity], list[_Candidate]] = {}
    for candidate in candidates:
        keyed.setdefault((candidate.category, candidate.severity), []).append(candidate)
    for group in keyed.values():
        group.sort(key=lambda candidate: candidate.start)
        cluster: list[_Candidate] = []
        cluster_end = -1
        for candidate in group:
            if cluster and candidate.start >= cluster_end:
                yield cluster
                cluster = []
            cluster.append(candidate)
            cluster_end = max(cluster_end, candidate.end)
        if cluster:
            yield cluster


def _resolve(cluster: list[_Candidate], weights: tuple[int, ...]) -> SafetyHit | None:
    """The hit a cluster stands for, read in the language the text most looks like.

    A word shared by several languages ("caí" in Spanish and Portuguese, "incontinence") is judged
    by the language with the most marker and cue words in the text, so "não caí" is negated by
    Portuguese although Spanish does not know "não". When languages tie, a single reading that
    counts is enough: the check leans towards alerting.
    """
    best = max(weights[candidate.language] for candidate in cluster)
    leading = sorted({candidate.language for candidate in cluster if weights[candidate.language] == best})
    for index in leading:
        if any(not candidate.suppressed for candidate in cluster if candidate.language == index):
            first = cluster[0]
            return SafetyHit(
                kind=CATEGORY_KIND[first.category],
                category=first.category.value,
                severity=first.severity.value,
                language=COMPILED_LEXICONS[index].language,
            )
    return None


def _rank(hit: SafetyHit) -> tuple[int, int]:
    """Sort key: most severe first, then the most acute category."""
    return _SEVERITY_RANK[Severity(hit.severity)], _CATEGORY_PRIORITY.index(SafetyCategory(hit.category))


def find_hits(text: str) -> list[SafetyHit]:
    """Every distinct hit in `text` (one per category, severity and language), most severe first."""
    accented = normalize(text)
    if not accented:
        return []
    accented, folded = _blank_harmless(accented, fold_accents(accented))
    candidates = [
        candidate
        for index in range(len(COMPILED_LEXICONS))
        for found in (_term_candidates(index, accented, folded), _score_candidates(index, folded))
        for candidate in found
    ]
    if not candidates:
        return []
    weights = _language_weights(accented, folded)
    hits = {hit for cluster in _clusters(candidates) if (hit := _resolve(cluster, weights)) is not None}
    return sorted(hits, key=lambda hit: (*_rank(hit), hit.language))


def check_text(text: str) -> SafetyHit | None:
    """The most severe fall, severe-pain or red-flag hit in a patient's text, or None."""
    hits = find_hits(text)
    return hits[0] if hits else None


# --- The reply ---------------------------------------------------------------------------------


def safety_message(tr: Translator, *, hit: SafetyHit, emergency_number: str) -> str:
    """What the patient reads instead of a model answer: stop, when to call for help, who is told."""
    number = emergency_number.strip()
    if hit.kind == SafetyKind.FALL:
        return tr.gettext(
            "You told me about a fall. Please stop exercising for now. If you hit your head, are badly "
            "hurt, feel faint or cannot get up, call %(number)s now. Otherwise, contact your doctor or "
            "therapist before you exercise again. If a therapist is linked to your account, I will let "
            "them know. I am an AI assistant, not a doctor.",
            number=number,
        )
    if hit.kind == SafetyKind.SEVERE_PAIN:
        return tr.gettext(
            "You told me about severe pain. Please stop exercising now. If you also have chest pain, "
            "feel faint or have trouble breathing, call %(number)s now. Otherwise, contact your doctor "
            "or therapist before you exercise again. If a therapist is linked to your account, I will "
            "let them know. I am an AI assistant, not a doctor.",
            number=number,
        )
    return tr.gettext(
        "What you describe can be a warning sign. Please stop exercising now. Chest pain, fainting "
        "and trouble breathing can be an emergency: if you have any of them, call %(number)s now. "
        "Otherwise, contact your doctor or therapist before you exercise again. If a therapist is "
        "linked to your account, I will let them know. I am an AI assistant, not a doctor.",
        number=number,
    )
