"""A fake Telegram Bot API server (aiohttp) for end-to-end tests.

The real bot (aiogram, long polling) is pointed at it with
``TelegramAPIServer.from_base(fake.base_url)``, exactly like production is pointed at
``TELEGRAM_API_URL``. The fake plays every other side of Telegram:

* it answers the Bot API methods the bot uses with objects aiogram can parse, keeps the
  bot's messages as they stand now (edits applied, deleted ones removed), checks what the
  real server checks (tests/fakes/telegram_checks.py: HTML markup, entities and attributes,
  text/caption length in UTF-16 units, callback_data size; command names; a callback query
  answered once) and stores uploaded files so tests can read them back;
* it is as strict about flooding as Telegram, on by default: every call that sends or edits
  a message (LIMITED_METHODS) takes a slot of one sliding one-second window of
  ``rate_limit`` calls and a token of its chat's bucket (``chat_burst``, refilled by
  ``chat_refill`` a second), else 429 with retry_after; a chat that blocked the bot
  answers 403 to sends and edits alike;
* it acts as people: it queues updates (text, commands, contacts, documents, photos,
  button presses, blocking the bot) that ``getUpdates`` long polling hands out; a press
  carries data of a button the message has now (``press_forged`` for a forged one);
* it fails on demand: injected errors (429/403/400/5xx), dropped connections, slow answers,
  blocked chats, unknown chats and a wrong token (401).

Everything runs in the test's asyncio loop; nothing here is thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import io
import json
import math
import mimetypes
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from aiohttp import web
from PIL import Image

from tests.fakes.telegram_checks import (
    CALLBACK_ANSWER_MAX,
    ApiError,
    bad_request,
    check_markup,
    checked_text,
    html_to_plain,
    utf16_len,
)

Json = dict[str, Any]
Uploads = dict[str, tuple[str, bytes, str]]  # multipart field -> (filename, bytes, content type)

SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup",
                          "copyMessage", "forwardMessage"})  # fmt: skip
EDIT_METHODS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup",
                          "editMessageMedia"})  # fmt: skip
# Every call that puts or changes a message in a chat takes Telegram's budget (the global
# window and the chat's bucket) and is refused in a chat that blocked the bot.
LIMITED_METHODS = SEND_METHODS | EDIT_METHODS
_TRUE_METHODS = frozenset({"sendChatAction", "close", "logOut", "setChatMenuButton",
                           "setMyDescription", "setMyShortDescription", "setMyName"})  # fmt: skip
_JSON_FIELDS = frozenset({"reply_markup", "entities", "caption_entities", "media", "commands",
                          "scope", "menu_button", "link_preview_options", "allowed_updates",
                          "reply_parameters", "message_ids"})  # fmt: skip
_INT_FIELDS = frozenset({"chat_id", "from_chat_id", "message_id", "offset", "limit", "timeout",
                         "cache_time", "user_id", "message_thread_id", "reply_to_message_id",
                         "width", "height", "duration"})  # fmt: skip
_BOOL_FIELDS = frozenset({"disable_notification", "protect_content", "show_alert", "has_spoiler",
                          "drop_pending_updates", "allow_sending_without_reply",
                          "show_caption_above_media", "allow_paid_broadcast"})  # fmt: skip
_html_to_plain = html_to_plain  # the name the rendering tests know it by
MAX_DOWNLOAD, MAX_UPLOAD = 20 * 1024 * 1024, 50 * 1024 * 1024
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
_DESCRIPTIONS = {400: "Bad Request", 403: "Forbidden: bot was blocked by the user",
                 404: "Not Found", 409: "Conflict", 500: "Internal Server Error",
                 502: "Bad Gateway"}  # fmt: skip


@dataclass
class Call:
    """One request the bot made, decoded, with the answer it got (status 0: none)."""

    method: str
    params: Json
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    chat_id: int | None = None
    response: Any = None
    status: int = 0
    at: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        return self.response.get("result") if isinstance(self.response, dict) else None

    def __str__(self) -> str:
        shown = {k: v for k, v in self.params.items() if k not in ("chat_id", "reply_markup")}
        return f"{self.method} chat={self.chat_id} status={self.status} {str(shown)[:160]}"


@dataclass
class FakeMessage:
    """A bot message as it stands now. ``text`` is the text or caption exactly as the bot
    sent it (HTML kept); ``raw`` is the Message object as Telegram returns it."""

    chat_id: int
    message_id: int
    text: str | None
    parse_mode: str | None = None
    reply_markup: Json | None = None
    photo: list[Json] | None = None
    document: Json | None = None
    entities: list[Json] | None = None
    raw: Json = field(default_factory=dict)
    edits: int = 0

    @property
    def kind(self) -> str:
        return "photo" if self.photo else "document" if self.document else "text"

    @property
    def plain_text(self) -> str | None:
        """Text or caption with the markup parsed away, as a Telegram client shows it."""
        value = self.raw.get("text", self.raw.get("caption"))
        return value if isinstance(value, str) else None

    @property
    def file_id(self) -> str | None:
        """file_id of the document or of the largest photo size."""
        if self.photo:
            return str(self.photo[-1]["file_id"])
        return str(self.document["file_id"]) if self.document else None

    def buttons(self) -> list[tuple[str, str]]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [(b.get("text", ""), b.get("callback_data", "")) for row in rows for b in row]

    def button_data(self, text_substring: str) -> str:
        for text, data in self.buttons():
            if text_substring in text and data:
                return data
        raise AssertionError(f"no inline button with {text_substring!r}; has {self.buttons()}")

    def reply_keyboard(self) -> list[Json]:
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [b if isinstance(b, dict) else {"text": b} for row in rows for b in row]


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    content: bytes
    file_path: str
    kind: str  # "photo" or "document"
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class _Failure:
    method: str
    status: int
    description: str
    retry_after: int | None
    count: int
    chat_id: int | None
    delay: float
    deliver: bool


def _decode(key: str, value: str) -> Any:
    """Multipart fields arrive as strings; give them the types aiogram serialised."""
    if key in _JSON_FIELDS:
        with contextlib.suppress(ValueError):
            return json.loads(value)
    elif key in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    elif key in _BOOL_FIELDS and value in ("true", "false"):
        return value == "true"
    return value


def _image_size(content: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(content)) as image:
            return image.size
    except Exception:  # an undecodable upload
        return None


def _thumbnail(content: bytes) -> bytes:
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.thumbnail((90, 90))
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, "JPEG")
            return buffer.getvalue()
    except Exception:  # not an image: a marker that differs from the full size
        return b"thumb:" + content[:64]


class FakeBotAPI:
    """See the module docstring. ``await start()`` / ``await stop()`` or ``async with``."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",  # noqa: S107
        bot_id: int = 123456,
        bot_username: str = "probonus_test_bot",
        *,
        rate_limit: int | None = 30,
        chat_burst: int | None = 20,
        chat_refill: float = 1.0,
    ) -> None:
        self.token, self.bot_id, self.bot_username = token, bot_id, bot_username
        self.base_url = ""
        self.calls: list[Call] = []  # every request but getUpdates, in order of answer
        self.poll_count = 0  # getUpdates requests
        self.injected_count = 0  # answers produced by fail_next
        # Telegram's limits on LIMITED_METHODS (None: off): at most rate_limit calls in any
        # second for the whole bot, and per chat a bucket of chat_burst calls refilled by
        # chat_refill a second ("about one message a second to a chat, short bursts").
        self.rate_limit, self.chat_burst, self.chat_refill = rate_limit, chat_burst, chat_refill
        self.rate_limited_count = 0  # 429 answers of either limit
        self.chat_limited_count = 0  # of them, those of a chat's bucket
        self.known_chats: set[int] | None = None
        self.blocked_chats: set[int] = set()
        self.messages: dict[int, dict[int, FakeMessage]] = {}
        self.files: dict[str, StoredFile] = {}
        self.commands: dict[tuple[str, str], list[Json]] = {}  # (scope json, language) -> list
        self.downloads: list[str] = []  # file_path of every file download
        self._updates: list[Json] = []
        self._next_update_id = 1000
        self._store: dict[int, dict[int, Json]] = {}  # every message, users' too
        self._next_mid: dict[int, int] = {}
        self._texts: dict[int, list[str]] = {}
        self._users: dict[int, Json] = {}
        self._failures: list[_Failure] = []
        self._send_times: deque[float] = deque()
        self._buckets: dict[int, tuple[float, float]] = {}  # chat -> (tokens, at)
        self._photo_groups: dict[str, list[Json]] = {}  # any size's file_id -> all sizes
        self._by_path: dict[str, StoredFile] = {}
        self._callback_ids: set[str] = set()
        self._seq = self._poll_gen = 0
        self._changed, self._closed = asyncio.Event(), asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Callable[[Json, Uploads], Any]] = {
            name[3:].replace("_", ""): getattr(self, name)
            for name in dir(self)
            if name[:3] == "_m_"
        }

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> str:
        """Bind 127.0.0.1 on a free port; returns base_url."""
        self._closed.clear()
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.base_url

    async def stop(self) -> None:
        self._closed.set()
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ inspecting
    def calls_of(self, method: str, chat_id: int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method and chat_id in (None, c.chat_id)]

    def mark(self) -> int:
        return len(self.calls)

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        chat_id: int | None = None,
        timeout: float = 5.0,
        since: int = 0,
    ) -> Call:
        """The first call of `method` (to chat_id, matching predicate) with index >= since."""
        loop = asyncio.get_running_loop()
        deadline, index = loop.time() + timeout, since
        while True:
            for call in self.calls[index:]:
                wanted = call.method == method and chat_id in (None, call.chat_id)
                if wanted and (predicate is None or predicate(call)):
                    return call
            index = max(index, len(self.calls))
            if (remaining := deadline - loop.time()) <= 0:
                raise AssertionError(
                    f"no {method} call (chat {chat_id}) within {timeout}s since #{since}; "
                    f"recent calls:\n{self.dump()}"
                )
            await self._wait_change(remaining)

    async def answer_of(
        self,
        callback_query_id: str,
        *,
        timeout: float = 5.0,
    ) -> Call:
        """The bot's answerCallbackQuery call for a press_button query."""
        return await self.wait_for(
            "answerCallbackQuery",
            lambda c: c.params.get("callback_query_id") == callback_query_id,
            timeout=timeout,
        )

    def dump(self, last: int = 20) -> str:
        return "\n".join(f"  #{i} {c}" for i, c in list(enumerate(self.calls))[-last:]) or "  -"

    def sent_texts(self, chat_id: int) -> list[str]:
        """Text or caption ("" if none) of every successful send and edit to the chat."""
        return list(self._texts.get(chat_id, []))

    def last_message(self, chat_id: int) -> FakeMessage:
        if not (chat := self.messages.get(chat_id)):
            raise AssertionError(f"the bot has no messages in chat {chat_id}")
        return chat[max(chat)]

    def file_bytes(self, file_id: str) -> bytes:
        return self.files[file_id].content

    def my_commands(self, scope: Json | None = None, language_code: str = "") -> list[Json]:
        return self.commands.get(self._commands_key(scope, language_code), [])

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        return len(self._updates)

    # ------------------------------------------------------------------ acting as a person
    def queue_update(self, update: Json) -> None:
        self._next_update_id += 1
        self._updates.append({**update, "update_id": self._next_update_id})
        self._notify()

    def send_message(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "ru",
        entities: list[Json] | None = None,
    ) -> int:
        """Queue a private message (also remembers the user's names for later updates)."""
        names = {"last_name": last_name, "username": username, "language_code": language_code}
        self._users[user_id] = {"id": user_id, "is_bot": False, "first_name": first_name}
        self._users[user_id].update({k: v for k, v in names.items() if v is not None})
        if entities is None and text.startswith("/"):
            length = len(text.split(maxsplit=1)[0].encode("utf-16-le")) // 2
            entities = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._user_message(user_id, {"text": text, "entities": entities})

    def send_contact(
        self,
        user_id: int,
        phone_number: str,
        *,
        contact_user_id: int | None,
        first_name: str = "Test",
        last_name: str | None = None,
    ) -> int:
        contact: Json = {"phone_number": phone_number, "first_name": first_name}
        contact.update(last_name=last_name, user_id=contact_user_id)
        return self._user_message(user_id, {"contact": _compact(contact)})

    def send_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        *,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
    ) -> int:
        stored = self._store_file("document", content, file_name=filename, mime_type=mime_type)
        return self._user_message(user_id, {"document": _document(stored), "caption": caption})

    def send_photo(
        self,
        user_id: int,
        content: bytes,
        *,
        caption: str | None = None,
        width: int = 800,
        height: int = 600,
    ) -> int:
        photo = self._store_photo(content, width, height)
        return self._user_message(user_id, {"photo": photo, "caption": caption})

    def press_button(
        self, user_id: int, callback_data: str, *, message_id: int | None = None
    ) -> str:
        """Press a button as a person can: `callback_data` must be on an inline button of the
        bot's message `message_id` (default: the latest message carrying it) as that message
        stands now, else AssertionError. Returns the callback query id."""
        chat = self.messages.get(user_id, {})
        if message_id is not None and message_id not in chat:
            raise AssertionError(f"no bot message {message_id} in chat {user_id}")
        carrying = [i for i, m in sorted(chat.items()) if callback_data in _data_of(m)]
        if message_id is None and carrying:
            message_id = carrying[-1]
        if message_id is None or message_id not in carrying:
            where = f"message {message_id}" if message_id is not None else "any bot message"
            shown = chat[message_id].buttons() if message_id is not None else []
            raise AssertionError(
                f"no button with data {callback_data!r} on {where} in chat {user_id} as it "
                f"stands now {shown}; a forged press is press_forged(...)"
            )
        return self._queue_press(user_id, callback_data, chat[message_id])

    def press_forged(
        self, user_id: int, callback_data: str, *, message_id: int | None = None
    ) -> str:
        """A callback query no button offers: a client that forges callback_data (for
        tests of what a stranger can reach). Attached to the bot's message `message_id`
        (default: the latest carrying the data, else the latest); returns the query id."""
        chat = self.messages.get(user_id, {})
        if message_id is not None and message_id not in chat:
            raise AssertionError(f"no bot message {message_id} in chat {user_id}")
        if not chat:
            raise AssertionError(f"the bot has no messages in chat {user_id}")
        carrying = [m for m in chat.values() if callback_data in _data_of(m)]
        message = (
            chat[message_id] if message_id is not None else (carrying or [chat[max(chat)]])[-1]
        )
        return self._queue_press(user_id, callback_data, message)

    def _queue_press(self, user_id: int, callback_data: str, message: FakeMessage) -> str:
        self._seq += 1
        query_id = str(4_000_000_000_000_000 + self._seq)
        self._callback_ids.add(query_id)
        query = {"id": query_id, "from": self._user(user_id), "chat_instance": f"ci{user_id}"}
        query.update(data=callback_data, message=copy.deepcopy(message.raw))
        self.queue_update({"callback_query": query})
        return query_id

    def block_bot(self, user_id: int, *, block_sends: bool = True) -> None:
        """my_chat_member member -> kicked; by default sends to the user then answer 403."""
        self._member_update(user_id, "member", "kicked")
        if block_sends:
            self.block_chat(user_id)

    def unblock_bot(self, user_id: int) -> None:
        self._member_update(user_id, "kicked", "member")
        self.blocked_chats.discard(user_id)

    # ------------------------------------------------------------------ failures
    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
        chat_id: int | None = None,
        delay: float = 0,
        deliver: bool = False,
    ) -> None:
        """Answer the next `count` calls of method ("*": any but getUpdates), optionally only
        those to chat_id, with {"ok": false, "error_code": status, ...} after `delay` s.

        status 0: no answer, the connection is dropped after `delay` (deliver=True performs
        the method first: "sent, but the answer was lost"). status 200: answer normally,
        only late. 429 defaults to retry_after=1; description defaults by status."""
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
        description = description or _DESCRIPTIONS.get(status, "Error")
        failure = _Failure(method, status, description, retry_after, count, chat_id, delay, deliver)
        self._failures.append(failure)

    def block_chat(self, chat_id: int) -> None:
        self.blocked_chats.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        self.blocked_chats.discard(chat_id)

    # ------------------------------------------------------------------ HTTP layer
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        params, uploads = await self._read_params(request)
        chat_id = params.get("chat_id")
        chat_id = chat_id if isinstance(chat_id, int) else None
        call = Call(request.match_info["method"], params, chat_id=chat_id, at=time.monotonic())
        for key, value in params.items():
            if isinstance(value, str) and value.removeprefix("attach://") in uploads:
                call.files[key] = uploads[value.removeprefix("attach://")][:2]
        polling = call.method.lower() == "getupdates"
        self.poll_count += polling
        try:
            return await self._answer(request, call, uploads)
        finally:  # also when the client gave up and aiohttp cancelled the handler
            if not polling:
                self.calls.append(call)
                self._notify()

    async def _answer(
        self, request: web.Request, call: Call, uploads: Uploads
    ) -> web.StreamResponse:
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if (failure := self._take_failure(call)) is not None:
                self.injected_count += 1
                await self._sleep(failure.delay)
                if failure.status == 0:
                    if failure.deliver:
                        with contextlib.suppress(ApiError):
                            await self._dispatch(call, uploads)
                    if request.transport is not None:
                        request.transport.close()
                    return web.Response(status=500)  # never reaches the client
                if failure.status != 200:
                    raise ApiError(failure.status, failure.description, failure.retry_after)
            self._check_limits(call)
            result = await self._dispatch(call, uploads)
            call.status, call.response = 200, {"ok": True, "result": result}
        except ApiError as error:
            call.status, call.response = error.status, error.body()
        return web.json_response(call.response, status=call.status)

    @staticmethod
    async def _read_params(request: web.Request) -> tuple[Json, Uploads]:
        params: Json = {}
        uploads: Uploads = {}
        if request.content_type == "application/json":
            body = await request.json() if request.can_read_body else {}
            params.update(body if isinstance(body, dict) else {})
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    uploads[key] = (value.filename, value.file.read(), value.content_type)
                else:
                    params[key] = value.decode() if isinstance(value, bytes) else value
        for key, value in request.query.items():
            params.setdefault(key, value)
        return {k: _decode(k, v) if isinstance(v, str) else v for k, v in params.items()}, uploads

    def _take_failure(self, call: Call) -> _Failure | None:
        for failure in self._failures:
            wildcard = failure.method == "*" and call.method != "getUpdates"
            method_matches = wildcard or failure.method == call.method
            if method_matches and failure.chat_id in (None, call.chat_id):
                failure.count -= 1
                if failure.count <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _check_limits(self, call: Call) -> None:
        limited = call.method in LIMITED_METHODS
        if limited:
            self._take_budget(call.chat_id)
        unknown = self.known_chats is not None and call.chat_id not in self.known_chats
        if call.chat_id is not None and unknown:
            raise bad_request("chat not found")
        blocking = limited or call.method == "sendChatAction"
        if call.chat_id in self.blocked_chats and blocking:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _take_budget(self, chat_id: int | None) -> None:
        """A slot of the global window and a token of the chat's bucket, or 429 (neither
        is taken then)."""
        now = time.monotonic()
        while self._send_times and now - self._send_times[0] >= 1.0:
            self._send_times.popleft()
        if self.rate_limit is not None and len(self._send_times) >= self.rate_limit:
            self.rate_limited_count += 1
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        if chat_id is not None and self.chat_burst is not None:
            tokens, at = self._buckets.get(chat_id, (float(self.chat_burst), now))
            tokens = min(float(self.chat_burst), tokens + (now - at) * self.chat_refill)
            if tokens < 1.0:
                self._buckets[chat_id] = (tokens, now)
                self.rate_limited_count += 1
                self.chat_limited_count += 1
                wait = max(1, math.ceil((1.0 - tokens) / max(self.chat_refill, 1e-3)))
                raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
            self._buckets[chat_id] = (tokens - 1.0, now)
        self._send_times.append(now)

    async def _dispatch(self, call: Call, uploads: Uploads) -> Any:
        if call.method.lower() == "getupdates":
            return await self._get_updates(call.params)
        if call.method in _TRUE_METHODS:
            return True
        if (handler := self._handlers.get(call.method.lower())) is None:
            raise ApiError(404, "Not Found: method not found")
        return handler(call.params, uploads)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        if (stored := self._by_path.get(request.match_info["path"])) is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        self.downloads.append(stored.file_path)
        return web.Response(body=stored.content, content_type="application/octet-stream")

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), seconds)

    async def _sleep(self, seconds: float) -> None:  # cut short by stop()
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), seconds)

    # ------------------------------------------------------------------ updates and people
    async def _get_updates(self, p: Json) -> list[Json]:
        offset, limit, timeout = (p.get(k) for k in ("offset", "limit", "timeout"))
        if isinstance(offset, int) and offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (timeout if isinstance(timeout, int) else 0)
        self._poll_gen += 1
        generation = self._poll_gen
        self._notify()  # an older long poll still waiting ends with 409, like Telegram's
        while True:
            if generation != self._poll_gen:
                raise ApiError(409, "Conflict: terminated by other getUpdates request")
            if self._updates or self._closed.is_set() or loop.time() >= deadline:
                return copy.deepcopy(self._updates[:limit])
            await self._wait_change(deadline - loop.time())

    def _user(self, user_id: int) -> Json:
        default = {"id": user_id, "is_bot": False, "first_name": "Test", "language_code": "ru"}
        return dict(self._users.get(user_id, default))

    def _chat(self, chat_id: int) -> Json:
        user = self._user(chat_id)
        chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
        return chat | {k: user[k] for k in ("last_name", "username") if k in user}

    def _bot_user(self) -> Json:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "ProBonus",
            "username": self.bot_username,
        }

    def _new_message(self, chat_id: int, sender: Json, fields: Json) -> Json:
        self._next_mid[chat_id] = message_id = self._next_mid.get(chat_id, 0) + 1
        message = {"message_id": message_id, "date": int(time.time()), "chat": self._chat(chat_id)}
        message = message | {"from": sender} | _compact(fields)
        self._store.setdefault(chat_id, {})[message_id] = message
        return message

    def _user_message(self, user_id: int, fields: Json) -> int:
        message = self._new_message(user_id, self._user(user_id), fields)
        self.queue_update({"message": copy.deepcopy(message)})
        return int(message["message_id"])

    def _member_update(self, user_id: int, old: str, new: str) -> None:
        def member(status: str) -> Json:
            kicked = {"until_date": 0} if status == "kicked" else {}
            return {"status": status, "user": self._bot_user(), **kicked}

        update: Json = {"chat": self._chat(user_id), "from": self._user(user_id)}
        update.update(date=int(time.time()), old_chat_member=member(old))
        update["new_chat_member"] = member(new)
        self.queue_update({"my_chat_member": update})

    # ------------------------------------------------------------------ files
    def _store_file(
        self,
        kind: str,
        content: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        self._seq += 1
        suffix = PurePosixPath(file_name).suffix if file_name else ".jpg"
        stored = StoredFile(
            file_id=f"{'AgAC' if kind == 'photo' else 'BQAC'}{self._seq:06d}fake{kind}",
            file_unique_id=f"AQAD{self._seq:06d}",
            content=content,
            file_path=f"{kind}s/file_{self._seq}{suffix}",
            kind=kind,
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = self._by_path[stored.file_path] = stored
        return stored

    def _store_photo(self, content: bytes, width: int, height: int) -> list[Json]:
        scale = min(1.0, 90 / max(width, height))
        dims = [(max(1, round(width * scale)), max(1, round(height * scale))), (width, height)]
        sizes: list[Json] = []
        for data, (w, h) in zip((_thumbnail(content), content), dims, strict=True):
            stored = self._store_file("photo", data)
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(data),
                    "width": w,
                    "height": h,
                }
            )
        self._photo_groups.update((size["file_id"], sizes) for size in sizes)
        return sizes

    def _input_photo(self, value: Any, uploads: Uploads) -> list[Json]:
        if (upload := _upload(value, uploads)) is not None:
            if (size := _image_size(upload[1])) is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            if sum(size) > 10000 or max(size) > 20 * min(size):
                raise bad_request("PHOTO_INVALID_DIMENSIONS")
            return self._store_photo(upload[1], *size)
        if isinstance(value, str) and value in self._photo_groups:
            return self._photo_groups[value]
        mismatch = value in self.files
        raise bad_request("type of file mismatch" if mismatch else "wrong file identifier")

    def _input_document(self, value: Any, uploads: Uploads) -> Json:
        if (upload := _upload(value, uploads)) is not None:
            filename, content, content_type = upload
            if len(content) > MAX_UPLOAD:
                raise ApiError(413, "Request Entity Too Large")
            mime = mimetypes.guess_type(filename)[0] or content_type
            return _document(
                self._store_file("document", content, file_name=filename, mime_type=mime)
            )
        stored = self.files.get(value) if isinstance(value, str) else None
        if stored is None or stored.kind != "document":
            raise bad_request("type of file mismatch" if stored else "wrong file identifier")
        return _document(stored)

    # ------------------------------------------------------------------ the bot's messages
    @staticmethod
    def _chat_param(p: Json, key: str = "chat_id") -> int:
        if not isinstance(p.get(key), int):
            raise bad_request("chat not found")
        return int(p[key])

    def _bot_message(self, p: Json, fields: Json, text: str | None) -> Json:
        chat_id = self._chat_param(p)
        markup = p.get("reply_markup") if isinstance(p.get("reply_markup"), dict) else None
        check_markup(markup)
        inline = markup if markup and "inline_keyboard" in markup else None
        raw = self._new_message(chat_id, self._bot_user(), fields | {"reply_markup": inline})
        entities = p.get("entities") or p.get("caption_entities")
        message = FakeMessage(
            chat_id,
            raw["message_id"],
            text,
            p.get("parse_mode"),
            markup,
            raw.get("photo"),
            raw.get("document"),
            entities,
            raw,
        )
        self.messages.setdefault(chat_id, {})[message.message_id] = message
        self._texts.setdefault(chat_id, []).append(text or "")
        return raw

    @staticmethod
    def _caption(p: Json) -> Json:
        if not p.get("caption"):
            return {}
        caption = checked_text(p["caption"], p.get("parse_mode"), caption=True)
        return {"caption": caption, "caption_entities": p.get("caption_entities")}

    def _m_send_message(self, p: Json, _: Uploads) -> Json:
        text = str(p.get("text") or "")
        plain = checked_text(text, p.get("parse_mode"), caption=False)
        return self._bot_message(p, {"text": plain, "entities": p.get("entities")}, text)

    def _m_send_photo(self, p: Json, uploads: Uploads) -> Json:
        self._chat_param(p)
        fields = {"photo": self._input_photo(p.get("photo"), uploads)} | self._caption(p)
        return self._bot_message(p, fields, p.get("caption"))

    def _m_send_document(self, p: Json, uploads: Uploads) -> Json:
        self._chat_param(p)
        fields = {"document": self._input_document(p.get("document"), uploads)} | self._caption(p)
        return self._bot_message(p, fields, p.get("caption"))

    def _m_copy_message(self, p: Json, _: Uploads) -> Json:
        from_chat, message_id = self._chat_param(p, "from_chat_id"), p.get("message_id")
        source = self._store.get(from_chat, {}).get(message_id)  # type: ignore[arg-type]
        if source is None:
            raise bad_request("message to copy not found")
        keep = ("text", "entities", "photo", "document", "caption", "caption_entities", "contact")
        fields = {k: copy.deepcopy(v) for k, v in source.items() if k in keep}
        original = self.messages.get(from_chat, {}).get(source["message_id"])
        text = original.text if original else fields.get("text", fields.get("caption"))
        if "caption" in p:
            fields.pop("caption", None)
            fields, text = fields | self._caption(p), p["caption"]
        return {"message_id": self._bot_message(p, fields, text)["message_id"]}

    def _editable(self, p: Json) -> FakeMessage:
        if "inline_message_id" in p:
            raise bad_request("inline messages are not supported by the fake")
        chat_id, message_id = self._chat_param(p), p.get("message_id")
        message = self.messages.get(chat_id, {}).get(message_id)  # type: ignore[arg-type]
        if message is None:
            if message_id in self._store.get(chat_id, {}):
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return message

    def _edit(self, message: FakeMessage, p: Json, fields: Json | None) -> Json:
        """Apply an edit; fields None (editMessageReplyMarkup) keeps the content."""
        markup = p.get("reply_markup") if isinstance(p.get("reply_markup"), dict) else None
        check_markup(markup)
        text_kind = message.kind == "text"
        key = "text" if text_kind else "caption"
        entities_key = "entities" if text_kind else "caption_entities"
        old = (message.text, message.parse_mode, message.entities, message.reply_markup)
        new = (*old[:3], markup)
        if fields is not None:
            new = (p.get(key), p.get("parse_mode"), p.get(entities_key), markup)
        if new == old:
            raise bad_request(NOT_MODIFIED)
        message.text, message.parse_mode, message.entities, message.reply_markup = new
        raw = message.raw
        raw.pop("reply_markup", None)
        if markup and "inline_keyboard" in markup:
            raw["reply_markup"] = markup
        if fields is not None:
            raw.pop(key, None)
            raw.pop(entities_key, None)
            raw.update(_compact(fields))
            self._texts.setdefault(message.chat_id, []).append(message.text or "")
        raw["edit_date"] = int(time.time())
        message.edits += 1
        return raw

    def _m_edit_message_text(self, p: Json, _: Uploads) -> Json:
        if (message := self._editable(p)).kind != "text":
            raise bad_request("there is no text in the message to edit")
        plain = checked_text(str(p.get("text") or ""), p.get("parse_mode"), caption=False)
        return self._edit(message, p, {"text": plain, "entities": p.get("entities")})

    def _m_edit_message_caption(self, p: Json, _: Uploads) -> Json:
        if (message := self._editable(p)).kind == "text":
            raise bad_request("there is no caption in the message to edit")
        return self._edit(message, p, self._caption(p))

    def _m_edit_message_reply_markup(self, p: Json, _: Uploads) -> Json:
        return self._edit(self._editable(p), p, None)

    def _m_delete_message(self, p: Json, _: Uploads) -> bool:
        chat_id, message_id = self._chat_param(p), p.get("message_id")
        if self._store.get(chat_id, {}).pop(message_id, None) is None:  # type: ignore[arg-type]
            raise bad_request("message to delete not found")
        self.messages.get(chat_id, {}).pop(message_id, None)  # type: ignore[arg-type]
        return True

    # ------------------------------------------------------------------ other methods
    def _m_get_me(self, p: Json, _: Uploads) -> Json:
        flags = ("can_join_groups", "can_read_all_group_messages", "supports_inline_queries")
        return self._bot_user() | dict.fromkeys(flags, False)

    def _m_delete_webhook(self, p: Json, _: Uploads) -> bool:
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_answer_callback_query(self, p: Json, _: Uploads) -> bool:
        if utf16_len(str(p.get("text") or "")) > CALLBACK_ANSWER_MAX:
            raise bad_request("MESSAGE_TOO_LONG")
        if p.get("callback_query_id") not in self._callback_ids:
            raise bad_request(QUERY_TOO_OLD)
        self._callback_ids.discard(p["callback_query_id"])  # a query is answered once
        return True

    def _m_get_file(self, p: Json, _: Uploads) -> Json:
        if (stored := self.files.get(str(p.get("file_id")))) is None:
            raise bad_request("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _m_get_chat(self, p: Json, _: Uploads) -> Json:
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        accepted = dict.fromkeys((*gifts, "gifts_from_channels"), True)
        chat = self._chat(self._chat_param(p))
        return chat | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": accepted,
        }

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        return json.dumps(scope or {"type": "default"}, sort_keys=True), str(language_code or "")

    def _m_set_my_commands(self, p: Json, _: Uploads) -> bool:
        if not isinstance(commands := p.get("commands"), list) or len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command"))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description") or "")) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(p.get("scope"), p.get("language_code"))] = commands
        return True

    def _m_get_my_commands(self, p: Json, _: Uploads) -> list[Json]:
        return self.my_commands(p.get("scope"), p.get("language_code") or "")

    def _m_delete_my_commands(self, p: Json, _: Uploads) -> bool:
        self.commands.pop(self._commands_key(p.get("scope"), p.get("language_code")), None)
        return True


def _data_of(message: FakeMessage) -> set[str]:
    return {data for _, data in message.buttons() if data}


def _compact(fields: Json) -> Json:
    return {k: v for k, v in fields.items() if v is not None}


def _document(stored: StoredFile) -> Json:
    return _compact(
        {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": stored.file_name,
            "mime_type": stored.mime_type,
            "file_size": len(stored.content),
        }
    )


def _upload(value: Any, uploads: Uploads) -> tuple[str, bytes, str] | None:
    if not (isinstance(value, str) and value.startswith("attach://")):
        return None
    if (key := value.removeprefix("attach://")) not in uploads:
        raise bad_request("wrong file identifier/HTTP URL specified")
    return uploads[key]
