"""SQL of the mailing history: a filtered, searched page, the export's rows, the chart's sends.

Every mailing, one-off or a promotion's occurrence, is in the history; the list
shows its segment's and its promotion's names, read here with LEFT JOINs so a
deleted segment or promotion never hides a mailing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database, fold
from storage.deliveries import now_text
from storage.mailings import COLUMNS, Mailing, to_db_time
from storage.statuses import DeliveryStatus, MailingStatus

_MAILING = ", ".join(f"m.{c}" for c in COLUMNS)
_FROM = (
    "FROM mailings m LEFT JOIN segments s ON s.id = m.segment_id "
    "LEFT JOIN promotions p ON p.id = m.promotion_id"
)
# Scheduled ones first (soonest first), then the rest, newest first.
_ORDER = (
    "ORDER BY m.status <> :scheduled, "
    "CASE WHEN m.status = :scheduled THEN m.scheduled_at END ASC, "
    "m.scheduled_at DESC, m.id DESC"
)


@dataclass(frozen=True)
class HistoryQuery:
    """Which mailings: scheduled in [start, end) (None: unbounded) whose name has every word."""

    start: datetime | None = None
    end: datetime | None = None
    words: tuple[str, ...] = ()
    mailing_id: int | None = None  # just this one mailing


@dataclass(frozen=True)
class HistoryRow:
    """A mailing as the history lists it."""

    mailing: Mailing
    promotion_name: str | None  # None: a one-off mailing
    segment_name: str | None  # None: the segment is gone
    segment_builtin: bool


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(query: HistoryQuery) -> tuple[str, dict[str, Any]]:
    parts: list[str] = []
    params: dict[str, Any] = {"scheduled": MailingStatus.SCHEDULED}
    if query.start is not None:
        parts.append("m.scheduled_at >= :start")
        params["start"] = to_db_time(query.start)
    if query.end is not None:
        parts.append("m.scheduled_at < :end")
        params["end"] = to_db_time(query.end)
    if query.mailing_id is not None:
        parts.append("m.id = :mailing_id")
        params["mailing_id"] = query.mailing_id
    for index, word in enumerate(query.words):
        parts.append(f"m.name_folded LIKE :w{index} ESCAPE '\\'")
        params[f"w{index}"] = _like(fold(word) or "")
    return (" WHERE " + " AND ".join(parts) if parts else ""), params


def _row(row: Any) -> HistoryRow:
    values = tuple(row)
    width = len(COLUMNS)
    return HistoryRow(
        Mailing.from_row(values[:width]), values[width], values[width + 1], bool(values[width + 2])
    )


class HistoryRepository:
    """The history's reads, and the one write of its own: failed rows handed back."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _select(self, query: HistoryQuery) -> tuple[str, dict[str, Any]]:
        where, params = _where(query)
        sql = f"SELECT {_MAILING}, p.name, s.name, s.is_builtin {_FROM}{where} {_ORDER}"
        return sql, params

    async def page(self, query: HistoryQuery, *, limit: int, offset: int) -> list[HistoryRow]:
        sql, params = self._select(query)
        rows = await self.db.fetchall(
            f"{sql} LIMIT :limit OFFSET :offset", {**params, "limit": limit, "offset": offset}
        )
        return [_row(r) for r in rows]

    async def count(self, query: HistoryQuery) -> int:
        where, params = _where(query)
        return int(await self.db.fetchval(f"SELECT COUNT(*) FROM mailings m{where}", params))

    async def iter_rows(
        self, query: HistoryQuery, page_size: int = 500
    ) -> AsyncIterator[HistoryRow]:
        """Every matching mailing in the list's order, a page at a time."""
        offset = 0
        while True:
            found = await self.page(query, limit=page_size, offset=offset)
            for row in found:
                yield row
            if len(found) < page_size:
                return
            offset += page_size

    async def sends_by_minute(self, mailing_id: int) -> list[tuple[str, int]]:
        """Sent rows per minute of sending ("YYYY-MM-DDTHH:MM" in UTC), in time order."""
        rows = await self.db.fetchall(
            "SELECT substr(sent_at, 1, 16) AS minute, COUNT(*) FROM deliveries "
            "WHERE mailing_id = ? AND status = ? AND sent_at IS NOT NULL "
            "GROUP BY minute ORDER BY minute",
            (mailing_id, DeliveryStatus.SENT),
        )
        return [(str(r[0]), int(r[1])) for r in rows]

    async def failed_to_unknown(self, mailing_id: int) -> int:
        """A finished mailing's failed rows become `unknown`, so the engine's "resend
        unknown" sends them again (the admin decided). A failed row whose guest got the
        mailing by another channel (priority mode's fallback) stays failed: no guest
        gets it twice."""
        return await self.db.execute(
            "UPDATE deliveries SET status = :unknown, updated_at = :now "
            "WHERE mailing_id = :mailing AND status = :failed AND NOT EXISTS ("
            " SELECT 1 FROM deliveries other WHERE other.mailing_id = :mailing"
            " AND other.guest_id = deliveries.guest_id AND other.status = :sent)"
            " AND EXISTS (SELECT 1 FROM mailings WHERE id = :mailing AND status = :completed)",
            {
                "unknown": DeliveryStatus.UNKNOWN,
                "failed": DeliveryStatus.FAILED,
                "sent": DeliveryStatus.SENT,
                "completed": MailingStatus.COMPLETED,
                "mailing": mailing_id,
                "now": now_text(),
            },
        )

    async def resendable_failed(self, mailing_id: int) -> int:
        """How many failed rows "Resend failed" would send again (see failed_to_unknown)."""
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM deliveries d WHERE d.mailing_id = :mailing "
                "AND d.status = :failed AND NOT EXISTS (SELECT 1 FROM deliveries other "
                "WHERE other.mailing_id = :mailing AND other.guest_id = d.guest_id "
                "AND other.status = :sent)",
                {
                    "mailing": mailing_id,
                    "failed": DeliveryStatus.FAILED,
                    "sent": DeliveryStatus.SENT,
                },
            )
        )
