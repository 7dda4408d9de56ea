"""Seeded generators of hostile inputs for the fuzz test: mutated video files, lying metadata, odd text
and malformed update payloads, plus a classifier that names the catalog message a reply came from."""

from __future__ import annotations

import random
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from bot.i18n import Translator

# Characters that break naive text handling: bidi controls, joiners, lone combining marks, emoji
# sequences (ZWJ families, flags, skin tones, keycaps), C0/C1 controls, surrogate-adjacent planes.
ODD_PIECES = (
    "\u200f",
    "\u200e",
    "\u202e",
    "\u2066",
    "\u2069",
    "\u200d",
    "\u200b",
    "\ufeff",
    "\u0301",
    "\u0336",
    "\u20dd",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "\U0001f1fa\U0001f1e6",
    "\U0001f44d\U0001f3fd",
    "1\ufe0f\u20e3",
    "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "\x00",
    "\x01",
    "\x07",
    "\x1b[31m",
    "\x7f",
    "\u0085",
    "\r\n",
    "\t",
    "\U0010fffd",
    "\ufffd",
    "مرحبا",
    "שלום",
    "日本語",
    "ZA̡͊͠͝LGΌ",
    "<b>",
    "&amp;",
    "</a>",
    "%(name)s",
    "{0}",
    "0:12",
    "1:99:99",
    "-5 s",
    "/start",
    "@rehab_test_bot",
)
HUGE_TEXT_CHARS = (4096, 4097, 20_000)
ABSURD_DIMENSIONS = (0, -1, 1, 10**9, 2**31 - 1, 2**63 - 1)
ABSURD_DURATIONS = (0, -1, 1, 10**9, 2**31 - 1, 86_400 * 365)
ABSURD_SIZES = (None, 0, -1, 1, 20 * 1024 * 1024 + 1, 10**12, 2**63 - 1)


def odd_text(rng: random.Random) -> str:
    """A short text mixing odd pieces and plain words (sometimes a command or a time)."""
    words = ["squat", "knee", "what about", "why", "pain", "help", "0:03", "hurts", "?"]
    parts = [rng.choice(ODD_PIECES) if rng.random() < 0.6 else rng.choice(words) for _ in range(rng.randint(1, 12))]
    text = "".join(parts)
    if rng.random() < 0.15:
        text = rng.choice(["/start ", "/language ", "/help ", "/mydata", "/plan ", "/x"]) + text
    return text or "\u200d"


