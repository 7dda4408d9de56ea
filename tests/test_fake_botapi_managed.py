"""Messages the bot manages on the fake Bot API: edits, buttons, chat actions, copies, media groups."""

from __future__ import annotations

import pytest
from telegram import (
    InputMediaPhoto,
    InputMediaVideo,
)
from telegram.error import BadRequest

from tests.fakes.botapi import FakeBotApi
from tests.helpers.fake_botapi import VIDEO, _png, keyboard

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
