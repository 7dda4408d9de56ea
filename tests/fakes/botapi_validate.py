"""Checks every request against the Bot API reference and Telegram's documented limits."""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.botapi_records import ApiError, bad_request
from tests.fakes.botapi_spec import BotApiSpec, MethodSpec, UploadedPart
from tests.fakes.entities import EntityParseError, ParsedText, utf16_len
from tests.fakes.html_check import parse_html
from tests.fakes.markdown_check import parse_markdown, parse_markdown_v2

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200

# Parameters Telegram still accepts although the reference no longer lists them.
LEGACY_PARAMETERS = frozenset({"reply_to_message_id", "allow_sending_without_reply", "disable_web_page_preview"})

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

# InlineKeyboardButton fields that do not choose what the button does.
_BUTTON_DECORATION = frozenset({"text", "icon_custom_emoji_id", "style"})
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_RE = re.compile(r"(?:[a-z]{2})?")
_BOT_TEXT_LIMITS = {
    "setmyname": ("name", 64),
    "setmydescription": ("description", 512),
    "setmyshortdescription": ("short_description", 120),
}


def check_parameters(spec: BotApiSpec, method: MethodSpec, params: dict[str, Any]) -> None:
    """Unknown parameters, missing required ones and wrongly typed values are rejected."""
    for name in params:
        if name not in method.fields and name not in LEGACY_PARAMETERS:
            raise bad_request(f'unknown parameter "{name}" for method {method.name}', "spec")
    for name, field in method.fields.items():
        if field.required and params.get(name) is None:
            raise bad_request(f'required parameter "{name}" is missing', "spec")
    for name, value in params.items():
        field = method.fields.get(name)
        if field is None or value is None:
            continue
        problems = spec.check_value(value, field.types, name)
        if problems:
            raise bad_request(f"invalid parameter: {problems[0]}", "spec")


def parse_formatted(text: str, parse_mode: str | None, entities: Any, *, strict_html: bool) -> ParsedText:
    """Apply a parse mode the way Telegram does, returning the visible text and its entities."""
    mode = (parse_mode or "").lower()
    try:
        if mode == "html":
            return parse_html(text, strict=strict_html)
        if mode == "markdownv2":
            return parse_markdown_v2(text)
        if mode == "markdown":
            return parse_markdown(text)
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}", "format") from exc
    if mode:
        raise bad_request(f"unsupported parse_mode {parse_mode!r}", "spec")
    return ParsedText(text, list(entities) if isinstance(entities, list) else [])


def _check_text(parsed: ParsedText, *, allow_empty: bool = False) -> None:
    """Message text limits: non-empty (a draft may be empty) and at most 4096 UTF-16 code units after parsing."""
    if not allow_empty and not parsed.text.strip():
        raise bad_request("message text is empty", "limit")
    if utf16_len(parsed.text) > MAX_TEXT:
        raise bad_request("message is too long", "limit")


def _check_caption(parsed: ParsedText) -> None:
    """Caption limit: at most 1024 UTF-16 code units after parsing."""
    if utf16_len(parsed.text) > MAX_CAPTION:
        raise bad_request("message caption is too long", "limit")


