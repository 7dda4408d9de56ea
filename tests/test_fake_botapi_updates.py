"""The fake Bot API's getUpdates: offsets, long polling, allowed_updates, conflicts, webhooks."""

from __future__ import annotations

import asyncio
import time

import pytest
from telegram.error import Conflict

from tests.fakes.botapi import FakeBotApi
from tests.helpers.fake_botapi import keyboard

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