def huge_text(rng: random.Random) -> str:
    """A text at or past Telegram's 4096-character limit, built from odd pieces."""
    size = rng.choice(HUGE_TEXT_CHARS)
    piece = "".join(rng.choice(ODD_PIECES) for _ in range(8))
    return (piece * (size // max(1, len(piece)) + 1))[:size]


@dataclass(frozen=True)
class MutatedVideo:
    """One hostile video file: how it was made and its bytes."""

    mutation: str
    data: bytes


def mutate_video(data: bytes, container: str, rng: random.Random) -> MutatedVideo:
    """Truncate, flip bits, overwrite or forge the header of a real clip (seeded, so reproducible)."""
    mutation = rng.choice(("truncate", "bitflip", "overwrite", "forge", "forge", "splice", "tiny"))
    buffer = bytearray(data)
    if mutation == "truncate":
        cut = rng.choice((rng.randint(1, 64), rng.randint(1, len(data) - 1), len(data) - rng.randint(1, 512)))
        return MutatedVideo("truncate", bytes(buffer[: max(1, cut)]))
    if mutation == "bitflip":
        for _ in range(rng.choice((1, 2, 8, 64, 512))):
            buffer[rng.randrange(len(buffer))] ^= 1 << rng.randrange(8)
        return MutatedVideo("bitflip", bytes(buffer))
    if mutation == "overwrite":
        start = rng.randrange(len(buffer))
        length = rng.randint(1, 4096)
        filler = rng.choice((b"\x00", b"\xff", bytes([rng.randrange(256)])))
        buffer[start : start + length] = filler * min(length, len(buffer) - start)
        return MutatedVideo("overwrite", bytes(buffer))
    if mutation == "splice":
        # The file's own header twice, or its tail first: containers that parse recursively choke on these.
        middle = rng.randrange(1, len(data))
        return MutatedVideo("splice", rng.choice((data[:middle] + data, data[middle:] + data[:middle])))
    if mutation == "tiny":
        return MutatedVideo("tiny", rng.choice((b"", b"\x00", data[:4], data[:8], b"ftyp" * 3)))
    forge = _forge_iso_header if container in ("mp4", "mov") else _forge_ebml_header
    return MutatedVideo("forge", forge(buffer, rng))


_ISO_BOXES = (
    b"ftyp",
    b"moov",
    b"mvhd",
    b"trak",
    b"tkhd",
    b"mdhd",
    b"stsd",
    b"stsz",
    b"stco",
    b"stts",
    b"avcC",
    b"mdat",
)
_EXTREME_WORDS = (0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000, 8)


def _forge_iso_header(buffer: bytearray, rng: random.Random) -> bytes:
    """Lie in MP4/MOV boxes: absurd box sizes, durations, timescales, dimensions, sample counts."""
    for _ in range(rng.randint(1, 4)):
        box = rng.choice(_ISO_BOXES)
        at = buffer.find(box)
        if at < 4:
            continue
        word = rng.choice(_EXTREME_WORDS)
        target = rng.choice(("size", "field", "rename"))
        if target == "size":
            buffer[at - 4 : at] = struct.pack(">I", word)
        elif target == "rename":
            buffer[at : at + 4] = rng.choice((b"free", b"moov", b"mdat", b"\x00\x00\x00\x00"))
        else:
            # A field inside the box: duration, timescale, width, height, an entry count.
            offset = at + 4 + 4 * rng.randint(0, 8)
            buffer[offset : offset + 4] = struct.pack(">I", word)
    return bytes(buffer)


def _forge_ebml_header(buffer: bytearray, rng: random.Random) -> bytes:
    """Lie in WebM's EBML: element sizes all ones (unknown) or huge, and garbage in the first elements."""
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(min(len(buffer), 512))
        buffer[at] = rng.choice((0x01, 0xFF, 0x00, 0x1A, 0x45, 0xDF, 0xA3, 0x7F))
    return bytes(buffer)


def malformed_update(rng: random.Random, user: dict[str, Any], chat: dict[str, Any], date: int) -> dict[str, Any]:
    """An update body python-telegram-bot still parses: wrong types, broken entities, forged callbacks, odd kinds."""
    base: dict[str, Any] = {"message_id": rng.randint(1, 10**6), "date": date, "chat": dict(chat), "from": dict(user)}
    variant = rng.randrange(11)
    if variant == 0:
        base["text"] = rng.choice((12345, ["a"], {"x": 1}, True, 1.5))
    elif variant == 1:
        base["chat"] = {"id": rng.choice(("abc", None, 1.5)), "type": "private"}
        base["text"] = odd_text(rng)
    elif variant == 2:
        text = odd_text(rng)
        base["text"] = text
        base["entities"] = [
            {"type": rng.choice(("bot_command", "bold", "url", "mention", "nonsense")), "offset": o, "length": n}
            for o, n in ((rng.choice((0, -5, 10**9)), rng.choice((0, -1, 10**6))) for _ in range(rng.randint(1, 3)))
        ]
    elif variant == 3:
        return {"callback_query": _callback(rng, user, chat, date)}
    elif variant == 4:
        return {rng.choice(("edited_message", "channel_post", "edited_channel_post")): {**base, "text": odd_text(rng)}}
    elif variant == 5:
        return {rng.choice(("bogus_update_kind", "message_reaction_2")): {"anything": odd_text(rng)}}
    elif variant == 6:
        base["from"] = {"id": user["id"], "is_bot": False, "first_name": odd_text(rng), "language_code": odd_text(rng)}
        base["text"] = odd_text(rng)
    elif variant == 7:
        base["video"] = {"file_id": odd_text(rng), "file_unique_id": "u", "width": -1, "height": -1, "duration": -1}
    elif variant == 8:
        base["document"] = {"file_id": "", "file_unique_id": "", "file_name": odd_text(rng) + ".mp4"}
    elif variant == 9:
        base["reply_to_message"] = {"message_id": -1, "date": 0, "chat": dict(chat), "text": odd_text(rng)}
        base["text"] = odd_text(rng)
    else:
        base["caption"] = huge_text(rng)
        base["photo"] = [{"file_id": "x", "file_unique_id": "y", "width": 10**9, "height": -1}]
    return {"message": base}


def unparsable_update(rng: random.Random, user: dict[str, Any], chat: dict[str, Any], date: int) -> dict[str, Any]:
    """An update body python-telegram-bot cannot parse: a required field missing or of an impossible type."""
    base: dict[str, Any] = {"message_id": 1, "date": date, "chat": dict(chat), "from": dict(user), "text": "hi"}
    variant = rng.randrange(3)
    if variant == 0:
        base.pop(rng.choice(("chat", "date", "message_id")))
    elif variant == 1:
        base["date"] = rng.choice(("yesterday", 10**12))
    else:
        return {"message": rng.choice(([], "x", 0))}
    return {"message": base}


def _callback(rng: random.Random, user: dict[str, Any], chat: dict[str, Any], date: int) -> dict[str, Any]:
    """A callback query with forged data, as if a client sent a button press the bot never offered."""
    prefixes = ("consent", "lang", "pain", "delete", "plan", "therapist", "cancel", "", "::", "x" * 64)
    data = rng.choice(prefixes) + rng.choice((":", "", ":-1", ":999999999999", ":" + odd_text(rng)[:20]))
    query: dict[str, Any] = {"id": str(rng.randint(1, 10**12)), "from": dict(user), "chat_instance": "1"}
    if rng.random() < 0.7:
        query["data"] = data[:64]
    if rng.random() < 0.8:
        query["message"] = {"message_id": rng.randint(1, 10**6), "date": date, "chat": dict(chat), "text": "old"}
    return query


def catalog_msgids(pot_path: Path) -> list[str]:
    """Every singular and plural message id of the catalog template."""
    with pot_path.open("rb") as handle:
        catalog = read_po(handle)
    ids: list[str] = []
    for message in catalog:
        if not message.id:
            continue
        ids.extend(message.id if isinstance(message.id, tuple | list) else [message.id])
    return ids


def reply_classifier(tr: Translator, msgids: list[str]) -> Callable[[str], str | None]:
    """A function naming the catalog message (its msgid's first words) a reply text was rendered from."""
    patterns: list[tuple[str, re.Pattern[str]]] = []
    for msgid in msgids:
        rendered = tr.gettext(msgid)  # no parameters: the placeholders stay in the text
        pieces = re.split(r"%\([a-z_]+\)[sd]", rendered)
        pattern = ".+?".join(re.escape(piece) for piece in pieces)
        patterns.append((" ".join(msgid.split()[:6]), re.compile(pattern, re.DOTALL)))
    # Longer templates first, so a short one ("Done") never claims a longer message containing it.
    patterns.sort(key=lambda item: -len(item[1].pattern))

    def classify(text: str) -> str | None:
        """The msgid label of the first template contained in the text, or None."""
        for label, pattern in patterns:
            if pattern.search(text):
                return label
        return None

    return classify
