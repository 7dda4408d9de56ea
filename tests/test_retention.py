"""Raw-video retention on SQLite and PostgreSQL: old recordings and frame packs go, findings and new files stay."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.clinic.retention import RetentionSweep
from storage import crud
from storage.files import VideoStore
from storage.models import Assessment, User, Video, VideoStatus

T = TypeVar("T")
NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


def _db(engine: Engine) -> Callable[..., Any]:
    """An async `db` like `Services.db`: one session per call, on a thread."""

    async def db(function: Callable[..., T], /, **kwargs: Any) -> T:
        """Run one CRUD function off the event loop."""

        def call() -> T:
            """Open a session, run, close."""
            with Session(engine, expire_on_commit=False) as session:
                return function(session, **kwargs)

        return await asyncio.to_thread(call)

    return db


def add_video(
    session: Session, store: VideoStore, *, message_id: int, content: bytes, days_ago: float, status: str
) -> Video:
    """A video of user 1 received `days_ago` before NOW, with its stored file and a frame pack."""
    stored = store.store_stream([content], suffix=".mp4")
    frames = store.frames_dir(stored.sha256)
    frames.mkdir(parents=True, exist_ok=True)
    (frames / "proxy.mp4").write_bytes(b"frames")
    when = NOW - timedelta(days=days_ago)
    video = Video(
        user_id=1,
        chat_id=1,
        message_id=message_id,
        source="video",
        file_id=f"f{message_id}",
        file_unique_id=f"u{message_id}",
        status=status,
        reject_reason="too_dark" if status == VideoStatus.REJECTED else None,
        sha256=stored.sha256,
        stored_path=stored.rel,
        frames_path=store.frames_rel(stored.sha256),
        created_at=when,
        updated_at=when,
    )
    session.add(video)
    session.commit()
    if status == VideoStatus.ASSESSED:
        session.add(Assessment(video_id=video.id or 0, model_id="tiny", language="en", text="Knees track well."))
        session.commit()
    return video


async def test_purge_deletes_old_recordings_and_keeps_findings(db_engine: Engine, tmp_path: Path) -> None:
    """Old: files and frames gone, row purged, assessment kept; new and shared files stay; reruns do nothing."""
    store = VideoStore(tmp_path / "data")
    with Session(db_engine, expire_on_commit=False) as session:
        session.add(User(id=1, first_name="Pat"))
        session.commit()
        old = add_video(session, store, message_id=1, content=b"old", days_ago=31, status=VideoStatus.ASSESSED)
        rejected = add_video(session, store, message_id=2, content=b"bad", days_ago=40, status=VideoStatus.REJECTED)
        add_video(session, store, message_id=3, content=b"same", days_ago=45, status=VideoStatus.ASSESSED)
        new = add_video(session, store, message_id=4, content=b"new", days_ago=29, status=VideoStatus.ASSESSED)
        shared_new = add_video(session, store, message_id=5, content=b"same", days_ago=1, status=VideoStatus.ASSESSED)
        running = add_video(session, store, message_id=6, content=b"run", days_ago=60, status=VideoStatus.PROCESSING)
    sweep = RetentionSweep(_db(db_engine), store, days=30)

    result = await sweep.run(now=NOW)

    assert result.videos == 3
    for video in (old, rejected):
        assert not store.path(video.stored_path or "").exists()
        assert not store.path(video.frames_path or "").exists()
    for video in (new, shared_new, running):
        assert store.path(video.stored_path or "").is_file()
        assert store.path(video.frames_path or "").is_dir()
    with Session(db_engine) as session:
        rows = {video.message_id: video for video in session.exec(select(Video)).all()}
        assert rows[1].stored_path is None and rows[1].frames_path is None and crud.is_purged(rows[1])
        assert rows[1].status == VideoStatus.ASSESSED and rows[1].sha256 == old.sha256
        assert rows[2].stored_path is None and rows[2].reject_reason == "too_dark" and not crud.is_purged(rows[2])
        assert crud.is_purged(rows[3]) and not crud.is_purged(rows[5]) and rows[5].stored_path == shared_new.stored_path
        assert not crud.is_purged(rows[4]) and rows[4].stored_path == new.stored_path
        assert rows[6].stored_path == running.stored_path and not crud.is_purged(rows[6])
        assessments = {a.video_id: a.text for a in session.exec(select(Assessment)).all()}
        assert assessments == {rows[n].id: "Knees track well." for n in (1, 3, 4, 5)}
    assert (await sweep.run(now=NOW)).videos == 0


async def test_sweep_runs_when_due_and_not_when_off(db_engine: Engine, tmp_path: Path) -> None:
    """`run_if_due` runs at most once per period; 0 days keeps every recording."""
    store = VideoStore(tmp_path / "data")
    calls: list[str] = []

    async def db(function: Callable[..., T], /, **kwargs: Any) -> T:
        """Record the call, then run it."""
        calls.append(function.__name__)
        return await _db(db_engine)(function, **kwargs)

    ticks = iter([0.0, 10.0, 7 * 3600.0])
    sweep = RetentionSweep(db, store, days=30, every_s=3600.0, clock=lambda: next(ticks))
    for _ in range(3):
        await sweep.run_if_due()
    assert calls == ["purge_raw_videos", "purge_raw_videos"]
    assert (await RetentionSweep(db, store, days=0).run(now=NOW)).videos == 0
    assert len(calls) == 2
