"""Builds the python-telegram-bot Application: typed context, handlers, start-up and shutdown."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from telegram import Update
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes, ExtBot
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.metrics import MetricsServer
from bot.services import Services, build_services
from bot.tg.alerts import raise_alert
from bot.tg.context import SERVICES_KEY, BotApplication, BotContext
from bot.tg.pain import pain_footer
from bot.tg.polling import TolerantBot
from bot.tg.scheduler import Scheduler
from bot.tg.worker import WorkerPool
from handlers import setup
from handlers.commands import publish_command_menus
from storage.db import migrate

logger = logging.getLogger(__name__)

WORKERS_KEY = "workers"
SCHEDULER_KEY = "scheduler"
METRICS_KEY = "metrics_server"


def start_metrics(services: Services) -> MetricsServer | None:
    """The Prometheus endpoint when METRICS_PORT is set."""
    settings = services.settings
    if not settings.metrics_port:
        return None
    return services.metrics.serve(settings.metrics_host, settings.metrics_port)


async def post_init(application: BotApplication) -> None:
    """Start-up: metrics, command menus per language, then the worker pool."""
    services: Services = application.bot_data[SERVICES_KEY]
    application.bot_data[METRICS_KEY] = start_metrics(services)
    await publish_command_menus(application.bot, services.catalogs)
    if application.bot_data.get("start_workers", True):
        pool = WorkerPool(services, application.bot)
        application.bot_data[WORKERS_KEY] = pool
        await pool.start()
    scheduler = Scheduler(services, application.bot)
    application.bot_data[SCHEDULER_KEY] = scheduler
    scheduler.start()
    logger.info("bot started as @%s", application.bot.username)


async def post_shutdown(application: BotApplication) -> None:
    """Shutdown: return unfinished jobs to the queue, free the model and the database."""
    services: Services = application.bot_data[SERVICES_KEY]
    scheduler: Scheduler | None = application.bot_data.pop(SCHEDULER_KEY, None)
    if scheduler is not None:
        await scheduler.stop()
    pool: WorkerPool | None = application.bot_data.pop(WORKERS_KEY, None)
    if pool is not None:
        await pool.stop()
    await services.assessment.backend.close()
    if services.transcriber is not None:
        services.transcriber.close()
    metrics: MetricsServer | None = application.bot_data.pop(METRICS_KEY, None)
    if metrics is not None:
        metrics.stop()
    services.engine.dispose()


def wire_therapist_side(services: Services) -> None:
    """Connect the hooks the patient side calls: the pain question under feedback, alert delivery."""

    async def alert_notifier(bot: Any, alert: Any) -> None:
        """Act on a new alert and tell the therapist."""
        await raise_alert(services, bot, alert)

    services.feedback_footer = pain_footer
    services.alert_notifier = alert_notifier


def sending_bot(settings: Settings) -> ExtBot[None]:
    """A bot for sending only (workers, summaries), pointed at the configured Bot API server."""
    return ExtBot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=settings.bot_api_base_url,
        base_file_url=settings.bot_file_base_url,
        local_mode=settings.telegram_local_mode,
        rate_limiter=AIORateLimiter(max_retries=3),
    )


def build_application(settings: Settings, services: Services, *, start_workers: bool | None = None) -> BotApplication:
    """The Application wired to the configured Bot API server, with every handler registered."""
    bot = TolerantBot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=settings.bot_api_base_url,
        base_file_url=settings.bot_file_base_url,
        local_mode=settings.telegram_local_mode,
        # What ApplicationBuilder would build: a wide pool for sending, one connection for getUpdates.
        request=HTTPXRequest(connection_pool_size=256),
        get_updates_request=HTTPXRequest(connection_pool_size=1),
        # Paces overall traffic and retries a 429 a few times; private-chat edits are throttled by us.
        rate_limiter=AIORateLimiter(max_retries=3),
    )
    builder = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(ContextTypes(context=BotContext))
        .concurrent_updates(True)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    application: BotApplication = builder.build()  # type: ignore[assignment]
    application.bot_data[SERVICES_KEY] = services
    application.bot_data["start_workers"] = settings.run_workers if start_workers is None else start_workers
    wire_therapist_side(services)
    setup(application)
    return application


async def start_application(application: BotApplication, *, poll_timeout: int = 10) -> None:
    """What `run_polling`/`run_webhook` do before they idle: initialize, post_init, start, then receive updates."""
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    assert application.updater is not None
    settings: Settings = application.bot_data[SERVICES_KEY].settings
    if settings.telegram_webhook_url:
        await application.updater.start_webhook(**webhook_options(settings))
        return
    await application.updater.start_polling(
        poll_interval=0.0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES, drop_pending_updates=False
    )


def webhook_options(settings: Settings) -> dict[str, Any]:
    """Arguments for python-telegram-bot's webhook server: listen address, path, secret, public URL."""
    host, port = settings.webhook_listen_address
    return {
        "listen": host,
        "port": port,
        # Telegram posts to the public URL; a proxy in front passes its path through unchanged.
        "url_path": urlsplit(settings.telegram_webhook_url).path.lstrip("/"),
        "webhook_url": settings.telegram_webhook_url,
        "secret_token": settings.webhook_secret,
        "allowed_updates": Update.ALL_TYPES,
        # Never drop pending updates: videos sent while the bot was down must still be served.
        "drop_pending_updates": False,
    }


async def stop_application(application: BotApplication) -> None:
    """What `run_polling` does on exit: stop polling, stop, post_shutdown, shutdown."""
    assert application.updater is not None
    if application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    if application.post_shutdown is not None:
        await application.post_shutdown(application)
    await application.shutdown()


def run_bot(settings: Settings) -> None:
    """`rehab-bot run`: migrate, then long polling (or the webhook server) with the workers in the same process."""
    if not settings.telegram_bot_token.get_secret_value():
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    migrate(settings.database_url)
    services = build_services(settings)
    application = build_application(settings, services)
    if settings.telegram_webhook_url:
        logger.info("receiving updates by webhook on %s:%d", *settings.webhook_listen_address)
        application.run_webhook(**webhook_options(settings))
        return
    # Never drop pending updates: videos sent while the bot was down must still be served.
    application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
