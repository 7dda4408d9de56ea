"""Faults the fake Bot API can inject, and its optional per-chat flood control."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.botapi_records import ApiError


@dataclass(frozen=True)
class RetryAfter:
    """Answer 429 "Too Many Requests: retry after N" with parameters.retry_after."""

    seconds: int = 1

    def error(self) -> ApiError:
        """The 429 answer."""
        return ApiError(
            429,
            f"Too Many Requests: retry after {self.seconds}",
            parameters={"retry_after": self.seconds},
        )


@dataclass(frozen=True)
class ServerError:
    """Answer a 5xx; 500 comes with Telegram's JSON body, other codes with a proxy's HTML page."""

    status: int = 500
    json_body: bool | None = None

    @property
    def is_json(self) -> bool:
        """Whether the body is Telegram JSON (default: only for 500)."""
        return self.status == 500 if self.json_body is None else self.json_body


@dataclass(frozen=True)
class Forbidden:
    """Answer 403, by default as if the user had blocked the bot."""

    description: str = "Forbidden: bot was blocked by the user"

    def error(self) -> ApiError:
        """The 403 answer."""
        return ApiError(403, self.description)


@dataclass(frozen=True)
class TelegramError:
    """Answer any Telegram error, e.g. TelegramError(400, "Bad Request: message to edit not found")."""

    code: int
    description: str

    def error(self) -> ApiError:
        """The error answer."""
        return ApiError(self.code, self.description)


@dataclass(frozen=True)
class Slow:
    """Wait before answering normally; with perform_first the request takes effect before the wait."""

    seconds: float
    perform_first: bool = False


@dataclass(frozen=True)
class Dropped:
    """Close the connection without an answer; with performed=True the request took effect first."""

    performed: bool = False


Fault = RetryAfter | ServerError | Forbidden | TelegramError | Slow | Dropped


@dataclass
class FaultRule:
    """An injected fault waiting for matching requests."""

    method: str
    fault: Fault
    remaining: int | None
    chat_id: int | str | None = None

    def matches(self, method: str, chat_id: Any) -> bool:
        """Whether this rule applies to a call of `method` for `chat_id`."""
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method not in ("*", method.lower()):
            return False
        return self.chat_id is None or str(self.chat_id) == str(chat_id)


# Methods that count against Telegram's per-chat message limit (edits included).
FLOOD_COUNTED = frozenset(
    name.lower()
    for name in (
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVideo",
        "sendAnimation",
        "sendAudio",
        "sendVoice",
        "sendVideoNote",
        "sendMediaGroup",
        "sendSticker",
        "sendLocation",
        "sendPoll",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageMedia",
        "editMessageReplyMarkup",
    )
)


@dataclass
class FloodControl:
    """Per-chat flood limit: more than `per_chat` counted calls within `window_s` to one chat get 429."""

    per_chat: int = 1
    window_s: float = 1.0
    retry_after: int | None = None
    methods: frozenset[str] = FLOOD_COUNTED
    _history: dict[str, deque[float]] = field(default_factory=dict, repr=False)

    def check(self, method: str, chat_id: Any, now: float) -> RetryAfter | None:
        """Count the call; return the 429 to answer when it exceeds the limit (then it is not counted)."""
        if method.lower() not in self.methods or chat_id is None:
            return None
        history = self._history.setdefault(str(chat_id), deque())
        while history and now - history[0] >= self.window_s:
            history.popleft()
        if len(history) >= self.per_chat:
            wait = self.retry_after or max(1, math.ceil(self.window_s - (now - history[0])))
            return RetryAfter(wait)
        history.append(now)
        return None
