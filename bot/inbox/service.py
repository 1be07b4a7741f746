"""The mailbox service: settings saved only when a real login succeeds, and the poller
that reads unread mail every few minutes, unsubscribing and marking bounced addresses.

Handlers call this for /settings; the app starts and stops the poller with polling.
Mail for people is never touched: messages are read with BODY.PEEK[] and only the
handled ones are flagged \\Seen. A mailbox that is down is logged (never with the
password) and tried again the next round.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from bot.guests import GuestService
from bot.inbox.imap import DEFAULT_TIMEOUT, ImapConfig, ImapError, ImapFailure, ImapMailbox
from bot.inbox.reports import BounceReport, UnsubscribeRequest, read_message
from bot.mailing_settings import MailingSettingsService
from bot.secrets import SecretBox, SecretDecryptError
from bot.unsubscribe import UnsubscribeTokens
from storage.audit import AuditLog
from storage.db import Database
from storage.inbox import (
    IMAP_SECURITY_MODES,
    ImapSecurity,
    InboxRepository,
    InboxSettings,
    InboxState,
)

log = logging.getLogger(__name__)

POLL_INTERVAL = 180.0  # seconds between two reads of the mailbox


@dataclass(frozen=True)
class InboxDraft:
    """Mailbox settings being edited. The password only as ciphertext (FSM data is JSON)."""

    host: str | None = None
    port: int | None = None
    security: ImapSecurity | None = None
    username: str | None = None
    password_encrypted: str | None = field(default=None, repr=False)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> InboxDraft:
        """Rebuild a draft kept in FSM data; unknown modes are dropped."""
        port, security = data.get("port"), data.get("security")
        return cls(
            host=data.get("host") or None,
            port=int(port) if port is not None else None,
            security=next((m for m in IMAP_SECURITY_MODES if m == security), None),
            username=data.get("username") or None,
            password_encrypted=data.get("password_encrypted") or None,
        )

    def to_data(self) -> dict[str, Any]:
        """JSON-ready data for the FSM storage (ciphertext, never the password)."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> InboxDraft:
        return dataclasses.replace(self, **changes)

    def missing(self) -> list[str]:
        """Required fields not filled in yet."""
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) is None]


@dataclass(frozen=True)
class InboxStatus:
    """What /settings shows: the mailbox in force (None: not read) and what reading did."""

    settings: InboxSettings | None
    state: InboxState


def _imap_host(smtp_host: str) -> str:
    """The usual IMAP server next to an SMTP one: smtp.yandex.ru -> imap.yandex.ru."""
    return "imap." + smtp_host[5:] if smtp_host.startswith("smtp.") else smtp_host


