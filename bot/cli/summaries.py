"""`rehab-bot summaries [--now]`: send the due weekly summaries, or this week's for everyone now."""

from __future__ import annotations

import asyncio

from bot.cli.errors import EXIT_OK, CliError
from bot.config import Settings
from bot.services import build_services
from bot.tg.app import sending_bot, wire_therapist_side
from bot.tg.weekly import run_due_summaries, send_summaries_now
from storage.db import migrate


async def _send(settings: Settings, *, now: bool) -> int:
    """Send and report how many summaries went out."""
    await asyncio.to_thread(migrate, settings.database_url)
    services = build_services(settings)
    wire_therapist_side(services)
    try:
        async with sending_bot(settings) as bot:
            if now:
                return await send_summaries_now(services, bot)
            return await run_due_summaries(services, bot)
    finally:
        await services.assessment.backend.close()
        services.engine.dispose()


def send_summaries(settings: Settings, *, now: bool) -> int:
    """Entry point for the CLI verb."""
    if not settings.telegram_bot_token.get_secret_value():
        raise CliError("TELEGRAM_BOT_TOKEN is not set")
    sent = asyncio.run(_send(settings, now=now))
    print(f"sent {sent} summaries")  # noqa: T201
    return EXIT_OK
