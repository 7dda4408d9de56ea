"""HTTP-level pieces of the fake Bot API: request decoding and the answers that are not plain results."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.botapi_faults import ServerError
from tests.fakes.botapi_records import ApiError
from tests.fakes.botapi_spec import MethodSpec, UploadedPart, coerce_form_value


class Drop(Exception):
    """Internal: close the connection without answering."""


class Raw(Exception):
    """Internal: answer with a prepared (non-Telegram) response."""

    def __init__(self, response: web.Response) -> None:
        """Carry the response."""
        super().__init__(response.status)
        self.response = response


def json_error(error: ApiError) -> web.Response:
    """Telegram's JSON error answer."""
    return web.json_response(error.body(), status=error.code)


def server_error(fault: ServerError) -> web.Response:
    """A 5xx as Telegram (JSON) or a proxy in front of it (HTML) would send it."""
    if fault.is_json:
        body = {"ok": False, "error_code": fault.status, "description": "Internal Server Error"}
        return web.json_response(body, status=fault.status)
    html = (
        f"<html><head><title>{fault.status}</title></head><body><center><h1>{fault.status}</h1></center></body></html>"
    )
    return web.Response(text=html, status=fault.status, content_type="text/html")


async def drop_connection(request: web.Request) -> web.StreamResponse:
    """Abort the TCP connection so the client sees it closed without a response."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    # aiohttp cannot send anything on an aborted transport; this response is discarded.
    return web.Response(status=500)


async def decode(request: web.Request, method: MethodSpec | None) -> tuple[dict[str, Any], dict[str, UploadedPart]]:
    """Read query string, form/multipart or JSON parameters and decode them per the method's field types.

    python-telegram-bot posts `application/x-www-form-urlencoded` (multipart when uploading) where
    strings are sent as-is and every other value as a JSON string, like Telegram expects.
    """
    raw: dict[str, Any] = dict(request.query)
    parts: dict[str, UploadedPart] = {}
    typed: dict[str, Any] = {}
    if request.body_exists:
        if request.content_type == "application/json":
            body = await request.json()
            typed = body if isinstance(body, dict) else {}
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    parts[key] = UploadedPart(key, value.filename, value.content_type, value.file.read())
                else:
                    raw[key] = value
    fields = method.fields if method else {}
    params: dict[str, Any] = {}
    for key, value in raw.items():
        params[key] = coerce_form_value(value, fields[key].types) if key in fields else value
    params.update(typed)
    for key, part in parts.items():
        if key in fields:
            params[key] = part
    return params, parts
