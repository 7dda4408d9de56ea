"""Therapist and admin commands tried by a patient, an unlinked therapist and a stranger: refused, nothing leaked."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from storage import crud, crud_therapist
from storage.models import AuditLog, Invite, PainReport, Prescription, Role, User
from storage.types import utcnow
from tests.fakes.botapi import FakeBotApi
from tests.fixtures.bot import BotHarness, make_bot_settings
from tests.test_therapist_flow import command, link_patient

ADMIN, THERAPIST, OTHER_THERAPIST, PATIENT, OTHER_PATIENT, STRANGER = 9001, 7001, 7002, 1001, 1002, 5555
SECRET_NAME = "Zebediah"


@pytest.fixture
def bot_settings(bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path) -> Settings:
    """Settings with an admin."""
    return make_bot_settings(bot_api, tiny_model_dir, tmp_path / "data", admin_ids=[ADMIN])


@pytest.fixture
async def clinic(bot_harness: BotHarness) -> dict[str, dict]:
    """An admin, two therapists, a linked patient, another consented patient and a stranger."""
    api, services = bot_harness.api, bot_harness.services
    users = {
        "admin": api.make_user(ADMIN, "Ada", "en"),
        "therapist": api.make_user(THERAPIST, "Tess", "en"),
        "other_therapist": api.make_user(OTHER_THERAPIST, "Otto", "en"),
        "patient": api.make_user(PATIENT, SECRET_NAME, "en", username="zeb"),
        "other_patient": api.make_user(OTHER_PATIENT, "Pia", "en"),
        "stranger": api.make_user(STRANGER, "Sam", "en"),
    }
    for key in ("therapist", "other_therapist"):
        await command(api, users[key], "/start")
        await command(api, users["admin"], f"/therapist_add {users[key]['id']}")
    await link_patient(api, users["therapist"], users["patient"])
    await command(api, users["other_patient"], "/start")
    await services.db(crud.record_consent, user_id=OTHER_PATIENT)
    return users


def _leaked(api: FakeBotApi, chat_id: int) -> list[str]:
    """Texts sent to a chat that mention the protected patient."""
    return [
        m.text
        for m in api.sent_messages(chat_id)
        if m.text and (SECRET_NAME in m.text or str(PATIENT) in m.text or "@zeb" in m.text)
    ]


THERAPIST_COMMANDS = ["/invite", "/patients", f"/report {PATIENT}", f"/resume {PATIENT}", f"/prescribe {PATIENT}"]
ADMIN_COMMANDS = [f"/therapist_add {STRANGER}", f"/therapist_remove {THERAPIST}"]


@pytest.mark.parametrize("who", ["patient", "other_patient", "stranger"])
async def test_therapist_and_admin_commands_refused_for_non_therapists(
    bot_harness: BotHarness, clinic: dict[str, dict], who: str
) -> None:
    """Patients and strangers get the same refusal for every privileged command, and learn nothing."""
    api, services = bot_harness.api, bot_harness.services
    user = clinic[who]
    en = services.catalogs.get("en")
    for text in THERAPIST_COMMANDS:
        reply = await command(api, user, text)
        assert reply.text == en.gettext("This command is for therapists.")  # type: ignore[attr-defined]
    for text in ADMIN_COMMANDS:
        reply = await command(api, user, text)
        assert reply.text == en.gettext("This command is for administrators.")  # type: ignore[attr-defined]
    for data in (f"report:{PATIENT}", f"resume:{PATIENT}", f"rx:{PATIENT}"):
        answered = len(api.calls_to("answerCallbackQuery"))
        api.user_presses_button(user, api.sent_messages(user["id"])[-1], data, forged=True)
        await api.wait_for(lambda n=answered: len(api.calls_to("answerCallbackQuery")) > n, timeout=30)
        refusal = api.calls_to("answerCallbackQuery")[-1].get("text")
        assert refusal == en.gettext("This command is for therapists.")
    assert _leaked(api, user["id"]) == []
    assert not any(m.method == "sendPhoto" for m in api.sent_messages(user["id"]))
    with Session(services.engine) as session:
        assert session.exec(select(Invite).where(Invite.therapist_id == user["id"])).all() == []
        assert session.exec(select(AuditLog).where(AuditLog.actor_id == user["id"])).all() == []
        assert session.get(User, THERAPIST).role == Role.THERAPIST
        stranger = session.get(User, STRANGER)
        assert stranger is None or stranger.role != Role.THERAPIST


async def test_unlinked_therapist_cannot_reach_another_therapists_patient(
    bot_harness: BotHarness, clinic: dict[str, dict]
) -> None:
    """Otto is a therapist, but not Zebediah's: every patient command says 'none of your patients'."""
    api, services = bot_harness.api, bot_harness.services
    otto = clinic["other_therapist"]
    en = services.catalogs.get("en")
    not_yours = en.gettext("None of your patients matches that. Use /patients to see them.")
    for text in (f"/report {PATIENT}", f"/resume {PATIENT}", f"/prescribe {PATIENT}", "/report @zeb"):
        reply = await command(api, otto, text)
        assert reply.text == not_yours  # type: ignore[attr-defined]
    patients = await command(api, otto, "/patients")
    assert patients.text == en.gettext("You have no linked patients yet. Create an invite link with /invite.")  # type: ignore[attr-defined]
    for data in (f"report:{PATIENT}", f"resume:{PATIENT}", f"rx:{PATIENT}"):
        before = len(api.sent_messages(OTHER_THERAPIST))
        api.user_presses_button(otto, api.sent_messages(OTHER_THERAPIST)[-1], data, forged=True)
        await api.wait_for_message(OTHER_THERAPIST, after=before, timeout=30)
    assert _leaked(api, OTHER_THERAPIST) == []
    with Session(services.engine) as session:
        assert session.exec(select(Prescription).where(Prescription.patient_id == PATIENT)).all() == []
        assert session.exec(select(AuditLog).where(AuditLog.actor_id == OTHER_THERAPIST)).all() == []