class InboxService:
    """The mailbox rules and the poller, between handlers and the repository."""

    def __init__(
        self,
        db: Database,
        secret_box: SecretBox,
        audit: AuditLog,
        guests: GuestService,
        tokens: UnsubscribeTokens,
        mailing_settings: MailingSettingsService,
    ) -> None:
        self.repo = InboxRepository(db)
        self.secret_box = secret_box
        self.audit = audit
        self.guests = guests
        self.tokens = tokens
        self.mailing_settings = mailing_settings
        self.interval = POLL_INTERVAL
        self.timeout = DEFAULT_TIMEOUT
        self.tls_context: ssl.SSLContext | None = None  # None: the system's CAs
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._reading = asyncio.Lock()

    # ------------------------------------------------------------ settings

    async def status(self) -> InboxStatus:
        return InboxStatus(await self.repo.get_settings(), await self.repo.get_state())

    async def draft(self) -> InboxDraft:
        """A draft from the mailbox in force, else from the SMTP settings (usually the same
        mailbox: its login and password, the IMAP server next to the SMTP one)."""
        current = await self.repo.get_settings()
        if current is not None:
            return InboxDraft(
                current.host,
                current.port,
                current.security,
                current.username,
                current.password_encrypted,
            )
        smtp = (await self.mailing_settings.current()).smtp
        if smtp is None:
            return InboxDraft(security="tls", port=993)
        return InboxDraft(
            host=_imap_host(smtp.host),
            port=993,
            security="tls",
            username=smtp.username or smtp.sender_email,
            password_encrypted=smtp.password_encrypted if smtp.username else None,
        )

    def seal_password(self, plain: str) -> str:
        """Encrypt a typed password at once, so only ciphertext is kept in a draft."""
        return self.secret_box.encrypt(plain)

    def _config(self, draft: InboxDraft | InboxSettings) -> ImapConfig:
        """An ImapConfig with the password decrypted; SecretDecryptError if the key changed."""
        if None in (draft.host, draft.port, draft.security, draft.username):
            raise ValueError("the mailbox settings are incomplete")
        assert draft.host and draft.port and draft.security and draft.username
        password = self.secret_box.decrypt(draft.password_encrypted or "")
        return ImapConfig(
            host=draft.host,
            port=draft.port,
            security=draft.security,
            username=draft.username,
            password=SecretStr(password),
            timeout=self.timeout,
            tls_context=self.tls_context,
        )

    async def save_and_verify(self, draft: InboxDraft, user_id: int | None) -> ImapError | None:
        """Log in and select INBOX for real; only when that succeeds, put the draft in force
        and read the mailbox at once. The failure, or None."""
        try:
            config = self._config(draft)
        except SecretDecryptError:
            return ImapError(ImapFailure.KEY_MISMATCH)
        mailbox = ImapMailbox(config)
        try:
            await asyncio.to_thread(mailbox.open)
        except ImapError as exc:
            await self.audit.record(
                user_id, "inbox.verify_failed", f"{config.host}:{config.port}: {exc.failure}"
            )
            return exc
        finally:
            await asyncio.to_thread(mailbox.close)
        assert draft.password_encrypted is not None
        await self.repo.save_verified(
            InboxSettings(
                host=config.host,
                port=config.port,
                security=config.security,
                username=config.username,
                password_encrypted=draft.password_encrypted,
                verified_at=datetime.now(UTC),
                updated_by=user_id,
            )
        )
        await self.audit.record(
            user_id,
            "inbox.verified",
            f"{config.username} at {config.host}:{config.port} ({config.security})",
        )
        self._wake.set()
        return None

    async def turn_off(self, user_id: int | None) -> None:
        """Stop reading the mailbox (its counters stay)."""
        await self.repo.delete_settings()
        await self.audit.record(user_id, "inbox.off")

    # ------------------------------------------------------------ reading

    async def read_once(self) -> bool:
        """One round: handle every unread unsubscribe request and bounce report. False when
        the mailbox is not set up or could not be read (logged, tried again next round)."""
        async with self._reading:
            settings = await self.repo.get_settings()
            if settings is None:
                return False
            try:
                config = self._config(settings)
            except SecretDecryptError:
                log.warning("the mailbox password cannot be decrypted: enter it again in /settings")
                await self.repo.record_failure(ImapFailure.KEY_MISMATCH)
                return False
            mailbox = ImapMailbox(config)
            try:
                await asyncio.to_thread(mailbox.open)
                for uid in await asyncio.to_thread(mailbox.unseen):
                    raw = await asyncio.to_thread(mailbox.fetch, uid)
                    if raw is not None and await self._handle(raw):
                        await asyncio.to_thread(mailbox.mark_seen, uid)
            except ImapError as exc:
                # exc's detail is scrubbed of the password; the server's words help the operator.
                log.warning(
                    "the mailbox %s:%s could not be read: %s", config.host, config.port, exc
                )
                await self.repo.record_failure(exc.failure)
                return False
            finally:
                await asyncio.to_thread(mailbox.close)
            await self.repo.record_round(unsubscribes=0, bounces=0)
            return True

    async def _handle(self, raw: bytes) -> bool:
        """Act on one message; True when it was ours (it is then flagged read)."""
        found = read_message(raw, self.tokens)
        if isinstance(found, UnsubscribeRequest):
            guest = await self.guests.unsubscribe_email(found.guest_id)
            await self.audit.record(
                None, "inbox.unsubscribe", f"guest {found.guest_id}" + ("" if guest else " (gone)")
            )
            await self.repo.record_round(unsubscribes=1, bounces=0)
            return True
        if isinstance(found, BounceReport):
            for address in found.addresses:
                ids = await self.repo.mark_bounced(address)
                await self.audit.record(None, "inbox.bounce", f"{address}: guests {ids}")
            await self.repo.record_round(unsubscribes=0, bounces=len(found.addresses))
            return True
        return False

    async def _loop(self) -> None:
        """Read the mailbox now and every `interval` seconds (sooner after a save)."""
        while True:
            try:
                await self.read_once()
            except Exception as exc:  # the poller outlives any one round
                log.error("reading the mailbox failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()

    async def start(self) -> None:
        """Start the poller (with polling; it restarts with the bot)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="inbox-poller")

    async def stop(self) -> None:
        """Stop the poller, waiting for a round under way to end."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
