"""Bot API methods as the fake implements them: realistic results built from the simulated world."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from tests.fakes.botapi_drafts import DraftMethods
from tests.fakes.botapi_media import MediaFiles
from tests.fakes.botapi_records import Edit, SentMessage, bad_request
from tests.fakes.botapi_request import Request
from tests.fakes.botapi_settings import BotSettingsMethods
from tests.fakes.botapi_spec import BotApiSpec
from tests.fakes.botapi_world import ChatState, World, without_reply
from tests.fakes.entities import ParsedText

# sendX method -> (parameter holding the file, Message field, folder on the server)
MEDIA_METHODS: dict[str, tuple[str, str, str]] = {
    "senddocument": ("document", "document", "documents"),
    "sendphoto": ("photo", "photo", "photos"),
    "sendvideo": ("video", "video", "videos"),
    "sendanimation": ("animation", "animation", "animations"),
    "sendaudio": ("audio", "audio", "music"),
    "sendvoice": ("voice", "voice", "voice"),
    "sendvideonote": ("video_note", "video_note", "video_notes"),
}
_MEDIA_KEYS = ("animation", "audio", "document", "photo", "video", "video_note", "voice", "sticker")
_CONTENT_KEYS = ("text", "entities", "caption", "caption_entities", *_MEDIA_KEYS)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a content and reply markup of the current message"
)


def _text_content(parsed: ParsedText, key: str = "text") -> dict[str, Any]:
    """Message fields for a text or caption: visible text plus entities when there are any."""
    content: dict[str, Any] = {key: parsed.text}
    if parsed.entities:
        content["entities" if key == "text" else "caption_entities"] = parsed.entities
    return content


class MethodHandlers(MediaFiles, BotSettingsMethods, DraftMethods):
    """Implements Bot API methods against a World; unknown-but-valid methods get a generic answer."""

    def __init__(self, world: World, spec: BotApiSpec, *, local_mode: bool) -> None:
        """Bind to the world the methods act on."""
        self.world = world
        self.spec = spec
        self.local_mode = local_mode
        self._handlers: dict[str, Callable[[Request], Any]] = {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "sendmessagedraft": self._send_message_draft,
            "editmessagetext": self._edit_text,
            "editmessagecaption": self._edit_caption,
            "editmessagereplymarkup": self._edit_reply_markup,
            "editmessagemedia": self._edit_media,
            "deletemessage": self._delete_message,
            "sendchataction": self._send_chat_action,
            "answercallbackquery": self._answer_callback_query,
            "getfile": self._get_file,
            "copymessage": self._copy_message,
            "forwardmessage": self._forward_message,
            "sendmediagroup": self._send_media_group,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setchatmenubutton": self._set_menu_button,
            "getchatmenubutton": self._get_menu_button,
            "getchat": self._get_chat,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
        }
        for name in MEDIA_METHODS:
            self._handlers[name] = self._send_media
        for kind, key in (("name", "name"), ("description", "description"), ("shortdescription", "short_description")):
            self._handlers[f"setmy{kind}"] = self._bot_text_setter(key)
            self._handlers[f"getmy{kind}"] = self._bot_text_getter(key)

    def handle(self, request: Request) -> Any:
        """Perform the call and return its `result`."""
        handler = self._handlers.get(request.method.name.lower(), self._generic)
        return handler(request)

    # Helpers

    def _chat(self, request: Request, key: str = "chat_id") -> ChatState:
        """The target chat of a request."""
        return self.world.chat_for(request.params.get(key))

    def _reply_to(self, state: ChatState, params: dict[str, Any]) -> dict[str, Any] | None:
        """The message a send replies to (reply_parameters or legacy reply_to_message_id)."""
        reply = params.get("reply_parameters")
        if reply is None and params.get("reply_to_message_id") is not None:
            reply = {
                "message_id": params["reply_to_message_id"],
                "allow_sending_without_reply": params.get("allow_sending_without_reply", False),
            }
        if not reply:
            return None
        chat_id = reply.get("chat_id", state.chat["id"])
        target = self.world.find_message(chat_id if isinstance(chat_id, int) else state.chat["id"], reply["message_id"])
        if target is None:
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found", "state")
        return target

    def _new_bot_message(
        self, request: Request, content: dict[str, Any], *, state: ChatState | None = None
    ) -> tuple[dict[str, Any], SentMessage]:
        """Create a message from the bot in the request's chat and record it."""
        state = state or self._chat(request)
        params = request.params
        message: dict[str, Any] = {"from": dict(self.world.bot_user)}
        target = self._reply_to(state, params)
        if target is not None:
            message["reply_to_message"] = without_reply(target)
        message.update(content)
        markup = params.get("reply_markup")
        # Telegram echoes only inline keyboards in the returned Message.
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = copy.deepcopy(markup)
        stored = self.world.add_message(state, message)
        sent = self.world.record_sent(request.method.name, params, stored, request.ts)
        return stored, sent

    def _editable(self, request: Request) -> tuple[dict[str, Any], SentMessage | None] | None:
        """The message an edit targets; None for inline messages (answered with True)."""
        params = request.params
        if params.get("inline_message_id"):
            return None
        if params.get("chat_id") is None or params.get("message_id") is None:
            raise bad_request("message identifier is not specified", "spec")
        state = self.world.chat_for(params["chat_id"])
        message = state.messages.get(params["message_id"])
        if message is None:
            raise bad_request("message to edit not found", "state")
        if message.get("from", {}).get("id") != self.world.bot_user["id"]:
            raise bad_request("message can't be edited", "state")
        return message, self.world.sent_index.get((state.chat["id"], message["message_id"]))

    def _apply_edit(
        self, request: Request, message: dict[str, Any], sent: SentMessage | None, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Apply changes unless nothing changes (Telegram's "message is not modified")."""
        markup = request.params.get("reply_markup")
        # Editing without reply_markup removes the inline keyboard, as on Telegram.
        changes["reply_markup"] = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        if all(message.get(key) == value for key, value in changes.items()):
            raise bad_request(_NOT_MODIFIED, "state")
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = copy.deepcopy(value)
        message["edit_date"] = int(time.time())
        chat_id = message["chat"]["id"]
        self.world.edits.append(Edit(request.method.name, chat_id, message["message_id"], request.params, request.ts))
        if sent is not None:
            sent.edits.append(request.params)
        return copy.deepcopy(message)

    # Methods

    def _send_message(self, request: Request) -> Any:
        """sendMessage."""
        message, _ = self._new_bot_message(request, _text_content(request.parsed["text"]))
        return copy.deepcopy(message)

    def _send_media(self, request: Request) -> Any:
        """sendDocument, sendPhoto, sendVideo, ...: store the file and return the media message."""
        param, field, folder = MEDIA_METHODS[request.method.name.lower()]
        state = self._chat(request)
        stored, upload = self._resolve_file(request.params[param], request, folder)
        content: dict[str, Any] = {field: self._media_object(field, stored, request.params)}
        if field == "animation":
            # Telegram also fills `document` for animations, for backward compatibility.
            content["document"] = self._media_object("document", stored, request.params)
        if "caption" in request.parsed:
            content.update(_text_content(request.parsed["caption"], "caption"))
        message, sent = self._new_bot_message(request, content, state=state)
        sent.file = upload
        return copy.deepcopy(message)

    def _send_media_group(self, request: Request) -> Any:
        """sendMediaGroup: one message per item, sharing a media_group_id."""
        state = self._chat(request)
        group_id = str(int(time.time() * 1000))
        results = []
        for index, item in enumerate(request.params["media"]):
            field = item["type"]
            stored, upload = self._resolve_file(item["media"], request, f"{field}s")
            content: dict[str, Any] = {"media_group_id": group_id, field: self._media_object(field, stored, item)}
            caption = request.parsed.get(f"media.{index}.caption")
            if caption is not None:
                content.update(_text_content(caption, "caption"))
            message, sent = self._new_bot_message(request, content, state=state)
            sent.file = upload
            results.append(copy.deepcopy(message))
        return results

    def _edit_text(self, request: Request) -> Any:
        """editMessageText."""
        target = self._editable(request)
        if target is None:
            return True
        message, sent = target
        if "text" not in message:
            raise bad_request("there is no text in the message to edit", "state")
        parsed = request.parsed["text"]
        return self._apply_edit(request, message, sent, {"text": parsed.text, "entities": parsed.entities or None})

    def _edit_caption(self, request: Request) -> Any:
        """editMessageCaption."""
        target = self._editable(request)
        if target is None:
            return True
        message, sent = target
        if not any(key in message for key in _MEDIA_KEYS):
            raise bad_request("there is no caption in the message to edit", "state")
        parsed = request.parsed.get("caption", ParsedText(""))
        changes = {"caption": parsed.text or None, "caption_entities": parsed.entities or None}
        return self._apply_edit(request, message, sent, changes)

    def _edit_reply_markup(self, request: Request) -> Any:
        """editMessageReplyMarkup."""
        target = self._editable(request)
        if target is None:
            return True
        message, sent = target
        return self._apply_edit(request, message, sent, {})

    def _edit_media(self, request: Request) -> Any:
        """editMessageMedia: replace the media (and caption) of a bot message."""
        target = self._editable(request)
        if target is None:
            return True
        message, sent = target
        media = request.params["media"]
        field = media["type"]
        stored, _ = self._resolve_file(media["media"], request, f"{field}s")
        changes: dict[str, Any] = {key: None for key in _MEDIA_KEYS}
        changes[field] = self._media_object(field, stored, media)
        caption = request.parsed.get("media.0.caption")
        changes["caption"] = caption.text if caption else None
        changes["caption_entities"] = (caption.entities or None) if caption else None
        return self._apply_edit(request, message, sent, changes)

    def _delete_message(self, request: Request) -> Any:
        """deleteMessage."""
        state = self.world.chat_for(request.params["chat_id"], sending=False)
        message = state.messages.pop(request.params["message_id"], None)
        if message is None:
            raise bad_request("message to delete not found", "state")
        sent = self.world.sent_index.get((state.chat["id"], message["message_id"]))
        if sent is not None:
            sent.deleted = True
        return True

    def _send_chat_action(self, request: Request) -> Any:
        """sendChatAction."""
        state = self._chat(request)
        self.world.chat_actions.append((state.chat["id"], request.params["action"], request.ts))
        return True

    def _answer_callback_query(self, request: Request) -> Any:
        """answerCallbackQuery: each query can be answered once."""
        query_id = request.params["callback_query_id"]
        if query_id not in self.world.callback_queries or query_id in self.world.callback_answers:
            raise bad_request("query is too old and response timeout expired or query ID is invalid", "state")
        self.world.callback_answers[query_id] = request.params
        return True

    def _copied_content(self, request: Request, source: dict[str, Any]) -> dict[str, Any]:
        """Content of a copied/forwarded message (with video_start_timestamp applied)."""
        content = {key: copy.deepcopy(source[key]) for key in _CONTENT_KEYS if key in source}
        start = request.params.get("video_start_timestamp")
        if start is not None and "video" in content:
            content["video"]["start_timestamp"] = start
        return content

    def _source_message(self, request: Request, missing: str) -> dict[str, Any]:
        """The message named by from_chat_id/message_id."""
        state = self.world.chat_for(request.params["from_chat_id"], sending=False)
        source = state.messages.get(request.params["message_id"])
        if source is None:
            raise bad_request(missing, "state")
        return source

    def _copy_message(self, request: Request) -> Any:
        """copyMessage: returns only the new MessageId."""
        source = self._source_message(request, "message to copy not found")
        content = self._copied_content(request, source)
        if "caption" in request.parsed:
            content.pop("caption_entities", None)
            content.update(_text_content(request.parsed["caption"], "caption"))
        message, _ = self._new_bot_message(request, content)
        return {"message_id": message["message_id"]}

    def _forward_message(self, request: Request) -> Any:
        """forwardMessage: the forwarded Message with its forward_origin."""
        source = self._source_message(request, "message to forward not found")
        content = self._copied_content(request, source)
        sender = source.get("from")
        content["forward_origin"] = (
            {"type": "user", "sender_user": sender, "date": source["date"]}
            if sender
            else {"type": "hidden_user", "sender_user_name": "Hidden", "date": source["date"]}
        )
        message, _ = self._new_bot_message(request, content)
        return copy.deepcopy(message)

    def _generic(self, request: Request) -> Any:
        """Any other valid method: a bare Message if it returns one, True for Boolean, else a minimal object."""
        returns = request.method.returns
        if returns and returns[0] == "Message" and "chat_id" in request.params:
            message, _ = self._new_bot_message(request, {})
            return copy.deepcopy(message)
        if not returns or "Boolean" in returns:
            return True
        return self.spec.minimal(returns[0])
