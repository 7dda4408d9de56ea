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
import copy
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

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
from tests.fakes.botapi_methods import MethodHandlers, Request
from tests.fakes.botapi_records import (
    ApiError,
    Call,
    Edit,
    FiredFault,
    GetUpdatesCall,
    SentMessage,
    UploadedFile,
    Violation,
)
from tests.fakes.botapi_spec import BotApiSpec, MethodSpec, UploadedPart, coerce_form_value
from tests.fakes.botapi_users import UserActions
from tests.fakes.botapi_validate import check_attachments, check_call, raise_if_unknown_method
from tests.fakes.botapi_world import World

T = TypeVar("T")

DEFAULT_TOKEN = "7012345678:AAHFakeBotApiTokenForRehabTests0123"
_TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]{35}")
_CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
_WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
MAX_POLL_TIMEOUT = 50.0
MAX_UPLOAD = 2 * 1024 * 1024 * 1024


class _Poll:
    """One waiting getUpdates call."""

    def __init__(self, request: web.Request) -> None:
        """Track the HTTP request so a newer poll can terminate it with 409."""
        self.request = request
        self.event = asyncio.Event()
        self.conflicted = False

    @property
    def connected(self) -> bool:
        """Whether the client is still waiting for this answer."""
        transport = self.request.transport
        return transport is not None and not transport.is_closing()


