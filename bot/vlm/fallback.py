"""Plain text from a model output that is no usable JSON: the prose kept, JSON debris and special tokens gone."""

from __future__ import annotations

import re

from bot.vlm.json_extract import candidates, loads_object, scan_value, strip_thinking

_FALLBACK_MAX_CHARS = 3000
_FENCE = re.compile(r"^\s*```[\w-]*\s*$", re.MULTILINE)
_SPECIAL_TOKEN = re.compile(r"<\|[^|<>]{1,40}\|>")
_DEBRIS_LINE = re.compile(r"^[\s{}\[\],:\"']*[{}\[\],:\"'][\s{}\[\],:\"']*$")
_JSON_KEY_LINE = re.compile(r'^\s*"[^"\n]{1,40}"\s*:\s*')
_BLANKS = re.compile(r"\n{3,}")
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffd]")
_JSON_KEY = re.compile(r'"\s*:')
_PROSE_KEYS = ("answer", "reply", "response", "text", "message", "summary")


def _without_json_objects(text: str) -> str:
    """Take complete or truncated JSON objects out of the text."""
    pieces, position = [], 0
    while (start := text.find("{", position)) != -1:
        end, _ = scan_value(text, start)
        segment = text[start:end] if end is not None else text[start:]
        if not _JSON_KEY.search(segment):
            pieces.append(text[position : start + 1])
            position = start + 1
            continue
        pieces.append(text[position:start])
        if end is None:
            return "".join(pieces)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _trim(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a sentence or word end, marked with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    for mark in ("\n\n", ". ", "。", "! ", "? ", "\n", " "):
        position = cut.rfind(mark)
        if position > limit // 2:
            return cut[: position + len(mark)].rstrip() + "…"
    return cut.rstrip() + "…"


def _salvaged_prose(text: str) -> str:
    """Collect prose-like string values (`summary`, `answer`, ...) from JSON objects in the text."""
    found: list[str] = []
    for candidate, _ in candidates(text):
        obj = loads_object(candidate) or {}
        for key in _PROSE_KEYS:
            value = obj.get(key)
            if isinstance(value, str) and value.strip() and value.strip() not in found:
                found.append(value.strip())
    return "\n\n".join(found)


def fallback_text(raw: str) -> str:
    """Make a readable message from an answer that was not usable JSON; empty when nothing is left."""
    text = _SPECIAL_TOKEN.sub("", strip_thinking(raw))
    # Control characters and undecodable bytes are never meant for a reader (and Telegram rejects NUL).
    text = _UNPRINTABLE.sub("", text)
    text = _FENCE.sub("", text).replace("```", "")
    # JSON the model wrapped its words in is debris, except for prose fields when nothing else is left.
    prose = _without_json_objects(text)
    text = prose if prose.strip() else _salvaged_prose(text)
    lines = [
        line.rstrip() for line in text.splitlines() if not _DEBRIS_LINE.match(line) and not _JSON_KEY_LINE.match(line)
    ]
    text = _BLANKS.sub("\n\n", "\n".join(lines)).strip()
    return _trim(text, _FALLBACK_MAX_CHARS)
