"""TELEGRAM_LOCAL_MODE=1: a self-hosted Bot API server lifts the 20 MB limit and files are read from its disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from tests.fakes.botapi import FakeBotApi
from tests.fixtures.bot import BotHarness, make_bot_settings
from tests.fixtures.videos import Clip
from tests.helpers.bot_e2e import consent, feedback_for, wait_for_feedback


@pytest.fixture
def bot_api(bot_api_local: FakeBotApi) -> Iterator[FakeBotApi]:
    """The bot talks to a `telegram-bot-api --local` double in these tests."""
    yield bot_api_local


@pytest.fixture
def bot_settings(bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path) -> Settings:
    """Local mode on."""
    return make_bot_settings(bot_api, tiny_model_dir, tmp_path / "data", telegram_local_mode=True)


async def test_a_25_mb_video_is_served_in_local_mode(bot_harness: BotHarness, clip_small: Clip) -> None:
    """Declared 25 MB (refused on the cloud API) is accepted, read from the server's disk and assessed."""
    api = bot_harness.api
    assert bot_harness.settings.download_limit_bytes is None
    user = api.make_user(6001, "Lou", "en")
    await consent(api, user)
    video = api.user_sends_video(user, clip_small.path, duration=4, declared_size=25 * 1024 * 1024)
    await wait_for_feedback(api, 6001, video["message_id"])
    assert len(feedback_for(api, 6001, video["message_id"])) == 1
    assert api.calls_to("getFile") and api.violations == []
