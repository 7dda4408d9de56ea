"""The loopback fake Telegram Bot API (tests/fakes) in a *separate process*, for the bot benchmarks.

The bot process's RSS and event loop are then measured alone (Telegram is another machine in real life):
`ApiProcess().new_api()` gives a `FakeApi`, a proxy whose async helpers never block the bot's loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.managers import BaseManager
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Sent:
    """A message the bot sent, as the benchmarks need it."""

    chat_id: int
    message_id: int
    reply_to: int | None
    parse_mode: str | None
    ts: float
    text: str
    callback_data: tuple[str, ...]


class RemoteApi:
    """Runs inside the API process: a started FakeBotApi and the calls the benchmarks make on it."""

    def __init__(self, spec_path: str) -> None:
        """Start a fresh fake Bot API server."""
        from tests.fakes.botapi import FakeBotApi

        self.api = FakeBotApi(spec_path).start()

    def info(self) -> tuple[str, str]:
        """(root URL, token)."""
        return self.api.root_url, self.api.token

    def make_user(self, user_id: int, name: str, language: str) -> dict[str, Any]:
        """A Telegram user."""
        return self.api.make_user(user_id, name, language)

    def send_command(self, user: dict[str, Any], command: str) -> dict[str, Any]:
        """The user sends /command."""
        return self.api.user_sends_command(user, command)

    def press(self, user: dict[str, Any], message_id: int, data: str) -> None:
        """The user presses a button."""
        self.api.user_presses_button(user, message_id, data)

    def send_video(self, user: dict[str, Any], path: str, duration: int, width: int, height: int) -> int:
        """The user sends a video read from `path` (in this process); returns its message id."""
        sent = self.api.user_sends_video(user, Path(path), duration=duration, width=width, height=height)
        return int(sent["message_id"])

    def send_video_message(
        self, user: dict[str, Any], path: str, duration: int, width: int, height: int
    ) -> dict[str, Any]:
        """The user sends a video read from `path`; returns the whole Message (file ids included)."""
        return self.api.user_sends_video(user, Path(path), duration=duration, width=width, height=height)

    def sent(self, since: int = 0) -> list[Sent]:
        """Messages the bot sent, from position `since` on."""
        return [
            Sent(
                m.chat_id,
                m.message_id,
                m.reply_to_message_id,
                m.params.get("parse_mode"),
                m.ts,
                m.text[:200],
                tuple(m.callback_data),
            )
            for m in self.api.sent_messages()[since:]
        ]

    def sent_count(self) -> int:
        """How many messages the bot sent."""
        return len(self.api.sent_messages())

    def violations(self) -> list[str]:
        """Requests the fake rejected (400/404)."""
        return [f"{v.method}: {v.description}" for v in self.api.violations]

    def stop(self) -> None:
        """Stop the server."""
        self.api.stop()


class _ApiManager(BaseManager):
    """Hosts RemoteApi objects in a child process."""


_ApiManager.register("RemoteApi", RemoteApi)


def spec_path() -> Path:
    """The Bot API reference the fake validates against."""
    from tests.fixtures.botapi import find_telegram_api_spec

    return find_telegram_api_spec()


@dataclass
class FakeApi:
    """A proxy to a RemoteApi in the API process, with async helpers that never block the bot's loop."""

    remote: Any
    root_url: str
    token: str

    async def call(self, name: str, *args: Any) -> Any:
        """Call a RemoteApi method on a thread (the proxy blocks)."""
        return await asyncio.to_thread(getattr(self.remote, name), *args)

    async def wait_sent(
        self, predicate: Callable[[Sent], bool], count: int = 1, timeout_s: float = 60.0, poll_s: float = 0.05
    ) -> list[Sent]:
        """Wait until `count` sent messages match; returns them."""
        deadline = time.monotonic() + timeout_s
        seen: list[Sent] = []
        while True:
            seen.extend(await self.call("sent", len(seen)))
            matched = [m for m in seen if predicate(m)]
            if len(matched) >= count:
                return matched
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(matched)} of {count} expected messages after {timeout_s:.0f} s")
            await asyncio.sleep(poll_s)


class ApiProcess:
    """The child process hosting fake Bot API servers."""

    def __init__(self) -> None:
        """Start the process (spawned: no threads or sockets of ours are inherited)."""
        self.manager = _ApiManager(ctx=get_context("spawn"))
        self.manager.start()
        self.pid = self.manager._process.pid  # type: ignore[attr-defined]

    def new_api(self) -> FakeApi:
        """A fresh fake Bot API server in the child process."""
        remote = self.manager.RemoteApi(str(spec_path()))  # type: ignore[attr-defined]
        root_url, token = remote.info()
        return FakeApi(remote, root_url, token)

    def shutdown(self) -> None:
        """Stop the child process."""
        self.manager.shutdown()
