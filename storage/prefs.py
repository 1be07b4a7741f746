"""Admins' own preferences (interface language)."""

from __future__ import annotations

from storage.db import Database


class AdminPrefsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def locales(self) -> dict[int, str]:
        rows = await self.db.fetchall("SELECT user_id, locale FROM admin_prefs")
        return {int(row["user_id"]): str(row["locale"]) for row in rows}

    async def set_locale(self, user_id: int, locale: str) -> None:
        await self.db.execute(
            "INSERT INTO admin_prefs (user_id, locale) VALUES (?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET locale = excluded.locale",
            (user_id, locale),
        )
