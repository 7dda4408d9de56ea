"""Invite tokens (used, expired, forged, another bot's) and alerts (pain, rise, falls, numbness) end to end."""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from bot.clinic.alerts import judge_pain
from bot.clinic.invites import token_hash
from bot.config import Settings
from storage import crud
from storage.models import Alert, AlertKind, Invite, Turn, User
from storage.types import utcnow
from tests.fakes.botapi import FakeBotApi
from tests.fixtures.bot import BotHarness, make_bot_settings
from tests.fixtures.videos import Clip
from tests.helpers.bot_e2e import ModelCalls
from tests.test_therapist_flow import command, link_patient

ADMIN, THERAPIST, OTHER_THERAPIST, PATIENT = 9001, 7001, 7002, 1001
SLOW = 60.0


@pytest.fixture
def bot_settings(bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path) -> Settings:
    """Settings with an admin and a non-default emergency number."""
    return make_bot_settings(bot_api, tiny_model_dir, tmp_path / "data", admin_ids=[ADMIN], emergency_number="911")


@pytest.fixture
async def therapists(bot_harness: BotHarness) -> tuple[dict, dict]:
    """Two therapists registered by the admin."""
    api = bot_harness.api
    admin = api.make_user(ADMIN, "Ada", "en")
    tess, otto = api.make_user(THERAPIST, "Tess", "en"), api.make_user(OTHER_THERAPIST, "Otto", "en")
    for user in (tess, otto):
        await command(api, user, "/start")
        await command(api, admin, f"/therapist_add {user['id']}")
    return tess, otto


async def _invite_token(api: FakeBotApi, therapist: dict) -> str:
    """A fresh invite token from /invite."""
    reply = await command(api, therapist, "/invite")
    return re.search(r"start=([A-Za-z0-9_-]+)", reply.text).group(1)  # type: ignore[attr-defined]


