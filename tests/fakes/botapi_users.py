"""The user side of the fake Bot API: people who message the bot, send videos and press buttons.

Every helper builds the update exactly as Telegram would deliver it (field names from the
reference, per-chat increasing message ids, integer dates) and returns the Telegram dict it created.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
import threading
import time
from pathlib import Path
from typing import Any

from tests.fakes.botapi_files import image_size
from tests.fakes.botapi_records import SentMessage
from tests.fakes.botapi_world import World

MessageRef = SentMessage | dict[str, Any] | int
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")
_VIDEO_KINDS = ("video", "video_note", "animation", "document")


def _read(data_or_path: bytes | str | Path) -> bytes:
    """Bytes given directly or read from a path."""
    if isinstance(data_or_path, bytes):
        return data_or_path
    return Path(data_or_path).read_bytes()


def _command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entity Telegram clients attach to text starting with /command."""
    match = _COMMAND_RE.match(text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": len(match.group(0))}]


class UserActions:
    """Mixin for FakeBotApi: simulated users acting in chats with the bot."""

    _lock: threading.RLock
    _world: World
    bot_user: dict[str, Any]

    _user_ids = itertools.count(100_000_001)
    _group_ids = itertools.count(1)

    def _notify(self) -> None:
        """Wake long-polling getUpdates calls (implemented by FakeBotApi)."""
        raise NotImplementedError

    # People and chats

    def make_user(
        self,
        user_id: int | None = None,
        first_name: str = "Alice",
        language_code: str | None = "en",
        *,
        last_name: str | None = None,
        username: str | None = None,
        started: bool = True,
    ) -> dict[str, Any]:
        """A Telegram User; with started=True their private chat with the bot exists (they pressed Start)."""
        user: dict[str, Any] = {"id": user_id or next(self._user_ids), "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        if started:
            with self._lock:
                self._world.add_chat(self._private_chat(user))
        return user

    def make_group(
        self, chat_id: int | None = None, title: str = "Rehab group", *, supergroup: bool = False
    ) -> dict[str, Any]:
        """A group (or supergroup) chat the bot is a member of."""
        number = next(self._group_ids)
        if chat_id is None:
            chat_id = -(1_000_000_000_000 + number) if supergroup else -(4_000_000_000 + number)
        chat = {"id": chat_id, "type": "supergroup" if supergroup else "group", "title": title}
        with self._lock:
            self._world.add_chat(chat)
        return dict(chat)

    @staticmethod
    def _private_chat(user: dict[str, Any]) -> dict[str, Any]:
        """The private chat object for a user."""
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        return chat

    def user_blocks_bot(self, user: dict[str, Any]) -> dict[str, Any]:
        """The user blocks the bot: later sends get 403 and a my_chat_member update arrives."""
        return self._set_blocked(user, blocked=True)

    def user_unblocks_bot(self, user: dict[str, Any]) -> dict[str, Any]:
        """The user restarts the bot after blocking it."""
        return self._set_blocked(user, blocked=False)

    def _set_blocked(self, user: dict[str, Any], *, blocked: bool) -> dict[str, Any]:
        """Flip the blocked flag and enqueue the matching my_chat_member update."""
        old = {"status": "member", "user": dict(self.bot_user)}
        new = {"status": "kicked", "user": dict(self.bot_user), "until_date": 0}
        if not blocked:
            old, new = new, old
        with self._lock:
            state = self._world.add_chat(self._private_chat(user))
            state.blocked = blocked
            body = {
                "chat": dict(state.chat),
                "from": dict(user),
                "date": int(time.time()),
                "old_chat_member": old,
                "new_chat_member": new,
            }
            update = self._world.enqueue({"my_chat_member": body})
        self._notify()
        return update

    # Messages

    def enqueue_update(self, body: dict[str, Any]) -> dict[str, Any]:
        """Low level: queue an update body such as {"message": {...}}; returns it with its update_id."""
        with self._lock:
            update = self._world.enqueue(body)
        self._notify()
        return copy.deepcopy(update)

    def _post(
        self,
        user: dict[str, Any],
        content: dict[str, Any],
        *,
        chat: dict[str, Any] | None = None,
        reply_to: MessageRef | None = None,
    ) -> dict[str, Any]:
        """Store a user's message in the chat and queue it as a `message` update."""
        with self._lock:
            state = self._world.add_chat(chat or self._private_chat(user))
            message: dict[str, Any] = {"from": dict(user)}
            if reply_to is not None:
                target = self._world.find_message(state.chat["id"], self._message_id(reply_to))
                if target is None:
                    raise AssertionError(f"cannot reply to unknown message {reply_to!r}")
                message["reply_to_message"] = {
                    k: v for k, v in copy.deepcopy(target).items() if k != "reply_to_message"
                }
            message.update(content)
            stored = self._world.add_message(state, message)
            # Group privacy mode: other group chatter is stored (it can be replied to) but never delivered.
            if self._world.reaches_bot(stored):
                self._world.enqueue({"message": stored})
        self._notify()
        return copy.deepcopy(stored)

    @staticmethod
    def _message_id(ref: MessageRef) -> int:
        """Message id from a SentMessage, a Message dict or an int."""
        if isinstance(ref, SentMessage):
            return ref.message_id
        if isinstance(ref, dict):
            return int(ref["message_id"])
        return int(ref)

    def user_sends_text(
        self,
        user: dict[str, Any],
        text: str,
        *,
        reply_to: MessageRef | None = None,
        chat: dict[str, Any] | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A text message; text starting with /command gets its bot_command entity like clients add."""
        content: dict[str, Any] = {"text": text}
        found = entities if entities is not None else _command_entities(text)
        if found:
            content["entities"] = found
        return self._post(user, content, chat=chat, reply_to=reply_to)

    def user_sends_group_text(self, user: dict[str, Any], group: dict[str, Any], text: str) -> dict[str, Any]:
        """A text message in a group chat (see make_group); with group privacy on (the default) only
        commands, @mentions of the bot and replies to it reach the bot."""
        return self.user_sends_text(user, text, chat=group)

    def user_sends_command(
        self, user: dict[str, Any], command: str, payload: str | None = None, *, chat: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A /command, optionally with a payload (e.g. a deep-link `/start <payload>`)."""
        command = command if command.startswith("/") else f"/{command}"
        text = f"{command} {payload}" if payload else command
        return self.user_sends_text(user, text, chat=chat)

    def _register_file(
        self,
        data: bytes,
        *,
        folder: str,
        file_name: str | None,
        mime_type: str | None,
        declared_size: int | None,
        file_unique_id: str | None,
    ) -> dict[str, Any]:
        """Store bytes as a downloadable file; returns the common file_id/file_unique_id/file_size fields."""
        with self._lock:
            stored = self._world.files.add(
                data,
                folder=folder,
                file_name=file_name,
                mime_type=mime_type,
                size=declared_size,
                file_unique_id=file_unique_id,
            )
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": stored.size}

    @staticmethod
    def _caption(caption: str | None, media_group_id: str | None) -> dict[str, Any]:
        """Caption and media group fields, when given."""
        extra: dict[str, Any] = {}
        if media_group_id is not None:
            extra["media_group_id"] = str(media_group_id)
        if caption is not None:
            extra["caption"] = caption
        return extra

    def user_sends_video(
        self,
        user: dict[str, Any],
        data_or_path: bytes | str | Path,
        *,
        kind: str = "video",
        mime_type: str = "video/mp4",
        file_name: str | None = None,
        duration: int = 5,
        width: int = 640,
        height: int = 480,
        declared_size: int | None = None,
        caption: str | None = None,
        media_group_id: str | None = None,
        reply_to: MessageRef | None = None,
        chat: dict[str, Any] | None = None,
        file_unique_id: str | None = None,
    ) -> dict[str, Any]:
        """A video as a video, round video_note, animation (GIF-like) or uncompressed document.

        Telegram does not probe the file: duration/width/height are what the client claims, so tests
        pass them; `declared_size` makes file_size lie (getFile then refuses > 20 MB in cloud mode).
        """
        if kind not in _VIDEO_KINDS:
            raise ValueError(f"kind must be one of {_VIDEO_KINDS}")
        data = _read(data_or_path)
        if kind == "document" and file_name is None:
            file_name = Path(data_or_path).name if not isinstance(data_or_path, bytes) else "video.mp4"
        folder = {"video": "videos", "video_note": "video_notes", "animation": "animations"}.get(kind, "documents")
        note = kind == "video_note"
        base = self._register_file(
            data,
            folder=folder,
            file_name=None if note else file_name,
            mime_type=None if note else mime_type,
            declared_size=declared_size,
            file_unique_id=file_unique_id,
        )
        size = base.pop("file_size")
        info: dict[str, Any] = dict(base)
        if note:
            info.update(length=width, duration=duration)
        elif kind in ("video", "animation"):
            info.update(width=width, height=height, duration=duration)
        if not note:
            if file_name:
                info["file_name"] = file_name
            info["mime_type"] = mime_type
        info["file_size"] = size
        content: dict[str, Any] = {kind: info}
        if kind == "animation":
            # Telegram also sets `document` for animations, for backward compatibility.
            content["document"] = {k: v for k, v in info.items() if k not in ("width", "height", "duration")}
        if not note:
            content.update(self._caption(caption, media_group_id))
        return self._post(user, content, chat=chat, reply_to=reply_to)

    def user_sends_audio(
        self,
        user: dict[str, Any],
        data_or_path: bytes | str | Path,
        *,
        voice: bool = False,
        duration: int = 3,
        mime_type: str | None = None,
        file_name: str | None = "audio.mp3",
        caption: str | None = None,
        declared_size: int | None = None,
        chat: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An audio file, or a voice message with voice=True."""
        mime = mime_type or ("audio/ogg" if voice else "audio/mpeg")
        base = self._register_file(
            _read(data_or_path),
            folder="voice" if voice else "music",
            file_name=None if voice else file_name,
            mime_type=mime,
            declared_size=declared_size,
            file_unique_id=None,
        )
        size = base.pop("file_size")
        info: dict[str, Any] = {**base, "duration": duration}
        if not voice and file_name:
            info["file_name"] = file_name
        info.update(mime_type=mime, file_size=size)
        content: dict[str, Any] = {"voice" if voice else "audio": info, **self._caption(caption, None)}
        return self._post(user, content, chat=chat)

    def user_sends_document(
        self,
        user: dict[str, Any],
        data_or_path: bytes | str | Path,
        *,
        file_name: str | None = None,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        declared_size: int | None = None,
        chat: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A file sent as a document."""
        if file_name is None:
            file_name = Path(data_or_path).name if not isinstance(data_or_path, bytes) else "file.bin"
        base = self._register_file(
            _read(data_or_path),
            folder="documents",
            file_name=file_name,
            mime_type=mime_type,
            declared_size=declared_size,
            file_unique_id=None,
        )
        size = base.pop("file_size")
        info = {**base, "file_name": file_name, "mime_type": mime_type, "file_size": size}
        return self._post(user, {"document": info, **self._caption(caption, None)}, chat=chat)

    def user_sends_photo(
        self,
        user: dict[str, Any],
        data_or_path: bytes | str | Path,
        *,
        caption: str | None = None,
        chat: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A compressed photo (one PhotoSize)."""
        data = _read(data_or_path)
        width, height = image_size(data)
        base = self._register_file(
            data, folder="photos", file_name=None, mime_type=None, declared_size=None, file_unique_id=None
        )
        photo = [{**base, "width": width, "height": height}]
        return self._post(user, {"photo": photo, **self._caption(caption, None)}, chat=chat)

    def user_presses_button(
        self, user: dict[str, Any], message: MessageRef, callback_data: str, *, forged: bool = False
    ) -> dict[str, Any]:
        """Press an inline button the bot's message currently shows; returns the CallbackQuery.

        `forged=True` sends callback data the message does not offer, as a malicious client could.
        """
        message_id = self._message_id(message)
        chat_id = message.chat_id if isinstance(message, SentMessage) else None
        if isinstance(message, dict):
            chat_id = message["chat"]["id"]
        with self._lock:
            current = self._world.find_message(chat_id if chat_id is not None else user["id"], message_id)
            if current is None:
                raise AssertionError(f"message {message_id} does not exist (deleted?)")
            markup = current.get("reply_markup") or {}
            offered = [b.get("callback_data") for row in markup.get("inline_keyboard", []) for b in row]
            if callback_data not in offered and not forged:
                raise AssertionError(f"no button with callback_data {callback_data!r}; the message offers {offered}")
            digest = hashlib.sha256(f"{current['chat']['id']}".encode()).hexdigest()
            query = {
                "id": self._world.new_callback_query_id(),
                "from": dict(user),
                "message": copy.deepcopy(current),
                "chat_instance": str(int(digest[:15], 16)),
                "data": callback_data,
            }
            self._world.callback_queries[query["id"]] = query
            self._world.enqueue({"callback_query": query})
        self._notify()
        return copy.deepcopy(query)
