"""Guest base service: subscribers linking Telegram, search, import and export."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.guest_import import ImportResult, import_guests
from bot.phones import phone_from_contact
from bot.xlsx import export_guests
from storage.db import Database
from storage.guests import Guest, GuestCounts, GuestRepository
from storage.statuses import EmailStatus, TelegramStatus

Progress = Callable[[int, int | None], Awaitable[None]]


class GuestService:
    """What handlers and the CLI do with guests; all SQL stays in GuestRepository."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.repo = GuestRepository(db)

    async def link_telegram(
        self,
        *,
        phone: str,
        user_id: int,
        chat_id: int,
        username: str | None,
        first_name: str | None,
        last_name: str | None,
    ) -> Guest:
        """Link a guest's own shared contact to the account with that phone (or a new one)."""
        guest, _created = await self.repo.link_telegram(
            phone_from_contact(phone), user_id, chat_id, username, first_name, last_name
        )
        return guest

    async def resubscribe(self, user_id: int) -> Guest | None:
        """A linked guest's /start: back to active. None when not linked yet."""
        guest = await self.repo.by_tg_user(user_id)
        if guest is None:
            return None
        if guest.tg_status != TelegramStatus.ACTIVE:
            await self.repo.set_tg_status_by_user(user_id, TelegramStatus.ACTIVE)
            guest = await self.repo.by_tg_user(user_id)
        return guest

    async def unsubscribe(self, user_id: int) -> bool:
        """/stop: True when the guest was subscribed and now is not."""
        guest = await self.repo.by_tg_user(user_id)
        if guest is None or guest.tg_status != TelegramStatus.ACTIVE:
            return False
        return await self.repo.set_tg_status_by_user(user_id, TelegramStatus.UNSUBSCRIBED)

    async def unsubscribe_email(self, guest_id: int) -> Guest | None:
        """An unsubscribe link from an email was opened: no more emails to this guest."""
        guest = await self.repo.get(guest_id)
        if guest is None or guest.email_status == EmailStatus.NONE:
            return guest
        return await self.repo.set_email_status(guest_id, EmailStatus.UNSUBSCRIBED)

    async def set_email_subscription(self, guest_id: int, *, on: bool) -> Guest | None:
        """An admin stops emails to a guest who asked, or resumes them; None if unknown."""
        guest = await self.repo.get(guest_id)
        if guest is None or guest.email is None:
            return guest
        status = EmailStatus.ACTIVE if on else EmailStatus.UNSUBSCRIBED
        return await self.repo.set_email_status(guest_id, status)

    async def mark_blocked(self, user_id: int) -> bool:
        return await self.repo.set_tg_status_by_user(user_id, TelegramStatus.BLOCKED)

    async def by_telegram_user(self, user_id: int) -> Guest | None:
        return await self.repo.by_tg_user(user_id)

    async def get(self, guest_id: int) -> Guest | None:
        return await self.repo.get(guest_id)

    async def tags(self, guest_id: int) -> list[str]:
        return await self.repo.tags(guest_id)

    async def counts(self) -> GuestCounts:
        return await self.repo.counts()

    async def search(self, query: str, limit: int = 10) -> list[Guest]:
        return await self.repo.search(query, limit=limit)

    async def import_file(
        self, path: Path, filename: str, progress: Progress | None = None
    ) -> ImportResult:
        return await import_guests(self.db, path, filename, progress=progress)

    async def export(self, path: Path, headers: list[str], sheet_title: str = "Guests") -> None:
        await export_guests(self.repo, path, headers, sheet_title)
