"""A validated Bot API call as the method handlers receive it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakes.botapi_spec import MethodSpec, UploadedPart
from tests.fakes.entities import ParsedText


@dataclass
class Request:
    """A validated call: its method, decoded parameters, parsed texts and uploaded parts."""

    method: MethodSpec
    params: dict[str, Any]
    parsed: dict[str, ParsedText]
    parts: dict[str, UploadedPart]
    ts: float
