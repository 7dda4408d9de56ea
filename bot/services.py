"""The application's collaborators, built once at start-up and passed to handlers and workers."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.asr.whisper import WhisperTranscriber
from bot.config import Settings
from bot.engine.assess import AssessmentService
from bot.engine.build import build_assessment_service, build_pose
from bot.i18n import Catalogs, Translator, negotiate_locale
from bot.metrics import Metrics
from bot.pose.stage import PoseStage
from bot.vlm.backend import VisionLanguageBackend
from storage.db import create_db_engine
from storage.files import VideoStore
from storage.models import User
from storage.queue import JobQueue

T = TypeVar("T")


def decode_slots() -> int:
    """How many videos are decoded and measured at once: ffmpeg alone keeps about two cores busy."""
    return max(1, (os.cpu_count() or 1) // 2)


@dataclass
class Services:
    """Settings, database, queue, file store, catalogs and the assessment engine."""

    settings: Settings
    engine: Engine
    queue: JobQueue
    store: VideoStore
    catalogs: Catalogs
    assessment: AssessmentService
    metrics: Metrics = field(default_factory=Metrics)
    # Body keypoints and measurements per video (disabled: POSE_BACKEND=off); nothing loads until the first video.
    pose: PoseStage = field(default_factory=lambda: PoseStage(None))
    # Speech to text for voice questions (nothing loads until the first one).
    transcriber: WhisperTranscriber | None = None
    # Set when a handler enqueues work, so in-process workers start at once instead of polling.
    work_available: asyncio.Event = field(default_factory=asyncio.Event)
    # Videos take turns at the cores for decoding and the pose stage, in the order their jobs got there: the one
    # next in line for the model gets the cores instead of sharing them with every slot (the model waits less).
    decoding: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(decode_slots()))
    # What the last feedback message carries below the feedback (the pain question and its keyboard):
    # (translator, assessment) -> (plain text, reply markup).
    feedback_footer: Callable[[Any, Any], tuple[str, Any]] | None = None
    # Delivers a freshly recorded alert to the therapist: (bot, alert).
    alert_notifier: Callable[[Any, Any], Awaitable[None]] | None = None
    # When the bot last sent to each chat (time.monotonic()), shared by handlers and the in-process
    # workers' StatusEditor so their messages and edits together keep Telegram's per-chat pace.
    last_sent: dict[int, float] = field(default_factory=dict)

    async def db(self, function: Callable[..., T], /, **kwargs: Any) -> T:
        """Run one short database unit of work on a thread (never holding a transaction across an await)."""

        def call() -> T:
            """Open a session, run the function, close."""
            with Session(self.engine, expire_on_commit=False) as session:
                return function(session, **kwargs)

        return await asyncio.to_thread(call)

    def locale_of(self, user: User | None, language_code: str | None = None) -> str:
        """The user's chosen locale, else their Telegram language, else the default."""
        if user is not None and user.locale:
            return user.locale
        code = language_code or (user.telegram_language if user is not None else None)
        return negotiate_locale(code, default=self.settings.default_locale)

    def translator(self, user: User | None, language_code: str | None = None) -> Translator:
        """The translator for a user."""
        return self.catalogs.get(self.locale_of(user, language_code))

    def notify_work(self) -> None:
        """Wake in-process workers: a job was enqueued."""
        self.work_available.set()

    def note_sent(self, chat_id: int) -> None:
        """Record that a handler just sent a message to a chat (the workers' next edit there waits its turn)."""
        self.last_sent[chat_id] = max(self.last_sent.get(chat_id, 0.0), time.monotonic())


def build_services(settings: Settings, *, backend: VisionLanguageBackend | None = None) -> Services:
    """Create every collaborator from settings (nothing is started or loaded yet)."""
    engine = create_db_engine(settings.database_url)
    queue = JobQueue(
        engine,
        lease_s=settings.job_lease_s,
        max_attempts=settings.max_attempts,
        per_chat_cap=settings.per_chat_jobs,
        backoff_base_s=settings.retry_backoff_s,
        backoff_cap_s=settings.retry_backoff_cap_s,
    )
    return Services(
        settings=settings,
        engine=engine,
        queue=queue,
        metrics=Metrics(queue_counts=queue.counts),
        store=VideoStore(settings.data_dir),
        catalogs=Catalogs.load(default_locale=settings.default_locale),
        assessment=build_assessment_service(settings, backend),
        transcriber=WhisperTranscriber(settings.asr_model, device=settings.asr_device),
        pose=build_pose(settings),
    )