async def test_invite_tokens_used_expired_forged_foreign_and_own(
    bot_harness: BotHarness, therapists: tuple[dict, dict]
) -> None:
    """Only a fresh token of this bot links; every other kind gets its clear reply and links nothing."""
    api, services = bot_harness.api, bot_harness.services
    en = services.catalogs.get("en")
    tess, _ = therapists
    token = await _invite_token(api, tess)
    assert len(token) * 6 >= 128  # base64url: 6 bits per character
    with Session(services.engine) as session:
        stored = session.exec(select(Invite)).one()
        assert stored.token_hash == token_hash(token) and token not in str(stored.model_dump())
        assert timedelta(days=6, hours=23) < stored.expires_at - utcnow() <= timedelta(days=7)

    first, second = api.make_user(1001, "Ann", "en"), api.make_user(1002, "Bob", "en")
    offer = await command(api, first, f"/start {token}")
    api.user_presses_button(first, offer, offer.callback_data[0])  # type: ignore[attr-defined]
    await api.wait_for_message(THERAPIST, lambda m: "1001" in m.text, timeout=SLOW)
    used = await command(api, second, f"/start {token}")
    assert used.text == en.gettext("This invite link was already used. Please ask your therapist for a new one.")  # type: ignore[attr-defined]

    expiring = await _invite_token(api, tess)
    with Session(services.engine) as session:
        session.exec(
            update(Invite)
            .where(Invite.token_hash == token_hash(expiring))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    expired = await command(api, second, f"/start {expiring}")
    assert expired.text == en.gettext("This invite link has expired. Please ask your therapist for a new one.")  # type: ignore[attr-defined]

    invalid = en.gettext("This invite link is not valid. Please check it or ask your therapist for a new one.")
    forged = secrets.token_urlsafe(24)
    another_bots = "ref-partner_2024"
    for payload in (forged, another_bots, token[:-1] + ("A" if token[-1] != "A" else "B")):
        reply = await command(api, second, f"/start {payload}")
        assert reply.text == invalid  # type: ignore[attr-defined]

    own = await _invite_token(api, tess)
    reply = await command(api, tess, f"/start {own}")
    assert reply.text == en.gettext("This is your own invite link; send it to a patient.")  # type: ignore[attr-defined]
    with Session(services.engine) as session:
        assert session.get(User, 1002).therapist_id is None
        assert session.get(User, 1001).therapist_id == THERAPIST


async def _alerts_for(services: object, therapist_id: int) -> list[Alert]:
    """Alerts addressed to a therapist."""
    with Session(services.engine) as session:  # type: ignore[attr-defined]
        return list(session.exec(select(Alert).where(Alert.therapist_id == therapist_id)).all())


def _alert_messages(api: FakeBotApi, chat_id: int) -> list[str]:
    """Alert texts a therapist received."""
    return [m.text for m in api.sent_messages(chat_id) if m.text.startswith("⚠️")]


@pytest.mark.parametrize("text", ["I fell", "я упал", "我摔倒了", "my left foot is numb", "Taubheitsgefühl im Bein"])
async def test_red_flag_text_alerts_the_right_therapist_once(
    bot_harness: BotHarness, therapists: tuple[dict, dict], text: str
) -> None:
    """The patient gets the safety message with the emergency number; their therapist one alert; no model call."""
    api, services = bot_harness.api, bot_harness.services
    tess, _ = therapists
    patient = api.make_user(PATIENT, "Pat", "en")
    await link_patient(api, tess, patient)
    calls = ModelCalls(services.assessment.backend)
    message = api.user_sends_text(patient, text)
    safety = await api.wait_for_message(PATIENT, lambda m: m.reply_to_message_id == message["message_id"], timeout=SLOW)
    assert "911" in safety.text
    await api.wait_for(lambda: len(_alert_messages(api, THERAPIST)) == 1, timeout=SLOW)
    # Telegram delivers the same update again: still one event, one alert.
    api.enqueue_update({"message": message})
    await api.wait_for(lambda: len(api.get_updates_calls) > 3, timeout=SLOW)
    for _ in range(100):
        alerts = await _alerts_for(services, THERAPIST)
        if alerts and alerts[0].sent_at is not None:
            break
        await asyncio.sleep(0.05)
    assert len(alerts) == 1 and alerts[0].sent_at is not None
    assert "Pat" in _alert_messages(api, THERAPIST)[0] and text not in _alert_messages(api, THERAPIST)[0]
    assert _alert_messages(api, OTHER_THERAPIST) == [] and await _alerts_for(services, OTHER_THERAPIST) == []
    assert calls.requests == []
    if alerts[0].kind == AlertKind.FALL:
        with Session(services.engine) as session:
            assert session.get(User, PATIENT).plan_paused_at is not None
        video = api.user_sends_video(patient, b"not even looked at", duration=4)
        paused = await api.wait_for_message(
            PATIENT, lambda m: m.reply_to_message_id == video["message_id"], timeout=SLOW
        )
        assert "paused" in paused.text and api.downloads == []
        await command(api, tess, f"/resume {PATIENT}")
        with Session(services.engine) as session:
            assert session.get(User, PATIENT).plan_paused_at is None


async def _feedback_with_pain_keyboard(api: FakeBotApi, patient: dict, clip: Clip) -> object:
    """Send a video and return the pain keyboard that follows its feedback."""
    before = len(api.sent_messages(PATIENT))
    api.user_sends_video(patient, clip.path.read_bytes(), duration=4)
    return await api.wait_for_message(
        PATIENT, lambda m: any(c.startswith("pain:") for c in m.callback_data), after=before, timeout=SLOW
    )


@pytest.mark.parametrize(("scores", "kind"), [((8,), AlertKind.PAIN_CRITICAL), ((3, 5), AlertKind.PAIN_RISE)])
async def test_pain_taps_alert_once(
    bot_harness: BotHarness, therapists: tuple[dict, dict], clip_small: Clip, scores: tuple[int, ...], kind: str
) -> None:
    """Pain 8 is critical; 3 then 5 is a rise of 2 over the recent level: one alert each, to the right therapist."""
    api, services = bot_harness.api, bot_harness.services
    tess, _ = therapists
    patient = api.make_user(PATIENT, "Pat", "en")
    await link_patient(api, tess, patient)
    for score in scores:
        keyboard = await _feedback_with_pain_keyboard(api, patient, clip_small)
        api.user_presses_button(patient, keyboard, next(c for c in keyboard.callback_data if c.endswith(f":{score}")))  # type: ignore[attr-defined]
        await api.wait_for(lambda k=keyboard: not api.message(PATIENT, k.message["message_id"]).get("reply_markup"))  # type: ignore[attr-defined]
    await api.wait_for(lambda: len(_alert_messages(api, THERAPIST)) == 1, timeout=SLOW)
    alerts = await _alerts_for(services, THERAPIST)
    assert [a.kind for a in alerts] == [kind]
    await api.wait_for(lambda: any("911" in m.text for m in api.sent_messages(PATIENT)), timeout=SLOW)


def test_pain_rules_use_the_median_of_the_last_three_reports() -> None:
    """Critical from 7; a rise of 2 over the median of up to three earlier reports; otherwise nothing."""
    assert judge_pain(7, []).kind == AlertKind.PAIN_CRITICAL  # type: ignore[union-attr]
    assert judge_pain(6, []) is None
    assert judge_pain(5, [3]).kind == AlertKind.PAIN_RISE  # type: ignore[union-attr]
    assert judge_pain(5, [4, 3, 6]) is None  # median 4
    assert judge_pain(6, [4, 3, 6, 0]).kind == AlertKind.PAIN_RISE  # type: ignore[union-attr]  # only 3 count
    assert judge_pain(2, [0, 0, 9]).kind == AlertKind.PAIN_RISE  # type: ignore[union-attr]


async def test_unlinked_patient_red_flag_is_recorded_without_a_therapist(bot_harness: BotHarness) -> None:
    """No therapist to tell: the patient still gets the safety message and the event is recorded."""
    api, services = bot_harness.api, bot_harness.services
    patient = api.make_user(PATIENT, "Pat", "en")
    await command(api, patient, "/start")
    await services.db(crud.record_consent, user_id=PATIENT)
    message = api.user_sends_text(patient, "I fainted after the exercise")
    safety = await api.wait_for_message(PATIENT, lambda m: m.reply_to_message_id == message["message_id"], timeout=SLOW)
    assert "911" in safety.text
    for _ in range(100):
        with Session(services.engine) as session:
            alert = session.exec(select(Alert)).first()
        if alert is not None:
            break
        await asyncio.sleep(0.05)
    assert alert is not None and alert.therapist_id is None and alert.kind == AlertKind.RED_FLAG


async def test_red_flag_question_about_a_video_is_kept_for_the_therapist(
    bot_harness: BotHarness, therapists: tuple[dict, dict], clip_small: Clip
) -> None:
    """A question answered with the safety message is recorded as needing the therapist, not sent to the model."""
    api, services = bot_harness.api, bot_harness.services
    tess, _ = therapists
    patient = api.make_user(PATIENT, "Pat", "en")
    await link_patient(api, tess, patient)
    await _feedback_with_pain_keyboard(api, patient, clip_small)
    message = api.user_sends_text(patient, "my leg went numb at 0:02, is that normal?")
    await api.wait_for_message(PATIENT, lambda m: m.reply_to_message_id == message["message_id"], timeout=SLOW)
    for _ in range(100):
        with Session(services.engine) as session:
            turn = session.exec(select(Turn)).first()
        if turn is not None:
            break
        await asyncio.sleep(0.05)
    assert turn is not None and turn.needs_therapist and turn.status == "safety" and turn.answer is None
