"""Verifying SMTP settings against real servers: every mode works, every failure is named."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.delivery.base import ChannelDown
from bot.delivery.email_sender import open_connection
from bot.smtp import SmtpConfig, SmtpFailure, SmtpStage, VerifyResult, send_test_email, verify_smtp
from storage.mailing_settings import Security
from tests.smtp_servers import (
    HOST,
    PASSWORD,
    USER,
    Certificate,
    Mode,
    closed_port,
    make_certificate,
    silent_server,
    smtp_server,
)

SENDER = "bonus@probonus.test"
WRONG_PASSWORD = "Wr0ng-Passw0rd-99"  # ASCII: the echoing server quotes it back
MODES: list[tuple[Mode, Security]] = [("plain", "none"), ("starttls", "starttls"), ("tls", "tls")]


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


def config(cert: Certificate, port: int, security: Security, **overrides: Any) -> SmtpConfig:
    """Settings as an admin would enter them, trusting the test's own certificate."""
    values: dict[str, Any] = {
        "host": HOST,
        "port": port,
        "security": security,
        "sender_email": SENDER,
        "sender_name": "Ресторан «Пушкин»",
        "username": USER,
        "password": SecretStr(PASSWORD),
        "timeout": 3.0,
        "tls_context": cert.client_context(),
    }
    values.update(overrides)
    return SmtpConfig(**values)


def assert_failed(result: VerifyResult, failure: SmtpFailure) -> None:
    assert not result.ok
    assert result.failure == failure, str(result)


@pytest.mark.parametrize(("mode", "security"), MODES)
async def test_right_settings_are_verified_in_each_security_mode(
    cert: Certificate, mode: Mode, security: Security
) -> None:
    async with smtp_server(mode, cert) as server:
        result = await verify_smtp(config(cert, server.port, security))
    assert result.ok, str(result)
    assert str(result) == "ok"
    assert server.authenticator.attempts == 1
    assert server.recorder.senders_seen == [SENDER]  # MAIL FROM was tried...
    assert server.received == []  # ...and nothing was sent


@pytest.mark.parametrize(("mode", "security"), MODES)
async def test_a_wrong_password_is_an_authentication_failure(
    cert: Certificate, mode: Mode, security: Security
) -> None:
    async with smtp_server(mode, cert) as server:
        cfg = config(cert, server.port, security, password=SecretStr(WRONG_PASSWORD))
        result = await verify_smtp(cfg)
    assert_failed(result, SmtpFailure.AUTH_FAILED)
    assert result.stage == SmtpStage.AUTH
    assert "535" in result.detail


async def test_a_closed_port_is_connection_refused(cert: Certificate) -> None:
    result = await verify_smtp(config(cert, closed_port(), "starttls"))
    assert_failed(result, SmtpFailure.CONNECTION_REFUSED)
    assert result.stage == SmtpStage.CONNECT


async def test_an_unknown_host_is_host_not_found(cert: Certificate) -> None:
    result = await verify_smtp(config(cert, 587, "starttls", host="no-such-host.invalid"))
    assert_failed(result, SmtpFailure.HOST_NOT_FOUND)


async def test_a_server_that_never_greets_times_out_within_the_timeout(cert: Certificate) -> None:
    async with silent_server() as port:
        started = time.monotonic()
        result = await verify_smtp(config(cert, port, "starttls", timeout=0.5))
        elapsed = time.monotonic() - started
    assert_failed(result, SmtpFailure.TIMEOUT)
    assert result.stage == SmtpStage.GREETING
    assert elapsed < 2.5


async def test_a_server_that_hangs_up_at_once_is_reported_as_disconnected(
    cert: Certificate,
) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, HOST, 0)
    try:
        port = server.sockets[0].getsockname()[1]
        result = await verify_smtp(config(cert, port, "starttls"))
    finally:
        server.close()
        await server.wait_closed()
    assert_failed(result, SmtpFailure.DISCONNECTED)
    assert result.stage == SmtpStage.GREETING


async def test_ssl_tls_chosen_on_a_starttls_port_fails_the_tls_handshake(
    cert: Certificate,
) -> None:
    async with smtp_server("starttls", cert) as server:
        result = await verify_smtp(config(cert, server.port, "tls"))
    assert_failed(result, SmtpFailure.TLS_FAILED)
    assert result.stage == SmtpStage.CONNECT


