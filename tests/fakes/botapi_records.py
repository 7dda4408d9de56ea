"""What the fake Bot API records about the bot's requests, and its error type."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


class ApiError(Exception):
    """A Telegram error answer: HTTP status, description and optional `parameters`."""

    def __init__(
        self, code: int, description: str, *, kind: str = "", parameters: dict[str, Any] | None = None
    ) -> None:
        """`kind` classifies 400s for `violations` (spec, limit, format, state); empty for others."""
        super().__init__(description)
        self.code = code
        self.description = description
        self.kind = kind
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        """The JSON body Telegram sends for this error."""
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(message: str, kind: str) -> ApiError:
    """A 400 "Bad Request: ..." error."""
    return ApiError(400, f"Bad Request: {message}", kind=kind)


@dataclass
class Call:
    """One request the bot made; unpacks as (method, params, ts) for brevity in tests."""

    method: str
    params: dict[str, Any]
    ts: float
    status: int = 0
    result: Any = None
    error: str | None = None

    def __iter__(self) -> Iterator[Any]:
        """Allow `for method, params, ts in api.calls`."""
        return iter((self.method, self.params, self.ts))


@dataclass(frozen=True)
class Violation:
    """A request Telegram would reject with 400 (or 404 for an unknown method)."""

    method: str
    description: str
    kind: str
    params: dict[str, Any]


@dataclass(frozen=True)
class FiredFault:
    """An injected fault that answered (or swallowed) a request."""

    method: str
    fault: Any
    chat_id: int | str | None
    ts: float


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded (multipart) or referred to by local path in local mode."""

    filename: str
    content_type: str
    data: bytes
    file_id: str


@dataclass
class SentMessage:
    """A message the bot created, with the request that created it; `message` is kept up to date on edits."""

    method: str
    params: dict[str, Any]
    message: dict[str, Any]
    ts: float
    file: UploadedFile | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False

    @property
    def chat_id(self) -> int:
        """Chat the message is in."""
        return int(self.message["chat"]["id"])

    @property
    def message_id(self) -> int:
        """Telegram message id."""
        return int(self.message["message_id"])

    @property
    def text(self) -> str:
        """Current text or caption as Telegram shows it (markup removed)."""
        return str(self.message.get("text", self.message.get("caption", "")))

    @property
    def raw_text(self) -> str:
        """Text or caption exactly as the bot sent it (e.g. with HTML tags), as last edited."""
        for edit in reversed(self.edits):
            for key in ("text", "caption"):
                if key in edit:
                    return str(edit[key])
        return str(self.params.get("text", self.params.get("caption", "")))

    @property
    def parse_mode(self) -> str | None:
        """parse_mode the message was sent with."""
        return self.params.get("parse_mode")

    @property
    def reply_to_message_id(self) -> int | None:
        """Id of the message this one replies to, if any."""
        reply = self.message.get("reply_to_message")
        return int(reply["message_id"]) if reply else None

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        """Current inline keyboard, if any."""
        return self.message.get("reply_markup")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """All current inline keyboard buttons, row by row."""
        markup = self.reply_markup or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]

    @property
    def callback_data(self) -> list[str]:
        """callback_data of all current buttons."""
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]


@dataclass(frozen=True)
class Edit:
    """One successful edit of a message by the bot."""

    method: str
    chat_id: int
    message_id: int
    params: dict[str, Any]
    ts: float

    @property
    def text(self) -> str | None:
        """New text or caption exactly as the bot sent it (None for markup/media-only edits)."""
        return self.params.get("text", self.params.get("caption"))


@dataclass(frozen=True)
class GetUpdatesCall:
    """One getUpdates call and the update ids it returned."""

    params: dict[str, Any]
    update_ids: tuple[int, ...]
    ts: float
