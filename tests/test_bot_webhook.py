"""Webhook mode: python-telegram-bot's webhook server receives the updates the Bot API double POSTs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Settings
from storage.models import Job
from tests.fakes.botapi import FakeBotApi
from tests.fakes.botapi_webhook import SECRET_HEADER
from tests.fixtures.bot import make_bot_settings
from tests.fixtures.videos import Clip
from tests.helpers.bot_e2e import consent, feedback_for, read_rows, running_bot, wait_for_feedback
from tests.helpers.metrics import free_port

SECRET = "clinic-webhook-secret_42"


def webhook_settings(api: FakeBotApi, model_dir: Path, data_dir: Path, port: int, **overrides: Any) -> Settings:
    """Bot settings receiving updates at http://127.0.0.1:<port>/telegram/hook."""
    values: dict[str, Any] = {
        "telegram_webhook_url": f"http://127.0.0.1:{port}/telegram/hook",
        "telegram_webhook_listen": f"127.0.0.1:{port}",
        "telegram_webhook_secret": SECRET,
    }
    return make_bot_settings(api, model_dir, data_dir, **{**values, **overrides})


async def post_update(url: str, update: dict[str, Any], secret: str | None) -> int:
    """POST one update to the bot as Telegram would, with the given secret header (or none)."""
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with aiohttp.ClientSession() as session, session.post(url, json=update, headers=headers) as response:
        return response.status


def start_update(user: dict[str, Any], update_id: int, message_id: int) -> dict[str, Any]:
    """A /start message update from a user, as Telegram would post it."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "from": user,
            "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
            "date": int(time.time()),
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_webhook_mode_serves_videos_and_refuses_wrong_secret(
    bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path, clip_small: Clip
) -> None:
    """setWebhook is recorded with the secret; updates arrive by POST; a wrong or missing secret is refused."""
    port = free_port()
    settings = webhook_settings(bot_api, tiny_model_dir, tmp_path / "data", port)
    url = settings.telegram_webhook_url
    async with running_bot(bot_api, settings):
        set_calls = [call for call in bot_api.calls if call.method == "setWebhook"]
        assert len(set_calls) == 1
        assert set_calls[0].params["url"] == url
        assert set_calls[0].params["secret_token"] == SECRET
        assert not set_calls[0].params.get("drop_pending_updates")
        assert not [call for call in bot_api.calls if call.method == "getUpdates"]

        alice = bot_api.make_user(1101, "Alice", "en")
        await consent(bot_api, alice)
        before = len(bot_api.webhook_deliveries())
        video = bot_api.user_sends_video(alice, clip_small.path.read_bytes(), duration=4, width=320, height=240)
        # Telegram redelivers an update it thinks failed: the same video posted again is not assessed twice.
        posted = await bot_api.wait_for(
            lambda: next((p for p in bot_api.webhook_deliveries()[before:] if p.status == 200), None)
        )
        assert posted.url == url
        video_update_id = posted.update_id
        assert await post_update(url, {"update_id": video_update_id, "message": video}, SECRET) == 200
        feedback = await wait_for_feedback(bot_api, 1101, video["message_id"])
        assert feedback.text.strip()
        await asyncio.sleep(1.0)
        assert len(feedback_for(bot_api, 1101, video["message_id"])) == 1
        assert len(read_rows(settings.database_url, Job, Job.chat_id == 1101)) == 1

        # Forged updates: without the secret, or with a wrong one, the bot refuses them and never answers.
        mallory = bot_api.make_user(1102, "Mallory", "en")
        assert await post_update(url, start_update(mallory, 9_000_001, 1), None) == 403
        assert await post_update(url, start_update(mallory, 9_000_002, 1), "not-the-secret") == 403
        assert await post_update(url, start_update(mallory, 9_000_003, 2), SECRET) == 200
        greeting = await bot_api.wait_for_message(1102)
        assert greeting.reply_to_message_id in (None, 2)
        await asyncio.sleep(0.5)
        assert len(bot_api.sent_messages(1102)) == 1
    assert all(post.url == url for post in bot_api.webhook_deliveries())
    assert bot_api.violations == []


def test_settings_refuse_a_bad_listen_address_or_secret(
    bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """TELEGRAM_WEBHOOK_LISTEN needs a port; the secret must use Telegram's characters; else one is derived."""
    with pytest.raises(ValueError, match="TELEGRAM_WEBHOOK_LISTEN"):
        webhook_settings(bot_api, tiny_model_dir, tmp_path, 8443, telegram_webhook_listen="localhost")
    with pytest.raises(ValueError, match="TELEGRAM_WEBHOOK_SECRET"):
        webhook_settings(bot_api, tiny_model_dir, tmp_path, 8443, telegram_webhook_secret="has spaces!")
    derived = webhook_settings(bot_api, tiny_model_dir, tmp_path, 8443, telegram_webhook_secret="")
    assert derived.webhook_secret and derived.webhook_secret != bot_api.token
    assert derived.webhook_listen_address == ("127.0.0.1", 8443)


@pytest.mark.slow
async def test_rehab_bot_run_in_webhook_mode(bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path) -> None:
    """`rehab-bot run` with TELEGRAM_WEBHOOK_URL sets the webhook and answers an update posted to it."""
    port = free_port()
    env = {
        **os.environ,
        **bot_api.bot_env(),
        "DATA_DIR": str(tmp_path / "data"),
        "MODEL": str(tiny_model_dir),
        "MODEL_DEVICE": "cpu",
        "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
        "TELEGRAM_WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
    }
    log_path = tmp_path / "bot.log"
    with log_path.open("wb") as log:
        process = await asyncio.to_thread(
            subprocess.Popen, [sys.executable, "-m", "bot.cli", "run"], env=env, stdout=subprocess.DEVNULL, stderr=log
        )
    try:
        await bot_api.wait_for(lambda: bot_api.calls_to("setWebhook"), timeout=60)
        alice = bot_api.make_user(1201, "Alice", "en")
        bot_api.user_sends_command(alice, "/start")
        greeting = await bot_api.wait_for_message(1201, timeout=30)
        assert "consent" in " ".join(greeting.callback_data)
        assert [p.status for p in bot_api.webhook_deliveries() if p.status == 200]
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)
    stderr = log_path.read_text(errors="replace")
    assert process.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr
