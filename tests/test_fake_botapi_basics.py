"""The fake Bot API towards clients: getMe, the token, replies, and what it checks on raw requests."""

from __future__ import annotations

import pytest
from telegram import (
    ReplyParameters,
)
from telegram.error import BadRequest

from tests.fakes.botapi import FakeBotApi
from tests.helpers.fake_botapi import VIDEO, _png, keyboard, raw_call

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
