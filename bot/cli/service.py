"""Service verbs of `rehab-bot`: run, worker, migrate, add-therapist, summaries."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from pydantic import ValidationError

from bot.cli.errors import EXIT_OK, CliError
from bot.config import Settings

logger = logging.getLogger(__name__)


def _settings() -> Settings:
    """Settings from the environment, or a one-line error naming the bad variable."""
    try:
        return Settings()
    except ValidationError as error:
        fields = ", ".join(str(item["loc"][0]).upper() for item in error.errors() if item.get("loc"))
        raise CliError(f"invalid settings: {fields}") from None


def run(args: argparse.Namespace) -> int:
    """`rehab-bot run`: the bot with in-process workers (long polling, or a webhook when configured)."""
    from bot.tg.app import run_bot

    settings = _settings()
    if not settings.telegram_bot_token.get_secret_value():
        raise CliError("TELEGRAM_BOT_TOKEN is not set")
    run_bot(settings)
    return EXIT_OK


async def _run_workers(settings: Settings) -> None:
    """Workers alone against the shared database, until SIGINT/SIGTERM."""
    from bot.services import build_services
    from bot.tg.app import sending_bot, start_metrics, wire_therapist_side
    from bot.tg.scheduler import Scheduler
    from bot.tg.worker import WorkerPool
    from storage.db import migrate

    await asyncio.to_thread(migrate, settings.database_url)
    services = build_services(settings)
    wire_therapist_side(services)
    metrics = start_metrics(services)
    bot = sending_bot(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Platforms without loop signal handlers (Windows) stop on Ctrl+C through KeyboardInterrupt instead.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with bot:
        pool = WorkerPool(services, bot)
        await pool.start()
        scheduler = Scheduler(services, bot)
        scheduler.start()
        await stop.wait()
        await scheduler.stop()
        await pool.stop()
    await services.assessment.backend.close()
    if metrics is not None:
        metrics.stop()
    services.engine.dispose()


def worker(args: argparse.Namespace) -> int:
    """`rehab-bot worker`: workers only (e.g. on GPU machines) against a shared database."""
    settings = _settings()
    if not settings.telegram_bot_token.get_secret_value():
        raise CliError("TELEGRAM_BOT_TOKEN is not set")
    asyncio.run(_run_workers(settings))
    return EXIT_OK


def migrate_command(args: argparse.Namespace) -> int:
    """`rehab-bot migrate`: bring the database schema up to date."""
    from storage.db import migrate

    migrate(_settings().database_url)
    print("database is up to date")  # noqa: T201
    return EXIT_OK


def add_therapist(args: argparse.Namespace) -> int:
    """`rehab-bot add-therapist ID`: give a Telegram user the therapist role."""
    from sqlmodel import Session

    from storage import crud
    from storage.db import create_db_engine, migrate

    settings = _settings()
    migrate(settings.database_url)
    engine = create_db_engine(settings.database_url)
    with Session(engine) as session:
        crud.ensure_therapist(session, user_id=args.user_id)
    engine.dispose()
    print(f"user {args.user_id} is a therapist")  # noqa: T201
    return EXIT_OK


def summaries(args: argparse.Namespace) -> int:
    """`rehab-bot summaries [--now]`: send the weekly summaries that are due (or this week's now)."""
    from bot.cli.summaries import send_summaries

    return send_summaries(_settings(), now=args.now)


SERVICE_VERBS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": run,
    "worker": worker,
    "migrate": migrate_command,
    "add-therapist": add_therapist,
    "summaries": summaries,
}
