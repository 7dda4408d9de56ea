"""A loopback Telegram Bot API server for tests (DESIGN section 12).

The real python-telegram-bot talks to it over HTTP exactly as to Telegram, in-process or from a
bot subprocess (`TELEGRAM_API_URL=api.root_url`). The server runs its own event loop in a
background thread, so it keeps answering while a test blocks (e.g. waits for a subprocess); all
state lives in the FakeBotApi object and is guarded by one lock.

Usage::

    with FakeBotApi(spec_path) as api:          # or `async with`, or start()/stop()
        alice = api.make_user(1001, "Alice", "en")
        api.user_sends_command(alice, "/start")
        ...run the bot against api.root_url / api.token...
        reply = await api.wait_for_message(alice["id"])
        assert api.violations == []
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from telegram import Bot
from telegram.ext import ApplicationBuilder
from telegram.request import HTTPXRequest

from tests.fakes.botapi_faults import (
    Dropped,
    Fault,
    FaultRule,
    FloodControl,
    ServerError,
    Slow,
)
from tests.fakes.botapi_files import FileStore
from tests.fakes.botapi_http import Drop, Raw, decode, drop_connection, json_error, server_error
from tests.fakes.botapi_methods import MethodHandlers
from tests.fakes.botapi_polling import LongPolling, Poll
from tests.fakes.botapi_queries import RecordQueries
from tests.fakes.botapi_records import (
    ApiError,
    Call,
    FiredFault,
    GetUpdatesCall,
    Violation,
)
from tests.fakes.botapi_request import Request
from tests.fakes.botapi_spec import BotApiSpec, MethodSpec, UploadedPart
from tests.fakes.botapi_users import UserActions
from tests.fakes.botapi_validate import check_attachments, check_call, raise_if_unknown_method
from tests.fakes.botapi_webhook import WebhookDelivery, WebhookPost
from tests.fakes.botapi_world import World

DEFAULT_TOKEN = "7012345678:AAHFakeBotApiTokenForRehabTests0123"
_TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]{35}")
MAX_UPLOAD = 2 * 1024 * 1024 * 1024


class FakeBotApi(LongPolling, WebhookDelivery, RecordQueries, UserActions):
    """Fake Telegram Bot API server with a simulated user side, recording and fault injection."""

    def __init__(
        self,
        spec_path: Path | str,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "rehab_test_bot",
        bot_first_name: str = "Rehab Coach",
        local_mode: bool = False,
        strict_html: bool = True,
        flood_control: FloodControl | None = None,
        group_privacy: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Configure the server; nothing listens until start().

        local_mode: behave like `telegram-bot-api --local` (absolute getFile paths, no 20 MB cap).
        strict_html: also reject a bare `&` or `>` in HTML (Telegram shows them; they betray missing escaping).
        flood_control: per-chat 429s (see FloodControl); group_privacy: the bot's group privacy mode.
        """
        self.spec = BotApiSpec.load(spec_path)
        self.token = token
        self.local_mode = local_mode
        self.strict_html = strict_html
        self.flood_control = flood_control
        self.bot_user: dict[str, Any] = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self._host = host
        self._port = port
        self._lock = threading.RLock()
        self._local_root: Path | None = Path(tempfile.mkdtemp(prefix="fake-bot-api-")) if local_mode else None
        files = FileStore(self._local_root / token if self._local_root else None)
        self._world = World(self.bot_user, files, first_update_id=730_000_001, group_privacy=group_privacy)
        self._methods = MethodHandlers(self._world, self.spec, local_mode=local_mode)
        self._faults: list[FaultRule] = []
        self._polls: set[Poll] = set()
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.root_url = ""
        # Records (read them through the helpers below, which copy under the lock).
        self.calls: list[Call] = []
        self.violations: list[Violation] = []
        self.fired_faults: list[FiredFault] = []
        self.flood_hits: list[tuple[str, Any, float]] = []
        self.get_updates_calls: list[GetUpdatesCall] = []
        self.conflicts: int = 0
        self.downloads: list[str] = []
        self.unauthorized: int = 0
        self.webhook_posts: list[WebhookPost] = []
        self._webhook_wake: asyncio.Event | None = None
        self._webhook_task: asyncio.Task[None] | None = None

    # Lifecycle

    def start(self) -> FakeBotApi:
        """Start listening on a free loopback port in a background thread."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-bot-api", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        """Stop the server, end waiting long polls and remove local-mode files."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = None
        if self._local_root is not None:
            shutil.rmtree(self._local_root, ignore_errors=True)

    def __enter__(self) -> FakeBotApi:
        """Start on entering a `with` block."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop on leaving a `with` block."""
        self.stop()

    async def __aenter__(self) -> FakeBotApi:
        """Start on entering an `async with` block."""
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        """Stop on leaving an `async with` block."""
        await asyncio.to_thread(self.stop)

    async def _serve(self) -> None:
        """Create the aiohttp app and bind it."""
        app = web.Application(client_max_size=MAX_UPLOAD)
        app.router.add_route("*", "/bot{token}/{method}", self._on_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._on_file)
        # handler_cancellation: a client that hangs up (a killed bot) ends its long poll at once.
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.root_url = f"http://{self._host}:{port}"
        self._webhook_task = asyncio.create_task(self._deliver_webhooks(), name="fake-webhook-delivery")

    async def _shutdown(self) -> None:
        """Release long polls, then close the server."""
        self._closing = True
        self._wake_polls()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._runner is not None:
            await self._runner.cleanup()

    # URLs for python-telegram-bot

    @property
    def base_url(self) -> str:
        """Value for ApplicationBuilder().base_url (the token is appended by PTB)."""
        return f"{self.root_url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ApplicationBuilder().base_file_url."""
        return f"{self.root_url}/file/bot"

    def bot_env(self) -> dict[str, str]:
        """Environment for a bot subprocess (merge into os.environ): token, API root and local mode."""
        return {
            "TELEGRAM_BOT_TOKEN": self.token,
            "TELEGRAM_API_URL": self.root_url,
            "TELEGRAM_LOCAL_MODE": "true" if self.local_mode else "false",
        }

    def application_builder(self) -> ApplicationBuilder:
        """A PTB ApplicationBuilder wired to this server (token, base URLs, local mode)."""
        return (
            ApplicationBuilder()
            .token(self.token)
            .base_url(self.base_url)
            .base_file_url(self.base_file_url)
            .local_mode(self.local_mode)
        )

    def make_bot(self, **request_kwargs: Any) -> Bot:
        """A bare telegram.Bot pointed at this server; request_kwargs go to HTTPXRequest (e.g. read_timeout)."""
        return Bot(
            self.token,
            base_url=self.base_url,
            base_file_url=self.base_file_url,
            local_mode=self.local_mode,
            request=HTTPXRequest(**request_kwargs) if request_kwargs else None,
        )

    @property
    def local_files_dir(self) -> Path | None:
        """Where a local-mode server keeps files (None in cloud mode)."""
        return self._local_root

    # Fault injection and flood control

    def inject(self, method: str, fault: Fault, times: int | None = 1, *, chat_id: int | str | None = None) -> None:
        """Answer the next `times` calls of `method` ("*" for any; times=None: always) with `fault`."""
        with self._lock:
            self._faults.append(FaultRule(method.lower(), fault, times, chat_id))

    def clear_faults(self) -> None:
        """Remove all pending injected faults."""
        with self._lock:
            self._faults.clear()

    def set_flood_control(self, flood_control: FloodControl | None) -> None:
        """Turn per-chat flood control on (or off with None)."""
        with self._lock:
            self.flood_control = flood_control

    def _take_fault(self, method: str, chat_id: Any, ts: float) -> Fault | None:
        """The first matching injected fault, consuming one use and recording that it fired."""
        with self._lock:
            for rule in self._faults:
                if rule.matches(method, chat_id):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    self.fired_faults.append(FiredFault(method, rule.fault, chat_id, ts))
                    return rule.fault
        return None

    # HTTP handlers

    async def _on_method(self, request: web.Request) -> web.StreamResponse:
        """Handle /bot<token>/<method>."""
        ts = time.monotonic()
        token, name = request.match_info["token"], request.match_info["method"]
        if token != self.token:
            with self._lock:
                self.unauthorized += 1
            # Telegram: 401 for a well-formed but wrong token, 404 for a malformed one.
            if _TOKEN_RE.fullmatch(token):
                return json_error(ApiError(401, "Unauthorized"))
            return json_error(ApiError(404, "Not Found"))
        method = self.spec.method(name)
        params, parts = await decode(request, method)
        call = Call(method.name if method else name, params, ts)
        with self._lock:
            self.calls.append(call)
        try:
            result = await self._process(request, call, method, parts)
        except ApiError as error:
            self._record_error(call, error)
            return json_error(error)
        except Drop:
            call.error = "dropped"
            return await drop_connection(request)
        except Raw as raw:
            call.status, call.error = raw.response.status, raw.response.text
            return raw.response
        call.status, call.result = 200, result
        return web.json_response({"ok": True, "result": result})

    async def _process(
        self, request: web.Request, call: Call, method: MethodSpec | None, parts: dict[str, UploadedPart]
    ) -> Any:
        """Validate, apply faults and flood control, then perform the call."""
        method = raise_if_unknown_method(self.spec, call.method) if method is None else method
        parsed = check_call(self.spec, method, call.params, strict_html=self.strict_html)
        check_attachments(call.params, parts)
        chat_id = call.params.get("chat_id")
        fault = self._take_fault(method.name, chat_id, call.ts)
        if fault is not None and not isinstance(fault, Slow | Dropped | ServerError):
            raise fault.error()
        if isinstance(fault, ServerError):
            raise Raw(server_error(fault))
        self._check_flood(method.name, chat_id)

        async def perform() -> Any:
            """Run the method itself."""
            if method.name == "getUpdates":
                return await self._get_updates(request, call.params)
            with self._lock:
                return self._methods.handle(Request(method, call.params, parsed, parts, call.ts))

        if isinstance(fault, Dropped):
            if fault.performed:
                try:
                    await perform()
                except ApiError as error:
                    self._record_error(call, error)
            raise Drop
        if isinstance(fault, Slow):
            if fault.perform_first:
                result = await perform()
                await asyncio.sleep(fault.seconds)
                return result
            await asyncio.sleep(fault.seconds)
        return await perform()

    def _check_flood(self, method: str, chat_id: Any) -> None:
        """Answer 429 when per-chat flood control is on and the chat is over its limit."""
        with self._lock:
            if self.flood_control is None:
                return
            now = time.monotonic()
            hit = self.flood_control.check(method, chat_id, now)
            if hit is not None:
                self.flood_hits.append((method, chat_id, now))
        if hit is not None:
            raise hit.error()

    def _record_error(self, call: Call, error: ApiError) -> None:
        """Keep the error on the call; 400/404 answers are violations tests assert never happen."""
        call.status, call.error = error.code, error.description
        if error.code in (400, 404):
            with self._lock:
                self.violations.append(Violation(call.method, error.description, error.kind, call.params))

    async def _on_file(self, request: web.Request) -> web.StreamResponse:
        """Handle /file/bot<token>/<file_path> downloads."""
        path = request.match_info["path"]
        with self._lock:
            stored = self._world.files.by_path(path) if request.match_info["token"] == self.token else None
            if stored is not None:
                self.downloads.append(path)
        if stored is None:
            return json_error(ApiError(404, "Not Found"))
        return web.Response(body=stored.data, content_type="application/octet-stream")
