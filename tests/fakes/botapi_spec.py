"""The machine-readable Bot API reference (`telegram-bot-api.json`) and type checks against it."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCALARS = {"Integer", "String", "Boolean", "True", "Float", "InputFile"}
_DISCRIMINATOR_RE = re.compile(r"(?:must be|always)\s+[“\"*]?([a-z0-9_]+)")


@dataclass(frozen=True)
class UploadedPart:
    """A file part of a multipart request (the `InputFile` of the Bot API)."""

    name: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class FieldSpec:
    """One parameter of a method or one field of a type."""

    name: str
    types: tuple[str, ...]
    required: bool
    description: str


@dataclass(frozen=True)
class MethodSpec:
    """A Bot API method: its exact name, parameters and return types."""

    name: str
    fields: dict[str, FieldSpec]
    returns: tuple[str, ...]


@dataclass(frozen=True)
class TypeSpec:
    """A Bot API type: its fields, or the subtypes it stands for."""

    name: str
    fields: dict[str, FieldSpec]
    subtypes: tuple[str, ...]
    discriminator: str | None


def _fields(raw: dict[str, Any]) -> dict[str, FieldSpec]:
    """Field specs keyed by name."""
    return {
        f["name"]: FieldSpec(f["name"], tuple(f["types"]), bool(f["required"]), f.get("description", ""))
        for f in raw.get("fields", [])
    }


def _discriminator(fields: dict[str, FieldSpec]) -> str | None:
    """The value the first field must have ("Scope type, must be chat" -> "chat"), if stated."""
    if not fields:
        return None
    first = next(iter(fields.values()))
    match = _DISCRIMINATOR_RE.search(first.description)
    return match.group(1) if match else None


class BotApiSpec:
    """Methods and types of one Bot API version, with value checks."""

    def __init__(self, data: dict[str, Any]) -> None:
        """Index the JSON reference."""
        self.version: str = data.get("version", "")
        self.methods: dict[str, MethodSpec] = {}
        for name, raw in data["methods"].items():
            # Telegram treats method names case-insensitively.
            self.methods[name.lower()] = MethodSpec(name, _fields(raw), tuple(raw.get("returns", [])))
        self.types: dict[str, TypeSpec] = {}
        for name, raw in data["types"].items():
            fields = _fields(raw)
            self.types[name] = TypeSpec(name, fields, tuple(raw.get("subtypes", [])), _discriminator(fields))

    @classmethod
    def load(cls, path: Path | str) -> BotApiSpec:
        """Load (and cache) the spec at `path`; the file is large, so it is parsed once per process."""
        return _load_cached(str(Path(path).resolve()))

    def method(self, name: str) -> MethodSpec | None:
        """Look a method up by name, ignoring case like Telegram does."""
        return self.methods.get(name.lower())

    def check_value(self, value: Any, types: tuple[str, ...], path: str) -> list[str]:
        """Problems with `value` for a field typed as any of `types`; empty when it fits one."""
        if len(types) > 1 and all(t.startswith("Array of ") for t in types):
            # "Array of A or Array of B": items may mix A and B (a media group mixes photos and videos).
            inner = " | ".join(t.removeprefix("Array of ") for t in types)
            return self._check_one(value, f"Array of {inner}", path)
        best: list[str] | None = None
        for type_name in types:
            problems = self._check_one(value, type_name, path)
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        if best and len(types) > 1 and best[0].endswith(f"must be {types[0]}"):
            return [f"{path} must be {' or '.join(types)}"]
        return best or []

    def check_object(self, type_name: str, value: Any, path: str = "") -> list[str]:
        """Problems with `value` as an object of type `type_name`, recursing into its fields."""
        return self._check_one(value, type_name, path or type_name)

    def minimal(self, type_name: str) -> Any:
        """The smallest valid value of a type: required fields only, zeros, empty strings and lists."""
        if type_name.startswith("Array of "):
            return []
        scalars: dict[str, Any] = {"Integer": 0, "Float": 0.0, "String": "", "Boolean": True, "True": True}
        if type_name in scalars:
            return scalars[type_name]
        spec = self.types.get(type_name)
        if spec is None:
            return {}
        if spec.subtypes:
            return self.minimal(spec.subtypes[0])
        value = {name: self.minimal(field.types[0]) for name, field in spec.fields.items() if field.required}
        if spec.discriminator and spec.fields:
            value[next(iter(spec.fields))] = spec.discriminator
        return value

    def _check_one(self, value: Any, type_name: str, path: str) -> list[str]:
        """Check `value` against one type expression ("Integer", "Array of X", "Message", ...)."""
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                return [f"{path} must be {type_name}"]
            inner = type_name.removeprefix("Array of ")
            problems: list[str] = []
            for index, item in enumerate(value):
                problems += self._check_one(item, inner, f"{path}[{index}]")
            return problems
        if len(alternatives := type_name.split(" | ")) > 1:
            return self.check_value(value, tuple(alternatives), path)
        if type_name in _SCALARS:
            return [] if _scalar_ok(value, type_name) else [f"{path} must be {type_name}"]
        spec = self.types.get(type_name)
        if spec is None:
            return []
        if spec.subtypes:
            return self._check_union(value, spec, path)
        if not isinstance(value, dict):
            return [f"{path} must be {type_name}"]
        return self._check_fields(value, spec, path)

    def _check_union(self, value: Any, spec: TypeSpec, path: str) -> list[str]:
        """Check a value of an abstract type against the subtype its discriminator names."""
        candidates = spec.subtypes
        if isinstance(value, dict):
            # Subtypes whose discriminator ("type": "chat") matches; several may share one value.
            matching = tuple(
                name
                for name in spec.subtypes
                if (sub := self.types.get(name))
                and sub.discriminator
                and sub.fields
                and value.get(next(iter(sub.fields))) == sub.discriminator
            )
            candidates = matching or candidates
        return self.check_value(value, candidates, path)

    def _check_fields(self, value: dict[str, Any], spec: TypeSpec, path: str) -> list[str]:
        """Check required, unknown and typed fields of an object."""
        problems: list[str] = []
        for name, field in spec.fields.items():
            if field.required and name not in value:
                problems.append(f"{path}.{name} is required")
        for name, item in value.items():
            field = spec.fields.get(name)
            if field is None:
                problems.append(f"{path}.{name} is not a field of {spec.name}")
            elif item is not None:
                problems += self.check_value(item, field.types, f"{path}.{name}")
        if spec.discriminator and spec.fields:
            key = next(iter(spec.fields))
            if key in value and value[key] != spec.discriminator:
                problems.append(f"{path}.{key} must be {spec.discriminator!r}")
        return problems


def _scalar_ok(value: Any, type_name: str) -> bool:
    """Whether a decoded value has the scalar type the spec names."""
    if type_name == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "String":
        return isinstance(value, str)
    if type_name == "Boolean":
        return isinstance(value, bool)
    if type_name == "True":
        return value is True
    return isinstance(value, UploadedPart)


@functools.lru_cache(maxsize=4)
def _load_cached(path: str) -> BotApiSpec:
    """Parse the spec file once."""
    return BotApiSpec(json.loads(Path(path).read_text(encoding="utf-8")))


def coerce_form_value(raw: str | UploadedPart, types: tuple[str, ...]) -> Any:
    """Decode one form field the way the Bot API does: strings stay strings, the rest is JSON."""
    if isinstance(raw, UploadedPart):
        return raw
    if "String" in types:
        if "Integer" in types and re.fullmatch(r"-?\d+", raw):
            return int(raw)
        return raw
    if types == ("Boolean",) and raw.lower() in ("true", "false", "1", "0"):
        # Telegram also accepts 1/0 and any case for booleans in form data.
        return raw.lower() in ("true", "1")
    try:
        return json.loads(raw)
    except ValueError:
        # Left as a string: the type check then reports it, as Telegram reports unparsable JSON.
        return raw
