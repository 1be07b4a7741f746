"""/settings end to end: the admin sets up the SMTP server by chatting with the bot.

The bot polls the fake Bot API; the SMTP servers are real (aiosmtpd). The bot trusts
the test's self-signed certificate through the service's TLS context, as it would
trust a provider's certificate through the system's CAs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

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
    silent_server,
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


async def test_the_admin_sets_up_smtp_and_sees_it_saved_and_verified(
    admin_bot: RunningBot, server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = admin_bot
    overview = await say(bot, "/settings")
    assert "Email: off" in overview[-1] and "Telegram: on" in overview[-1]
    assert "Not set up yet" in overview[-1]

    await press(bot, "Set up the SMTP server")
    assert "step 1 of 7" in bot.last_text(ADMIN)
    await say(bot, HOST)
    await press(bot, "STARTTLS")
    assert "usual one for STARTTLS: 587" in bot.last_text(ADMIN)
    await say(bot, str(server.port))
    await say(bot, USER)
    assert "delete your message" in bot.last_text(ADMIN)

    password_message = bot.api.send_message(ADMIN, PASSWORD)
    await bot.settle()
    deleted = [c.params["message_id"] for c in bot.api.calls_of("deleteMessage", ADMIN)]
    assert deleted == [password_message]
    assert any("deleted your message with the password" in t for t in bot.api.sent_texts(ADMIN))

    await say(bot, SENDER)
    await say(bot, "Ресторан «Пушкин»")
    summary = bot.last_text(ADMIN)
    assert f"{HOST}:{server.port}" in summary and "••••••••" in summary
    assert "Ресторан «Пушкин» <bonus@probonus.test>" in summary

    answers = await save(bot)
    assert any(SUCCESS in text for text in answers)
    page = bot.last_text(ADMIN)
    assert "Last verified" in page and "STARTTLS" in page and "••••••••" in page
    assert server.authenticator.attempts == 1

    assert PASSWORD not in everything_sent(bot)
    assert bot.app is not None
    fsm = await bot.app.db.fetchall("SELECT data FROM fsm_state")
    assert all(PASSWORD not in row["data"] for row in fsm)
    assert PASSWORD not in caplog.text


async def test_invalid_input_gets_its_reason_and_keeps_the_step(
    admin_bot: RunningBot, server: RunningServer
) -> None:
    bot = admin_bot
    await say(bot, "/settings")
    await press(bot, "Set up the SMTP server")

    reply = await say(bot, "smtp://smtp.yandex.ru")
    assert "without smtp://" in reply[-1] and "step 1 of 7" in reply[-1]
    reply = await say(bot, "smtp.yandex.ru:465")
    assert "the port has its own step" in reply[-1] and "step 1 of 7" in reply[-1]
    await say(bot, HOST)

    reply = await say(bot, "STARTTLS please")
    assert "Use the buttons" in reply[-1] and "step 2 of 7" in reply[-1]
    await press(bot, "STARTTLS")

    reply = await say(bot, "70000")
    assert "between 1 and 65535" in reply[-1] and "step 3 of 7" in reply[-1]
    reply = await say(bot, "port")
    assert "must be a number" in reply[-1] and "step 3 of 7" in reply[-1]
    await say(bot, str(server.port))

    reply = await say(bot, "mailer at probonus")
    assert "must not contain spaces" in reply[-1] and "step 4 of 7" in reply[-1]
    await say(bot, USER)

    reply = await say(bot, "first line\nsecond line")
    assert "one line" in reply[-1] and "step 5 of 7" in reply[-1]
    assert "first line" not in "\n".join(reply)
    await say(bot, PASSWORD)

    reply = await say(bot, "bonus.probonus.test")
    assert "exactly one “@”" in reply[-1] and "step 6 of 7" in reply[-1]
    reply = await say(bot, "bonus@probonus")
    assert "not a valid domain" in reply[-1] and "step 6 of 7" in reply[-1]
    await say(bot, SENDER)

    reply = await say(bot, "Я" * 101)
    assert "too long" in reply[-1] and "step 7 of 7" in reply[-1]
    await press(bot, "No name")
    assert "Save and verify" in str(bot.api.last_message(ADMIN).buttons())


async def test_back_returns_to_the_previous_step_and_cancel_changes_nothing(
    admin_bot: RunningBot, server: RunningServer
) -> None:
    bot = admin_bot
    await say(bot, "/settings")
    await press(bot, "Set up the SMTP server")
    await say(bot, HOST)
    await press(bot, "Back")
    assert "step 1 of 7" in bot.last_text(ADMIN) and f"Current: {HOST}" in bot.last_text(ADMIN)
    await press(bot, "Keep current")
    assert "step 2 of 7" in bot.last_text(ADMIN)
    answers = await press(bot, "Cancel")
    assert any("did not change" in text for text in answers)
    assert "Not set up yet" in bot.last_text(ADMIN)
    assert (await service_of(bot).current()).smtp is None


async def test_a_wrong_password_is_explained_and_the_previous_settings_stay(
    admin_bot: RunningBot, server: RunningServer
) -> None:
    bot = admin_bot
    assert any(SUCCESS in t for t in await fill_in(bot, server.port))
    before = (await service_of(bot).current()).smtp

    await say(bot, "/settings")
    await press(bot, "Change the SMTP server")
    for _step in ("host", "security", "port", "username"):
        await press(bot, "Keep")
    await say(bot, WRONG_PASSWORD)
    await press(bot, "Keep current")  # sender address
    await press(bot, "Keep current")  # sender name
    answers = await save(bot)

    failure = answers[-1]
    assert "could not be verified" in failure
    assert "rejected the user name or password" in failure and "535" in failure
    assert "did not change" in failure
    assert (await service_of(bot).current()).smtp == before
    assert WRONG_PASSWORD not in everything_sent(bot)

    await press(bot, "Change the settings")
    assert "step 1 of 7" in bot.last_text(ADMIN)


async def test_retry_after_the_server_is_fixed_saves_the_settings(
    admin_bot: RunningBot, server: RunningServer
) -> None:
    bot = admin_bot
    server.authenticator.password = b"not-yet"
    answers = await fill_in(bot, server.port)
    assert "rejected the user name or password" in answers[-1]
    server.authenticator.password = PASSWORD.encode()
    answers = await save(bot, "Try again")
    assert any(SUCCESS in text for text in answers)


async def test_ssl_tls_on_a_starttls_port_is_explained_as_a_tls_failure(
    admin_bot: RunningBot, server: RunningServer
) -> None:
    answers = await fill_in(admin_bot, server.port, mode="SSL/TLS")
    assert "TLS handshake" in answers[-1] and "port 587 STARTTLS" in answers[-1]


async def test_a_silent_server_is_explained_as_a_timeout(admin_bot: RunningBot) -> None:
    service_of(admin_bot).smtp_timeout = 0.5
    async with silent_server() as port:
        answers = await fill_in(admin_bot, port)
    assert "did not greet within 0.5 s" in answers[-1] and "choose SSL/TLS" in answers[-1]


async def test_email_can_be_turned_on_only_after_verification(
    admin_bot: RunningBot, server: RunningServer
) -> None:
    bot = admin_bot
    await say(bot, "/settings")
    answer = await bot.press(ADMIN, "Turn Email on")
    assert answer.params.get("show_alert") is True
    assert "only after the SMTP settings are saved and verified" in answer.params["text"]
    assert (await service_of(bot).enabled_channels()) == ["telegram"]

    await fill_in(bot, server.port)
    await bot.press(ADMIN, "Turn Email on")
    assert "Email: on" in bot.last_text(ADMIN)
    await bot.press(ADMIN, "Turn Telegram off")
    assert "Telegram: off" in bot.last_text(ADMIN)
    assert (await service_of(bot).enabled_channels()) == ["email"]
    await bot.press(ADMIN, "Turn Telegram on")
    assert (await service_of(bot).enabled_channels()) == ["email", "telegram"]


async def test_a_test_email_reaches_the_typed_address(
    admin_bot: RunningBot, server: RunningServer
) -> None:
    bot = admin_bot
    await fill_in(bot, server.port)
    await press(bot, "Send a test email")
    reply = await say(bot, "not-an-address")
    assert "exactly one “@”" in reply[-1]
    before = len(bot.api.sent_texts(ADMIN))
    await say(bot, "manager@example.com")
    answers = bot.api.sent_texts(ADMIN)[before:]
    assert "The test email to manager@example.com was sent" in answers[-1]
    [received] = server.received
    assert received.rcpt_tos == ["manager@example.com"]
    assert received.message["Subject"] == "ProBonus Mailer: test email"


async def test_the_russian_admin_sees_the_success_in_russian(
    start_bot: BotFactory, cert: Certificate, server: RunningServer, tmp_path: Path
) -> None:
    bot = await start_bot(locale="ru")
    service_of(bot).tls_context = cert.client_context()
    await say(bot, "/settings")
    await press(bot, "SMTP")
    await say(bot, HOST)
    await press(bot, "STARTTLS")
    await say(bot, str(server.port))
    await say(bot, USER)
    await say(bot, PASSWORD)
    await say(bot, SENDER)
    await say(bot, "Ресторан")
    answers = await save(bot, "Сохранить и проверить")
    assert any("Настройки рассылки успешно сохранены и проверены" in t for t in answers)


async def test_when_the_password_cannot_be_deleted_the_admin_is_asked_to_delete_it(
    admin_bot: RunningBot, server: RunningServer
) -> None:
    bot = admin_bot
    await say(bot, "/settings")
    await press(bot, "Set up the SMTP server")
    await say(bot, HOST)
    await press(bot, "STARTTLS")
    await say(bot, str(server.port))
    await say(bot, USER)
    bot.api.fail_next("deleteMessage", status=400, description="Bad Request: can't delete")
    answers = await say(bot, PASSWORD)
    assert "could not delete your message with the password" in answers[0]
    assert "step 6 of 7" in answers[-1]
    assert PASSWORD not in everything_sent(bot)


async def test_a_relay_without_login_skips_the_password_step(
    admin_bot: RunningBot, cert: Certificate
) -> None:
    bot = admin_bot
    async with smtp_server("bare", cert) as relay:
        await say(bot, "/settings")
        await press(bot, "Set up the SMTP server")
        await say(bot, HOST)
        await press(bot, "None (no encryption)")
        assert "usual one for None (no encryption): 25" in bot.last_text(ADMIN)
        await say(bot, str(relay.port))
        await press(bot, "No login")
        assert "step 6 of 7" in bot.last_text(ADMIN)
        await press(bot, "Back")
        assert "step 4 of 7" in bot.last_text(ADMIN)  # the password step is skipped back too
        await press(bot, "No login")
        await say(bot, SENDER)
        await press(bot, "No name")
        summary = bot.last_text(ADMIN)
        assert "User: no login" in summary and "Password: —" in summary
        answers = await save(bot)
    assert any(SUCCESS in text for text in answers)
    smtp = (await service_of(bot).current()).smtp
    assert smtp is not None and smtp.username is None and smtp.password_encrypted is None


async def test_two_taps_on_save_verify_once_and_answer_once(
    admin_bot: RunningBot, server: RunningServer
) -> None:
    bot = admin_bot
    await say(bot, "/settings")
    await press(bot, "SMTP server")
    await say(bot, HOST)
    await press(bot, "STARTTLS")
    for answer in (str(server.port), USER, PASSWORD, SENDER, "Ресторан «Пушкин»"):
        await say(bot, answer)
    before = len(bot.api.sent_texts(ADMIN))
    button = bot.find_button(ADMIN, "Save and verify")
    # Two presses queued before the bot polls: they arrive in one batch of updates.
    first = bot.api.press_button(ADMIN, button)
    second = bot.api.press_button(ADMIN, button)
    answers = [await bot.api.answer_of(q) for q in (first, second)]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not any(SUCCESS in t for t in bot.api.sent_texts(ADMIN)[before:]):
        assert loop.time() < deadline, bot.api.dump()
        await asyncio.sleep(0.05)
    await bot.settle(quiet=0.3)
    texts = bot.api.sent_texts(ADMIN)[before:]
    assert server.authenticator.attempts == 1
    assert sum(SUCCESS in t for t in texts) == 1
    assert sum("Checking" in t for t in texts) == 1
    assert any("being checked" in str(a.params.get("text", "")) for a in answers)
