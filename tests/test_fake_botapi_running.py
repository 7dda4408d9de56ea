"""The fake Bot API against a running bot: PTB's polling Application and bots in other processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

from telegram import (
    Update,
)
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from tests.fakes.botapi import FakeBotApi

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
