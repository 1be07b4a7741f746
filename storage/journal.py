"""A mailing's journal: its deliveries a page at a time, filtered, and streamed for export.

Pages are keyset pages by (mailing_id, id): "the 10 rows after id N", so page
1000 costs what page 1 costs. Each query names its index (INDEXED BY), so a
change that would make SQLite scan a million rows fails loudly instead of
getting slow (docs/architecture.md, "Storage"). Without a channel filter the
two channels are read apart and merged: each read is one ordered index range.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database
from storage.statuses import Channel, DeliveryStatus

# Statuses deliveries_journal_done holds; its WHERE clause, repeated in a query,
# is what lets SQLite use it.
_DONE = (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED, DeliveryStatus.UNKNOWN)
_DONE_TERM = "d.status IN ('sent', 'failed', 'skipped', 'unknown')"
_COLUMNS = (
    "d.id, d.guest_id, d.channel, d.status, d.error_code, d.error, d.address, "
    "COALESCE(d.sent_at, d.updated_at), g.phone, g.last_name, g.first_name, g.middle_name"
)
FILTER_STATUSES = (DeliveryStatus.PENDING, *_DONE)


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class JournalFilter:
    """Which rows of a journal: one status and/or one channel (None: any)."""

    status: DeliveryStatus | None = None
    channel: Channel | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in FILTER_STATUSES:
            raise ValueError(f"the journal cannot be filtered by {self.status!r}")


@dataclass(frozen=True)
class JournalRow:
    """One delivery as the journal shows it: the guest, the channel, how it ended."""

    id: int
    guest_id: int
    channel: Channel
    status: DeliveryStatus
    error_code: str | None
    error: str | None
    address: str | None
    at: datetime | None  # sent, or last changed
    phone: str
    last_name: str | None
    first_name: str | None
    middle_name: str | None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> JournalRow:
        return cls(
            row[0], row[1], Channel(row[2]), DeliveryStatus(row[3]), row[4], row[5], row[6],
            _moment(row[7]), row[8], row[9], row[10], row[11],
        )  # fmt: skip

    @property
    def name(self) -> str:
        """Last, first and middle name; empty when the base has none."""
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)


@dataclass(frozen=True)
class JournalPage:
    rows: list[JournalRow]
    has_prev: bool
    has_next: bool


@dataclass(frozen=True)
class GuestDelivery:
    """A guest's delivery on their account card, with the mailing it belongs to."""

    id: int
    mailing_id: int
    mailing_name: str
    channel: Channel
    status: DeliveryStatus
    error_code: str | None
    error: str | None
    at: datetime | None


class JournalRepository:
    """Reads deliveries for the journal, the account card and the export; never writes."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _query(self, flt: JournalFilter, channel: Channel, forward: bool) -> str:
        """One channel's rows after (or before) an id, in id order, through its index."""
        if flt.status is None:
            index, status = "deliveries_journal_channel", ""
        elif flt.status == DeliveryStatus.PENDING:
            index, status = "deliveries_pending", "AND d.status = 'pending'"
        else:
            index, status = "deliveries_journal_done", f"AND d.status = ? AND {_DONE_TERM}"
        order = "d.id > ? ORDER BY d.id" if forward else "d.id < ? ORDER BY d.id DESC"
        return (
            f"SELECT {_COLUMNS} FROM deliveries AS d INDEXED BY {index} "
            "LEFT JOIN guests AS g ON g.id = d.guest_id "
            f"WHERE d.mailing_id = ? AND d.channel = '{channel}' {status} AND {order} LIMIT ?"
        )

    async def _rows(
        self, mailing_id: int, flt: JournalFilter, cursor: int, limit: int, forward: bool
    ) -> list[JournalRow]:
        """Up to `limit` rows past `cursor` in the direction, both channels merged."""
        channels = [flt.channel] if flt.channel is not None else list(Channel)
        found: list[JournalRow] = []
        for channel in channels:
            params: list[Any] = [mailing_id]
            if flt.status is not None and flt.status != DeliveryStatus.PENDING:
                params.append(str(flt.status))
            params += [cursor, limit]
            rows = await self.db.fetchall(self._query(flt, channel, forward), params)
            found += [JournalRow.from_row(r) for r in rows]
        found.sort(key=lambda r: r.id, reverse=not forward)
        return found[:limit]

    async def page(
        self,
        mailing_id: int,
        flt: JournalFilter,
        *,
        after: int | None = None,
        before: int | None = None,
        size: int = 10,
    ) -> JournalPage:
        """The `size` rows after id `after` (the first page when both are None), or the
        `size` rows before id `before`; whether there is more either way."""
        if before is not None:
            rows = await self._rows(mailing_id, flt, before, size + 1, forward=False)
            if not rows:
                return await self.page(mailing_id, flt, size=size)
            has_prev = len(rows) > size
            rows = list(reversed(rows[:size]))
            has_next = bool(await self._rows(mailing_id, flt, rows[-1].id, 1, forward=True))
            return JournalPage(rows, has_prev, has_next)
        start = after or 0
        rows = await self._rows(mailing_id, flt, start, size + 1, forward=True)
        if not rows and start > 0:  # past the end (rows gone): the last page instead
            return await self.page(mailing_id, flt, before=start + 1, size=size)
        has_next = len(rows) > size
        rows = rows[:size]
        has_prev = bool(rows) and bool(
            await self._rows(mailing_id, flt, rows[0].id, 1, forward=False)
        )
        return JournalPage(rows, has_prev, has_next)

    async def stream(
        self, mailing_id: int, flt: JournalFilter, batch: int = 2000
    ) -> AsyncIterator[list[JournalRow]]:
        """Every row of the journal in id order, `batch` rows at a time (constant memory)."""
        cursor = 0
        while True:
            rows = await self._rows(mailing_id, flt, cursor, batch, forward=True)
            if not rows:
                return
            yield rows
            cursor = rows[-1].id

    async def of_guest(self, guest_id: int, limit: int = 10) -> list[GuestDelivery]:
        """A guest's newest deliveries, each with its mailing's name."""
        rows = await self.db.fetchall(
            "SELECT d.id, d.mailing_id, m.name, d.channel, d.status, d.error_code, d.error, "
            "COALESCE(d.sent_at, d.updated_at) FROM deliveries AS d "
            "INDEXED BY deliveries_by_guest JOIN mailings AS m ON m.id = d.mailing_id "
            "WHERE d.guest_id = ? ORDER BY d.id DESC LIMIT ?",
            (guest_id, limit),
        )
        return [
            GuestDelivery(
                r[0], r[1], r[2], Channel(r[3]), DeliveryStatus(r[4]), r[5], r[6], _moment(r[7])
            )
            for r in rows
        ]
