"""Model prompts: the assessment, follow-up questions and the one JSON repair request."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.vlm.render import format_timecode
from bot.vlm.schema import ASSESSMENT_SCHEMA_TEXT, repair_prompt

# English names, because the instructions to the model are in English whatever the reply language.
PROMPT_LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "ru": "Russian",
    "zh_Hans": "Simplified Chinese",
    "es": "Spanish",
    "de": "German",
    "fr": "French",
    "pt_BR": "Brazilian Portuguese",
    "uk": "Ukrainian",
    "ar": "Arabic",
    "hi": "Hindi",
}


_OBSERVER_RULES = """You are a careful rehabilitation observer helping a patient who exercises at home.
Rules you always follow:
- Describe only what you can actually see in the video. Each video frame is labelled with its time in
  seconds from the start of the clip (for example <12.5 seconds>); use those times for every moment.
- You are not a clinician. Never diagnose, never name an injury or a condition, never say that the
  patient's form is correct, perfect or safe. Describe what looked steady or controlled instead, and say
  when you are not sure.
- If the recording makes judging hard (body cut off, wrong angle, too dark, too far, shaking camera),
  say so and explain how to film better: side view for squats and lunges, whole body in frame, phone
  still and upright, good light, fitted clothing.
- Cues are short, concrete and safe: one thing to try next time. Never encourage working through pain;
  if something looks painful, suggest stopping and asking their therapist."""


def language_name(locale: str) -> str:
    """The English name of a locale's language, for instructions to the model."""
    return PROMPT_LANGUAGE_NAMES.get(locale, "English")


@dataclass(frozen=True)
class ExerciseContext:
    """What we know about the exercise before looking: the patient's hint and the prescribed exercises."""

    hint: str | None = None
    # (exercise, focus points) for each exercise the therapist prescribed.
    prescribed: tuple[tuple[str, str | None], ...] = ()
    # What the pose stage measured, as sentences the model must use (bot.pose.grounding.prompt_facts).
    measured: str = ""

    def describe(self) -> str:
        """Sentences for the prompt, or an empty string when nothing is known."""
        parts = []
        if self.prescribed:
            items = [
                f"{exercise} (watch especially: {focus})" if focus else exercise for exercise, focus in self.prescribed
            ]
            parts.append(f"Their therapist prescribed: {'; '.join(items)}. The video may show any one of these.")
        if self.hint:
            parts.append(f"The patient says the exercise is: {self.hint}.")
        if self.measured:
            parts.append(self.measured)
        return " ".join(parts)


def _text(text: str) -> dict[str, str]:
    """A text content item."""
    return {"type": "text", "text": text}


def assessment_messages(
    *, locale: str, duration_s: float, context: ExerciseContext, part: PartOfClip | None = None
) -> list[dict[str, Any]]:
    """Messages asking for the structured assessment of a whole clip, or of one part of a long one."""
    language = language_name(locale)
    system = (
        f"{_OBSERVER_RULES}\n"
        f"Write every text value in {language}.\n"
        "Answer with one JSON object only, no other text, exactly in this shape:\n"
        f"{ASSESSMENT_SCHEMA_TEXT}"
    )
    if part is None:
        clip = f"This is the patient's exercise video, {duration_s:.1f} seconds long."
        start_s, end_s = 0.0, duration_s
    else:
        clip = (
            f"This is part {part.number} of {part.parts} of the patient's exercise video, from "
            f"{part.start_s:.1f} to {part.end_s:.1f} seconds of {duration_s:.1f}; the frames carry their times "
            "in the whole video. Count only the repetitions in this part."
        )
        start_s, end_s = part.start_s, part.end_s
    request = (
        f"{clip} {context.describe()} "
        "Name the exercise, count the repetitions if you can, and list what looked good and what to work "
        f"on, each with its start and end in seconds between {start_s:.1f} and {end_s:.1f}. "
        f"Reply with the JSON object only, texts in {language}."
    )
    return [
        {"role": "system", "content": [_text(system)]},
        {"role": "user", "content": [{"type": "video"}, _text(request.replace("  ", " "))]},
    ]


@dataclass(frozen=True)
class PartOfClip:
    """Which part of a long video one assessment call sees (times in the whole video)."""

    number: int
    parts: int
    start_s: float
    end_s: float


def repair_messages(*, bad_output: str, locale: str) -> list[dict[str, Any]]:
    """One text-only request to turn an invalid answer into the JSON shape."""
    request = f"{repair_prompt(bad_output)}\nText values stay in {language_name(locale)}."
    return [{"role": "user", "content": [_text(request)]}]


def question_messages(
    *,
    locale: str,
    question: str,
    duration_s: float,
    earlier_assessment: dict[str, Any] | str | None,
    turns: Sequence[tuple[str, str]],
    window_s: tuple[float, float] | None,
    moment_s: float | None,
) -> list[dict[str, Any]]:
    """Messages for a follow-up question, grounded in a window of the clip or in the whole clip."""
    language = language_name(locale)
    if isinstance(earlier_assessment, dict):
        earlier = json.dumps(earlier_assessment, ensure_ascii=False)
    else:
        earlier = earlier_assessment or "(no earlier assessment)"
    system = (
        f"{_OBSERVER_RULES}\n"
        f"Earlier you assessed this patient's exercise video ({duration_s:.1f} seconds long). "
        f"Your assessment was:\n{earlier}\n"
        f"Now answer the patient's follow-up questions in {language}: briefly, in plain sentences (no "
        "JSON, no lists of codes), tied to the moments you can see, writing times as minutes:seconds."
    )
    if window_s is not None and moment_s is not None:
        start, end = window_s
        scope = (
            f"The video below shows the part of the clip from {format_timecode(start)} to "
            f"{format_timecode(end)} ({start:.1f}–{end:.1f} seconds; frame times are seconds from the start "
            f"of the whole clip). The patient asks about {format_timecode(moment_s)} ({moment_s:.1f} s)."
        )
    else:
        scope = "The video below is the whole clip."
    messages: list[dict[str, Any]] = [{"role": "system", "content": [_text(system)]}]
    for asked, answered in turns:
        messages.append({"role": "user", "content": [_text(asked)]})
        messages.append({"role": "assistant", "content": [_text(answered)]})
    messages.append(
        {
            "role": "user",
            "content": [{"type": "video"}, _text(f"{scope}\nQuestion: {question}\nAnswer in {language}.")],
        }
    )
    return messages


def summary_draft_messages(*, locale: str, facts: str) -> list[dict[str, Any]]:
    """Ask for a short draft paragraph for the therapist's weekly summary (text only, no video)."""
    language = language_name(locale)
    request = (
        "You help a physiotherapist review a patient's week of home exercise. From the facts below, write "
        f"two or three sentences in {language} for the therapist: what stands out and what they might check. "
        "Suggestions only, never orders or diagnoses; do not invent anything that is not in the facts.\n\n"
        f"{facts}"
    )
    return [{"role": "user", "content": [_text(request)]}]
