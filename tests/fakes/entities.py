"""Shared pieces of the fake Bot API's formatting parsers: UTF-16 lengths and entity building."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class EntityParseError(ValueError):
    """Raised when formatted text would make Telegram answer "can't parse entities"."""


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units, the unit Telegram uses for limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def byte_offset(text: str, index: int) -> int:
    """UTF-8 byte offset of character `index`, as Telegram reports positions in parse errors."""
    return len(text[:index].encode("utf-8"))


@dataclass
class ParsedText:
    """Plain text after entity parsing plus its entities (UTF-16 offsets), as Telegram returns them."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


class TextBuilder:
    """Accumulates output text while tracking the UTF-16 position for entity offsets."""

    def __init__(self) -> None:
        """Start empty."""
        self._parts: list[str] = []
        self.position = 0
        self.entities: list[dict[str, Any]] = []

    def append(self, chunk: str) -> None:
        """Add literal text."""
        self._parts.append(chunk)
        self.position += utf16_len(chunk)

    def add_entity(self, entity_type: str, start: int, **extra: Any) -> None:
        """Close an entity that began at UTF-16 position `start`; empty entities are dropped like Telegram does."""
        length = self.position - start
        if length <= 0:
            return
        entity: dict[str, Any] = {"type": entity_type, "offset": start, "length": length}
        entity.update({key: value for key, value in extra.items() if value is not None})
        self.entities.append(entity)

    def result(self) -> ParsedText:
        """Text and entities sorted the way Telegram orders them (by offset, outer first)."""
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return ParsedText("".join(self._parts), entities)
