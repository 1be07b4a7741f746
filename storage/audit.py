"""The audit log: who changed what, when. Callers never pass secrets here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from storage.db import Database


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    user_id: int | None
    action: str
    detail: str | None


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, user_id: int | None, action: str, detail: str | None = None) -> None:
        await self.db.execute(
            "INSERT INTO audit_log (at, user_id, action, detail) VALUES (?, ?, ?, ?)",
            (datetime.now(UTC).isoformat(), user_id, action, detail),
        )

    async def recent(self, limit: int = 50) -> list[AuditEntry]:
        rows = await self.db.fetchall(
            "SELECT at, user_id, action, detail FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [
            AuditEntry(datetime.fromisoformat(r["at"]), r["user_id"], r["action"], r["detail"])
            for r in rows
        ]
