"""Status pacing against the fake Bot API: edits at most one per 1.5 s per chat, messages a second apart."""

from __future__ import annotations

import time

from bot.tg.progress import DEFAULT_EDIT_INTERVAL_S, SEND_INTERVAL_S, STAGE_SETTLE_S, StatusEditor
from tests.fakes.botapi import FakeBotApi


async def test_stages_settle_then_show_the_latest_paced_and_never_repeated(bot_api: FakeBotApi) -> None:
    """A burst of stages shows only the latest, once work has gone on 1.5 s; edits stay 1.5 s apart."""
    user = bot_api.make_user(4001, "Eve", "en")
    async with bot_api.make_bot() as bot:
        status = await bot.send_message(chat_id=user["id"], text="queued")
        editor = StatusEditor(bot)
        started = time.monotonic()
        for text in ("downloading", "preparing", "analysing", "analysing"):
            await editor.update(user["id"], status.message_id, text)
        await bot_api.wait_for(lambda: any(e.text == "analysing" for e in bot_api.edits(user["id"])), timeout=10)
        shown_after = time.monotonic() - started
        await editor.update(user["id"], status.message_id, "delivering")
        await editor.finish(user["id"], status.message_id, "done")
        await bot_api.wait_for(lambda: any(e.text == "done" for e in bot_api.edits(user["id"])), timeout=10)
        await editor.close()
    assert shown_after >= STAGE_SETTLE_S - 0.05
    assert [e.text for e in bot_api.edits(user["id"]) if e.text] == ["analysing", "done"]
    times = [call.ts for call in bot_api.calls if call.method == "editMessageText"]
    assert times[1] - times[0] >= DEFAULT_EDIT_INTERVAL_S - 0.05
    assert bot_api.violations == []


async def test_a_quick_job_shows_no_stage_at_all(bot_api: FakeBotApi) -> None:
    """Done before a stage settled: the status goes straight from "queued" to the final text."""
    user = bot_api.make_user(4003, "Ida", "en")
    async with bot_api.make_bot() as bot:
        status = await bot.send_message(chat_id=user["id"], text="queued")
        editor = StatusEditor(bot)
        await editor.update(user["id"], status.message_id, "downloading")
        await editor.finish(user["id"], status.message_id, "done")
        await bot_api.wait_for(lambda: any(e.text == "done" for e in bot_api.edits(user["id"])), timeout=10)
        await editor.close()
    assert [e.text for e in bot_api.edits(user["id"]) if e.text] == ["done"]


async def test_a_new_message_waits_a_second_after_an_edit_not_longer(bot_api: FakeBotApi) -> None:
    """Feedback after a status edit goes out once the chat's one-second slot is free."""
    user = bot_api.make_user(4002, "Ola", "en")
    async with bot_api.make_bot() as bot:
        status = await bot.send_message(chat_id=user["id"], text="queued")
        editor = StatusEditor(bot)
        await editor.finish(user["id"], status.message_id, "analysing")
        await bot_api.wait_for(lambda: any(e.text == "analysing" for e in bot_api.edits(user["id"])), timeout=10)
        async with editor.sending(user["id"]):
            await bot.send_message(chat_id=user["id"], text="feedback")
        await editor.close()
    edit_at = next(c.ts for c in bot_api.calls if c.method == "editMessageText")
    sent_at = [c.ts for c in bot_api.calls if c.method == "sendMessage"][-1]
    assert SEND_INTERVAL_S - 0.05 <= sent_at - edit_at < DEFAULT_EDIT_INTERVAL_S
