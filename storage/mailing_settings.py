"""Mailing settings in the database: the verified SMTP server and the channel switches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, get_args

import aiosqlite

from storage.db import Database
from storage.statuses import Channel

Security = Literal["none", "starttls", "tls"]
SECURITY_MODES: tuple[Security, ...] = get_args(Security)


@dataclass(frozen=True)
class SmtpSettings:
    """The SMTP settings in force; the password only as the secret box's ciphertext."""

    host: str
    port: int
    username: str | None
    password_encrypted: str | None = field(repr=False)
    security: Security
    sender_email: str
    sender_name: str | None
    verified_at: datetime
    updated_at: datetime
    updated_by: int | None


@dataclass(frozen=True)
class ChannelSwitches:
    """Which channels mailings may use."""

    email_enabled: bool
    telegram_enabled: bool

    @property
    def enabled(self) -> list[Channel]:
        """The channels that are on, Email first (the order mailings offer them)."""
        found: list[Channel] = []
        if self.email_enabled:
            found.append(Channel.EMAIL)
        if self.telegram_enabled:
            found.append(Channel.TELEGRAM)
        return found


def _security(value: str) -> Security:
    """A security mode read from the database, checked against the known ones."""
    for mode in SECURITY_MODES:
        if mode == value:
            return mode
    raise ValueError(f"unknown SMTP security mode {value!r} in the database")


def _smtp_from_row(row: aiosqlite.Row) -> SmtpSettings:
    """An smtp_settings row as SmtpSettings."""
    return SmtpSettings(
        host=str(row["host"]),
        port=int(row["port"]),
        username=row["username"],
        password_encrypted=row["password_encrypted"],
        security=_security(str(row["security"])),
        sender_email=str(row["sender_email"]),
        sender_name=row["sender_name"],
        verified_at=datetime.fromisoformat(row["verified_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        updated_by=row["updated_by"],
    )


class MailingSettingsRepository:
    """SQL for smtp_settings and channel_switches; knows nothing of SMTP or Telegram."""

    def __init__(self, db: Database) -> None:
        """Use the application's database."""
        self.db = db

    async def get_smtp(self) -> SmtpSettings | None:
        """The verified SMTP settings in force, or None when never set up."""
        row = await self.db.fetchone("SELECT * FROM smtp_settings WHERE id = 1")
        return None if row is None else _smtp_from_row(row)

    async def save_verified(self, settings: SmtpSettings) -> None:
        """Replace the settings in force with ones that have just passed verification."""
        await self.db.execute(
            "INSERT INTO smtp_settings (id, host, port, username, password_encrypted, security,"
            " sender_email, sender_name, verified_at, updated_at, updated_by)"
            " VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET host = excluded.host, port = excluded.port,"
            " username = excluded.username, password_encrypted = excluded.password_encrypted,"
            " security = excluded.security, sender_email = excluded.sender_email,"
            " sender_name = excluded.sender_name, verified_at = excluded.verified_at,"
            " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            (
                settings.host,
                settings.port,
                settings.username,
                settings.password_encrypted,
                settings.security,
                settings.sender_email,
                settings.sender_name,
                settings.verified_at.isoformat(),
                settings.updated_at.isoformat(),
                settings.updated_by,
            ),
        )

    async def get_channels(self) -> ChannelSwitches:
        """The channel switches (Telegram on, Email off when never changed)."""
        row = await self.db.fetchone(
            "SELECT email_enabled, telegram_enabled FROM channel_switches WHERE id = 1"
        )
        if row is None:
            return ChannelSwitches(email_enabled=False, telegram_enabled=True)
        return ChannelSwitches(bool(row["email_enabled"]), bool(row["telegram_enabled"]))

    async def set_channel(self, channel: Channel | str, enabled: bool, user_id: int | None) -> bool:
        """Turn a channel on or off; False when Email is to be on without verified settings.

        The check and the write are one statement, so settings cannot vanish in between.
        """
        channel = Channel(channel)
        column = {Channel.EMAIL: "email_enabled", Channel.TELEGRAM: "telegram_enabled"}[channel]
        guard = (
            " AND EXISTS (SELECT 1 FROM smtp_settings)"
            if channel == Channel.EMAIL and enabled
            else ""
        )
        changed = await self.db.execute(
            f"UPDATE channel_switches SET {column} = ?, updated_at = ?, updated_by = ?"
            f" WHERE id = 1{guard}",
            (int(enabled), datetime.now(UTC).isoformat(), user_id),
        )
        return changed == 1
