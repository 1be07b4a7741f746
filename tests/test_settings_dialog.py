"""/settings end to end: the admin sets up the SMTP server by chatting with the bot.

The bot polls the fake Bot API; the SMTP servers are real (aiosmtpd). The bot trusts
the test's self-signed certificate through the service's TLS context, as it would
trust a provider's certificate through the system's CAs.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from tests.conftest import ADMIN, BotFactory, RunningBot
from tests.settings_chat import (
    SENDER,
    SUCCESS,
    WRONG_PASSWORD,
    admin_bot,
    cert,
    everything_sent,
    fill_in,
    press,
    save,
    say,
    server,
    service_of,
)
from tests.smtp_servers import (
    HOST,
    PASSWORD,
    USER,
    Certificate,
    RunningServer,
    silent_server,
    smtp_server,
)

__all__ = ["admin_bot", "cert", "server"]  # fixtures


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
    assert "Email: on" in bot.last_text(ADMIN)  # the first verified save switched it on
    await bot.press(ADMIN, "Turn Email off")
    assert "Email: off" in bot.last_text(ADMIN)
    assert (await service_of(bot).enabled_channels()) == ["telegram"]
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
    assert received.message["Subject"] == "Test email: checking the mailing settings"


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
    assert any("Настройки рассылки сохранены и проверены" in t for t in answers)


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
