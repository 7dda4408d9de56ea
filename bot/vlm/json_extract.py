"""Finding the JSON object in a model's output: `<think>` blocks dropped, prose ignored, a cut object repaired."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

_MAX_STARTS = 50
_MAX_REPAIR_TRIES = 400
_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
# The assessment's own keys: an object with one of them is preferred over any other JSON.
ASSESSMENT_KEYS = ("exercise", "repetitions", "observations", "summary")


def strip_thinking(text: str) -> str:
    """Remove `<think>` blocks, including a dangling close or an unfinished open."""
    text = _THINK_BLOCK.sub("", text)
    lowered = text.lower()
    if (close := lowered.rfind("</think>")) != -1:
        # The chat template opened the block in the prompt; only its end is in the output.
        text = text[close + len("</think>") :]
        lowered = text.lower()
    if (opened := lowered.find("<think>")) != -1:
        text = text[:opened]
    return text


def scan_value(text: str, start: int) -> tuple[int | None, list[tuple[int, str]]]:
    """Scan a JSON value from `text[start]` (a brace): its end, or None and the repair cut points.

    Cut points are positions where the text may be cut and closed: before a comma, after a closing
    bracket and after a closing quote, each with the closers that the open brackets need there.
    """
    stack: list[str] = []
    cuts: list[tuple[int, str]] = []
    in_string = escaped = False
    closers = {"{": "}", "[": "]"}
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
                cuts.append((i + 1, "".join(closers[b] for b in reversed(stack))))
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append(ch)
        elif ch in "}]":
            if not stack or closers[stack[-1]] != ch:
                return None, []
            stack.pop()
            if not stack:
                return i + 1, []
            cuts.append((i + 1, "".join(closers[b] for b in reversed(stack))))
        elif ch == ",":
            cuts.append((i, "".join(closers[b] for b in reversed(stack))))
    return None, cuts


def loads_object(candidate: str) -> dict[str, Any] | None:
    """Load a JSON object from `candidate`, forgiving trailing commas; None otherwise."""
    for attempt in (candidate, _TRAILING_COMMA.sub(r"\1", candidate)):
        try:
            value = json.loads(attempt)
        except ValueError:
            continue
        return value if isinstance(value, dict) else None
    return None


def _repair(text: str, start: int, cuts: list[tuple[int, str]]) -> str | None:
    """Close a truncated object at the latest cut point that gives valid JSON."""
    for position, closing in reversed(cuts[-_MAX_REPAIR_TRIES:]):
        candidate = text[start:position].rstrip().rstrip(",") + closing
        if loads_object(candidate) is not None:
            return candidate
    return None


def candidates(text: str) -> Iterator[tuple[str, bool]]:
    """JSON objects in `text`, in order, as (json text, was repaired)."""
    position, tries = 0, 0
    while tries < _MAX_STARTS and (start := text.find("{", position)) != -1:
        tries += 1
        end, cuts = scan_value(text, start)
        if end is not None and loads_object(text[start:end]) is not None:
            yield text[start:end], False
            position = end
            continue
        if end is None and cuts and (repaired := _repair(text, start, cuts)) is not None:
            yield repaired, True
        position = start + 1


def extract_object(text: str) -> tuple[str, bool] | None:
    """Find the best JSON object in a model's output and whether it had to be repaired."""
    first: tuple[str, bool] | None = None
    for candidate, repaired in candidates(strip_thinking(text)):
        obj = loads_object(candidate)
        if obj is not None and any(key in obj for key in ASSESSMENT_KEYS):
            return candidate, repaired
        first = first or (candidate, repaired)
    return first


def extract_json(text: str) -> str | None:
    """Return the JSON object in a model's output (fences, prose, think blocks, truncation tolerated)."""
    found = extract_object(text)
    return found[0] if found else None