async def test_linked_therapist_reads_and_the_read_is_audited(bot_harness: BotHarness, clinic: dict[str, dict]) -> None:
    """The patient's own therapist sees them, and the patient finds that read in /mydata."""
    api = bot_harness.api
    listing = await command(api, clinic["therapist"], "/patients")
    assert SECRET_NAME in listing.text  # type: ignore[attr-defined]
    export = await command(api, clinic["patient"], "/mydata")
    assert b'"actor_id": 7001' in export.file.data  # type: ignore[attr-defined]
    assert b'"action": "list"' in export.file.data  # type: ignore[attr-defined]
    other_export = await command(api, clinic["other_patient"], "/mydata")
    assert SECRET_NAME.encode() not in other_export.file.data  # type: ignore[attr-defined]


async def test_pain_tap_on_someone_elses_feedback_is_ignored(bot_harness: BotHarness, clinic: dict[str, dict]) -> None:
    """A forged pain callback for another patient's assessment records nothing."""
    api, services = bot_harness.api, bot_harness.services
    pia = clinic["other_patient"]
    answered = len(api.calls_to("answerCallbackQuery"))
    api.user_presses_button(pia, api.sent_messages(OTHER_PATIENT)[-1], "pain:1:9", forged=True)
    await api.wait_for(lambda: len(api.calls_to("answerCallbackQuery")) > answered, timeout=30)
    with Session(services.engine) as session:
        assert session.exec(select(PainReport)).all() == []
    assert await services.db(crud_therapist.unsent_alerts, created_before=utcnow(), limit=5) == []


async def test_linked_therapist_gets_a_report_on_demand(bot_harness: BotHarness, clinic: dict[str, dict]) -> None:
    """`/report <patient>` from their therapist: the summary text and a PNG chart, audited."""
    api, services = bot_harness.api, bot_harness.services
    before = len(api.sent_messages(THERAPIST))
    api.user_sends_command(clinic["therapist"], "/report", "@zeb")
    photo = await api.wait_for_message(THERAPIST, lambda m: m.method == "sendPhoto", after=before, timeout=60)
    assert photo.file.data.startswith(b"\x89PNG")
    assert any(SECRET_NAME in m.text for m in api.sent_messages(THERAPIST)[before:] if m.text)
    # The read is recorded right after the chart is sent.
    for _ in range(100):
        with Session(services.engine) as session:
            actions = session.exec(select(AuditLog.action).where(AuditLog.actor_id == THERAPIST)).all()
        if "report" in actions:
            break
        await asyncio.sleep(0.05)
    assert "report" in actions
