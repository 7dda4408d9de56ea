"""The model's assessment JSON: its schema, tolerant extraction, validation, one repair request.

The contract (checked by outside tools; `AssessmentResult.model_dump(mode="json")` has exactly
these keys)::

    {"exercise": str, "repetitions": int | null,
     "observations": [{"start": seconds, "end": seconds, "kind": "good" | "issue",
                       "severity": "low" | "medium" | "high" | null, "what": str, "cue": str}],
     "summary": str}

Decisions:
- Coercion is lenient, one field at a time: numbers may be strings (`"12.5"`, `"12.5s"`) or
  timecodes (`"0:12"`, `"1:02:03"`); start > end is swapped, negatives become 0; kind and severity
  ignore case and accept a few synonyms (`"problem"` → issue, `"moderate"` → medium); an unknown
  severity becomes null and a "good" observation never has one; a missing kind is "issue" (shown
  under "things to work on", so nothing is ever called correct by default); repetitions accept
  `"10"`, `10.0`, `"about 10"`, and anything else (or a negative) becomes null.
- An observation that cannot be used (no time at all, nothing in `what`) is dropped on its own;
  it does not sink the whole assessment.
- `extract_json` drops `<think>` blocks, then looks for the first JSON object (fences and prose
  around it do not matter). If the text ends inside the object (cut by `max_new_tokens`) it is
  repaired: cut back to the last complete member and close the open brackets. `parse_assessment`
  accepts a repaired object only when `exercise` and `observations` made it through the cut and
  at least one observation (or the summary) was finished, so a truncated answer keeps what it
  finished and loses the unfinished part; one cut before anything useful is None (and so gets
  the repair request) rather than a misleading "nothing was noted".
- With `duration_s`, an observation that starts more than `DURATION_SLACK_S` after the end of the
  clip is dropped (the model invented it); any other is clamped into `[0, duration_s]`.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from bot.vlm.json_extract import ASSESSMENT_KEYS, extract_object, loads_object

DURATION_SLACK_S = 1.0

ASSESSMENT_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "exercise": {"type": "string", "description": "the exercise seen"},
        "repetitions": {"type": ["integer", "null"], "description": "repetitions counted, null if unsure"},
        "observations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "start": {"type": "number", "description": "seconds from the start of the clip"},
                    "end": {"type": "number", "description": "seconds from the start of the clip"},
                    "kind": {"type": "string", "enum": ["good", "issue"]},
                    "severity": {"type": ["string", "null"], "enum": ["low", "medium", "high", None]},
                    "what": {"type": "string", "description": "what is seen at that moment"},
                    "cue": {"type": "string", "description": "one short, safe thing to try"},
                },
                "required": ["start", "end", "kind", "severity", "what", "cue"],
                "additionalProperties": False,
            },
        },
        "summary": {"type": "string", "description": "two or three encouraging sentences"},
    },
    "required": list(ASSESSMENT_KEYS),
    "additionalProperties": False,
}

# The compact form for prompts: one line, placeholders for values.
ASSESSMENT_SCHEMA_TEXT = (
    '{"exercise": string, "repetitions": integer or null, "observations": [{"start": seconds, '
    '"end": seconds, "kind": "good" | "issue", "severity": "low" | "medium" | "high" | null '
    '(null when kind is "good"), "what": string, "cue": string}], "summary": string}'
)

_KIND_SYNONYMS = {
    "good": "good",
    "positive": "good",
    "ok": "good",
    "strength": "good",
    "issue": "issue",
    "problem": "issue",
    "warning": "issue",
    "error": "issue",
    "bad": "issue",
    "improvement": "issue",
    "correction": "issue",
}
_SEVERITY_SYNONYMS = {
    "low": "low",
    "minor": "low",
    "mild": "low",
    "slight": "low",
    "medium": "medium",
    "moderate": "medium",
    "med": "medium",
    "high": "high",
    "severe": "high",
    "major": "high",
    "critical": "high",
}
_TIMECODE = re.compile(r"(\d+):([0-5]?\d)(?::([0-5]?\d))?(?:[.,](\d+))?")
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def time_in_seconds(value: Any) -> float:
    """Seconds from a number, a numeric string (`"12.5"`, `"12.5s"`) or a timecode (`"0:12"`)."""
    if isinstance(value, bool):
        raise ValueError("a time must be a number")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if timecode := _TIMECODE.fullmatch(text):
            a, b, c, frac = timecode.groups()
            whole = int(a) * 3600 + int(b) * 60 + int(c) if c is not None else int(a) * 60 + int(b)
            seconds = whole + (float(f"0.{frac}") if frac else 0.0)
        elif number := _NUMBER.search(text):
            seconds = float(number.group().replace(",", "."))
        else:
            raise ValueError(f"not a time: {value!r}")
    else:
        raise ValueError(f"not a time: {value!r}")
    if not math.isfinite(seconds):
        raise ValueError("a time must be finite")
    return max(seconds, 0.0)


def _text(value: Any) -> str:
    """Coerce to a stripped string; null becomes empty, numbers become their text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError("expected text")


