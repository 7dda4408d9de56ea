"""The per-chat cap does not count a video job that is only delivering its feedback (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from storage.queue import JobKind, JobQueue
from tests.fixtures.db import FakeClock
from tests.test_queue import add_job


@pytest.fixture
def queue(db_engine: Engine, fake_clock: FakeClock) -> JobQueue:
    """A queue on the test database with an injected clock, one running job a chat."""
    return JobQueue(db_engine, lease_s=30, max_attempts=3, clock=fake_clock)


@pytest.mark.parametrize("stage", ["downloading", "preparing", "analysing"])
def test_a_job_at_work_holds_its_chat(queue: JobQueue, db_engine: Engine, fake_clock: FakeClock, stage: str) -> None:
    """Before delivery the chat's next video waits."""
    for key in ("a0", "a1"):
        add_job(queue, db_engine, key, chat_id=1000)
        fake_clock.advance(0.1)
    [first] = queue.claim("w1", 5)
    assert queue.set_stage(first, stage)
    assert queue.claim("w2", 5) == []


def test_a_delivering_video_job_frees_its_chat(queue: JobQueue, db_engine: Engine, fake_clock: FakeClock) -> None:
    """Once the first video only delivers, the chat's next one is claimed; a third still waits."""
    ids = []
    for key in ("a0", "a1", "a2"):
        ids.append(add_job(queue, db_engine, key, chat_id=1000))
        fake_clock.advance(0.1)
    [first] = queue.claim("w1", 5)
    assert queue.set_stage(first, "delivering")
    [second] = queue.claim("w2", 5)
    assert (first.id, second.id) == (ids[0], ids[1])
    assert queue.claim("w3", 5) == [], "the second job is at work: the chat is at its cap again"
    assert queue.complete(first)
    assert queue.claim("w3", 5) == []


def test_a_delivering_answer_still_holds_its_chat(queue: JobQueue, db_engine: Engine, fake_clock: FakeClock) -> None:
    """Only video jobs hand their chat on: an answer's stages are all its model's."""
    add_job(queue, db_engine, "q0", chat_id=1000, kind=JobKind.ANSWER, video_id=None)
    fake_clock.advance(0.1)
    add_job(queue, db_engine, "a0", chat_id=1000)
    [answer] = queue.claim("w1", 5)
    assert answer.kind == JobKind.ANSWER
    assert queue.set_stage(answer, "delivering")
    assert queue.claim("w2", 5) == []


def test_a_question_waits_for_the_feedback_being_delivered(
    queue: JobQueue, db_engine: Engine, fake_clock: FakeClock
) -> None:
    """While a video's feedback is delivered, a question of that chat waits; the chat's next video does not."""
    add_job(queue, db_engine, "a0", chat_id=1000)
    fake_clock.advance(0.1)
    [video] = queue.claim("w1", 5)
    assert queue.set_stage(video, "delivering")
    add_job(queue, db_engine, "q0", chat_id=1000, kind=JobKind.ANSWER, video_id=None)
    assert queue.claim("w2", 5) == [], "the question waits"
    assert queue.complete(video)
    [answer] = queue.claim("w2", 5)
    assert answer.kind == JobKind.ANSWER
