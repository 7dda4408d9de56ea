"""Telegram `MarkdownV2` and legacy `Markdown` parsers, modelled on tdlib, for the fake Bot API.

They exist so that a bot sending unescaped model text with a Markdown parse mode fails in tests the
way it fails against Telegram ("Character '.' is reserved and must be escaped ...").
"""

from __future__ import annotations

from tests.fakes.entities import EntityParseError, ParsedText, TextBuilder, byte_offset

_RESERVED = "_*[]()~`>#+-=|{}.!"
_ENTITY_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def _at(text: str, index: int) -> str:
    """Character at `index` or "" past the end (tdlib reads a NUL there)."""
    return text[index] if 0 <= index < len(text) else ""


def _reserved_error(char: str) -> EntityParseError:
    """Telegram's error for an unescaped reserved character."""
    return EntityParseError(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")


class _Open:
    """An entity whose closing marker has not been seen yet."""

    def __init__(self, kind: str, start: int, byte_pos: int, text_pos: int, language: str = "") -> None:
        """Remember where the entity started in output (UTF-16), input (bytes) and output (chars)."""
        self.kind = kind
        self.start = start
        self.byte_pos = byte_pos
        self.text_pos = text_pos
        self.language = language


def _is_entity_end(kind: str, text: str, i: int) -> bool:
    """Whether the reserved character at `i` closes the innermost open entity of type `kind`."""
    char, nxt = text[i], _at(text, i + 1)
    ends = {
        "bold": char == "*",
        "italic": char == "_" and nxt != "_",
        "code": char == "`",
        "pre": text.startswith("```", i),
        "text_link": char == "]",
        "custom_emoji": char == "]",
        "underline": char == "_" and nxt == "_",
        "strikethrough": char == "~",
        "spoiler": char == "|" and nxt == "|",
    }
    return ends[kind]


def _read_url(text: str, i: int) -> tuple[str, int]:
    """Read `(url)` starting at the `(` at index `i`; returns the url and the index of `)`."""
    url: list[str] = []
    begin = i + 1
    i += 1
    while i < len(text) and text[i] != ")":
        if text[i] == "\\" and 0 < ord(_at(text, i + 1) or "\0") <= 126:
            url.append(text[i + 1])
            i += 2
            continue
        url.append(text[i])
        i += 1
    if i >= len(text):
        raise EntityParseError(f"Can't find end of a URL at byte offset {byte_offset(text, begin)}")
    return "".join(url), i


def _start_pre(text: str, i: int) -> tuple[str, int]:
    """Parse the opening ``` and optional language; returns language and the last consumed index."""
    i += 3
    language_end = i
    while language_end < len(text) and not text[language_end].isspace() and text[language_end] != "`":
        language_end += 1
    language = ""
    if language_end != i and language_end < len(text) and text[language_end] != "`":
        language = text[i:language_end]
        i = language_end
    # One newline right after the opening fence is not part of the text.
    if _at(text, i) in ("\n", "\r"):
        i += 2 if _at(text, i + 1) in ("\n", "\r") and text[i] != text[i + 1] else 1
    return language, i - 1


class _MarkdownV2Parser:
    """Single-use MarkdownV2 parser state."""

    def __init__(self, text: str) -> None:
        """Prepare to parse `text`."""
        self.text = text
        self.out = TextBuilder()
        self.chars: list[str] = []
        self.stack: list[_Open] = []
        self.quote_start: int | None = None

    def emit(self, chunk: str) -> None:
        """Append literal output."""
        self.out.append(chunk)
        self.chars.append(chunk)

    def parse(self) -> ParsedText:
        """Run the parser over the whole text."""
        text = self.text
        i = 0
        while i < len(text):
            i = self.step(i) + 1
        if self.stack:
            top = self.stack[-1]
            name = _ENTITY_NAMES[top.kind]
            raise EntityParseError(f"Can't find end of {name} entity at byte offset {top.byte_pos}")
        self.close_quote()
        return self.out.result()

    def close_quote(self) -> None:
        """Finish a blockquote that spans the previous lines."""
        if self.quote_start is not None:
            self.out.add_entity("blockquote", self.quote_start)
            self.quote_start = None

    def step(self, i: int) -> int:
        """Consume the construct at `i`; returns the index of the last character consumed."""
        text = self.text
        char = text[i]
        at_line_start = i == 0 or text[i - 1] == "\n"
        if at_line_start and not self.stack:
            if char == ">" or text.startswith("**>", i):
                if self.quote_start is None:
                    self.quote_start = self.out.position
                return i + 2 if char == "*" else i
            self.close_quote()
        if char == "\\" and 0 < ord(_at(text, i + 1) or "\0") <= 126:
            self.emit(text[i + 1])
            return i + 1
        in_code = bool(self.stack) and self.stack[-1].kind in ("code", "pre")
        if char not in ("`" if in_code else _RESERVED):
            self.emit(char)
            return i
        # `||` at the end of a quoted line closes an expandable blockquote.
        in_spoiler = bool(self.stack) and self.stack[-1].kind == "spoiler"
        at_line_end = _at(text, i + 2) in ("", "\n")
        if self.quote_start is not None and text.startswith("||", i) and at_line_end and not in_spoiler:
            return i + 1
        if self.stack and _is_entity_end(self.stack[-1].kind, text, i):
            return self.end_entity(i)
        return self.begin_entity(i)

    def begin_entity(self, i: int) -> int:
        """Open the entity whose marker is at `i`."""
        text = self.text
        char, nxt = text[i], _at(text, i + 1)
        start_byte = byte_offset(text, i)
        language = ""
        if char == "_" and nxt == "_":
            kind, i = "underline", i + 1
        elif char in "_*~[":
            kind = {"_": "italic", "*": "bold", "~": "strikethrough", "[": "text_link"}[char]
        elif char == "|" and nxt == "|":
            kind, i = "spoiler", i + 1
        elif char == "`" and text.startswith("```", i):
            kind = "pre"
            language, i = _start_pre(text, i)
        elif char == "`":
            kind = "code"
        elif char == "!" and nxt == "[":
            kind, i = "custom_emoji", i + 1
        else:
            raise _reserved_error(char)
        if any(open_.kind == kind for open_ in self.stack):
            raise EntityParseError(f"Can't nest {_ENTITY_NAMES[kind]} entity at byte offset {start_byte}")
        self.stack.append(_Open(kind, self.out.position, start_byte, len(self.chars), language))
        return i

    def end_entity(self, i: int) -> int:
        """Close the innermost entity at `i`."""
        text = self.text
        top = self.stack.pop()
        if top.kind == "underline" or top.kind == "spoiler":
            i += 1
        elif top.kind == "pre":
            i += 2
        if top.kind == "text_link":
            if _at(text, i + 1) == "(":
                url, i = _read_url(text, i + 1)
            else:
                url = "".join(self.chars[top.text_pos :])
            self.out.add_entity("text_link", top.start, url=url)
        elif top.kind == "custom_emoji":
            if _at(text, i + 1) != "(":
                raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
            url, i = _read_url(text, i + 1)
            emoji_id = url.removeprefix("tg://emoji?id=")
            if emoji_id == url or not emoji_id.isdigit():
                raise EntityParseError("Custom emoji URL must have an emoji identifier")
            self.out.add_entity("custom_emoji", top.start, custom_emoji_id=emoji_id)
        elif top.kind == "pre":
            self.out.add_entity("pre", top.start, language=top.language or None)
        else:
            self.out.add_entity(top.kind, top.start)
        return i


def parse_markdown_v2(text: str) -> ParsedText:
    """Parse MarkdownV2; raise EntityParseError with Telegram's wording when it is malformed."""
    return _MarkdownV2Parser(text).parse()


def parse_markdown(text: str) -> ParsedText:
    """Parse legacy Markdown (no nesting, `\\` escapes only `_ * ` [`)."""
    out = TextBuilder()
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and _at(text, i + 1) in ("_", "*", "`", "["):
            out.append(text[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.append(char)
            i += 1
            continue
        begin = i
        end_char = "]" if char == "[" else char
        is_pre = char == "`" and text.startswith("```", i)
        language = ""
        i += 3 if is_pre else 1
        if is_pre:
            newline = text.find("\n", i)
            if newline != -1 and text[i:newline].strip() and "`" not in text[i:newline]:
                language, i = text[i:newline], newline + 1
        start = out.position
        while i < len(text) and (text[i] != end_char or (is_pre and not text.startswith("```", i))):
            out.append(text[i])
            i += 1
        if i >= len(text):
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {byte_offset(text, begin)}")
        if char == "[":
            url = ""
            if _at(text, i + 1) == "(":
                close = text.find(")", i + 2)
                if close != -1:
                    url, i = text[i + 2 : close], close
            if url:
                out.add_entity("text_link", start, url=url)
        elif is_pre:
            out.add_entity("pre", start, language=language or None)
            i += 2
        else:
            out.add_entity({"_": "italic", "*": "bold", "`": "code"}[char], start)
        i += 1
    return out.result()
