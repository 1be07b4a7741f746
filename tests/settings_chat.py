"""The /settings chat as a test drives it: the fixtures (the bot trusting a test certificate,
a real SMTP server) and the admin's moves (say, press, walk the form, save)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from bot.mailing_settings import MailingSettingsService
from tests.conftest import ADMIN, BotFactory, RunningBot
from tests.smtp_servers import (
    HOST,
    PASSWORD,
    USER,
    Certificate,
    RunningServer,
    make_certificate,
    smtp_server,
)

SENDER = "bonus@probonus.test"
WRONG_PASSWORD = "Неверный-пароль-0"
SUCCESS = "Mailing settings saved and verified"


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


def service_of(bot: RunningBot) -> MailingSettingsService:
    assert bot.app is not None
    return bot.app.services.mailing_settings


@pytest.fixture
async def admin_bot(start_bot: BotFactory, cert: Certificate) -> RunningBot:
    """The bot (English), trusting the test certificate, with a short SMTP timeout."""
    running = await start_bot()
    service = service_of(running)
    service.tls_context = cert.client_context()
    service.smtp_timeout = 3.0
    return running


@pytest.fixture
async def server(cert: Certificate) -> AsyncIterator[RunningServer]:
    async with smtp_server("starttls", cert) as running:
        yield running


async def say(bot: RunningBot, text: str) -> list[str]:
    """Everything the bot answered to one message of the admin."""
    before, since = len(bot.api.sent_texts(ADMIN)), bot.api.mark()
    bot.api.send_message(ADMIN, text)
    await bot.reply(ADMIN, since)
    await bot.settle(quiet=0.15)
    return bot.api.sent_texts(ADMIN)[before:]


async def wait_for_button(bot: RunningBot, button: str, timeout: float = 10) -> str:
    """The newest button with that text, once the bot has shown it (a reply that met
    Telegram's per-chat limit arrives after its retry, not within a moment of silence)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return bot.find_button(ADMIN, button)
        except AssertionError:
            if loop.time() > deadline:
                raise AssertionError(f"no button {button!r}: {bot.api.dump(30)}") from None
            await asyncio.sleep(0.05)


async def press(bot: RunningBot, button: str, *, until: tuple[str, ...] = ()) -> list[str]:
    """Everything the bot answered to a press of the newest button with that text
    (waiting, when `until` is given, for an answer containing one of those marks)."""
    before = len(bot.api.sent_texts(ADMIN))
    data = await wait_for_button(bot, button)
    await bot.api.answer_of(bot.api.press_button(ADMIN, data))
    await bot.settle(quiet=0.15)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while until and not any(
        mark in text for text in bot.api.sent_texts(ADMIN)[before:] for mark in until
    ):
        assert loop.time() < deadline, f"no answer with {until}: {bot.api.dump()}"
        await asyncio.sleep(0.05)
    await bot.settle(quiet=0.15)
    return bot.api.sent_texts(ADMIN)[before:]


async def save(bot: RunningBot, button: str = "Save and verify") -> list[str]:
    """Press Save (or Try again) and wait for the verdict of the check."""
    return await press(bot, button, until=("✅", "❌"))


async def fill_in(
    bot: RunningBot,
    port: int,
    *,
    mode: str = "STARTTLS",
    password: str = PASSWORD,
    sender_name: str = "Ресторан «Пушкин»",
) -> list[str]:
    """Walk the whole dialog from /settings and press "Save and verify"."""
    await say(bot, "/settings")
    await press(bot, "SMTP server")
    await say(bot, HOST)
    await press(bot, mode)
    await say(bot, str(port))
    await say(bot, USER)
    await say(bot, password)
    await say(bot, SENDER)
    await say(bot, sender_name)
    return await save(bot)


def everything_sent(bot: RunningBot) -> str:
    """Every request the bot made to Telegram, as one text."""
    return "\n".join(json.dumps(call.params, ensure_ascii=False) for call in bot.api.calls)
