"""Faults the fake Bot API injects: 429, 5xx, 403, dropped and slow answers, flood control."""

from __future__ import annotations

import asyncio
import time

import pytest
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut

from tests.fakes.botapi import FakeBotApi
from tests.fakes.botapi_faults import Dropped, FloodControl, ServerError, Slow
from tests.fakes.botapi_faults import Forbidden as ForbiddenFault
from tests.fakes.botapi_faults import RetryAfter as RetryAfterFault
from tests.helpers.fake_botapi import retry_seconds

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
