"""The fake Bot API behaves like Telegram towards the real python-telegram-bot and raw HTTP clients."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    InputMediaVideo,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from tests.fakes.botapi import FakeBotApi
from tests.fakes.botapi_faults import Dropped, FloodControl, ServerError, Slow
from tests.fakes.botapi_faults import Forbidden as ForbiddenFault
from tests.fakes.botapi_faults import RetryAfter as RetryAfterFault

# Registers the fixtures until tests/conftest.py gathers them like the other areas' (then drop this line).

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40


def keyboard(*data: str) -> InlineKeyboardMarkup:
    """One row of callback buttons."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d) for d in data]])


async def raw_call(api: FakeBotApi, method: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """POST to the fake with aiohttp (form data by default, or json=...); returns status and body."""
    async with aiohttp.ClientSession() as session:
        url = f"{api.root_url}/bot{kwargs.pop('token', api.token)}/{method}"
        async with session.post(url, **kwargs) as response:
            return response.status, await response.json()


def retry_seconds(error: RetryAfter) -> float:
    """retry_after as seconds (PTB gives an int or a timedelta depending on PTB_TIMEDELTA)."""
    value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# Basics


async def test_get_me_and_token_check(bot_api: FakeBotApi) -> None:
    async with bot_api.make_bot() as bot:
        me = await bot.get_me()
    assert me.id == bot_api.bot_user["id"]
    assert me.username == "rehab_test_bot" and me.is_bot
    status, body = await raw_call(bot_api, "getMe", token="123456:" + "A" * 35)
    assert status == 401 and body == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_send_message_reply_parameters_and_markup(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user(1001, "Alice", "en")
    incoming = bot_api.user_sends_text(alice, "my knee hurts")
    async with bot_api.make_bot() as bot:
        sent = await bot.send_message(
            alice["id"],
            "<b>Sorry</b> to hear that",
            parse_mode="HTML",
            reply_parameters=ReplyParameters(incoming["message_id"]),
            reply_markup=keyboard("ok"),
        )
    assert sent.reply_to_message is not None
    assert sent.reply_to_message.message_id == incoming["message_id"]
    assert sent.message_id > incoming["message_id"]
    assert sent.text == "Sorry to hear that"
    assert sent.entities[0].type == "bold" and sent.entities[0].length == 5
    assert sent.reply_markup == keyboard("ok")
    recorded = bot_api.last_message(alice["id"])
    assert recorded is not None
    assert recorded.reply_to_message_id == incoming["message_id"]
    assert recorded.raw_text == "<b>Sorry</b> to hear that"
    assert recorded.callback_data == ["ok"]
    assert bot_api.violations == []


async def test_reply_to_unknown_message_is_rejected(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    async with bot_api.make_bot() as bot:
        with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
            await bot.send_message(alice["id"], "hi", reply_parameters=ReplyParameters(999))
        await bot.send_message(
            alice["id"], "hi", reply_parameters=ReplyParameters(999, allow_sending_without_reply=True)
        )
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(555, "nobody started me")
    assert [v.kind for v in bot_api.violations] == ["state", "state"]


# Limits and formatting


async def test_text_length_limit_counts_utf16_after_entity_parsing(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    async with bot_api.make_bot() as bot:
        await bot.send_message(alice["id"], "a" * 4096)
        await bot.send_message(alice["id"], "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
        await bot.send_message(alice["id"], "&amp;" * 4096, parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(alice["id"], "a" * 4097)
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(alice["id"], "😀" * 2049)  # 4098 UTF-16 code units
        with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
            await bot.send_message(alice["id"], "<b> </b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
            await bot.send_document(alice["id"], b"x", filename="a.txt", caption="c" * 1025)
    assert [v.description for v in bot_api.violations] == [
        "Bad Request: message is too long",
        "Bad Request: message is too long",
        "Bad Request: message text is empty",
        "Bad Request: message caption is too long",
    ]
    assert bot_api.violations[0].params["text"] == "a" * 4097


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<b>x", 'end tag corresponding to start tag "b"'),
        ("a < b", 'Unsupported start tag ""'),
        ("<foo>x</foo>", 'Unsupported start tag "foo"'),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag"),
        ("Tom & Jerry", 'Unescaped "&"'),
        ("2 > 1", 'Unescaped ">"'),
        ('<span class="x">s</span>', 'must have class "tg-spoiler"'),
        ("<code><b>x</b></code>", "can't be nested"),
        ('<a href="https://x.org"', "Unclosed start tag"),
    ],
)
async def test_malformed_html_is_rejected(bot_api: FakeBotApi, text: str, error: str) -> None:
    alice = bot_api.make_user()
    async with bot_api.make_bot() as bot:
        with pytest.raises(BadRequest, match=r"(?i)parse entities") as caught:
            await bot.send_message(alice["id"], text, parse_mode="HTML")
    # PTB re-capitalises the description, so compare the exact wording on the recorded violation.
    assert error.lower() in caught.value.message.lower()
    assert [v.kind for v in bot_api.violations] == ["format"]
    assert error in bot_api.violations[0].description


async def test_well_formed_html_is_accepted_with_entities(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    html = (
        "<b>b</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u> <ins>n</ins> <s>s</s> <del>d</del> "
        '<tg-spoiler>p</tg-spoiler> <span class="tg-spoiler">q</span> <a href="https://x.org/?a=1&amp;b=2">link</a> '
        '<code>c</code> <pre><code class="language-python">x = 1</code></pre> '
        "<blockquote expandable>quote</blockquote> &lt;&gt;&amp;&quot; &#128512; &#x1F600;"
    )
    async with bot_api.make_bot() as bot:
        sent = await bot.send_message(alice["id"], html, parse_mode="HTML")
    assert sent.text.endswith('<>&" 😀 😀')
    types = [e.type for e in sent.entities]
    assert "text_link" in types and "pre" in types and "expandable_blockquote" in types
    link = next(e for e in sent.entities if e.type == "text_link")
    assert link.url == "https://x.org/?a=1&b=2"
    assert next(e for e in sent.entities if e.type == "pre").language == "python"
    assert sent.text_html.count("<b>") == 2  # PTB can rebuild the markup from the entities
    assert bot_api.violations == []


async def test_markdown_v2_reserved_characters(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    async with bot_api.make_bot() as bot:
        ok = await bot.send_message(alice["id"], r"*Done* in 1\.5 s \(fast\)", parse_mode="MarkdownV2")
        with pytest.raises(BadRequest, match=r"(?i)Character '\.' is reserved"):
            await bot.send_message(alice["id"], "Done in 1.5 s", parse_mode="MarkdownV2")
        with pytest.raises(BadRequest, match=r"(?i)Can't find end of Bold entity"):
            await bot.send_message(alice["id"], "*bold", parse_mode="MarkdownV2")
    assert ok.text == "Done in 1.5 s (fast)"
    assert ok.entities[0].type == "bold"


async def test_callback_data_limit(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    async with bot_api.make_bot() as bot:
        await bot.send_message(alice["id"], "pick", reply_markup=keyboard("x" * 64))
        with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(alice["id"], "pick", reply_markup=keyboard("x" * 65))
        with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(alice["id"], "pick", reply_markup=keyboard("é" * 33))  # 66 bytes
    assert len(bot_api.violations) == 2


async def test_bot_commands_per_language_and_limits(bot_api: FakeBotApi) -> None:
    async with bot_api.make_bot() as bot:
        await bot.set_my_commands([("start", "Begin"), ("help", "Help")])
        await bot.set_my_commands([("start", "Anfangen")], language_code="de")
        assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
        assert [c.description for c in await bot.get_my_commands(language_code="de")] == ["Anfangen"]
        with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
            await bot.set_my_commands([("Start", "capital letters are not allowed")])
        with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_DESCRIPTION_INVALID"):
            await bot.set_my_commands([("start", "d" * 257)])
        await bot.delete_my_commands(language_code="de")
    assert bot_api.commands(language_code="de") == []
    assert bot_api.commands() == [
        {"command": "start", "description": "Begin"},
        {"command": "help", "description": "Help"},
    ]


# Spec checks on raw requests


async def test_unknown_method_is_404(bot_api: FakeBotApi) -> None:
    status, body = await raw_call(bot_api, "sendTelepathy", data={"chat_id": "1"})
    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
    assert bot_api.violations[0].method == "sendTelepathy"


async def test_unknown_parameter_missing_field_and_bad_type(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    status, body = await raw_call(bot_api, "sendMessage", data={"chat_id": str(alice["id"]), "txt": "hi"})
    assert status == 400 and body["description"] == 'Bad Request: unknown parameter "txt" for method sendMessage'
    status, body = await raw_call(bot_api, "sendMessage", data={"chat_id": str(alice["id"])})
    assert status == 400 and body["description"] == 'Bad Request: required parameter "text" is missing'
    status, body = await raw_call(
        bot_api, "sendMessage", data={"chat_id": str(alice["id"]), "text": "x", "reply_markup": "{not json"}
    )
    assert status == 400 and "reply_markup" in body["description"]
    assert [v.kind for v in bot_api.violations] == ["spec", "spec", "spec"]


async def test_json_body_and_case_insensitive_method(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    status, body = await raw_call(bot_api, "SENDMESSAGE", json={"chat_id": alice["id"], "text": "hello"})
    assert status == 200 and body["ok"] and body["result"]["text"] == "hello"
    assert bot_api.calls[-1].method == "sendMessage"


async def test_generated_updates_match_the_spec(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user(1001, "Alice", "de", username="alice")
    group = bot_api.make_group(title="Physio group")
    bot_api.user_sends_command(alice, "/start", payload="ref_42")
    for kind in ("video", "video_note", "animation", "document"):
        bot_api.user_sends_video(alice, VIDEO, kind=kind, caption="squat" if kind != "video_note" else None)
    bot_api.user_sends_audio(alice, b"ID3", voice=True)
    bot_api.user_sends_audio(alice, b"ID3")
    bot_api.user_sends_document(alice, b"{}", file_name="notes.json", mime_type="application/json")
    bot_api.user_sends_photo(alice, _png(8, 4))
    chatter = bot_api.user_sends_group_text(alice, group, "hello group")  # privacy mode: not delivered
    bot_api.user_sends_command(alice, "/help@rehab_test_bot", chat=group)
    async with bot_api.make_bot() as bot:
        sent = await bot.send_message(alice["id"], "pick", reply_markup=keyboard("a"))
    bot_api.user_presses_button(alice, sent.to_dict(), "a")
    bot_api.user_blocks_bot(alice)
    updates = bot_api.pending_updates
    assert len(updates) == 12
    for update in updates:
        assert bot_api.spec.check_object("Update", update) == [], update
    ids = [u["update_id"] for u in updates]
    assert ids == list(range(ids[0], ids[0] + 12))
    first = updates[0]["message"]
    assert first["text"] == "/start ref_42"
    assert first["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert first["chat"] == {"id": 1001, "type": "private", "first_name": "Alice", "username": "alice"}
    assert updates[9]["message"]["chat"]["type"] == "group"
    assert updates[9]["message"]["message_id"] == chatter["message_id"] + 1
    message_ids = [u["message"]["message_id"] for u in updates[:9]]
    assert message_ids == sorted(message_ids) and len(set(message_ids)) == 9


# getUpdates


async def test_get_updates_offset_confirms_and_redelivers(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    bot_api.user_sends_text(alice, "one")
    bot_api.user_sends_text(alice, "two")
    async with bot_api.make_bot() as bot:
        first = await bot.get_updates(timeout=0)
        assert [u.message.text for u in first] == ["one", "two"]
    # A bot killed before confirming gets the same updates after a restart.
    async with bot_api.make_bot() as restarted:
        again = await restarted.get_updates(timeout=0)
        assert [u.update_id for u in again] == [u.update_id for u in first]
        assert bot_api.delivery_count(first[0].update_id) == 2
        only_second = await restarted.get_updates(offset=first[0].update_id + 1, timeout=0)
        assert [u.message.text for u in only_second] == ["two"]
        assert await restarted.get_updates(offset=first[1].update_id + 1, timeout=0) == ()
        limited = bot_api.user_sends_text(alice, "three")
        bot_api.user_sends_text(alice, "four")
        batch = await restarted.get_updates(limit=1, timeout=0)
        assert [u.message.message_id for u in batch] == [limited["message_id"]]
    assert len(bot_api.get_updates_calls) == 5
    assert bot_api.get_updates_calls[0].update_ids == tuple(u.update_id for u in first)


async def test_long_poll_returns_as_soon_as_an_update_arrives(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    async with bot_api.make_bot() as bot:
        started = time.monotonic()
        poll = asyncio.create_task(bot.get_updates(timeout=10))
        await asyncio.sleep(0.3)
        assert not poll.done()
        bot_api.user_sends_text(alice, "ping")
        updates = await asyncio.wait_for(poll, 5)
        assert [u.message.text for u in updates] == ["ping"]
        assert time.monotonic() - started < 2
        started = time.monotonic()
        assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=1) == ()
        assert 0.9 < time.monotonic() - started < 3


async def test_allowed_updates_filters_and_is_remembered(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    async with bot_api.make_bot() as bot:
        sent = await bot.send_message(alice["id"], "pick", reply_markup=keyboard("a"))
        bot_api.user_sends_text(alice, "text")
        bot_api.user_presses_button(alice, bot_api.last_message(alice["id"]) or sent.to_dict(), "a")
        updates = await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
        assert [u.callback_query.data for u in updates] == ["a"]
        bot_api.user_sends_text(alice, "ignored as well")
        assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()


async def test_drop_pending_updates_is_recorded(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    bot_api.user_sends_text(alice, "lost")
    async with bot_api.make_bot() as bot:
        await bot.delete_webhook()
        assert len(bot_api.pending_updates) == 1
        await bot.delete_webhook(drop_pending_updates=True)
        assert await bot.get_updates(timeout=0) == ()
    assert len(bot_api.drop_pending_requests) == 1
    assert bot_api.dropped_updates[0][0] == "deleteWebhook"


async def test_second_poller_terminates_the_first_with_conflict(bot_api: FakeBotApi) -> None:
    async with bot_api.make_bot() as one, bot_api.make_bot() as two:
        first = asyncio.create_task(one.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        second = asyncio.create_task(two.get_updates(timeout=1))
        with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates request"):
            await asyncio.wait_for(first, 3)
        assert await second == ()
    assert bot_api.conflicts == 1


async def test_webhook_blocks_polling(bot_api: FakeBotApi) -> None:
    async with bot_api.make_bot() as bot:
        await bot.set_webhook("https://example.org/hook")
        assert (await bot.get_webhook_info()).url == "https://example.org/hook"
        with pytest.raises(Conflict, match=r"(?i)webhook is active"):
            await bot.get_updates(timeout=0)
        await bot.delete_webhook()
        assert await bot.get_updates(timeout=0) == ()


# Files


async def test_download_video_in_cloud_mode(bot_api: FakeBotApi, tmp_path: Path) -> None:
    alice = bot_api.make_user()
    message = bot_api.user_sends_video(alice, VIDEO, duration=12, width=720, height=1280, caption="squats")
    big = bot_api.user_sends_video(alice, VIDEO, kind="document", declared_size=25 * 1024 * 1024)
    assert message["video"]["file_size"] == len(VIDEO)
    assert big["document"]["file_size"] == 25 * 1024 * 1024
    async with bot_api.make_bot() as bot:
        file = await bot.get_file(message["video"]["file_id"])
        assert file.file_path.startswith(f"{bot_api.base_file_url}{bot_api.token}/videos/")
        assert bytes(await file.download_as_bytearray()) == VIDEO
        target = await file.download_to_drive(tmp_path / "v.mp4")
        assert target.read_bytes() == VIDEO
        with pytest.raises(BadRequest, match=r"(?i)file is too big"):
            await bot.get_file(big["document"]["file_id"])
    assert len(bot_api.downloads) == 2
    assert [v.description for v in bot_api.violations] == ["Bad Request: file is too big"]


async def test_download_video_in_local_mode(bot_api_local: FakeBotApi, tmp_path: Path) -> None:
    api = bot_api_local
    alice = api.make_user()
    message = api.user_sends_video(alice, VIDEO, kind="video_note", declared_size=300 * 1024 * 1024)
    async with api.make_bot() as bot:
        file = await bot.get_file(message["video_note"]["file_id"])
        assert Path(file.file_path).is_absolute()
        assert file.file_path.startswith(str(api.local_files_dir))
        assert file.file_size == 300 * 1024 * 1024  # no 20 MB cap on a local server
        assert bytes(await file.download_as_bytearray()) == VIDEO
        assert (await file.download_to_drive(tmp_path / "note.mp4")).read_bytes() == VIDEO
        # In local mode PTB passes local paths as file:// URIs instead of uploading them.
        report = tmp_path / "report.json"
        report.write_text('{"ok": true}')
        await bot.send_document(alice["id"], report)
    assert api.calls_to("sendDocument")[0]["document"].startswith("file://")
    assert api.uploads[0].data == b'{"ok": true}' and api.uploads[0].filename == "report.json"
    assert api.downloads == []
    assert api.violations == []


async def test_multipart_uploads_are_stored(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    export = json.dumps({"sessions": [1, 2, 3]}).encode()
    png = _png(32, 16)
    async with bot_api.make_bot() as bot:
        doc = await bot.send_document(
            alice["id"], io.BytesIO(export), filename="export.json", caption="<b>Export</b>", parse_mode="HTML"
        )
        photo = await bot.send_photo(alice["id"], png, caption="progress")
        downloaded = await (await bot.get_file(doc.document.file_id)).download_as_bytearray()
        again = await bot.send_document(alice["id"], doc.document.file_id)
    assert doc.document.file_name == "export.json" and doc.caption == "Export"
    assert (photo.photo[-1].width, photo.photo[-1].height) == (32, 16)
    assert bytes(downloaded) == export
    assert again.document.file_unique_id == doc.document.file_unique_id
    sent = bot_api.sent_messages(alice["id"])
    assert [s.method for s in sent] == ["sendDocument", "sendPhoto", "sendDocument"]
    assert sent[0].file is not None and sent[0].file.data == export and sent[0].file.filename == "export.json"
    assert sent[1].file is not None and sent[1].file.data == png
    assert sent[2].file is None  # re-sent by file_id, nothing uploaded
    assert [u.data for u in bot_api.uploads] == [export, png]


def _png(width: int, height: int) -> bytes:
    """A small PNG image."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, format="PNG")
    return buffer.getvalue()


# Messages the bot manages


async def test_edits_buttons_and_callback_answers(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    async with bot_api.make_bot() as bot:
        status = await bot.send_message(alice["id"], "Analysing… 0%", reply_markup=keyboard("cancel"))
        edited = await bot.edit_message_text(
            "Analysing… 50%", alice["id"], status.message_id, reply_markup=keyboard("cancel")
        )
        assert edited.text == "Analysing… 50%" and edited.edit_date is not None
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text(
                "Analysing… 50%", alice["id"], status.message_id, reply_markup=keyboard("cancel")
            )
        query = bot_api.user_presses_button(alice, bot_api.last_message(alice["id"]), "cancel")
        updates = await bot.get_updates(timeout=0)
        assert updates[0].callback_query.data == "cancel"
        assert updates[0].callback_query.message.message_id == status.message_id
        assert bot_api.unanswered_callback_queries() == [query["id"]]
        await bot.answer_callback_query(query["id"], text="Cancelled")
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query(query["id"])
        # Editing without reply_markup removes the keyboard, as on Telegram.
        await bot.edit_message_text("Cancelled", alice["id"], status.message_id)
        with pytest.raises(AssertionError, match=r"(?i)no button"):
            bot_api.user_presses_button(alice, status.message_id, "cancel")
        await bot.delete_message(alice["id"], status.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
            await bot.delete_message(alice["id"], status.message_id)
    assert [e.text for e in bot_api.edits(alice["id"])] == ["Analysing… 50%", "Cancelled"]
    assert bot_api.callback_answer(query["id"]) == {"callback_query_id": query["id"], "text": "Cancelled"}
    assert bot_api.sent_messages(alice["id"])[0].deleted
    assert [v.kind for v in bot_api.violations] == ["state", "state", "state"]


async def test_chat_actions_copy_and_menu_button(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    clip = bot_api.user_sends_video(alice, VIDEO, duration=30)
    async with bot_api.make_bot() as bot:
        await bot.send_chat_action(alice["id"], "upload_video")
        with pytest.raises(BadRequest, match=r"(?i)wrong parameter action"):
            await bot.send_chat_action(alice["id"], "dancing")
        copied = await bot.copy_message(alice["id"], alice["id"], clip["message_id"], video_start_timestamp=12)
        await bot.set_chat_menu_button()
        assert (await bot.get_chat_menu_button()).type == "default"
        chat = await bot.get_chat(alice["id"])
    assert chat.first_name == alice["first_name"]
    assert bot_api.chat_actions(alice["id"]) == ["upload_video"]
    replay = bot_api.message(alice["id"], copied.message_id)
    assert replay is not None and replay["video"]["start_timestamp"] == 12
    assert replay["from"]["id"] == bot_api.bot_user["id"]


async def test_media_groups_and_generic_methods(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    png = _png(4, 4)
    async with bot_api.make_bot() as bot:
        album = await bot.send_media_group(
            alice["id"], [InputMediaPhoto(png, caption="<b>day 1</b>", parse_mode="HTML"), InputMediaVideo(VIDEO)]
        )
        with pytest.raises(BadRequest, match=r"(?i)2-10 items"):
            await bot.send_media_group(alice["id"], [InputMediaPhoto(png)])
        location = await bot.send_location(alice["id"], 52.5, 13.4)  # not modelled: a bare Message
        photos = await bot.get_user_profile_photos(alice["id"])  # not modelled: a minimal valid object
    assert [m.media_group_id for m in album] == [album[0].media_group_id] * 2
    assert album[0].caption == "day 1" and album[1].video is not None
    assert [u.data for u in bot_api.uploads] == [png, VIDEO]
    assert location.chat.id == alice["id"]
    assert photos.total_count == 0
    assert len(bot_api.violations) == 1


# Faults


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_retry_after_fault(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    bot_api.inject("sendMessage", RetryAfterFault(7))
    async with bot_api.make_bot() as bot:
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(alice["id"], "hi")
        assert retry_seconds(caught.value) == 7
        await bot.send_message(alice["id"], "hi")  # times=1: the next call passes
    assert len(bot_api.sent_messages(alice["id"])) == 1
    assert [f.fault for f in bot_api.fired_faults] == [RetryAfterFault(7)]
    assert bot_api.violations == []


@pytest.mark.parametrize("status", [500, 502])
async def test_server_errors_raise_network_error(bot_api: FakeBotApi, status: int) -> None:
    alice = bot_api.make_user()
    bot_api.inject("sendMessage", ServerError(status))
    async with bot_api.make_bot() as bot:
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(alice["id"], "hi")
    assert not isinstance(caught.value, TimedOut)
    assert bot_api.sent_messages() == []


async def test_forbidden_fault_and_blocked_user(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    bob = bot_api.make_user()
    bot_api.inject("sendMessage", ForbiddenFault(), chat_id=alice["id"])
    async with bot_api.make_bot() as bot:
        await bot.send_message(bob["id"], "not affected")
        with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
            await bot.send_message(alice["id"], "hi")
        bot_api.user_blocks_bot(bob)
        with pytest.raises(Forbidden):
            await bot.send_message(bob["id"], "hi")
    assert bot_api.violations == []


async def test_dropped_response(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    bot_api.inject("sendMessage", Dropped())
    bot_api.inject("sendMessage", Dropped(performed=True))
    async with bot_api.make_bot() as bot:
        with pytest.raises(NetworkError):
            await bot.send_message(alice["id"], "never arrives")
        with pytest.raises(NetworkError):
            await bot.send_message(alice["id"], "arrives but the answer is lost")
    assert [s.text for s in bot_api.sent_messages(alice["id"])] == ["arrives but the answer is lost"]
    assert len(bot_api.fired_faults) == 2


async def test_slow_answers_and_timeouts(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    bot_api.inject("sendMessage", Slow(0.3))
    bot_api.inject("sendMessage", Slow(2))
    bot_api.inject("sendMessage", Slow(2, perform_first=True))
    async with bot_api.make_bot(read_timeout=0.6) as bot:
        started = time.monotonic()
        await bot.send_message(alice["id"], "slow")
        assert time.monotonic() - started >= 0.3
        with pytest.raises(TimedOut):
            await bot.send_message(alice["id"], "too slow")
        with pytest.raises(TimedOut):
            await bot.send_message(alice["id"], "done but slow")
    assert [s.text for s in bot_api.sent_messages(alice["id"])] == ["slow", "done but slow"]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_per_chat_flood_control(bot_api: FakeBotApi) -> None:
    alice, bob = bot_api.make_user(), bot_api.make_user()
    bot_api.set_flood_control(FloodControl(per_chat=2, window_s=0.5))
    async with bot_api.make_bot() as bot:
        status = await bot.send_message(alice["id"], "0%")
        await bot.edit_message_text("10%", alice["id"], status.message_id)
        with pytest.raises(RetryAfter):
            await bot.edit_message_text("20%", alice["id"], status.message_id)
        await bot.send_message(bob["id"], "other chats are not affected")
        await bot.send_chat_action(alice["id"], "typing")  # chat actions do not count
        await asyncio.sleep(0.55)
        await bot.edit_message_text("30%", alice["id"], status.message_id)
    assert len(bot_api.flood_hits) == 1
    assert bot_api.violations == []


# Against a running bot


async def test_application_polling_replies_to_a_text(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user(1001, "Alice", "en")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"You said: {update.message.text}", do_quote=True)

    app: Application = bot_api.application_builder().build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    incoming = bot_api.user_sends_text(alice, "hello bot")
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        reply = await bot_api.wait_for_message(alice["id"], lambda m: m.text.startswith("You said"))
        later = bot_api.user_sends_text(alice, "again")
        second = await bot_api.wait_for_message(alice["id"], lambda m: m.reply_to_message_id == later["message_id"])
        await app.updater.stop()
        await app.stop()
    assert reply.text == "You said: hello bot"
    assert reply.reply_to_message_id == incoming["message_id"]
    assert second.text == "You said: again"
    assert bot_api.pending_updates == []  # PTB confirmed what it handled when it stopped
    assert bot_api.drop_pending_requests == []
    assert bot_api.conflicts == 0
    assert bot_api.violations == []


def test_bot_in_another_process_while_the_test_blocks(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    bot_api.user_sends_text(alice, "from a subprocess?")
    script = textwrap.dedent(
        """
        import asyncio, os
        from telegram import Bot

        async def main():
            root = os.environ["TELEGRAM_API_URL"]
            async with Bot(os.environ["TELEGRAM_BOT_TOKEN"], base_url=root + "/bot") as bot:
                (update,) = await bot.get_updates(timeout=1)
                await update.message.reply_text("yes, from a subprocess")
                await bot.get_updates(offset=update.update_id + 1, timeout=0)

        asyncio.run(main())
        """
    )
    env = {"PATH": "/usr/bin:/bin", **bot_api.bot_env()}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    reply = bot_api.wait_for_sync(lambda: bot_api.last_message(alice["id"]))
    assert reply.text == "yes, from a subprocess"
    assert bot_api.pending_updates == []


POLL_AND_HANG = textwrap.dedent(
    """
    import asyncio, os
    from telegram import Bot

    async def main():
        root = os.environ["TELEGRAM_API_URL"]
        async with Bot(os.environ["TELEGRAM_BOT_TOKEN"], base_url=root + "/bot") as bot:
            updates = await bot.get_updates(timeout=30)
            print(updates[0].update_id, flush=True)
            await asyncio.sleep(60)  # killed here, before the next getUpdates would confirm

    asyncio.run(main())
    """
)


async def test_killed_bot_gets_unconfirmed_update_again(bot_api: FakeBotApi) -> None:
    alice = bot_api.make_user()
    env = {"PATH": "/usr/bin:/bin", **bot_api.bot_env()}

    async def run_until_update(send: bool) -> int:
        """Start the polling script, optionally send a text while it waits, read the update id, SIGKILL it."""
        calls_before = len(bot_api.calls_to("getUpdates"))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", POLL_AND_HANG, env=env, stdout=asyncio.subprocess.PIPE
        )
        try:
            if send:
                await bot_api.wait_for(lambda: len(bot_api.calls_to("getUpdates")) > calls_before, 20)
                bot_api.user_sends_text(alice, "are you there?")
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 20)
        finally:
            proc.kill()
            await proc.wait()
        return int(line)

    first = await run_until_update(send=True)
    second = await run_until_update(send=False)
    assert first == second
    assert bot_api.delivery_count(first) == 2
    # A bot killed in the middle of a long poll leaves nothing behind: the next poller gets no 409.
    async with bot_api.make_bot() as bot:
        await bot.get_updates(offset=first + 1, timeout=0)
        calls_before = len(bot_api.calls_to("getUpdates"))
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", POLL_AND_HANG, env=env)
        await bot_api.wait_for(lambda: len(bot_api.calls_to("getUpdates")) > calls_before, 20)
        proc.kill()
        await proc.wait()
        await asyncio.sleep(0.1)  # a restarted bot needs far longer than the server takes to notice
        assert await bot.get_updates(timeout=0) == ()
    assert bot_api.conflicts == 0
