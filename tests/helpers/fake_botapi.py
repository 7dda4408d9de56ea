"""Shared pieces of the fake Bot API tests (tests/test_fake_botapi_*.py): payloads and raw HTTP calls."""

from __future__ import annotations

import datetime as dtm
import io
from typing import Any

import aiohttp
from PIL import Image
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)
from telegram.error import RetryAfter

from tests.fakes.botapi import FakeBotApi

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40


def keyboard(*data: str) -> InlineKeyboardMarkup:
    """One row of callback buttons."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d) for d in data]])


async def raw_call(api: FakeBotApi, method: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """POST to the fake with aiohttp (form data by default, or json=...); returns status and body."""
    async with aiohttp.ClientSession() as session:
        url = f"{api.root_url}/bot{kwargs.pop('token', api.token)}/{method}"
        async with session.post(url, **kwargs) as response:
            return response.status, await response.json()


def retry_seconds(error: RetryAfter) -> float:
    """retry_after as seconds (PTB gives an int or a timedelta depending on PTB_TIMEDELTA)."""
    value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def _png(width: int, height: int) -> bytes:
    """A small PNG image."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, format="PNG")
    return buffer.getvalue()
