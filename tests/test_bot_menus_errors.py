"""Command menus per language, the therapist menu, /timezone, unknown commands and the error handler's apology."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.config import Settings
from bot.i18n import SUPPORTED_LOCALES
from handlers.commands import patient_commands, telegram_language_code
from storage.models import User
from tests.fakes.botapi import FakeBotApi
from tests.fixtures.bot import BotHarness, make_bot_settings
from tests.test_therapist_flow import command

ADMIN, THERAPIST = 9001, 7001


@pytest.fixture
def bot_settings(bot_api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path) -> Settings:
    """Settings with an admin."""
    return make_bot_settings(bot_api, tiny_model_dir, tmp_path / "data", admin_ids=[ADMIN])


async def test_command_menus_are_published_in_every_language(bot_harness: BotHarness) -> None:
    """One menu per supported language (Telegram's two-letter codes) plus the default one."""
    api, catalogs = bot_harness.api, bot_harness.services.catalogs
    default = api.commands()
    assert [c["command"] for c in default] == [c.command for c in patient_commands(catalogs.get("en"))]
    for locale in SUPPORTED_LOCALES:
        menu = api.commands(language_code=telegram_language_code(locale))
        expected = [c.description for c in patient_commands(catalogs.get(locale))]
        assert [c["description"] for c in menu] == expected
    assert api.commands(language_code="ru") != api.commands(language_code="de")


async def test_therapist_gets_their_own_menu_and_sets_a_timezone(bot_harness: BotHarness) -> None:
    """After /therapist_add the therapist's chat shows the therapist commands; /timezone is validated."""
    api, services = bot_harness.api, bot_harness.services
    admin, therapist = api.make_user(ADMIN, "Ada", "en"), api.make_user(THERAPIST, "Tess", "de")
    await command(api, therapist, "/start")
    await command(api, admin, f"/therapist_add {THERAPIST}")
    menu = api.commands(scope={"type": "chat", "chat_id": THERAPIST})
    assert {"patients", "invite", "report", "resume"} <= {c["command"] for c in menu}
    de = services.catalogs.get("de")
    rejected = await command(api, therapist, "/timezone Mars/Olympus")
    assert "Europe/Berlin" in rejected.text  # the usage example  # type: ignore[attr-defined]
    accepted = await command(api, therapist, "/timezone Europe/Berlin")
    assert accepted.text == de.gettext("Time zone set to %(zone)s.", zone="Europe/Berlin")  # type: ignore[attr-defined]
    with Session(services.engine) as session:
        assert session.get(User, THERAPIST).timezone == "Europe/Berlin"


async def test_a_failing_handler_gets_an_apology_and_a_safe_log_line(
    bot_harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception inside a handler: a short localized apology, a log line with ids only, no traceback."""
    api, services = bot_harness.api, bot_harness.services
    user = api.make_user(5001, "Rita", "es")
    await command(api, user, "/start")

    def broken(*_: object, **__: object) -> None:
        """A database failure, with patient text in its message."""
        raise RuntimeError("secret patient words")

    services.db = lambda function, /, **kwargs: broken()  # type: ignore[method-assign, assignment, misc]
    with caplog.at_level(logging.ERROR):
        reply = await command(api, user, "/help")
    es = services.catalogs.get("es")
    assert reply.text == es.gettext("Sorry, something went wrong on my side. Please try again in a minute.")  # type: ignore[attr-defined]
    records = [r for r in caplog.records if r.name == "handlers.errors"]
    assert records and "RuntimeError" in records[0].getMessage() and "5001" in records[0].getMessage()
    assert all("secret patient words" not in r.getMessage() for r in caplog.records)
    assert "Traceback" not in reply.text and "secret" not in reply.text  # type: ignore[attr-defined]


async def test_an_unknown_command_points_to_help(bot_harness: BotHarness) -> None:
    """A command no handler knows gets a localized pointer to /help, not silence; known ones are unaffected."""
    api, services = bot_harness.api, bot_harness.services
    user = api.make_user(5002, "Olek", "uk")
    await command(api, user, "/start")
    reply = await command(api, user, "/squats_today")
    uk = services.catalogs.get("uk")
    assert reply.text == uk.gettext("I don't know that command. Send /help to see what I can do.")  # type: ignore[attr-defined]
    assert reply.text != "I don't know that command. Send /help to see what I can do."  # type: ignore[attr-defined]
    help_reply = await command(api, user, "/help")
    assert help_reply.text != reply.text  # type: ignore[attr-defined]
