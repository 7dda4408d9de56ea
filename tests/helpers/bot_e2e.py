"""Helpers for the end-to-end bot tests (tests/test_bot_*.py): a patient's steps, waits and database reads."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, col, select

from bot.config import Settings
from bot.engine.stages import stage_text
from bot.services import build_services
from bot.tg.app import build_application, start_application, stop_application
from storage.db import create_db_engine, migrate
from storage.models import Job
from tests.fakes.botapi import FakeBotApi
from tests.fakes.botapi_records import SentMessage
from tests.fixtures.bot import BotHarness

T = TypeVar("T", bound=SQLModel)

FEEDBACK_TIMEOUT_S = 60.0
# The tiny model's generation_config gets this floor on new tokens, so one model call takes seconds.
SLOW_MODEL_MIN_NEW_TOKENS = 1200


async def consent(api: FakeBotApi, user: dict[str, Any]) -> None:
    """/start, then press the consent button and wait for the thank-you (in any language)."""
    api.user_sends_command(user, "/start")
    greeting = await api.wait_for_message(user["id"], lambda m: any("consent" in c for c in m.callback_data))
    api.user_presses_button(user, greeting, next(c for c in greeting.callback_data if "consent" in c))
    await api.wait_for_message(user["id"], lambda m: m.message_id > greeting.message_id and not m.reply_markup)


def replies_to(api: FakeBotApi, chat_id: int, message_id: int) -> list[SentMessage]:
    """Messages the bot sent replying to a given message."""
    return [m for m in api.sent_messages(chat_id) if m.reply_to_message_id == message_id]


def is_feedback(message_id: int) -> Callable[[SentMessage], bool]:
    """Whether a sent message is assessment feedback (HTML) replying to the given video message."""
    return lambda m: m.reply_to_message_id == message_id and m.parse_mode == "HTML"


def feedback_for(api: FakeBotApi, chat_id: int, message_id: int) -> list[SentMessage]:
    """Every feedback message replying to a video message."""
    return [m for m in api.sent_messages(chat_id) if is_feedback(message_id)(m)]


async def wait_for_feedback(
    api: FakeBotApi,
    chat_id: int,
    message_id: int,
    timeout: float = FEEDBACK_TIMEOUT_S,  # noqa: ASYNC109 - same meaning as FakeBotApi.wait_for's
) -> SentMessage:
    """The first feedback message replying to a video."""
    return await api.wait_for_message(chat_id, is_feedback(message_id), timeout=timeout)


def status_shows(api: FakeBotApi, chat_id: int, text: str) -> bool:
    """Whether some status edit in the chat showed exactly this text."""
    return any(edit.text == text for edit in api.edits(chat_id))


def english_stage(stage: str, *, position: int | None = None) -> str:
    """The English status line for a stage, from the catalog the bot uses."""
    from bot.i18n import Catalogs

    return stage_text(Catalogs.load().get("en"), stage, position=position)


def read_rows(database_url: str, model: type[T], *where: Any) -> list[T]:
    """Rows of a table as they are committed now (a fresh engine, so any process's writes are seen)."""
    engine = create_db_engine(database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            statement = select(model)
            for condition in where:
                statement = statement.where(condition)
            return list(session.exec(statement).all())
    finally:
        engine.dispose()


def jobs_for_chat(database_url: str, chat_id: int) -> list[Job]:
    """Every job of a chat, oldest first."""
    return sorted(read_rows(database_url, Job, col(Job.chat_id) == chat_id), key=lambda job: job.id or 0)


def files_under(directory: Path) -> list[Path]:
    """Every regular file below a directory (none when it does not exist)."""
    return sorted(path for path in directory.rglob("*") if path.is_file()) if directory.exists() else []


def make_slow_model(tiny_model_dir: Path, target: Path, *, min_new_tokens: int = SLOW_MODEL_MIN_NEW_TOKENS) -> Path:
    """A copy of the tiny model that never stops before `min_new_tokens` (so analysing takes seconds)."""
    if not target.exists():
        shutil.copytree(tiny_model_dir, target)
        config_path = target / "generation_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config["min_new_tokens"] = min_new_tokens
        config_path.write_text(json.dumps(config), encoding="utf-8")
    return target


class ModelCalls:
    """Counts (and keeps the requests of) calls of the model backend's `complete` and `stream`, still made."""

    def __init__(self, backend: Any) -> None:
        """Wrap `backend.complete` and `backend.stream` in place."""
        self.started = 0
        self.finished = 0
        self.requests: list[Any] = []
        original, original_stream = backend.complete, backend.stream

        async def complete(request: Any) -> Any:
            """Count, then call the real backend."""
            self.started += 1
            self.requests.append(request)
            try:
                return await original(request)
            finally:
                self.finished += 1

        async def stream(request: Any) -> AsyncIterator[str]:
            """Count, then stream from the real backend."""
            self.started += 1
            self.requests.append(request)
            try:
                async for piece in original_stream(request):
                    yield piece
            finally:
                self.finished += 1

        backend.complete = complete
        backend.stream = stream

    @property
    def running(self) -> bool:
        """Whether a call is in progress."""
        return self.started != self.finished


def job_tasks() -> list[asyncio.Task[Any]]:
    """The in-process worker pool's running job tasks (named `job-<id>`)."""
    return [task for task in asyncio.all_tasks() if task.get_name().startswith("job-") and not task.done()]


async def wait_until_idle(timeout: float = FEEDBACK_TIMEOUT_S) -> None:  # noqa: ASYNC109
    """Wait until no job runs in this process's worker pool."""
    deadline = time.monotonic() + timeout
    while job_tasks():
        if time.monotonic() > deadline:
            raise AssertionError("worker pool still busy")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running_bot(api: FakeBotApi, settings: Settings) -> AsyncIterator[BotHarness]:
    """The real Application with its workers, polling the fake Bot API until the block ends."""
    await asyncio.to_thread(migrate, settings.database_url)
    services = build_services(settings)
    application = build_application(settings, services)
    await start_application(application, poll_timeout=1)
    try:
        yield BotHarness(api, settings, services, application)
    finally:
        await stop_application(application)
