"""Mailing settings service: SMTP settings saved only when verified, test email, channels.

Handlers call this; it holds the rules (save = verify, Email needs verified SMTP,
audit every change but never the password) and keeps SQL in the repository and
SMTP in bot.smtp.
"""

from __future__ import annotations

import dataclasses
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import SecretStr

from bot.secrets import SecretBox, SecretDecryptError
from bot.smtp import (
    DEFAULT_TIMEOUT,
    SmtpConfig,
    SmtpFailure,
    VerifyResult,
    send_test_email,
    verify_smtp,
)
from storage.audit import AuditLog
from storage.db import Database
from storage.limits import Limits, LimitsRepository
from storage.mailing_settings import (
    SECURITY_MODES,
    Channel,
    ChannelSwitches,
    MailingSettingsRepository,
    Security,
    SmtpSettings,
)

log = logging.getLogger(__name__)

TEST_SUBJECT = "Test email: checking the mailing settings"
TEST_BODY = "This is a test email from ProBonus Mailer. Email mailings will go out this way."

# Fields audited by name and value; the password is audited only as "changed".
_PUBLIC_FIELDS = ("host", "port", "security", "username", "sender_email", "sender_name")


def _shown(value: object) -> str:
    """A field's value in an audit entry; a dash for none."""
    return "—" if value is None or value == "" else str(value)


