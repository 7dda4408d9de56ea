"""A bot whose getUpdates survives an update python-telegram-bot cannot parse."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ExtBot

logger = logging.getLogger(__name__)


def withhold_received_updates(record: logging.LogRecord) -> bool:
    """python-telegram-bot logs a whole unparsable getUpdates batch (patients' messages): keep only the fact."""
    if isinstance(record.msg, str) and record.msg.startswith("Error while parsing updates"):
        record.msg, record.args = "Error while parsing updates (the received data is not logged)", None
        record.exc_info, record.exc_text = None, None
    return True


class TolerantBot(ExtBot[None]):
    """An ExtBot that drops an update it cannot parse (its id in the log) and serves the rest.

    python-telegram-bot fails the whole getUpdates batch on one unparsable update and never confirms it,
    so polling would stop for good.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """An ExtBot whose parse-failure log line never carries the received updates."""
        super().__init__(*args, **kwargs)
        # addFilter ignores a filter already present, so many bots in one process add it once.
        for name in ("telegram.Bot", "telegram.ext.ExtBot"):
            logging.getLogger(name).addFilter(withhold_received_updates)

    async def get_updates(  # type: ignore[override]
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: Any = None,  # noqa: ASYNC109 - the Bot API's long-polling parameter
        allowed_updates: Any = None,
        **kwargs: Any,
    ) -> tuple[Update, ...]:
        """The usual batch; when it cannot be parsed, each update parsed on its own and the bad ones skipped."""
        try:
            return await super().get_updates(offset, limit, timeout, allowed_updates, **kwargs)
        except TelegramError:
            raise
        except Exception:
            return await self._parse_one_by_one(offset, limit, allowed_updates)

    async def _parse_one_by_one(
        self, offset: int | None, limit: int | None, allowed_updates: Any
    ) -> tuple[Update, ...]:
        """Fetch the same batch again (without waiting) and keep what parses."""
        request = {"offset": offset, "limit": limit, "timeout": 0, "allowed_updates": allowed_updates}
        # _post: do_api_request warns on a method the Bot class has, and get_updates is what failed.
        raw = await self._post("getUpdates", {k: v for k, v in request.items() if v is not None})
        updates: list[Update] = []
        last_id: int | None = None
        for item in raw if isinstance(raw, list) else []:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            if isinstance(update_id, int):
                last_id = update_id if last_id is None else max(last_id, update_id)
            try:
                update = Update.de_json(item, self)
            except Exception:
                logger.warning("dropped unparsable update %s", update_id)
                continue
            self.insert_callback_data(update)
            updates.append(update)
        if last_id is not None and (not updates or updates[-1].update_id != last_id):
            # The Updater confirms up to the last update we return; confirm the dropped tail here, or it
            # would come back on every poll.
            await self._post("getUpdates", {"offset": last_id + 1, "limit": 1, "timeout": 0})
        return tuple(updates)
