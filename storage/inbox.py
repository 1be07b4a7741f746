"""The mailbox read for unsubscribes and bounces: its settings, what reading it did, and
the one write it makes to the guest base that no other service offers (a bounced address)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, get_args

from storage.db import Database
from storage.statuses import EmailStatus

ImapSecurity = Literal["tls", "starttls"]
IMAP_SECURITY_MODES: tuple[ImapSecurity, ...] = get_args(ImapSecurity)


@dataclass(frozen=True)
class InboxSettings:
    """The mailbox settings in force; the password only as the secret box's ciphertext."""

    host: str
    port: int
    security: ImapSecurity
    username: str
    password_encrypted: str = field(repr=False)
    verified_at: datetime
    updated_by: int | None = None


@dataclass(frozen=True)
class InboxState:
    """When the mailbox was last read, the last round's failure, and what was handled."""

    last_read_at: datetime | None
    last_error: str | None
    unsubscribes: int
    bounces: int


def _security(value: str) -> ImapSecurity:
    """A security mode read from the database, checked against the known ones."""
    for mode in IMAP_SECURITY_MODES:
        if mode == value:
            return mode
    raise ValueError(f"unknown IMAP security mode {value!r} in the database")


class InboxRepository:
    """SQL for inbox_settings and inbox_state, and marking a bounced address."""

    def __init__(self, db: Database) -> None:
        """Use the application's database."""
        self.db = db

    async def get_settings(self) -> InboxSettings | None:
        """The verified mailbox settings, or None when the mailbox is not read."""
        row = await self.db.fetchone("SELECT * FROM inbox_settings WHERE id = 1")
        if row is None:
            return None
        return InboxSettings(
            host=str(row["host"]),
            port=int(row["port"]),
            security=_security(str(row["security"])),
            username=str(row["username"]),
            password_encrypted=str(row["password_encrypted"]),
            verified_at=datetime.fromisoformat(row["verified_at"]),
            updated_by=row["updated_by"],
        )

    async def save_verified(self, settings: InboxSettings) -> None:
        """Replace the settings in force with ones that have just passed a real login."""
        await self.db.execute(
            "INSERT INTO inbox_settings (id, host, port, security, username, password_encrypted,"
            " verified_at, updated_by) VALUES (1, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET host = excluded.host, port = excluded.port,"
            " security = excluded.security, username = excluded.username,"
            " password_encrypted = excluded.password_encrypted,"
            " verified_at = excluded.verified_at, updated_by = excluded.updated_by",
            (
                settings.host,
                settings.port,
                settings.security,
                settings.username,
                settings.password_encrypted,
                settings.verified_at.isoformat(),
                settings.updated_by,
            ),
        )

    async def delete_settings(self) -> None:
        """Stop reading the mailbox."""
        await self.db.execute("DELETE FROM inbox_settings WHERE id = 1")

    async def get_state(self) -> InboxState:
        """What reading the mailbox did so far."""
        row = await self.db.fetchone(
            "SELECT last_read_at, last_error, unsubscribes, bounces FROM inbox_state WHERE id = 1"
        )
        if row is None:
            return InboxState(None, None, 0, 0)
        read = row["last_read_at"]
        return InboxState(
            datetime.fromisoformat(read) if read else None,
            row["last_error"],
            int(row["unsubscribes"]),
            int(row["bounces"]),
        )

    async def record_round(self, *, unsubscribes: int, bounces: int) -> None:
        """A round read the mailbox: its time, and what it handled added to the totals."""
        await self.db.execute(
            "UPDATE inbox_state SET last_read_at = ?, last_error = NULL,"
            " unsubscribes = unsubscribes + ?, bounces = bounces + ? WHERE id = 1",
            (datetime.now(UTC).isoformat(), unsubscribes, bounces),
        )

    async def record_failure(self, kind: str) -> None:
        """A round could not read the mailbox (`kind` never holds a secret)."""
        await self.db.execute("UPDATE inbox_state SET last_error = ? WHERE id = 1", (kind,))

    async def mark_bounced(self, address: str) -> list[int]:
        """Every guest with this address (case aside) whose email was active is now bounced;
        their ids."""
        rows = await self.db.fetchall(
            "SELECT id FROM guests WHERE email = ? COLLATE NOCASE AND email_status = ?",
            (address.strip(), EmailStatus.ACTIVE.value),
        )
        ids = [int(r["id"]) for r in rows]
        for guest_id in ids:
            await self.db.execute(
                "UPDATE guests SET email_status = ?, updated_at = ?"
                " WHERE id = ? AND email_status = ?",
                (
                    EmailStatus.BOUNCED.value,
                    datetime.now(UTC).isoformat(),
                    guest_id,
                    EmailStatus.ACTIVE.value,
                ),
            )
        return ids