@pytest.mark.parametrize("security", ["starttls", "none"])
async def test_plain_connection_to_an_implicit_tls_port_times_out_waiting_for_the_greeting(
    cert: Certificate, security: Security
) -> None:
    async with smtp_server("tls", cert) as server:
        result = await verify_smtp(config(cert, server.port, security, timeout=0.5))
    assert_failed(result, SmtpFailure.TIMEOUT)
    assert result.stage == SmtpStage.GREETING  # the handler suggests SSL/TLS then


async def test_starttls_chosen_on_a_server_without_it_is_reported(cert: Certificate) -> None:
    async with smtp_server("bare", cert) as server:
        result = await verify_smtp(config(cert, server.port, "starttls"))
    assert_failed(result, SmtpFailure.NO_STARTTLS)
    assert server.authenticator.attempts == 0  # no login went out unencrypted


async def test_a_login_on_a_server_without_auth_is_reported(cert: Certificate) -> None:
    async with smtp_server("bare", cert) as server:
        result = await verify_smtp(config(cert, server.port, "none"))
    assert_failed(result, SmtpFailure.AUTH_NOT_SUPPORTED)


async def test_no_encryption_on_a_server_requiring_starttls_cannot_log_in(
    cert: Certificate,
) -> None:
    async with smtp_server("starttls", cert) as server:
        result = await verify_smtp(config(cert, server.port, "none"))
    assert_failed(result, SmtpFailure.AUTH_NOT_SUPPORTED)


async def test_a_relay_without_login_is_verified_without_auth(cert: Certificate) -> None:
    async with smtp_server("bare", cert) as server:
        cfg = config(cert, server.port, "none", username=None, password=None)
        result = await verify_smtp(cfg)
    assert result.ok, str(result)


async def test_a_refused_sender_is_reported(cert: Certificate) -> None:
    refused = "ceo@other-company.test"
    async with smtp_server("starttls", cert, refused_senders=frozenset({refused})) as server:
        result = await verify_smtp(config(cert, server.port, "starttls", sender_email=refused))
    assert_failed(result, SmtpFailure.SENDER_REFUSED)
    assert result.stage == SmtpStage.SENDER
    assert "553" in result.detail


@pytest.mark.parametrize(("mode", "security"), [("starttls", "starttls"), ("tls", "tls")])
async def test_an_untrusted_certificate_is_refused_by_default(
    cert: Certificate, mode: Mode, security: Security
) -> None:
    async with smtp_server(mode, cert) as server:
        result = await verify_smtp(config(cert, server.port, security, tls_context=None))
    assert_failed(result, SmtpFailure.CERT_INVALID)
    assert "self-signed" in result.detail
    assert server.authenticator.attempts == 0


async def test_the_test_email_arrives_with_cyrillic_subject_and_sender_name(
    cert: Certificate,
) -> None:
    async with smtp_server("starttls", cert) as server:
        cfg = config(cert, server.port, "starttls")
        result = await send_test_email(cfg, "guest@example.com", "Тестовое письмо", "Привет!")
    assert result.ok, str(result)
    [received] = server.received
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ["guest@example.com"]
    message = received.message
    assert message["Subject"] == "Тестовое письмо"
    assert message["From"].addresses[0].display_name == "Ресторан «Пушкин»"
    assert message["From"].addresses[0].addr_spec == SENDER
    assert message["Date"] and message["Message-ID"].endswith("@probonus.test>")
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().strip() == "Привет!"
    assert html.get_content().strip() == "<p>Привет!</p>"
    assert b"=?utf-8?" in received.content  # headers encoded for any mail client


async def test_the_test_email_is_built_like_a_mailing_email_with_the_text_as_html_too(
    cert: Certificate,
) -> None:
    body = "Первая строка <b>не тег</b>\nвторая & третья\n\nНовый абзац"
    async with smtp_server("starttls", cert) as server:
        cfg = config(cert, server.port, "starttls", sender_name=None)
        result = await send_test_email(cfg, "guest@example.com", "Test", body)
    assert result.ok, str(result)
    [received] = server.received
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    assert str(message["From"]) == SENDER
    assert "List-Unsubscribe" not in message  # nobody to unsubscribe: the admin's own test
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().strip() == body
    assert html.get_content().strip() == (
        "<p>Первая строка &lt;b&gt;не тег&lt;/b&gt;<br>\nвторая &amp; третья</p>\n"
        "<p>Новый абзац</p>"
    )


