"""The readable part of an assessment while the model is still writing its JSON: what a draft shows.

The model writes JSON (schema.py); the patient should not watch braces and keys appear. This reads
the unfinished text and keeps only what a patient reads: each observation's moment, `what` and
`cue`, then the summary, strings shown as far as they are written. The final feedback is still
rendered from the validated, parsed result; this is a preview and never decides anything.

Decisions: a number (an observation's `start`) counts only once it is complete, so a half-written
"1" of "12.5" never shows as 0:01; a string's unfinished escape is held back; text outside the
JSON objects (prose, fences, a `<think>` block) is not shown.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from bot.vlm.json_extract import strip_thinking
from bot.vlm.render import format_timecode
from bot.vlm.schema import time_in_seconds

_OBSERVATION_TEXT = ("what", "cue")
_NUMBER_END = re.compile(r"[\s,}\]]")


@dataclass
class PreviewObservation:
    """One observation as far as it is written."""

    start_s: float | None = None
    what: str = ""
    cue: str = ""


@dataclass
class PreviewSummary:
    """A summary as far as it is written."""

    text: str = ""


@dataclass
class FeedbackPreview:
    """The readable fields of a partial assessment (or of several parts' outputs), in the order written."""

    items: list[PreviewObservation | PreviewSummary] = field(default_factory=list)

    @property
    def observations(self) -> list[PreviewObservation]:
        """The observations begun so far."""
        return [item for item in self.items if isinstance(item, PreviewObservation)]

    def text(self) -> str:
        """Plain text: one line per observation ("0:12 what — cue"), each summary as its own paragraph."""
        lines: list[str] = []
        for item in self.items:
            if isinstance(item, PreviewSummary):
                if item.text:
                    lines.extend(["", item.text, ""])
                continue
            if not item.what:
                continue
            line = item.what
            if item.start_s is not None:
                line = f"{format_timecode(item.start_s)} {line}"
            if item.cue:
                line = f"{line} — {item.cue}"
            lines.append(line)
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@dataclass
class _Container:
    """An open object or array, the key it sits under, and (objects) the key being read."""

    bracket: str
    owner: str | None
    key: str | None = None
    expects_key: bool = True
    observation: PreviewObservation | None = None
    summary: PreviewSummary | None = None


def _decode(body: str, finished: bool) -> str:
    """A JSON string's body as text; an unfinished one loses a trailing partial escape."""
    if not finished:
        body = re.sub(r"\\(u[0-9a-fA-F]{0,3})?$", "", body)
    try:
        return json.loads(f'"{body}"')
    except ValueError:
        return ""


def _seconds(token: str) -> float | None:
    """A start time written as a number or a timecode; None when it is neither."""
    try:
        return time_in_seconds(token)
    except ValueError:
        return None


class _Reader:
    """Walks the unfinished JSON once, filling a FeedbackPreview."""

    def __init__(self, text: str) -> None:
        """Read `text` from its first brace."""
        self.text = text
        self.preview = FeedbackPreview()
        self.stack: list[_Container] = []

    def _value(self, value: str | float | None) -> None:
        """A scalar value read (or read so far) for the current key."""
        top = self.stack[-1]
        if top.bracket != "{" or top.key is None:
            return
        if len(self.stack) == 1 and top.key == "summary" and isinstance(value, str):
            if top.summary is None:
                top.summary = PreviewSummary()
                self.preview.items.append(top.summary)
            top.summary.text = value
        elif top.observation is not None:
            if top.key in _OBSERVATION_TEXT and isinstance(value, str):
                setattr(top.observation, top.key, value)
            elif top.key == "start" and value is not None:
                top.observation.start_s = value if isinstance(value, float) else _seconds(value)

    def _string(self, start: int) -> int:
        """Read the string opening at `start`; returns where reading goes on (past its end)."""
        i, text = start + 1, self.text
        while i < len(text) and text[i] != '"':
            i += 2 if text[i] == "\\" else 1
        finished = i < len(text)
        body = text[start + 1 : min(i, len(text))]
        top = self.stack[-1] if self.stack else None
        if top is not None and top.bracket == "{" and top.expects_key:
            if finished:
                top.key, top.expects_key = _decode(body, True), False
        elif top is not None:
            self._value(_decode(body, finished))
        return i + 1

    def _open(self, bracket: str) -> None:
        """An object or array opens under the current key."""
        top = self.stack[-1] if self.stack else None
        owner = top.key if top is not None and top.bracket == "{" else (top.owner if top is not None else None)
        container = _Container(bracket, owner)
        if bracket == "{" and top is not None and top.bracket == "[" and top.owner == "observations":
            container.observation = PreviewObservation()
            self.preview.items.append(container.observation)
        self.stack.append(container)

    def read(self) -> FeedbackPreview:
        """The preview of everything written inside the objects, from the first brace on."""
        text = self.text
        i = text.find("{")
        if i == -1:
            return self.preview
        while i < len(text):
            ch = text[i]
            if ch == '"':
                i = self._string(i)
                continue
            if ch in "{[":
                self._open(ch)
            elif ch in "}]":
                self.stack.pop()
                if not self.stack:
                    # A long clip's parts are written one object after another.
                    i = text.find("{", i + 1)
                    if i == -1:
                        break
                    continue
            elif ch == ",":
                top = self.stack[-1]
                top.key, top.expects_key = None, top.bracket == "{"
            elif not ch.isspace() and ch != ":":
                end = _NUMBER_END.search(text, i)
                if end is None:
                    break  # a number still being written
                token = text[i : end.start()]
                self._value(_seconds(token) if token not in ("null", "true", "false") else None)
                i = end.start()
                continue
            i += 1
        return self.preview


def read_preview(raw: str) -> FeedbackPreview:
    """The readable fields of the model's unfinished assessment output."""
    return _Reader(strip_thinking(raw)).read()


def feedback_preview(raw: str) -> str:
    """What a draft shows of the assessment written so far: plain text, no JSON; empty before any."""
    return read_preview(raw).text()
