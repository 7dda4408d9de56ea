"""The bot's own settings as the fake keeps them: getMe, commands, menu button, names, chats, webhook.

A mixin for MethodHandlers: each method is registered there under its lower-case name.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from tests.fakes.botapi_request import Request
from tests.fakes.botapi_world import World


class BotSettingsMethods:
    """Mixin for MethodHandlers: methods that configure or describe the bot rather than send messages."""

    world: World

    def _get_me(self, request: Request) -> Any:
        """getMe: the bot's User with the bot-only flags."""
        return {
            **self.world.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.world.group_privacy,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        """Commands are stored per (scope, language_code)."""
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code") or ""

    def _set_my_commands(self, request: Request) -> Any:
        """setMyCommands."""
        self.world.commands[self._commands_key(request.params)] = copy.deepcopy(request.params["commands"])
        return True

    def _get_my_commands(self, request: Request) -> Any:
        """getMyCommands: exact scope and language, no fallback (as Telegram)."""
        return copy.deepcopy(self.world.commands.get(self._commands_key(request.params), []))

    def _delete_my_commands(self, request: Request) -> Any:
        """deleteMyCommands."""
        self.world.commands.pop(self._commands_key(request.params), None)
        return True

    def _set_menu_button(self, request: Request) -> Any:
        """setChatMenuButton (per chat, or the default one)."""
        chat_id = request.params.get("chat_id")
        self.world.menu_buttons[chat_id] = request.params.get("menu_button") or {"type": "default"}
        return True

    def _get_menu_button(self, request: Request) -> Any:
        """getChatMenuButton."""
        buttons = self.world.menu_buttons
        chat_id = request.params.get("chat_id")
        return copy.deepcopy(buttons.get(chat_id) or buttons.get(None) or {"type": "default"})

    def _bot_text_setter(self, key: str) -> Callable[[Request], Any]:
        """setMyName / setMyDescription / setMyShortDescription."""

        def setter(request: Request) -> Any:
            """Store the text for its language."""
            self.world.bot_texts[(key, request.params.get("language_code") or "")] = request.params.get(key) or ""
            return True

        return setter

    def _bot_text_getter(self, key: str) -> Callable[[Request], Any]:
        """getMyName / getMyDescription / getMyShortDescription."""

        def getter(request: Request) -> Any:
            """Return the text for the language, or the default one."""
            texts = self.world.bot_texts
            language = request.params.get("language_code") or ""
            default = self.world.bot_user["first_name"] if key == "name" else ""
            return {key: texts.get((key, language), texts.get((key, ""), default))}

        return getter

    def _get_chat(self, request: Request) -> Any:
        """getChat: a ChatFullInfo with the required fields."""
        state = self.world.chat_for(request.params["chat_id"], sending=False)
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels")
        return {
            **state.chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(gifts, False),
        }

    def _set_webhook(self, request: Request) -> Any:
        """setWebhook: pending updates are POSTed to the URL; polling answers 409 until deleteWebhook."""
        if request.params.get("drop_pending_updates"):
            self.world.drop_pending("setWebhook")
        allowed = request.params.get("allowed_updates")
        self.world.webhook = {
            "url": request.params["url"],
            "allowed_updates": allowed,
            "secret_token": request.params.get("secret_token") or "",
        }
        self.world.set_allowed_updates(allowed)
        return True

    def _delete_webhook(self, request: Request) -> Any:
        """deleteWebhook; drop_pending_updates=True forgets pending updates."""
        if request.params.get("drop_pending_updates"):
            self.world.drop_pending("deleteWebhook")
        self.world.webhook = {}
        return True

    def _get_webhook_info(self, request: Request) -> Any:
        """getWebhookInfo."""
        return {
            "url": self.world.webhook.get("url", ""),
            "allowed_updates": self.world.webhook.get("allowed_updates") or [],
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.pending),
        }