async def test_a_refused_recipient_is_reported(cert: Certificate) -> None:
    async with smtp_server(
        "starttls", cert, refused_recipients=frozenset({"nobody@example.com"})
    ) as server:
        cfg = config(cert, server.port, "starttls")
        result = await send_test_email(cfg, "nobody@example.com", "Тест", "Текст")
    assert_failed(result, SmtpFailure.RECIPIENT_REFUSED)
    assert "550" in result.detail
    assert server.received == []


def test_the_config_repr_masks_the_password(cert: Certificate) -> None:
    cfg = config(cert, 587, "starttls")
    assert PASSWORD not in repr(cfg)
    assert PASSWORD not in str(cfg)


async def test_the_password_never_appears_in_results_or_log_records(
    cert: Certificate, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    results: list[VerifyResult] = []
    for password in (PASSWORD, WRONG_PASSWORD):
        secret = SecretStr(password)
        async with smtp_server("plain", cert, echo_password=True) as server:
            results.append(await verify_smtp(config(cert, server.port, "none", password=secret)))
        async with smtp_server("starttls", cert, echo_password=True) as server:
            cfg = config(cert, server.port, "starttls", password=secret)
            results.append(await verify_smtp(cfg))
            results.append(await send_test_email(cfg, "guest@example.com", "Тест", "Текст"))
        async with smtp_server("tls", cert) as server:
            cfg = config(cert, server.port, "starttls", timeout=0.3, password=secret)
            results.append(await verify_smtp(cfg))
        async with smtp_server("bare", cert) as server:
            results.append(await verify_smtp(config(cert, server.port, "none", password=secret)))
    results.append(await verify_smtp(config(cert, closed_port(), "tls")))

    # The careless server did quote the wrong password back: the client masked it.
    echoed = [r for r in results if r.failure == SmtpFailure.AUTH_FAILED]
    assert echoed and all("bad password ***" in r.detail for r in echoed)
    for result in results:
        for plain in (PASSWORD, WRONG_PASSWORD):
            assert plain not in str(result) and plain not in repr(result)
    # aiosmtpd's own server-side log ("mail.log") is the test rig, not the bot.
    ours = [r for r in caplog.records if r.name != "mail.log"]
    assert ours, "nothing was logged at all"
    for record in ours:
        text = record.getMessage() + (record.exc_text or "")
        assert PASSWORD not in text and WRONG_PASSWORD not in text, record.name


@pytest.mark.parametrize(
    ("mode", "security", "overrides", "code", "words"),
    [
        ("bare", "starttls", {}, "no_starttls", "no longer offers STARTTLS"),
        ("bare", "none", {}, "auth_not_supported", "no longer offers a login: AUTH methods"),
        ("plain", "none", {"password": SecretStr(WRONG_PASSWORD)}, "auth_failed", "login: 535"),
        ("starttls", "starttls", {"tls_context": None}, "cert_invalid", "self-signed"),
        ("tls", "tls", {"tls_context": None}, "cert_invalid", "self-signed"),
    ],
)
async def test_the_delivery_pool_meets_the_same_failures_the_check_names_and_pauses_at_once(
    cert: Certificate,
    mode: Mode,
    security: Security,
    overrides: dict[str, Any],
    code: str,
    words: str,
) -> None:
    """A mailing connects as the settings check does: what the admin must fix stops it."""
    async with smtp_server(mode, cert) as server:
        cfg = config(cert, server.port, security, **overrides)
        with pytest.raises(ChannelDown) as caught:
            await open_connection(cfg)
        if code != "auth_failed":
            assert server.authenticator.attempts == 0  # no login tried in the clear
    assert caught.value.code == code
    assert caught.value.fatal
    assert words in caught.value.text
    assert WRONG_PASSWORD not in caught.value.text


async def test_an_unreachable_server_counts_towards_pausing_the_delivery_pool(
    cert: Certificate,
) -> None:
    port = closed_port()
    with pytest.raises(ChannelDown) as caught:
        await open_connection(config(cert, port, "starttls"))
    assert caught.value.code == "smtp_unreachable"
    assert not caught.value.fatal  # the server may come back: retried, paused after a few
    assert caught.value.text.startswith(f"cannot connect to {HOST}:{port}: SMTPConnectError")
