"""Telegram `parse_mode=HTML` parser: checks well-formedness and yields plain text plus entities.

Modelled on tdlib's `parse_html`, with one deliberate difference: in strict mode (the default) a
bare `&` or `>` is an error. Telegram itself would render them literally, but their presence means
text reached the bot's output unescaped, and the next `<` in such text breaks the message.
"""

from __future__ import annotations

import re

from tests.fakes.entities import EntityParseError, ParsedText, TextBuilder, byte_offset

# Supported tags and the entity each one produces.
TAG_ENTITIES: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_TAG_NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_END_TAG_RE = re.compile(r"</([a-zA-Z][a-zA-Z0-9-]*)\s*>")
_ATTR_RE = re.compile(r"\s+([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?")
_TAG_END_RE = re.compile(r"\s*/?>")


def _decode_entity(text: str, index: int) -> tuple[str, int] | None:
    """Decode the character reference at `index`; returns (char, length) or None if there is none."""
    match = _ENTITY_RE.match(text, index)
    if not match:
        return None
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED_ENTITIES[named], match.end() - index
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF:
        return None
    return chr(code), match.end() - index


def _unescape(value: str) -> str:
    """Decode character references inside an attribute value."""
    out: list[str] = []
    i = 0
    while i < len(value):
        decoded = _decode_entity(value, i) if value[i] == "&" else None
        if decoded:
            out.append(decoded[0])
            i += decoded[1]
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


class _OpenTag:
    """A start tag waiting for its end tag."""

    def __init__(self, name: str, attrs: dict[str, str], start: int) -> None:
        """Remember the tag, its attributes and the UTF-16 position where its entity starts."""
        self.name = name
        self.attrs = attrs
        self.start = start


def _parse_attributes(text: str, index: int, tag_offset: int) -> tuple[dict[str, str], int]:
    """Read attributes up to the closing `>` of a start tag; returns them and the index after `>`."""
    attrs: dict[str, str] = {}
    while True:
        end = _TAG_END_RE.match(text, index)
        if end:
            return attrs, end.end()
        match = _ATTR_RE.match(text, index)
        if not match:
            raise EntityParseError(f"Unclosed start tag at byte offset {tag_offset}")
        raw = match.group(2)
        if raw is not None and raw[:1] in "\"'":
            raw = raw[1:-1]
        attrs[match.group(1).lower()] = _unescape(raw or "")
        index = match.end()


def _check_start_tag(name: str, attrs: dict[str, str], stack: list[_OpenTag], offset: int) -> None:
    """Reject attribute and nesting combinations Telegram does not accept."""
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise EntityParseError('Tag "span" must have class "tg-spoiler"')
    if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
        raise EntityParseError(f'Tag "tg-emoji" must have a numeric "emoji-id" at byte offset {offset}')
    if name == "tg-time" and not attrs.get("unix", "").isdigit():
        raise EntityParseError(f'Tag "tg-time" must have a numeric "unix" at byte offset {offset}')
    if not stack:
        return
    parent = stack[-1]
    # pre and code entities cannot contain other entities, except the language `code` inside `pre`.
    if parent.name == "code" or (parent.name == "pre" and name != "code"):
        raise EntityParseError(f'Tag "{name}" can\'t be nested in tag "{parent.name}" at byte offset {offset}')
    if name == "blockquote" and any(tag.name == "blockquote" for tag in stack):
        raise EntityParseError(f"Blockquote entities can't be nested at byte offset {offset}")


def _close_entity(out: TextBuilder, tag: _OpenTag, stack: list[_OpenTag]) -> None:
    """Turn a closed tag into its message entity."""
    name = tag.name
    if name == "a":
        href = tag.attrs.get("href", "")
        if href:
            out.add_entity("text_link", tag.start, url=href)
        return
    if name == "code" and stack and stack[-1].name == "pre":
        # `<pre><code class="language-x">` sets the language of the enclosing pre entity.
        language = tag.attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1].attrs["language"] = language.removeprefix("language-")
        return
    if name == "pre":
        out.add_entity("pre", tag.start, language=tag.attrs.get("language") or None)
        return
    if name == "blockquote":
        out.add_entity("expandable_blockquote" if "expandable" in tag.attrs else "blockquote", tag.start)
        return
    if name == "tg-emoji":
        out.add_entity("custom_emoji", tag.start, custom_emoji_id=tag.attrs["emoji-id"])
        return
    if name == "tg-time":
        out.add_entity(
            "date_time", tag.start, unix_time=int(tag.attrs["unix"]), date_time_format=tag.attrs.get("format")
        )
        return
    out.add_entity(TAG_ENTITIES[name], tag.start)


def parse_html(text: str, *, strict: bool = True) -> ParsedText:
    """Parse Telegram HTML; raise EntityParseError with Telegram's wording when it is malformed."""
    out = TextBuilder()
    stack: list[_OpenTag] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "&":
            decoded = _decode_entity(text, i)
            if decoded:
                out.append(decoded[0])
                i += decoded[1]
                continue
            if strict:
                raise EntityParseError(
                    f'Unescaped "&" at byte offset {byte_offset(text, i)}; use &amp; or a character reference'
                )
        elif char == ">" and strict:
            raise EntityParseError(f'Unescaped ">" at byte offset {byte_offset(text, i)}; use &gt;')
        if char != "<":
            out.append(char)
            i += 1
            continue
        offset = byte_offset(text, i)
        if text.startswith("</", i):
            match = _END_TAG_RE.match(text, i)
            if not match:
                raise EntityParseError(f"Unclosed end tag at byte offset {offset}")
            name = match.group(1).lower()
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {offset}")
            if stack[-1].name != name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1].name}>", found "</{name}>"'
                )
            _close_entity(out, stack.pop(), stack)
            i = match.end()
            continue
        name_match = _TAG_NAME_RE.match(text, i + 1)
        name = name_match.group(0).lower() if name_match else ""
        if name not in TAG_ENTITIES:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
        attrs, i = _parse_attributes(text, i + 1 + len(name), offset)
        _check_start_tag(name, attrs, stack, offset)
        stack.append(_OpenTag(name, attrs, out.position))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return out.result()
