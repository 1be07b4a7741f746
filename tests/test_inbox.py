"""Email-only guests unsubscribe by email, and bounce reports mark addresses: the bot reads
the sender's mailbox over IMAP (a real IMAP server process, tests/fakes/imap_server.py)."""

from __future__ import annotations

import asyncio
import imaplib
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from urllib.parse import unquote

import pytest

from bot.inbox.service import InboxService
from bot.secrets import SecretBox
from storage.audit import AuditLog
from storage.inbox import InboxRepository, InboxSettings
from storage.statuses import Channel, MailingStatus
from tests.conftest import ADMIN, RunningBot
from tests.delivery_smtp import sink
from tests.delivery_world import (
    SENDER,
    add_guests,
    create_mailing,
    email_of,
    engine_of,
    use_smtp,
    wait_status,
)
from tests.fakes.imap_server import imap_server_process
from tests.settings_chat import everything_sent, press, say, wait_for_button
from tests.smtp_servers import HOST, PASSWORD, USER, Certificate, make_certificate

WRONG = "Неверный-пароль-0"


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("imap-tls"))


@pytest.fixture
def imap_port(cert: Certificate) -> Iterator[int]:
    with imap_server_process(
        mode="ssl", cert=cert.cert_path, key=cert.key_path, user=USER, password=PASSWORD
    ) as port:
        yield port


class Client:
    """The test's own IMAP client: delivers mail into the mailbox and reads its flags."""

    def __init__(self, port: int, cert: Certificate) -> None:
        self.port, self.cert = port, cert

    def _session(self) -> imaplib.IMAP4_SSL:
        imap = imaplib.IMAP4_SSL(HOST, self.port, ssl_context=self.cert.client_context())
        imap.authenticate("PLAIN", lambda _: f"\0{USER}\0{PASSWORD}".encode())
        imap.select("INBOX")
        return imap

    def _append(self, raw: bytes) -> None:
        imap = self._session()
        assert imap.append("INBOX", None, None, raw)[0] == "OK"
        imap.logout()

    async def deliver(self, message: EmailMessage | bytes) -> None:
        raw = message if isinstance(message, bytes) else bytes(message)
        await asyncio.to_thread(self._append, raw)

    def _unseen_subjects(self) -> list[str]:
        imap = self._session()
        _, data = imap.uid("SEARCH", "UNSEEN")
        subjects = []
        for uid in data[0].split():
            _, fetched = imap.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
            found = re.search(rb"^Subject: (.*?)\r?$", fetched[0][1], re.M)
            assert found is not None
            subjects.append(found.group(1).decode())
        imap.logout()
        return subjects

    async def unseen_subjects(self) -> list[str]:
        return await asyncio.to_thread(self._unseen_subjects)


def mail(subject: str, sender: str, body: str = "Please unsubscribe me.") -> EmailMessage:
    """An email as a guest's mail client sends it to the sender address."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, SENDER, subject
    message["Message-ID"] = make_msgid(domain="example.test")
    message.set_content(body)
    return message


def dsn(recipient: str, action: str, status: str) -> bytes:
    """A delivery status notification (RFC 3464) as a mail server sends it back."""
    return (
        "From: MAILER-DAEMON@mx.example.test\r\n"
        f"To: {SENDER}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
        "\r\n--b1\r\n"
        "Content-Type: text/plain\r\n\r\n"
        f"Delivery to {recipient}: {action}.\r\n"
        "\r\n--b1\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.test\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        "\r\n--b1--\r\n"
    ).encode()


def inbox_of(bot: RunningBot, cert: Certificate) -> InboxService:
    assert bot.app is not None
    service = bot.app.services.inbox
    service.tls_context = cert.client_context()
    service.timeout = 5.0
    return service


async def use_mailbox(bot: RunningBot, data_dir: Path, port: int, password: str = PASSWORD) -> None:
    """Put the test mailbox's settings in force (as if verified)."""
    assert bot.app is not None
    sealed = SecretBox.load_or_create(data_dir).encrypt(password)
    settings = InboxSettings(HOST, port, "tls", USER, sealed, verified_at=datetime.now(UTC))
    await InboxRepository(bot.app.db).save_verified(settings)


async def email_status(bot: RunningBot, index: int) -> str:
    assert bot.app is not None
    found = await bot.app.db.fetchval(
        "SELECT email_status FROM guests WHERE email = ?", (email_of(index),)
    )
    return str(found)


