"""The typed callback context handlers receive: the application's services in one place."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.services import Services

SERVICES_KEY = "services"


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context, giving handlers typed access to the application's services."""

    @property
    def services(self) -> Services:
        """Settings, database, queue, catalogs and the assessment engine."""
        return self.application.bot_data[SERVICES_KEY]


BotApplication = Application[ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]
