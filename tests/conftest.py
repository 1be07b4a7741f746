"""The world end-to-end tests live in: a fake Bot API, a data dir, the bot polling it.

The bot is built by the same `create_app` as in production and polls the fake
server over HTTP, pointed at it by TELEGRAM_API_URL; tests talk to it only as
Telegram users would (tests/fakes/botapi.py).
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import Application, create_app
from bot.config import Settings
from tests.fakes.botapi import Call, FakeBotAPI, FakeMessage

ADMIN = 1001
OTHER_ADMIN = 1002
GUEST = 2001
STRANGER = 2002

REPLY_METHODS = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageCaption"}
)


def make_settings(api: FakeBotAPI, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": api.token,
        "admin_ids": f"{ADMIN},{OTHER_ADMIN}",
        "data_dir": data_dir,
        "telegram_api_url": api.base_url,
        "locale": "en",
        "timezone": "Europe/Moscow",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


class RunningBot:
    """The bot under test, polling the fake API; also the tests' hands and eyes."""

    def __init__(self, api: FakeBotAPI, settings: Settings) -> None:
        self.api = api
        self.settings = settings
        self.app: Application | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> RunningBot:
        self.app = await create_app(self.settings)
        self._task = asyncio.create_task(self.app.run_polling(handle_signals=False))
        return self

    async def stop(self) -> None:
        if self.app is None or self._task is None:
            return
        if not self._task.done():
            await self.app.dispatcher.stop_polling()
        await self._task
        await self.app.close()
        self.app, self._task = None, None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    # ------------------------------------------------------------- acting
    async def reply(self, chat_id: int, since: int, timeout: float = 5.0) -> Call:
        """The bot's first message (or edit) to the chat after call index `since`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for call in self.api.calls[since:]:
                if call.chat_id == chat_id and call.method in REPLY_METHODS and call.ok:
                    return call
            if loop.time() > deadline:
                raise AssertionError(
                    f"no reply to chat {chat_id} within {timeout}s; calls:\n{self.api.dump()}"
                )
            await asyncio.sleep(0.01)

    async def expect(
        self, chat_id: int, fragment: str, since: int, timeout: float = 5.0
    ) -> FakeMessage:
        """Wait for the bot's message (or edit) to the chat containing `fragment` (in its
        HTML or its plain text), sent after call index `since`; the message as it stands."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for call in self.api.calls[since:]:
                if call.chat_id != chat_id or call.method not in REPLY_METHODS or not call.ok:
                    continue
                said = str(call.params.get("text") or call.params.get("caption") or "")
                if fragment in said or fragment in html.unescape(re.sub(r"<[^>]*>", "", said)):
                    message_id = (call.result or {}).get("message_id") or call.params.get(
                        "message_id"
                    )
                    assert message_id is not None, "the bot answered without a message"
                    return self.api.messages[chat_id][int(message_id)]
            if loop.time() > deadline:
                raise AssertionError(
                    f"no {fragment!r} to chat {chat_id} within {timeout}s; calls:\n"
                    f"{self.api.dump()}"
                )
            await asyncio.sleep(0.01)

    async def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until the bot has made no call for `quiet` seconds, no update is queued or
        still being handled, no reply is waiting for its send slot and no call that met a
        429 is still waiting out its retry_after to be made again."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen, since = len(self.api.calls), loop.time()
        while loop.time() < deadline:
            await asyncio.sleep(0.05)
            if (
                len(self.api.calls) != seen
                or self.api.pending_updates
                or self._retry_due()
                or self._replies_waiting()
                or self._handling()
            ):
                seen, since = len(self.api.calls), loop.time()
            elif loop.time() - since >= quiet:
                return
        raise AssertionError("the bot did not go quiet")

    def _handling(self) -> bool:
        """Whether an update is still being handled: a handler may answer first and go on
        silently (reading an imported file, building an export, checking an SMTP server)
        before its next call."""
        if self.app is None:
            return False
        # aiogram's own set of running update tasks (private): fail loudly if it goes away.
        tasks = getattr(self.app.dispatcher, "_handle_update_tasks", None)
        assert tasks is not None, "aiogram no longer keeps _handle_update_tasks"
        return bool(tasks)

    def _replies_waiting(self) -> bool:
        """Whether an answer to the admin is still waiting for its slot in the bot's rate
        limiter (at a low TELEGRAM_RATE a reply can wait longer than `quiet`)."""
        return self.app is not None and self.app.services.engine.limiter.replies_waiting > 0

    def _retry_due(self) -> bool:
        """Whether the latest 429 answer's retry_after has not passed yet (the bot's retry
        of that call is still to come)."""
        for call in reversed(self.api.calls[-200:]):
            if call.status == 429:
                parameters = (call.response or {}).get("parameters") or {}
                wait = float(parameters.get("retry_after", 1))
                return time.monotonic() - call.at < wait + 0.1
        return False

    async def _act(self, chat_id: int, action: Callable[[], object]) -> FakeMessage:
        since = self.api.mark()
        action()
        call = await self.reply(chat_id, since)
        await self.settle(quiet=0.15)
        message_id = (call.result or {}).get("message_id") or call.params.get("message_id")
        assert message_id is not None, "the bot answered without a message"
        return self.api.messages[chat_id][int(message_id)]

    async def say(self, user_id: int, text: str, **kwargs: Any) -> FakeMessage:
        """Send text as the user; returns the bot's first answer as it stands after settling."""
        return await self._act(user_id, lambda: self.api.send_message(user_id, text, **kwargs))

    async def texts_after(self, user_id: int, action: Callable[[], object]) -> list[str]:
        """Everything the bot sent or edited in the chat because of the action."""
        before = len(self.api.sent_texts(user_id))
        action()
        await self.settle()
        return self.api.sent_texts(user_id)[before:]

    async def press(self, user_id: int, button_text: str) -> Call:
        """Press the newest inline button whose text contains button_text; returns the answer."""
        data = self.find_button(user_id, button_text)
        query_id = self.api.press_button(user_id, data)
        answer = await self.api.answer_of(query_id)
        await self.settle(quiet=0.15)
        return answer

    def find_button(self, user_id: int, button_text: str) -> str:
        chat = self.api.messages.get(user_id, {})
        for message_id in sorted(chat, reverse=True):
            for text, data in chat[message_id].buttons():
                if button_text in text and data:
                    return data
        raise AssertionError(f"no button {button_text!r} in chat {user_id}")

    async def send_file(
        self, user_id: int, filename: str, content: bytes, **kwargs: Any
    ) -> list[str]:
        return await self.texts_after(
            user_id, lambda: self.api.send_document(user_id, filename, content, **kwargs)
        )

    def last_text(self, user_id: int) -> str:
        return self.api.last_message(user_id).plain_text or ""

    def documents_to(self, chat_id: int) -> list[Call]:
        return [c for c in self.api.calls_of("sendDocument", chat_id) if c.ok]