async def test_an_email_only_guest_unsubscribes_by_email_and_the_next_mailing_skips_them(
    bot: RunningBot, data_dir: Path, cert: Certificate, imap_port: int
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, [1, 2], telegram=False)
    async with sink() as server:
        await use_smtp(db, data_dir, server)
        first = await create_mailing(db, channels=[Channel.EMAIL])
        assert await engine_of(bot).launch(first.id)
        assert await wait_status(db, first.id, MailingStatus.COMPLETED) == MailingStatus.COMPLETED
        received = {m.rcpt_tos[0]: m.message for m in server.received}
        # Anna (guest 1) presses her mail client's Unsubscribe: it sends what the header says.
        header = " ".join(received[email_of(1)]["List-Unsubscribe"].split())
        found = re.match(r"<mailto:([^?>]+)\?subject=([^>]+)>", header)
        assert found is not None, header
        assert found.group(1) == SENDER
        subject = unquote(found.group(2))
        assert re.fullmatch(r"unsubscribe-\d+-[0-9a-f]{20}", subject)
        client = Client(imap_port, cert)
        await client.deliver(mail(subject, email_of(1)))
        # A forged request for guest 2 (her number, a signature changed) and mail for people.
        other = " ".join(received[email_of(2)]["List-Unsubscribe"].split())
        real = unquote(re.match(r"<mailto:[^?>]+\?subject=([^>]+)>", other).group(1))  # type: ignore[union-attr]
        forged = real[:-1] + ("0" if real[-1] != "0" else "1")
        await client.deliver(mail(forged, "prankster@example.test"))
        await client.deliver(mail("Table for four on Friday?", "guest@example.test", "Hello!"))
        await use_mailbox(bot, data_dir, imap_port)
        inbox = inbox_of(bot, cert)
        assert await inbox.read_once()
        assert await email_status(bot, 1) == "unsubscribed"
        assert await email_status(bot, 2) == "active"
        # Only the request was marked read; the forged one and the guest's letter stay unread.
        assert await client.unseen_subjects() == [forged, "Table for four on Friday?"]
        state = (await inbox.status()).state
        assert (state.unsubscribes, state.bounces) == (1, 0) and state.last_read_at
        entries = [e for e in await AuditLog(db).recent() if e.action == "inbox.unsubscribe"]
        assert len(entries) == 1
        # Reading again changes nothing.
        assert await inbox.read_once()
        assert (await inbox.status()).state.unsubscribes == 1
        second = await create_mailing(db, channels=[Channel.EMAIL], name="Летнее меню")
        assert await engine_of(bot).launch(second.id)
        assert await wait_status(db, second.id, MailingStatus.COMPLETED) == MailingStatus.COMPLETED
        assert server.recorder.per_recipient() == {email_of(1): 1, email_of(2): 2}


async def test_a_bounce_report_marks_the_address_bounced_and_a_delay_report_does_not(
    bot: RunningBot, data_dir: Path, cert: Certificate, imap_port: int
) -> None:
    assert bot.app is not None
    await add_guests(bot.app.db, [3, 4], telegram=False)
    client = Client(imap_port, cert)
    await client.deliver(dsn(email_of(3).upper(), "failed", "5.1.1"))
    await client.deliver(dsn(email_of(4), "delayed", "4.4.1"))
    await use_mailbox(bot, data_dir, imap_port)
    inbox = inbox_of(bot, cert)
    assert await inbox.read_once()
    assert await email_status(bot, 3) == "bounced"
    assert await email_status(bot, 4) == "active"
    assert await client.unseen_subjects() == ["Undelivered Mail Returned to Sender"]
    assert (await inbox.status()).state.bounces == 1


async def test_the_poller_survives_the_mailbox_being_down_and_never_logs_the_password(
    bot: RunningBot, data_dir: Path, cert: Certificate, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = inbox_of(bot, cert)
    with imap_server_process(
        mode="starttls", cert=cert.cert_path, key=cert.key_path, user=USER, password=PASSWORD
    ) as port:
        pass  # the server is gone: nothing listens on the port any more
    assert bot.app is not None
    sealed = SecretBox.load_or_create(data_dir).encrypt(PASSWORD)
    settings = InboxSettings(HOST, port, "starttls", USER, sealed, verified_at=datetime.now(UTC))
    await InboxRepository(bot.app.db).save_verified(settings)
    with caplog.at_level(logging.WARNING, logger="bot.inbox"):
        assert not await inbox.read_once()
    assert "could not be read" in caplog.text and PASSWORD not in caplog.text
    assert (await inbox.status()).state.last_error == "connection_refused"
    with imap_server_process(
        mode="starttls", cert=cert.cert_path, key=cert.key_path, user=USER, password=PASSWORD,
        port=port,
    ) as again:  # fmt: skip
        assert again == port
        assert await inbox.read_once()
    state = (await inbox.status()).state
    assert state.last_error is None and state.last_read_at is not None


async def test_the_mailbox_dialog_refuses_a_wrong_password_then_verifies_and_reads(
    bot: RunningBot, data_dir: Path, cert: Certificate, imap_port: int
) -> None:
    assert bot.app is not None
    inbox = inbox_of(bot, cert)
    inbox.interval = 0.2
    async with sink() as server:
        await use_smtp(bot.app.db, data_dir, server)
    await say(bot, "/settings")
    assert "Mailbox for unsubscribes and bounces: not set up" in bot.last_text(ADMIN)
    await press(bot, "Mailbox for unsubscribes and bounces")
    # The SMTP settings are the starting point: the same server and login.
    await press(bot, f"Keep {HOST}")
    await press(bot, "SSL/TLS")
    await say(bot, str(imap_port))
    await press(bot, f"Keep {USER}")
    await say(bot, WRONG)
    answer = await press(bot, "Save and verify", until=("✅", "❌"))
    assert any("rejected the login or password" in t for t in answer), answer
    assert (await inbox.status()).settings is None
    # The dialog is kept: change the password alone and try again.
    await press(bot, "Change the password")
    await say(bot, PASSWORD)
    answer = await press(bot, "Save and verify", until=("✅", "❌"))
    assert any("The mailbox is verified" in t for t in answer), answer
    status = await inbox.status()
    assert status.settings is not None and status.settings.port == imap_port
    # The poller reads the mailbox at once; the page says when.
    for _ in range(100):
        if (await inbox.status()).state.last_read_at is not None:
            break
        await asyncio.sleep(0.05)
    page = await say(bot, "/settings")
    assert any(f"Mailbox {USER}: last read" in t and "unsubscribes: 0" in t for t in page), page
    sent = everything_sent(bot)
    assert PASSWORD not in sent and WRONG not in sent
    await wait_for_button(bot, "Mailbox for unsubscribes and bounces")
