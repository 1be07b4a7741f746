"""Mailing settings service on a real SQLite file and real SMTP servers.

Save = verify: only settings the server accepted are put in force; a failed check
keeps the previous ones. The password is stored encrypted and audited only by name.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.mailing_settings import ChannelRefusal, MailingSettingsService, SmtpDraft
from bot.secrets import SecretBox
from bot.smtp import SmtpFailure
from storage.audit import AuditLog
from storage.db import Database
from storage.schema import migrate
from tests.smtp_servers import (
    HOST,
    PASSWORD,
    USER,
    Certificate,
    RunningServer,
    closed_port,
    make_certificate,
    smtp_server,
)

ADMIN = 1001
SENDER = "bonus@probonus.test"
NEW_PASSWORD = "Другой-пароль-7"
WRONG_PASSWORD = "Неверный-пароль-0"


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
async def db(data_dir: Path) -> AsyncIterator[Database]:
    database = await Database(data_dir / "probonus.sqlite3").open()
    await migrate(database.conn)
    yield database
    await database.close()


@pytest.fixture
def service(db: Database, data_dir: Path, cert: Certificate) -> MailingSettingsService:
    return MailingSettingsService(
        db,
        SecretBox.load_or_create(data_dir),
        AuditLog(db),
        smtp_timeout=2.0,
        tls_context=cert.client_context(),
    )


@pytest.fixture
async def server(cert: Certificate) -> AsyncIterator[RunningServer]:
    async with smtp_server("starttls", cert) as running:
        yield running


def draft_for(service: MailingSettingsService, port: int, password: str = PASSWORD) -> SmtpDraft:
    """A complete draft as the dialog builds it: the password sealed at once."""
    return SmtpDraft(
        host=HOST,
        port=port,
        security="starttls",
        username=USER,
        password_encrypted=service.seal_password(password),
        sender_email=SENDER,
        sender_name="Ресторан",
    )


async def audit_texts(db: Database) -> list[str]:
    rows = await db.fetchall("SELECT action, detail FROM audit_log ORDER BY id")
    return [f"{row['action']} {row['detail']}" for row in rows]


def files_contain(directory: Path, secret: str) -> bool:
    """True when any file in the directory (database, WAL, key) holds the secret as text."""
    needle = secret.encode()
    return any(needle in path.read_bytes() for path in directory.iterdir() if path.is_file())


async def test_a_fresh_database_has_telegram_on_email_off_and_no_smtp(
    service: MailingSettingsService,
) -> None:
    current = await service.current()
    assert current.smtp is None
    assert (current.channels.email_enabled, current.channels.telegram_enabled) == (False, True)
    assert await service.enabled_channels() == ["telegram"]


async def test_verified_settings_are_stored_with_the_password_encrypted(
    service: MailingSettingsService, server: RunningServer, db: Database, data_dir: Path
) -> None:
    result = await service.save_and_verify(draft_for(service, server.port), ADMIN)
    assert result.ok, str(result)
    smtp = (await service.current()).smtp
    assert smtp is not None
    assert (smtp.host, smtp.port, smtp.security, smtp.username) == (
        HOST,
        server.port,
        "starttls",
        USER,
    )
    assert smtp.updated_by == ADMIN and smtp.verified_at == smtp.updated_at
    assert smtp.password_encrypted and PASSWORD not in smtp.password_encrypted
    assert PASSWORD not in repr(smtp)
    config = await service.smtp_config()
    assert config is not None and config.password is not None
    assert config.password.get_secret_value() == PASSWORD
    assert not files_contain(data_dir, PASSWORD)


async def test_a_failed_verification_keeps_the_previous_verified_settings(
    service: MailingSettingsService, server: RunningServer
) -> None:
    assert (await service.save_and_verify(draft_for(service, server.port), ADMIN)).ok
    before = (await service.current()).smtp

    wrong = await service.save_and_verify(draft_for(service, server.port, WRONG_PASSWORD), ADMIN)
    assert wrong.failure == SmtpFailure.AUTH_FAILED
    refused = await service.save_and_verify(draft_for(service, closed_port()), ADMIN)
    assert refused.failure == SmtpFailure.CONNECTION_REFUSED

    assert (await service.current()).smtp == before
    config = await service.smtp_config()
    assert config is not None and config.password is not None
    assert config.password.get_secret_value() == PASSWORD


async def test_audit_names_each_changed_field_and_never_the_password(
    service: MailingSettingsService, server: RunningServer, db: Database, data_dir: Path
) -> None:
    first = draft_for(service, server.port)
    assert (await service.save_and_verify(first, ADMIN)).ok
    # The server now wants another password; the admin changes it and the name.
    server.authenticator.password = NEW_PASSWORD.encode()
    second = draft_for(service, server.port, NEW_PASSWORD).replace(sender_name="Пушкин")
    assert (await service.save_and_verify(second, ADMIN)).ok
    assert not (
        await service.save_and_verify(draft_for(service, server.port, WRONG_PASSWORD), ADMIN)
    ).ok

    texts = await audit_texts(db)
    assert f"smtp.settings host: — -> {HOST}" in texts
    assert "smtp.settings password set" in texts
    assert "smtp.settings sender_name: Ресторан -> Пушкин" in texts
    assert "smtp.settings password changed" in texts
    assert any(t.startswith("smtp.verify_failed") and "auth_failed" in t for t in texts)
    rows = await db.fetchall("SELECT user_id FROM audit_log")
    assert {row["user_id"] for row in rows} == {ADMIN}
    for secret in (PASSWORD, NEW_PASSWORD, WRONG_PASSWORD):
        assert not any(secret in text for text in texts)
    assert not files_contain(data_dir, PASSWORD) and not files_contain(data_dir, NEW_PASSWORD)


async def test_saving_the_same_settings_again_changes_no_field(
    service: MailingSettingsService, server: RunningServer, db: Database
) -> None:
    assert (await service.save_and_verify(draft_for(service, server.port), ADMIN)).ok
    count = len(await audit_texts(db))
    # A fresh ciphertext of the same password is not a password change.
    assert (await service.save_and_verify(draft_for(service, server.port), ADMIN)).ok
    assert (await audit_texts(db))[count:] == [f"smtp.verified {HOST}:{server.port}"]


async def test_email_cannot_be_turned_on_without_verified_settings(
    service: MailingSettingsService, server: RunningServer, db: Database
) -> None:
    assert await service.set_email_enabled(True, ADMIN) == ChannelRefusal.NO_VERIFIED_SMTP
    assert not (await service.current()).channels.email_enabled
    assert not (
        await service.save_and_verify(draft_for(service, server.port, WRONG_PASSWORD), ADMIN)
    ).ok
    assert await service.set_email_enabled(True, ADMIN) == ChannelRefusal.NO_VERIFIED_SMTP

    assert (await service.save_and_verify(draft_for(service, server.port), ADMIN)).ok
    assert await service.set_email_enabled(True, ADMIN) is None
    assert await service.enabled_channels() == ["email", "telegram"]
    assert "channel.email on" in await audit_texts(db)


async def test_the_database_itself_refuses_email_without_smtp_settings(db: Database) -> None:
    with pytest.raises(Exception, match="needs verified SMTP"):
        await db.execute("UPDATE channel_switches SET email_enabled = 1")


async def test_telegram_can_be_turned_off_and_on(
    service: MailingSettingsService, db: Database
) -> None:
    await service.set_telegram_enabled(False, ADMIN)
    assert await service.enabled_channels() == []
    await service.set_telegram_enabled(True, ADMIN)
    assert await service.enabled_channels() == ["telegram"]
    assert (await audit_texts(db))[-2:] == ["channel.telegram off", "channel.telegram on"]


async def test_a_test_email_goes_through_the_saved_settings(
    service: MailingSettingsService, server: RunningServer, db: Database
) -> None:
    assert (await service.send_test("me@example.com", ADMIN)).failure == (
        SmtpFailure.NOT_CONFIGURED
    )
    assert (await service.save_and_verify(draft_for(service, server.port), ADMIN)).ok
    result = await service.send_test("me@example.com", ADMIN, subject="Проверка", body="Текст")
    assert result.ok, str(result)
    [received] = server.received
    assert received.message["Subject"] == "Проверка"
    assert received.rcpt_tos == ["me@example.com"]
    assert "smtp.test_email to me@example.com: ok" in await audit_texts(db)


async def test_a_replaced_key_is_reported_instead_of_crashing(
    service: MailingSettingsService, server: RunningServer, db: Database, tmp_path: Path
) -> None:
    assert (await service.save_and_verify(draft_for(service, server.port), ADMIN)).ok
    other_key = MailingSettingsService(db, SecretBox.load_or_create(tmp_path), AuditLog(db))
    result = await other_key.send_test("me@example.com", ADMIN)
    assert result.failure == SmtpFailure.KEY_MISMATCH
    assert server.received == []


def test_a_draft_in_fsm_data_holds_only_the_ciphertext(service: MailingSettingsService) -> None:
    draft = draft_for(service, 587)
    data = json.loads(json.dumps(draft.to_data()))
    assert PASSWORD not in json.dumps(data, ensure_ascii=False)
    assert PASSWORD not in repr(draft)
    assert SmtpDraft.from_data(data) == draft
    assert draft.missing() == []
    assert SmtpDraft(host=HOST, username=USER).missing() == [
        "security",
        "port",
        "sender_email",
        "password",
    ]