class FakeBotApi(UserActions):
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
        self._polls: set[_Poll] = set()
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

    async def _shutdown(self) -> None:
        """Release long polls, then close the server."""
        self._closing = True
        self._wake_polls()
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
                return _json_error(ApiError(401, "Unauthorized"))
            return _json_error(ApiError(404, "Not Found"))
        method = self.spec.method(name)
        params, parts = await _decode(request, method)
        call = Call(method.name if method else name, params, ts)
        with self._lock:
            self.calls.append(call)
        try:
            result = await self._process(request, call, method, parts)
        except ApiError as error:
            self._record_error(call, error)
            return _json_error(error)
        except _Drop:
            call.error = "dropped"
            return await _drop_connection(request)
        except _Raw as raw:
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
            raise _Raw(_server_error(fault))
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
            raise _Drop
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
            return _json_error(ApiError(404, "Not Found"))
        return web.Response(body=stored.data, content_type="application/octet-stream")

    # getUpdates

    def _notify(self) -> None:
        """Wake waiting long polls (callable from any thread)."""
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(self._wake_polls)

    def _wake_polls(self) -> None:
        """Set every waiting poll's event (server loop only)."""
        for poll in self._polls:
            poll.event.set()

    async def _get_updates(self, request: web.Request, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long polling with offset confirmation, limit, timeout and allowed_updates, like Telegram."""
        with self._lock:
            if self._world.webhook:
                raise ApiError(409, _WEBHOOK_CONFLICT)
            self._world.confirm(int(params.get("offset") or 0))
            self._world.set_allowed_updates(params.get("allowed_updates"))
        # A newer getUpdates terminates an older one that is still waiting.
        for old in list(self._polls):
            if old.connected:
                old.conflicted = True
                old.event.set()
        poll = _Poll(request)
        self._polls.add(poll)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), MAX_POLL_TIMEOUT)
        try:
            while True:
                poll.event.clear()
                if poll.conflicted:
                    with self._lock:
                        self.conflicts += 1
                    raise ApiError(409, _CONFLICT)
                with self._lock:
                    batch = self._world.available(int(params.get("limit") or 100))
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0 or self._closing:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(poll.event.wait(), remaining)
        finally:
            self._polls.discard(poll)
        with self._lock:
            self.get_updates_calls.append(
                GetUpdatesCall(params, tuple(u["update_id"] for u in batch), time.monotonic())
            )
        return batch

    # Queries for tests

    def sent_messages(self, chat_id: int | None = None, *, method: str | None = None) -> list[SentMessage]:
        """Messages the bot created (sendMessage, sendDocument, sendPhoto, copyMessage, ...), in order."""
        with self._lock:
            return [
                sent
                for sent in self._world.sent
                if (chat_id is None or sent.chat_id == chat_id) and (method is None or sent.method == method)
            ]

    def last_message(self, chat_id: int | None = None) -> SentMessage | None:
        """The latest message the bot created in a chat (or anywhere)."""
        sent = self.sent_messages(chat_id)
        return sent[-1] if sent else None

    def edits(self, chat_id: int | None = None) -> list[Edit]:
        """Successful edits (text, caption, markup, media), in order."""
        with self._lock:
            return [edit for edit in self._world.edits if chat_id is None or edit.chat_id == chat_id]

    def chat_actions(self, chat_id: int | None = None) -> list[str]:
        """Chat actions (typing, upload_video, ...) sent to a chat, in order."""
        with self._lock:
            return [action for cid, action, _ in self._world.chat_actions if chat_id is None or cid == chat_id]

    def chat_action_times(self, chat_id: int) -> list[tuple[str, float]]:
        """Chat actions with their monotonic timestamps (to check they are renewed every < 5 s)."""
        with self._lock:
            return [(action, ts) for cid, action, ts in self._world.chat_actions if cid == chat_id]

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Decoded parameters of every call to `method` (case-insensitive), in order."""
        with self._lock:
            return [call.params for call in self.calls if call.method.lower() == method.lower()]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """Current state of any message in a chat (None once deleted)."""
        with self._lock:
            found = self._world.find_message(chat_id, message_id)
            return copy.deepcopy(found) if found else None

    @property
    def uploads(self) -> list[UploadedFile]:
        """Files the bot uploaded (documents, photos, ...), in order."""
        with self._lock:
            return list(self._world.uploads)

    def commands(self, *, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        """Bot commands set for a scope (default scope if None) and language ("" = all languages)."""
        key = self._methods._commands_key({"scope": scope, "language_code": language_code})
        with self._lock:
            return copy.deepcopy(self._world.commands.get(key, []))

    def callback_answer(self, query_id: str) -> dict[str, Any] | None:
        """The bot's answerCallbackQuery parameters for a query, if it answered."""
        with self._lock:
            return self._world.callback_answers.get(query_id)

    def unanswered_callback_queries(self) -> list[str]:
        """Callback query ids the bot has not answered (clients show a spinner until it does)."""
        with self._lock:
            return [qid for qid in self._world.callback_queries if qid not in self._world.callback_answers]

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot."""
        with self._lock:
            return copy.deepcopy(self._world.pending)

    def delivery_count(self, update_id: int) -> int:
        """How many times an update was handed out by getUpdates (> 1 means re-delivered)."""
        with self._lock:
            return self._world.deliveries[update_id]

    @property
    def dropped_updates(self) -> list[tuple[str, tuple[int, ...]]]:
        """(reason, update ids) for updates dropped by drop_pending_updates or allowed_updates."""
        with self._lock:
            return list(self._world.dropped_updates)

    @property
    def drop_pending_requests(self) -> list[Call]:
        """Calls that asked to drop pending updates (setWebhook/deleteWebhook drop_pending_updates=True)."""
        with self._lock:
            return [call for call in self.calls if call.params.get("drop_pending_updates") is True]

    def describe(self, last: int = 15) -> str:
        """The last calls, one per line, for assertion messages."""
        with self._lock:
            calls = self.calls[-last:]
        lines = []
        for call in calls:
            shown = {k: v for k, v in call.params.items() if not isinstance(v, UploadedPart)}
            lines.append(f"{call.method} {call.status or '...'} {shown}{f' -> {call.error}' if call.error else ''}")
        return "\n".join(lines)

    # Waiting

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain timeout argument reads best in tests
        *,
        what: str = "",
    ) -> T:
        """Poll `predicate` until it returns something truthy; AssertionError with recent calls on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what or predicate}\nrecent calls:\n{self.describe()}"
                )
            await asyncio.sleep(0.01)

    def wait_for_sync(self, predicate: Callable[[], T], timeout: float = 5.0, *, what: str = "") -> T:
        """Blocking variant of wait_for for synchronous tests."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what or predicate}\nrecent calls:\n{self.describe()}"
                )
            time.sleep(0.01)

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - same meaning as wait_for's
        *,
        after: int = 0,
    ) -> SentMessage:
        """The first message the bot sent to `chat_id` (skipping the first `after`) that matches."""

        def find() -> SentMessage | None:
            """First match, if any."""
            for sent in self.sent_messages(chat_id)[after:]:
                if predicate is None or predicate(sent):
                    return sent
            return None

        return await self.wait_for(find, timeout, what=f"a message to chat {chat_id}")

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109 - same meaning as wait_for's
    ) -> list[SentMessage]:
        """Wait until the bot has sent at least `count` messages to `chat_id`; returns them all."""
        return await self.wait_for(
            lambda: (sent := self.sent_messages(chat_id)) and len(sent) >= count and sent,
            timeout,
            what=f"{count} messages to chat {chat_id}",
        )


class _Drop(Exception):
    """Internal: close the connection without answering."""


class _Raw(Exception):
    """Internal: answer with a prepared (non-Telegram) response."""

    def __init__(self, response: web.Response) -> None:
        """Carry the response."""
        super().__init__(response.status)
        self.response = response


def _json_error(error: ApiError) -> web.Response:
    """Telegram's JSON error answer."""
    return web.json_response(error.body(), status=error.code)


def _server_error(fault: ServerError) -> web.Response:
    """A 5xx as Telegram (JSON) or a proxy in front of it (HTML) would send it."""
    if fault.is_json:
        body = {"ok": False, "error_code": fault.status, "description": "Internal Server Error"}
        return web.json_response(body, status=fault.status)
    html = (
        f"<html><head><title>{fault.status}</title></head><body><center><h1>{fault.status}</h1></center></body></html>"
    )
    return web.Response(text=html, status=fault.status, content_type="text/html")


async def _drop_connection(request: web.Request) -> web.StreamResponse:
    """Abort the TCP connection so the client sees it closed without a response."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    # aiohttp cannot send anything on an aborted transport; this response is discarded.
    return web.Response(status=500)


async def _decode(request: web.Request, method: MethodSpec | None) -> tuple[dict[str, Any], dict[str, UploadedPart]]:
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
