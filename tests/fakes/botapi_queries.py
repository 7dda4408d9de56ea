"""What tests read from the fake Bot API, and how they wait for it (mixin for FakeBotApi)."""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from tests.fakes.botapi_drafts import Draft
from tests.fakes.botapi_methods import MethodHandlers
from tests.fakes.botapi_records import Call, Edit, SentMessage, UploadedFile
from tests.fakes.botapi_spec import UploadedPart
from tests.fakes.botapi_world import World

T = TypeVar("T")


class RecordQueries:
    """Mixin for FakeBotApi: copies of the records taken under the lock, and polling waits on them."""

    _lock: threading.RLock
    _world: World
    _methods: MethodHandlers
    calls: list[Call]

    # Queries for tests

    def sent_messages(self, chat_id: int | None = None, *, method: str | None = None) -> list[SentMessage]:
        """Messages the bot created (sendMessage, sendDocument, sendPhoto, copyMessage, ...), in order."""
        with self._lock:
            return [
                sent
                for sent in self._world.sent
                if (chat_id is None or sent.chat_id == chat_id) and (method is None or sent.method == method)
            ]

    def last_message(self, chat_id: int | None = None) -> SentMessage | None:
        """The latest message the bot created in a chat (or anywhere)."""
        sent = self.sent_messages(chat_id)
        return sent[-1] if sent else None

    def edits(self, chat_id: int | None = None) -> list[Edit]:
        """Successful edits (text, caption, markup, media), in order."""
        with self._lock:
            return [edit for edit in self._world.edits if chat_id is None or edit.chat_id == chat_id]

    def drafts(self, chat_id: int | None = None) -> list[Draft]:
        """Accepted message drafts (sendMessageDraft), in order."""
        with self._lock:
            return [draft for draft in self._world.drafts if chat_id is None or draft.chat_id == chat_id]

    def chat_actions(self, chat_id: int | None = None) -> list[str]:
        """Chat actions (typing, upload_video, ...) sent to a chat, in order."""
        with self._lock:
            return [action for cid, action, _ in self._world.chat_actions if chat_id is None or cid == chat_id]

    def chat_action_times(self, chat_id: int) -> list[tuple[str, float]]:
        """Chat actions with their monotonic timestamps (to check they are renewed every < 5 s)."""
        with self._lock:
            return [(action, ts) for cid, action, ts in self._world.chat_actions if cid == chat_id]

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Decoded parameters of every call to `method` (case-insensitive), in order."""
        with self._lock:
            return [call.params for call in self.calls if call.method.lower() == method.lower()]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """Current state of any message in a chat (None once deleted)."""
        with self._lock:
            found = self._world.find_message(chat_id, message_id)
            return copy.deepcopy(found) if found else None

    @property
    def uploads(self) -> list[UploadedFile]:
        """Files the bot uploaded (documents, photos, ...), in order."""
        with self._lock:
            return list(self._world.uploads)

    def commands(self, *, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        """Bot commands set for a scope (default scope if None) and language ("" = all languages)."""
        key = self._methods._commands_key({"scope": scope, "language_code": language_code})
        with self._lock:
            return copy.deepcopy(self._world.commands.get(key, []))

    def callback_answer(self, query_id: str) -> dict[str, Any] | None:
        """The bot's answerCallbackQuery parameters for a query, if it answered."""
        with self._lock:
            return self._world.callback_answers.get(query_id)

    def unanswered_callback_queries(self) -> list[str]:
        """Callback query ids the bot has not answered (clients show a spinner until it does)."""
        with self._lock:
            return [qid for qid in self._world.callback_queries if qid not in self._world.callback_answers]

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot."""
        with self._lock:
            return copy.deepcopy(self._world.pending)

    def delivery_count(self, update_id: int) -> int:
        """How many times an update was handed out by getUpdates (> 1 means re-delivered)."""
        with self._lock:
            return self._world.deliveries[update_id]

    @property
    def dropped_updates(self) -> list[tuple[str, tuple[int, ...]]]:
        """(reason, update ids) for updates dropped by drop_pending_updates or allowed_updates."""
        with self._lock:
            return list(self._world.dropped_updates)

    @property
    def drop_pending_requests(self) -> list[Call]:
        """Calls that asked to drop pending updates (setWebhook/deleteWebhook drop_pending_updates=True)."""
        with self._lock:
            return [call for call in self.calls if call.params.get("drop_pending_updates") is True]

    def describe(self, last: int = 15) -> str:
        """The last calls, one per line, for assertion messages."""
        with self._lock:
            calls = self.calls[-last:]
        lines = []
        for call in calls:
            shown = {k: v for k, v in call.params.items() if not isinstance(v, UploadedPart)}
            lines.append(f"{call.method} {call.status or '...'} {shown}{f' -> {call.error}' if call.error else ''}")
        return "\n".join(lines)

    # Waiting

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain timeout argument reads best in tests
        *,
        what: str = "",
    ) -> T:
        """Poll `predicate` until it returns something truthy; AssertionError with recent calls on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if result := self._poll(predicate, deadline, timeout, what):
                return result
            await asyncio.sleep(0.01)

    def wait_for_sync(self, predicate: Callable[[], T], timeout: float = 5.0, *, what: str = "") -> T:
        """Blocking variant of wait_for for synchronous tests."""
        deadline = time.monotonic() + timeout
        while not (result := self._poll(predicate, deadline, timeout, what)):
            time.sleep(0.01)
        return result

    def _poll(self, predicate: Callable[[], T], deadline: float, timeout: float, what: str) -> T:
        """One look: the predicate's result (falsy: keep waiting); AssertionError once past the deadline."""
        result = predicate()
        if not result and time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what or predicate}\nrecent calls:\n{self.describe()}"
            )
        return result

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - same meaning as wait_for's
        *,
        after: int = 0,
    ) -> SentMessage:
        """The first message the bot sent to `chat_id` (skipping the first `after`) that matches."""

        def find() -> SentMessage | None:
            """First match, if any."""
            for sent in self.sent_messages(chat_id)[after:]:
                if predicate is None or predicate(sent):
                    return sent
            return None

        return await self.wait_for(find, timeout, what=f"a message to chat {chat_id}")

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109 - same meaning as wait_for's
    ) -> list[SentMessage]:
        """Wait until the bot has sent at least `count` messages to `chat_id`; returns them all."""
        return await self.wait_for(
            lambda: (sent := self.sent_messages(chat_id)) and len(sent) >= count and sent,
            timeout,
            what=f"{count} messages to chat {chat_id}",
        )
