"""Segment promotions: a segment, a message and a schedule (stored as JSON), on or off.

A deleted promotion keeps its row (deleted_at) so its past mailings still name it.
Dates are local days in TIMEZONE ("YYYY-MM-DD"); times are UTC text as in mailings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from storage.db import Database
from storage.mailings import to_db_time
from storage.statuses import Channel, SendMode

COLUMNS = (
    "id", "name", "segment_id", "schedule", "starts_on", "ends_on", "channels", "send_mode",
    "subject", "text_html", "image_path", "cap_days", "enabled", "locale", "created_by",
    "created_at", "updated_at", "deleted_at",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM promotions"
# What an edit may change (the rest is the row's identity and history).
EDITABLE = (
    "name", "segment_id", "schedule", "starts_on", "ends_on", "channels", "send_mode",
    "subject", "text_html", "image_path", "cap_days",
)  # fmt: skip


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


@dataclass(frozen=True)
class Promotion:
    """A stored promotion; `schedule` is its JSON text (bot.promotions.schedule reads it)."""

    id: int
    name: str
    segment_id: int
    schedule: str
    starts_on: date
    ends_on: date | None
    channels: tuple[Channel, ...]
    send_mode: SendMode
    subject: str | None
    text_html: str | None
    image_path: str | None
    cap_days: int | None
    enabled: bool
    locale: str
    created_by: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Promotion:
        values = dict(zip(COLUMNS, tuple(row), strict=True))
        values["channels"] = tuple(Channel(c) for c in str(values["channels"]).split(",") if c)
        values["send_mode"] = SendMode(values["send_mode"])
        values["enabled"] = bool(values["enabled"])
        values["starts_on"] = date.fromisoformat(values["starts_on"])
        values["ends_on"] = _day(values["ends_on"])
        for name in ("created_at", "updated_at", "deleted_at"):
            values[name] = _time(values[name])
        return cls(**values)


def _stored(fields: dict[str, Any]) -> dict[str, Any]:
    """Field values as the columns keep them."""
    out = dict(fields)
    if "channels" in out:
        channels = [Channel(c) for c in out["channels"]]
        if not channels or len(set(channels)) != len(channels):
            raise ValueError(f"channels must be one or two distinct channels, got {channels!r}")
        out["channels"] = ",".join(channels)
    if "send_mode" in out:
        out["send_mode"] = SendMode(out["send_mode"]).value
    for name in ("starts_on", "ends_on"):
        if isinstance(out.get(name), date):
            out[name] = out[name].isoformat()
    return out


class PromotionRepository:
    """SQL for promotions; knows nothing of schedules' meaning or of Telegram."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        *,
        name: str,
        segment_id: int,
        schedule: str,
        starts_on: date,
        ends_on: date | None,
        channels: Sequence[str],
        send_mode: str = SendMode.ALL,
        subject: str | None = None,
        text_html: str | None = None,
        image_path: str | None = None,
        cap_days: int | None = None,
        enabled: bool = True,
        locale: str = "ru",
        created_by: int,
        now: datetime,
    ) -> Promotion:
        """Store a new promotion (on unless told otherwise)."""
        fields = _stored(
            {
                "name": name, "segment_id": segment_id, "schedule": schedule,
                "starts_on": starts_on, "ends_on": ends_on, "channels": channels,
                "send_mode": send_mode, "subject": subject, "text_html": text_html,
                "image_path": image_path, "cap_days": cap_days, "enabled": int(enabled),
                "locale": locale, "created_by": created_by,
                "created_at": to_db_time(now), "updated_at": to_db_time(now),
            }
        )  # fmt: skip
        names = ", ".join(fields)
        marks = ", ".join("?" * len(fields))
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                f"INSERT INTO promotions ({names}) VALUES ({marks})", tuple(fields.values())
            )
            promotion_id = int(cursor.lastrowid or 0)
        found = await self.get(promotion_id)
        assert found is not None
        return found

    async def get(self, promotion_id: int, *, deleted: bool = False) -> Promotion | None:
        """A promotion by id; a deleted one only when asked for (`deleted=True`)."""
        sql = f"{_SELECT} WHERE id = ?"
        if not deleted:
            sql += " AND deleted_at IS NULL"
        row = await self.db.fetchone(sql, (promotion_id,))
        return None if row is None else Promotion.from_row(row)

    async def all(self) -> list[Promotion]:
        """Every promotion not deleted, oldest first."""
        rows = await self.db.fetchall(f"{_SELECT} WHERE deleted_at IS NULL ORDER BY id")
        return [Promotion.from_row(row) for row in rows]

    async def enabled(self) -> list[Promotion]:
        """The promotions that run: on and not deleted."""
        rows = await self.db.fetchall(
            f"{_SELECT} WHERE enabled = 1 AND deleted_at IS NULL ORDER BY id"
        )
        return [Promotion.from_row(row) for row in rows]

    async def update(self, promotion_id: int, now: datetime, **fields: Any) -> bool:
        """Change what an edit may change; False when the promotion is gone."""
        unknown = set(fields) - set(EDITABLE)
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)!r}")
        stored = _stored(fields)
        sets = ", ".join(f"{name} = ?" for name in stored)
        changed = await self.db.execute(
            f"UPDATE promotions SET {sets}, updated_at = ? WHERE id = ? AND deleted_at IS NULL",
            (*stored.values(), to_db_time(now), promotion_id),
        )
        return changed == 1

    async def set_enabled(self, promotion_id: int, enabled: bool, now: datetime) -> bool:
        """Switch a promotion on or off; False when it is gone or already so."""
        changed = await self.db.execute(
            "UPDATE promotions SET enabled = ?, updated_at = ? "
            "WHERE id = ? AND enabled <> ? AND deleted_at IS NULL",
            (int(enabled), to_db_time(now), promotion_id, int(enabled)),
        )
        return changed == 1

    async def delete(self, promotion_id: int, now: datetime) -> bool:
        """Delete (softly: its mailings keep naming it); False when already gone."""
        changed = await self.db.execute(
            "UPDATE promotions SET deleted_at = ?, enabled = 0, updated_at = ? "
            "WHERE id = ? AND deleted_at IS NULL",
            (to_db_time(now), to_db_time(now), promotion_id),
        )
        return changed == 1