# Telegram's limits as the bot meets them in production; a test that needs others says so
# with @pytest.mark.fake_api(rate_limit=None, chat_burst=..., chat_refill=...).
FAKE_API_LIMITS: dict[str, Any] = {"rate_limit": 30, "chat_burst": 20, "chat_refill": 1.0}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fake_api(**limits): the fake Bot API's limits for this test (FakeBotAPI)"
    )


@pytest.fixture
async def api(request: pytest.FixtureRequest) -> AsyncIterator[FakeBotAPI]:
    """The fake Bot API with Telegram's rate limits on (see FAKE_API_LIMITS)."""
    limits = dict(FAKE_API_LIMITS)
    for marker in reversed(list(request.node.iter_markers("fake_api"))):
        limits.update(marker.kwargs)  # the closest marker (the test's own) wins
    fake = FakeBotAPI(**limits)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


BotFactory = Callable[..., Awaitable[RunningBot]]


@pytest.fixture
async def start_bot(api: FakeBotAPI, data_dir: Path) -> AsyncIterator[BotFactory]:
    """Start the bot with settings overrides (e.g. locale="ru"); stopped after the test."""
    running: list[RunningBot] = []

    async def start(**overrides: Any) -> RunningBot:
        bot = await RunningBot(api, make_settings(api, data_dir, **overrides)).start()
        running.append(bot)
        return bot

    yield start
    for bot in running:
        await bot.stop()


@pytest.fixture
async def bot(start_bot: BotFactory) -> RunningBot:
    """The bot in English (LOCALE=en) with ADMIN and OTHER_ADMIN as admins."""
    return await start_bot()