class Observation(BaseModel):
    """One moment of the clip: what was seen from `start` to `end` and a cue."""

    model_config = ConfigDict(extra="ignore")

    start: float
    end: float
    kind: Literal["good", "issue"] = "issue"
    severity: Literal["low", "medium", "high"] | None = None
    what: str
    cue: str = ""

    @model_validator(mode="before")
    @classmethod
    def _one_time_is_enough(cls, data: Any) -> Any:
        """Let a single time given as start or end stand for both."""
        if isinstance(data, dict):
            start, end = data.get("start"), data.get("end")
            if start is None and end is not None:
                data = {**data, "start": end}
            elif end is None and start is not None:
                data = {**data, "end": start}
        return data

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: Any) -> float:
        """Seconds, never negative."""
        return time_in_seconds(value)

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> str:
        """Case-insensitive, with synonyms; missing means issue."""
        if value is None:
            return "issue"
        kind = _KIND_SYNONYMS.get(str(value).strip().lower())
        if kind is None:
            raise ValueError(f"unknown kind {value!r}")
        return kind

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value: Any) -> str | None:
        """Case-insensitive, with synonyms; anything unknown becomes null."""
        if value is None:
            return None
        return _SEVERITY_SYNONYMS.get(str(value).strip().lower())

    @field_validator("what", "cue", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> str:
        """Coerce to stripped text."""
        return _text(value)

    @field_validator("what")
    @classmethod
    def _what_is_needed(cls, value: str) -> str:
        """Reject an observation with nothing in it."""
        if not value:
            raise ValueError("empty observation")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Observation:
        """Start before end; good observations carry no severity."""
        if self.start > self.end:
            self.start, self.end = self.end, self.start
        if self.kind == "good":
            self.severity = None
        return self


class AssessmentResult(BaseModel):
    """The whole assessment of one clip, as the model returned it after validation."""

    model_config = ConfigDict(extra="ignore")

    exercise: str = ""
    repetitions: int | None = None
    observations: list[Observation] = []
    summary: str = ""

    @field_validator("exercise", "summary", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> str:
        """Coerce to stripped text."""
        return _text(value)

    @field_validator("repetitions", mode="before")
    @classmethod
    def _repetitions(cls, value: Any) -> int | None:
        """Coerce to a whole, non-negative count, or null when the model gave nothing usable."""
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str) and (match := _NUMBER.search(value)):
            number = float(match.group().replace(",", "."))
        else:
            return None
        if not math.isfinite(number) or number < 0:
            return None
        return round(number)

    @field_validator("observations", mode="before")
    @classmethod
    def _usable_observations(cls, value: Any) -> list[Observation]:
        """Keep the observations that validate; one bad item does not sink the rest."""
        if value is None:
            return []
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise ValueError("observations must be a list")
        kept = []
        for item in value:
            try:
                kept.append(Observation.model_validate(item))
            except ValidationError:
                continue
        return kept

    def is_usable(self) -> bool:
        """Whether there is anything to show the patient."""
        return bool(self.exercise or self.summary or self.observations)

    def within(self, duration_s: float | None) -> AssessmentResult:
        """Return a copy with observations clamped to the clip, dropping ones that start well after it."""
        if duration_s is None or not math.isfinite(duration_s) or duration_s <= 0:
            return self
        kept = [
            obs.model_copy(update={"start": min(obs.start, duration_s), "end": min(obs.end, duration_s)})
            for obs in self.observations
            if obs.start <= duration_s + DURATION_SLACK_S
        ]
        return self.model_copy(update={"observations": kept})


def _unwrap(obj: dict[str, Any]) -> dict[str, Any]:
    """Unwrap the assessment when the model wrapped it (`{"assessment": {...}}`)."""
    if any(key in obj for key in ASSESSMENT_KEYS):
        return obj
    inner = [value for value in obj.values() if isinstance(value, dict)]
    if len(inner) == 1 and any(key in inner[0] for key in ASSESSMENT_KEYS):
        return inner[0]
    return obj


def parse_assessment(text: str, *, duration_s: float | None = None) -> AssessmentResult | None:
    """Parse and validate the assessment in a model's output; None when nothing usable is there."""
    found = extract_object(text)
    if found is None:
        return None
    candidate, repaired = found
    obj = loads_object(candidate)
    if obj is None:
        return None
    obj = _unwrap(obj)
    if repaired and not ("exercise" in obj and "observations" in obj):
        return None
    try:
        result = AssessmentResult.model_validate(obj)
    except ValidationError:
        return None
    if repaired and not (result.observations or result.summary):
        return None
    return result.within(duration_s) if result.is_usable() else None


def repair_prompt(bad_output: str) -> str:
    """Write the one request that asks the model to turn its invalid answer into the schema's JSON."""
    return (
        "Your previous answer was not valid JSON of the required shape. Return the same assessment "
        "as exactly one JSON object of this shape, and nothing else: no code fences, no explanations, "
        "no thinking.\n"
        f"{ASSESSMENT_SCHEMA_TEXT}\n"
        "Times are seconds from the start of the clip. Keep the language of the text values. If the "
        "answer was cut off, finish it briefly.\n\n"
        f"Previous answer:\n{bad_output.strip()[:6000]}"
    )
