"""Status pacing against the fake Bot API: edits at most one per 1.5 s per chat, messages a second apart."""

from __future__ import annotations

import asyncio

from bot.progress import DEFAULT_EDIT_INTERVAL_S, SEND_INTERVAL_S, StatusEditor
from tests.fakes.botapi import FakeBotApi


async def test_edits_are_paced_coalesced_and_never_repeated(bot_api: FakeBotApi) -> None:
    """Four stage changes in a burst: the first and the latest are shown, 1.5 s apart; identical text is skipped."""
    user = bot_api.make_user(4001, "Eve", "en")
    async with bot_api.make_bot() as bot:
        status = await bot.send_message(chat_id=user["id"], text="queued")
        editor = StatusEditor(bot)
        for text in ("downloading", "preparing", "analysing", "analysing"):
            await editor.update(user["id"], status.message_id, text)
        await bot_api.wait_for(lambda: any(e.text == "analysing" for e in bot_api.edits(user["id"])), timeout=10)
        await asyncio.sleep(DEFAULT_EDIT_INTERVAL_S + 0.2)
        await editor.close()
    edits = [e for e in bot_api.edits(user["id"]) if e.text]
    assert [e.text for e in edits] == ["downloading", "analysing"]
    times = [call.ts for call in bot_api.calls if call.method == "editMessageText"]
    assert times[1] - times[0] >= DEFAULT_EDIT_INTERVAL_S - 0.05
    assert bot_api.violations == []


async def test_a_new_message_waits_a_second_after_an_edit_not_longer(bot_api: FakeBotApi) -> None:
    """Feedback after a status edit goes out once the chat's one-second slot is free."""
    user = bot_api.make_user(4002, "Ola", "en")
    async with bot_api.make_bot() as bot:
        status = await bot.send_message(chat_id=user["id"], text="queued")
        editor = StatusEditor(bot)
        await editor.update(user["id"], status.message_id, "analysing")
        await bot_api.wait_for(lambda: any(e.text == "analysing" for e in bot_api.edits(user["id"])), timeout=10)
        async with editor.sending(user["id"]):
            await bot.send_message(chat_id=user["id"], text="feedback")
        await editor.close()
    edit_at = next(c.ts for c in bot_api.calls if c.method == "editMessageText")
    sent_at = [c.ts for c in bot_api.calls if c.method == "sendMessage"][-1]
    assert SEND_INTERVAL_S - 0.05 <= sent_at - edit_at < DEFAULT_EDIT_INTERVAL_S
