"""Videos take turns at decoding: the one claimed first is prepared alone, not at half speed beside the next."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bot import services as services_module
from bot.services import decode_slots
from tests.fixtures.bot import BotHarness
from tests.fixtures.videos import Clip
from tests.helpers.bot_e2e import consent, wait_for_feedback


@pytest.mark.parametrize(("cpus", "slots"), [(None, 1), (1, 1), (2, 1), (3, 1), (16, 8)])
def test_decode_slots_follow_the_cores(monkeypatch: pytest.MonkeyPatch, cpus: int | None, slots: int) -> None:
    """About one decode per two cores (ffmpeg keeps two busy), at least one."""
    monkeypatch.setattr(services_module.os, "cpu_count", lambda: cpus)
    assert decode_slots() == slots


async def test_two_slots_prepare_one_video_at_a_time(bot_harness: BotHarness, clip_small: Clip) -> None:
    """WORKERS=2 with one decode turn: the two videos' preparations do not overlap, in the order claimed."""
    api, services = bot_harness.api, bot_harness.services
    assert bot_harness.settings.workers == 2
    services.decoding = asyncio.Semaphore(1)
    spans: list[tuple[float, float]] = []
    original = services.assessment.prepare_video

    def prepare_video(*args: Any, **kwargs: Any) -> Any:
        """The real preparation, held a little so that two at once would overlap."""
        started = time.monotonic()
        try:
            time.sleep(0.3)
            return original(*args, **kwargs)
        finally:
            spans.append((started, time.monotonic()))

    services.assessment.prepare_video = prepare_video  # type: ignore[method-assign]
    patients = [api.make_user(7301 + n, f"P{n}", "en") for n in range(2)]
    for patient in patients:
        await consent(api, patient)
    videos = [api.user_sends_video(p, clip_small.path.read_bytes(), duration=2) for p in patients]
    for patient, video in zip(patients, videos, strict=True):
        await wait_for_feedback(api, patient["id"], video["message_id"])
    assert len(spans) == 2
    (_, first_end), (second_start, _) = sorted(spans)
    assert second_start >= first_end, "the second preparation began only after the first ended"