def check_inline_keyboard(markup: Any) -> None:
    """Inline buttons: non-empty text, exactly one action, callback_data of 1-64 bytes, valid URLs."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return
    for row in markup["inline_keyboard"]:
        for button in row:
            if not str(button.get("text", "")).strip():
                raise bad_request("can't parse inline keyboard button: Text must be non-empty", "limit")
            actions = [key for key in button if key not in _BUTTON_DECORATION]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
                    "spec",
                )
            if len(actions) > 1:
                raise bad_request(
                    f"can't parse inline keyboard button: only one of {sorted(actions)} can be used", "spec"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA:
                raise bad_request("BUTTON_DATA_INVALID", "limit")
            url = button.get("url")
            if url is not None and not re.match(r"(?:https?|tg)://\S+$", str(url)):
                raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL", "limit")


def _check_commands(params: dict[str, Any]) -> None:
    """BotCommand limits: 1-32 of [a-z0-9_], descriptions 1-256 characters, at most 100 commands."""
    commands = params.get("commands") or []
    if len(commands) > 100:
        raise bad_request("too many commands", "limit")
    for command in commands:
        if not _COMMAND_RE.fullmatch(str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID", "limit")
        if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID", "limit")


def _check_media_group(media: Any) -> None:
    """2-10 items; audio and documents can only be grouped with their own kind."""
    if not isinstance(media, list) or not 2 <= len(media) <= 10:
        raise bad_request("there must be 2-10 items in a media group", "limit")
    kinds = {item.get("type") for item in media if isinstance(item, dict)}
    if len(kinds) > 1 and kinds & {"audio", "document"}:
        raise bad_request(f"media of types {sorted(kinds)} can't be mixed in a media group", "limit")


def _check_method_limits(name: str, params: dict[str, Any]) -> None:
    """Per-method value limits beyond types."""
    language = params.get("language_code")
    if isinstance(language, str) and not _LANGUAGE_RE.fullmatch(language):
        raise bad_request("LANG_CODE_INVALID", "limit")
    if name == "setmycommands":
        _check_commands(params)
    elif name == "answercallbackquery" and len(str(params.get("text", ""))) > MAX_CALLBACK_ANSWER:
        raise bad_request("MESSAGE_TOO_LONG", "limit")
    elif name == "sendchataction" and params.get("action") not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request", "limit")
    elif name == "sendmediagroup":
        _check_media_group(params.get("media"))
    elif name in _BOT_TEXT_LIMITS:
        key, limit = _BOT_TEXT_LIMITS[name]
        if len(str(params.get(key, ""))) > limit:
            raise bad_request(f"{key} is too long", "limit")


def check_call(
    spec: BotApiSpec, method: MethodSpec, params: dict[str, Any], *, strict_html: bool
) -> dict[str, ParsedText]:
    """Validate one call; return the parsed `text`/`caption` (and media captions) for building results."""
    check_parameters(spec, method, params)
    name = method.name.lower()
    _check_method_limits(name, params)
    check_inline_keyboard(params.get("reply_markup"))
    parsed: dict[str, ParsedText] = {}
    if "text" in params and "parse_mode" in method.fields:
        parsed["text"] = parse_formatted(
            str(params["text"]), params.get("parse_mode"), params.get("entities"), strict_html=strict_html
        )
        _check_text(parsed["text"], allow_empty=name == "sendmessagedraft")
    elif name == "editmessagetext" and "rich_message" not in params:
        raise bad_request("message text is empty", "limit")
    if "caption" in params and "parse_mode" in method.fields:
        parsed["caption"] = parse_formatted(
            str(params["caption"]),
            params.get("parse_mode"),
            params.get("caption_entities"),
            strict_html=strict_html,
        )
        _check_caption(parsed["caption"])
    media = params.get("media")
    items = media if isinstance(media, list) else [media] if isinstance(media, dict) else []
    for index, item in enumerate(items):
        if isinstance(item, dict) and "caption" in item:
            parsed[f"media.{index}.caption"] = parse_formatted(
                str(item["caption"]),
                item.get("parse_mode"),
                item.get("caption_entities"),
                strict_html=strict_html,
            )
            _check_caption(parsed[f"media.{index}.caption"])
    return parsed


def check_attachments(params: dict[str, Any], parts: dict[str, UploadedPart]) -> None:
    """Every attach://name in the request must name an uploaded part."""
    for value in _strings(params):
        if value.startswith("attach://") and value.removeprefix("attach://") not in parts:
            raise bad_request(f"file {value} not found in the request", "spec")


def _strings(value: Any) -> list[str]:
    """All strings nested in a decoded value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def raise_if_unknown_method(spec: BotApiSpec, name: str) -> MethodSpec:
    """The method's spec, or Telegram's 404 for a method that does not exist."""
    method = spec.method(name)
    if method is None:
        raise ApiError(404, "Not Found: method not found", kind="spec")
    return method