@dataclass(frozen=True)
class SmtpDraft:
    """SMTP settings being edited. The password only as ciphertext: FSM data is plain JSON."""

    host: str | None = None
    port: int | None = None
    security: Security | None = None
    username: str | None = None
    password_encrypted: str | None = field(default=None, repr=False)
    sender_email: str | None = None
    sender_name: str | None = None

    @classmethod
    def from_settings(cls, settings: SmtpSettings | None) -> SmtpDraft:
        """A draft starting from the settings in force (empty when there are none)."""
        if settings is None:
            return cls()
        # Every draft field is a field of the settings in force, by the same name.
        return cls(**{f.name: getattr(settings, f.name) for f in dataclasses.fields(cls)})

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> SmtpDraft:
        """Rebuild a draft kept in FSM data; unknown keys and modes are dropped."""
        security = data.get("security")
        port = data.get("port")
        return cls(
            host=data.get("host") or None,
            port=int(port) if port is not None else None,
            security=next((m for m in SECURITY_MODES if m == security), None),
            username=data.get("username") or None,
            password_encrypted=data.get("password_encrypted") or None,
            sender_email=data.get("sender_email") or None,
            sender_name=data.get("sender_name") or None,
        )

    def to_data(self) -> dict[str, Any]:
        """The draft as JSON-ready data for the FSM storage (ciphertext, never the password)."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> SmtpDraft:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def missing(self) -> list[str]:
        """Required fields not filled in yet (a login needs a password)."""
        absent = [
            name
            for name in ("host", "security", "port", "sender_email")
            if getattr(self, name) is None
        ]
        if self.username and not self.password_encrypted:
            absent.append("password")
        return absent


@dataclass(frozen=True)
class MailingSettings:
    """What /settings shows: the SMTP settings in force (if any) and the switches."""

    smtp: SmtpSettings | None
    channels: ChannelSwitches
    limits: Limits = field(default_factory=Limits)  # quiet hours and the global cap


class ChannelRefusal(StrEnum):
    """Why a channel switch was refused."""

    NO_VERIFIED_SMTP = "no_verified_smtp"


class MailingSettingsService:
    """The rules of the mailing settings, between handlers and the repository."""

    def __init__(
        self,
        db: Database,
        secret_box: SecretBox,
        audit: AuditLog,
        smtp_timeout: float = DEFAULT_TIMEOUT,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        """Use the app's database, key and audit log; tls_context overrides the system CAs."""
        self.repo = MailingSettingsRepository(db)
        self.secret_box = secret_box
        self.audit = audit
        self.smtp_timeout = smtp_timeout
        self.tls_context = tls_context
        self._checking: set[int] = set()  # admins whose Save is being verified

    def begin_check(self, user_id: int) -> bool:
        """Mark `user_id`'s Save as under way; False if one already is (a second tap).

        Checked and set without a pause, so two taps handled at once cannot both pass."""
        if user_id in self._checking:
            return False
        self._checking.add(user_id)
        return True

    def end_check(self, user_id: int) -> None:
        self._checking.discard(user_id)

    async def current(self) -> MailingSettings:
        """The settings in force and the channel switches."""
        return MailingSettings(
            await self.repo.get_smtp(),
            await self.repo.get_channels(),
            await LimitsRepository(self.repo.db).get(),
        )

    async def email_enabled(self) -> bool:
        """Whether mailings may use email now."""
        return (await self.repo.get_channels()).email_enabled

    async def enabled_channels(self) -> list[Channel]:
        """The channels a new mailing may offer."""
        return (await self.repo.get_channels()).enabled

    def seal_password(self, plain: str) -> str:
        """Encrypt a typed password at once, so only ciphertext is ever kept in a draft."""
        return self.secret_box.encrypt(plain)

    def _config(self, draft: SmtpDraft | SmtpSettings) -> SmtpConfig:
        """An SmtpConfig with the password decrypted; SecretDecryptError if the key changed."""
        if draft.host is None or draft.port is None or draft.security is None:
            raise ValueError("the SMTP settings are incomplete")
        if draft.sender_email is None:
            raise ValueError("the SMTP settings have no sender address")
        password = None
        if draft.username and draft.password_encrypted:
            password = SecretStr(self.secret_box.decrypt(draft.password_encrypted))
        return SmtpConfig(
            host=draft.host,
            port=draft.port,
            security=draft.security,
            sender_email=draft.sender_email,
            sender_name=draft.sender_name,
            username=draft.username,
            password=password,
            timeout=self.smtp_timeout,
            tls_context=self.tls_context,
        )

    async def smtp_config(self) -> SmtpConfig | None:
        """The verified settings ready for sending (the delivery engine), or None."""
        settings = await self.repo.get_smtp()
        return None if settings is None else self._config(settings)

    async def save_and_verify(self, draft: SmtpDraft, user_id: int | None) -> VerifyResult:
        """Verify the draft against its server; only when that succeeds, put it in force."""
        if draft.missing():
            raise ValueError(f"the draft lacks: {', '.join(draft.missing())}")
        try:
            config = self._config(draft)
        except SecretDecryptError:
            return VerifyResult(SmtpFailure.KEY_MISMATCH)
        result = await verify_smtp(config)
        if not result.ok:
            await self.audit.record(
                user_id, "smtp.verify_failed", f"{config.host}:{config.port}: {result}"
            )
            return result
        previous = await self.repo.get_smtp()
        now = datetime.now(UTC)
        settings = SmtpSettings(
            host=config.host,
            port=config.port,
            username=draft.username,
            password_encrypted=draft.password_encrypted if draft.username else None,
            security=config.security,
            sender_email=config.sender_email,
            sender_name=draft.sender_name,
            verified_at=now,
            updated_at=now,
            updated_by=user_id,
        )
        await self.repo.save_verified(settings)
        await self._audit_changes(previous, settings, config, user_id)
        if previous is None:
            # The first verified server is set up to be used: Email goes on with it. Later
            # saves leave the switch as the admin set it.
            await self.set_channel(Channel.EMAIL, True, user_id)
        return result

    async def _audit_changes(
        self,
        previous: SmtpSettings | None,
        settings: SmtpSettings,
        config: SmtpConfig,
        user_id: int | None,
    ) -> None:
        """One audit entry per changed field; the password only as set/changed/removed."""
        changes: list[str] = []
        for name in _PUBLIC_FIELDS:
            old = getattr(previous, name) if previous else None
            new = getattr(settings, name)
            if old != new:
                changes.append(f"{name}: {_shown(old)} -> {_shown(new)}")
        old_password = self._old_password(previous)
        new_password = config.password.get_secret_value() if config.password else None
        if old_password != new_password:
            if new_password is None:
                changes.append("password removed")
            else:
                changes.append("password set" if previous is None else "password changed")
        for change in changes:
            await self.audit.record(user_id, "smtp.settings", change)
        await self.audit.record(user_id, "smtp.verified", f"{settings.host}:{settings.port}")

    def _old_password(self, previous: SmtpSettings | None) -> str | None:
        """The password in force before a save, for comparison only (None if unreadable)."""
        if previous is None or not previous.username or not previous.password_encrypted:
            return None
        try:
            return self.secret_box.decrypt(previous.password_encrypted)
        except SecretDecryptError:
            return None

    async def send_test(
        self, to: str, user_id: int | None, subject: str = TEST_SUBJECT, body: str = TEST_BODY
    ) -> VerifyResult:
        """Send a test email through the settings in force and record the outcome."""
        settings = await self.repo.get_smtp()
        if settings is None:
            return VerifyResult(SmtpFailure.NOT_CONFIGURED)
        try:
            config = self._config(settings)
        except SecretDecryptError:
            return VerifyResult(SmtpFailure.KEY_MISMATCH)
        result = await send_test_email(config, to, subject, body)
        await self.audit.record(user_id, "smtp.test_email", f"to {to}: {result}")
        return result

    async def set_channel(
        self, channel: Channel, on: bool, user_id: int | None
    ) -> ChannelRefusal | None:
        """Switch a channel; Email is refused (with the reason) without verified SMTP settings."""
        if not await self.repo.set_channel(channel, on, user_id):
            return ChannelRefusal.NO_VERIFIED_SMTP
        await self.audit.record(user_id, f"channel.{channel}", "on" if on else "off")
        return None

    async def set_email_enabled(self, on: bool, user_id: int | None) -> ChannelRefusal | None:
        """Switch the Email channel (see set_channel)."""
        return await self.set_channel(Channel.EMAIL, on, user_id)

    async def set_telegram_enabled(self, on: bool, user_id: int | None) -> None:
        """Switch the Telegram channel (never refused)."""
        await self.set_channel(Channel.TELEGRAM, on, user_id)
