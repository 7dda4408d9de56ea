"""End to end, therapist side: admin → therapist → invite → linked patient → plan → videos and pain → summary."""

from __future__ import annotations

import asyncio
import io
import os
import re
import sys
from pathlib import Path

import pytest
from PIL import Image

from bot.config import Settings
from tests.fakes.botapi import FakeBotApi
from tests.fixtures.bot import BotHarness, make_bot_settings
from tests.fixtures.videos import Clip
from tests.helpers.bot_e2e import ModelCalls

ADMIN, THERAPIST, PATIENT = 9001, 7001, 1001
SLOW = 60.0


@pytest.fixture
def bot_settings(bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path) -> Settings:
    """Settings with an admin."""
    return make_bot_settings(bot_api, tiny_model_dir, tmp_path / "data", admin_ids=[ADMIN])


async def command(api: FakeBotApi, user: dict, text: str, predicate: object = None) -> object:
    """Send a command and wait for the bot's reply in that chat."""
    before = len(api.sent_messages(user["id"]))
    name, _, payload = text.partition(" ")
    api.user_sends_command(user, name, payload or None)
    return await api.wait_for_message(user["id"], predicate, after=before, timeout=SLOW)  # type: ignore[arg-type]


async def link_patient(api: FakeBotApi, therapist: dict, patient: dict) -> None:
    """Therapist invites, the patient opens the link and agrees."""
    invite = await command(api, therapist, "/invite")
    token = re.search(r"start=([A-Za-z0-9_-]+)", invite.text).group(1)  # type: ignore[attr-defined]
    offer = await command(api, patient, f"/start {token}")
    before = len(api.sent_messages(therapist["id"]))
    api.user_presses_button(patient, offer, offer.callback_data[0])  # type: ignore[attr-defined]
    await api.wait_for_message(therapist["id"], lambda m: str(patient["id"]) in m.text, after=before, timeout=SLOW)


async def test_admin_therapist_invite_plan_videos_pain_summary(
    bot_harness: BotHarness, clip_small: Clip, tmp_path: Path
) -> None:
    """The whole therapist flow; the summary arrives in the therapist's language with a PNG chart."""
    api, services = bot_harness.api, bot_harness.services
    admin = api.make_user(ADMIN, "Ada", "en")
    therapist = api.make_user(THERAPIST, "Dr. Weber", "de")
    patient = api.make_user(PATIENT, "Иван", "ru", username="ivan")
    await command(api, therapist, "/start")
    added = await command(api, admin, f"/therapist_add {THERAPIST}")
    assert str(THERAPIST) in added.text  # type: ignore[attr-defined]
    de = services.catalogs.get("de")

    await link_patient(api, therapist, patient)
    linked = await services.db(__import__("storage.crud", fromlist=["get_user"]).get_user, user_id=PATIENT)
    assert linked.therapist_id == THERAPIST and linked.consented_at is not None

    # Every model call, whole or streamed (feedback streams into a draft in a private chat).
    model_calls = ModelCalls(services.assessment.backend)

    ask = await command(api, therapist, f"/prescribe {PATIENT}")
    assert ask.text  # type: ignore[attr-defined]
    before = len(api.sent_messages(THERAPIST))
    api.user_sends_text(therapist, "Squat to a chair")
    focus = await api.wait_for_message(THERAPIST, after=before, timeout=SLOW)
    before = len(api.sent_messages(THERAPIST))
    api.user_sends_text(therapist, "knees over toes")
    sessions = await api.wait_for_message(THERAPIST, after=before, timeout=SLOW)
    assert focus.callback_data and sessions.callback_data
    api.user_presses_button(therapist, sessions, "rx_n:3")
    await api.wait_for(lambda: any("Squat" in (e.text or "") for e in api.edits(THERAPIST)), timeout=SLOW)
    plan = await command(api, patient, "/plan", lambda m: "Squat to a chair" in m.text)
    assert "Squat to a chair" in plan.text and "knees over toes" in plan.text  # type: ignore[attr-defined]

    for score in (3, 4):
        video = api.user_sends_video(patient, clip_small.path.read_bytes(), duration=4)
        keyboard = await api.wait_for_message(
            PATIENT, lambda m: any(c.startswith("pain:") for c in m.callback_data), after=0, timeout=SLOW
        )
        pain_key = next(c for c in keyboard.callback_data if c.endswith(f":{score}"))
        api.user_presses_button(patient, keyboard, pain_key)
        await api.wait_for(lambda k=keyboard: not api.message(PATIENT, k.message["message_id"]).get("reply_markup"))
        assert any(m.reply_to_message_id == video["message_id"] for m in api.sent_messages(PATIENT))
    prompts = [str(request.messages) for request in model_calls.requests]
    assert any("Squat to a chair" in prompt and "knees over toes" in prompt for prompt in prompts)

    env = {
        **os.environ,
        **api.bot_env(),
        "DATABASE_URL": bot_harness.settings.database_url,
        "DATA_DIR": str(bot_harness.settings.data_dir),
        "MODEL": str(bot_harness.settings.model),
    }
    script = Path(sys.executable).with_name("rehab-bot")
    process = await asyncio.create_subprocess_exec(
        str(script), "summaries", "--now", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode == 0, stderr.decode()
    photo = await api.wait_for_message(THERAPIST, lambda m: m.method == "sendPhoto", timeout=SLOW)
    assert Image.open(io.BytesIO(photo.file.data)).format == "PNG"
    summary = next(m for m in api.sent_messages(THERAPIST) if m.params.get("parse_mode") == "HTML")
    title = de.gettext("Weekly summary: %(patient)s", patient="")
    assert title.strip() in summary.text
    assert services.catalogs.get("ru").gettext("Weekly summary: %(patient)s", patient="").strip() not in summary.text
    assert "Squat" in summary.text or "?" in summary.text
    assert api.violations == []
