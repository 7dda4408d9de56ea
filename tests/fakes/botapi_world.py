"""The simulated Telegram side: chats, their messages, pending updates and what the bot did.

Not thread-safe by itself: FakeBotApi guards every access with one lock, because the HTTP server
runs in its own thread while tests call the user-side helpers from theirs.
"""

from __future__ import annotations

import copy
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.botapi_files import FileStore
from tests.fakes.botapi_records import ApiError, Edit, SentMessage, UploadedFile, bad_request

# Update types Telegram leaves out unless allowed_updates names them explicitly.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass
class ChatState:
    """One chat as the bot sees it."""

    chat: dict[str, Any]
    next_message_id: int = 1
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    blocked: bool = False


def update_type(update: dict[str, Any]) -> str:
    """The kind of an update: the one key besides update_id."""
    return next(key for key in update if key != "update_id")


def without_reply(message: dict[str, Any]) -> dict[str, Any]:
    """A message as embedded in reply_to_message: Telegram omits its own reply_to_message."""
    return {key: value for key, value in copy.deepcopy(message).items() if key != "reply_to_message"}


class World:
    """Chats, messages, files, updates and the bot's recorded actions."""

    def __init__(
        self, bot_user: dict[str, Any], files: FileStore, *, first_update_id: int, group_privacy: bool = True
    ) -> None:
        """Start with no chats and no updates."""
        self.bot_user = bot_user
        self.files = files
        self.group_privacy = group_privacy
        self.chats: dict[int, ChatState] = {}
        self.usernames: dict[str, int] = {}
        self.sent: list[SentMessage] = []
        self.sent_index: dict[tuple[int, int], SentMessage] = {}
        self.edits: list[Edit] = []
        self.drafts: list[Any] = []  # botapi_drafts.Draft, in order
        self.chat_actions: list[tuple[int, str, float]] = []
        self.uploads: list[UploadedFile] = []
        self.callback_queries: dict[str, dict[str, Any]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.bot_texts: dict[tuple[str, str], str] = {}
        self.webhook: dict[str, Any] = {}
        self.pending: list[dict[str, Any]] = []
        self.allowed_updates: list[str] = []
        self.deliveries: Counter[int] = Counter()
        self.dropped_updates: list[tuple[str, tuple[int, ...]]] = []
        self._update_ids = itertools.count(first_update_id)
        self._query_ids = itertools.count(4_000_000_000_000_000_001)

    # Chats and messages

    def add_chat(self, chat: dict[str, Any]) -> ChatState:
        """Register a chat (idempotent); a user's private chat exists once they have started the bot."""
        state = self.chats.get(chat["id"])
        if state is None:
            state = self.chats[chat["id"]] = ChatState(chat=dict(chat))
            if chat.get("username"):
                self.usernames[f"@{chat['username']}".lower()] = chat["id"]
        return state

    def chat_for(self, chat_id: Any, *, sending: bool = True) -> ChatState:
        """Resolve chat_id (int or @username); 400 for unknown chats, 403 when the user blocked the bot."""
        if isinstance(chat_id, str):
            resolved = self.usernames.get(chat_id.lower())
            if resolved is None and chat_id.lstrip("-").isdigit():
                resolved = int(chat_id)
            chat_id = resolved
        state = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if state is None:
            raise bad_request("chat not found", "state")
        if sending and state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return state

    def add_message(self, state: ChatState, message: dict[str, Any]) -> dict[str, Any]:
        """Store a new message in a chat, giving it the chat's next id and the current date."""
        message_id = state.next_message_id
        state.next_message_id += 1
        stored = {"message_id": message_id, "date": int(time.time()), **message, "chat": dict(state.chat)}
        # Keep Telegram's usual key order: message_id, from, chat, date, then content.
        ordered = {"message_id": message_id}
        if "from" in stored:
            ordered["from"] = stored["from"]
        ordered.update({"chat": stored["chat"], "date": stored["date"]})
        ordered.update({k: v for k, v in stored.items() if k not in ordered})
        state.messages[message_id] = ordered
        return ordered

    def find_message(self, chat_id: Any, message_id: Any) -> dict[str, Any] | None:
        """A stored message, or None."""
        state = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if state is None or not isinstance(message_id, int):
            return None
        return state.messages.get(message_id)

    def record_sent(self, method: str, params: dict[str, Any], message: dict[str, Any], ts: float) -> SentMessage:
        """Remember a message the bot created."""
        sent = SentMessage(method=method, params=params, message=message, ts=ts)
        self.sent.append(sent)
        self.sent_index[(message["chat"]["id"], message["message_id"])] = sent
        return sent

    def reaches_bot(self, message: dict[str, Any]) -> bool:
        """Whether Telegram delivers a message to the bot: in groups, privacy mode passes only
        commands (for this bot), mentions of it and replies to its messages."""
        if message["chat"]["type"] not in ("group", "supergroup") or not self.group_privacy:
            return True
        text = str(message.get("text", message.get("caption", "")))
        username = f"@{self.bot_user['username']}".lower()
        command = text.split(maxsplit=1)[0].lower() if text.startswith("/") else ""
        if command and ("@" not in command or command.endswith(username)):
            return True
        replied = message.get("reply_to_message", {}).get("from", {})
        return username in text.lower() or replied.get("id") == self.bot_user["id"]

    # Updates

    def enqueue(self, body: dict[str, Any]) -> dict[str, Any]:
        """Append an update (body such as {"message": {...}}) with the next update_id."""
        update = {"update_id": next(self._update_ids), **copy.deepcopy(body)}
        self.pending.append(update)
        return update

    def new_callback_query_id(self) -> str:
        """A fresh callback query id (Telegram uses long decimal strings)."""
        return str(next(self._query_ids))

    def confirm(self, offset: int) -> None:
        """Apply getUpdates' offset: forget updates it confirms."""
        if offset > 0:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        elif offset < 0:
            self.pending = self.pending[offset:]

    def set_allowed_updates(self, allowed: list[str] | None) -> None:
        """Remember allowed_updates; None keeps the previous setting, [] restores the default."""
        if allowed is not None:
            self.allowed_updates = list(allowed)

    def is_allowed(self, update: dict[str, Any]) -> bool:
        """Whether the current allowed_updates setting lets this update through."""
        kind = update_type(update)
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in OPT_IN_UPDATES

    def available(self, limit: int) -> list[dict[str, Any]]:
        """Unconfirmed updates to hand out; ones filtered by allowed_updates are dropped like Telegram does."""
        kept = [u for u in self.pending if self.is_allowed(u)]
        skipped = tuple(u["update_id"] for u in self.pending if not self.is_allowed(u))
        if skipped:
            self.dropped_updates.append(("allowed_updates", skipped))
        self.pending = kept
        batch = copy.deepcopy(kept[: max(1, min(limit, 100))])
        for update in batch:
            self.deliveries[update["update_id"]] += 1
        return batch

    def drop_pending(self, reason: str) -> None:
        """Forget all pending updates (drop_pending_updates=True)."""
        self.dropped_updates.append((reason, tuple(u["update_id"] for u in self.pending)))
        self.pending = []
