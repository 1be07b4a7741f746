"""The engine's hot path on a connection of its own, run inline on the event loop.

Each batch of claims and finishes is one short transaction (about a hundred
microseconds of SQLite for dozens of rows). Running it inline costs less than
any hand-off to a thread, which under a busy loop means a wait for the GIL and
for a turn of the loop per statement. Nothing here may block, though:
- the connection never waits for a lock (busy_timeout 0); a busy database is
  retried with short asynchronous sleeps, up to BUSY_TIMEOUT_MS in all;
- it never checkpoints (wal_autocheckpoint 0), as a checkpoint syncs the file:
  the engine checkpoints on its other connection, whose thread may block.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple, TypeVar

from storage.db import BUSY_TIMEOUT_MS
from storage.deliveries import (
    INSERT_ROW,
    Finish,
    PendingDelivery,
    now_text,
    row_select,
)
from storage.statuses import Channel, DeliveryStatus, EmailStatus, GuestMark, TelegramStatus

_PENDING_PAGE = (
    "SELECT deliveries.id, deliveries.guest_id, deliveries.address, guests.first_name, "
    "guests.last_name, guests.middle_name, guests.balance_cents "
    "FROM deliveries JOIN guests ON guests.id = deliveries.guest_id "
    f"WHERE deliveries.mailing_id = ? AND deliveries.status = '{DeliveryStatus.PENDING}' "
    "AND deliveries.id > ? AND deliveries.channel = ? ORDER BY deliveries.id LIMIT ?"
)
_CLAIM = (
    f"UPDATE deliveries SET status = '{DeliveryStatus.SENDING}', attempts = attempts + 1, "
    "updated_at = ? WHERE id IN (SELECT value FROM json_each(?)) "
    f"AND status = '{DeliveryStatus.PENDING}' RETURNING id"
)
# One statement over a JSON array of [id, status, error_code, error, external_id]:
# SQLite parses it in C, far cheaper per row than binding an executemany from Python.
_FINISH = (
    "UPDATE deliveries SET status = finish.value ->> 1, error_code = finish.value ->> 2, "
    "error = finish.value ->> 3, external_id = finish.value ->> 4, "
    f"sent_at = CASE WHEN finish.value ->> 1 = '{DeliveryStatus.SENT}' THEN ? END, "
    "updated_at = ? FROM json_each(?) AS finish "
    "WHERE deliveries.id = finish.value ->> 0 "
    f"AND deliveries.status = '{DeliveryStatus.SENDING}'"
)

# What a finished row's mark does to its guest: the channel's status, only from active.
_MARK_GUEST = {
    GuestMark.TG_BLOCKED: (
        f"UPDATE guests SET tg_status = '{TelegramStatus.BLOCKED}', updated_at = ? "
        f"WHERE id = ? AND tg_status = '{TelegramStatus.ACTIVE}'"
    ),
    GuestMark.EMAIL_BOUNCED: (
        f"UPDATE guests SET email_status = '{EmailStatus.BOUNCED}', updated_at = ? "
        f"WHERE id = ? AND email_status = '{EmailStatus.ACTIVE}'"
    ),
}

T = TypeVar("T")


class Committed(NamedTuple):
    """What a commit did: the rows claimed, and the fallback rows written with their status."""

    claimed: set[int]
    fallbacks: dict[int, str]


_RETRY_START, _RETRY_MAX = 0.001, 0.02


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    """True when another connection holds the lock (SQLITE_BUSY / SQLITE_LOCKED)."""
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class DeliveryWriter:
    """Claims, finishes and pending pages of running mailings, on its own SQLite connection."""

    def __init__(self, path: Path | str) -> None:
        """Use the database file at `path` (WAL; other connections keep working)."""
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> DeliveryWriter:
        """Connect with the pragmas the product relies on (see storage.db.connect)."""
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 0")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        self._conn = conn
        return self

    async def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        """Run fn(*args); while the database is locked by another writer, retry shortly."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BUSY_TIMEOUT_MS / 1000
        delay = _RETRY_START
        while True:
            try:
                return fn(*args)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or loop.time() > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX)

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection."""
        if self._conn is None:
            raise RuntimeError("the delivery writer is not open")
        return self._conn

    # ------------------------------------------------------------------ reads
    async def pending_page(
        self, mailing_id: int, channel: Channel, after_id: int, limit: int
    ) -> list[PendingDelivery]:
        """Pending rows of one channel after `after_id`, in id order, with template data."""
        return await self._call(self._pending_page, mailing_id, channel, after_id, limit)

    def _pending_page(
        self, mailing_id: int, channel: Channel, after_id: int, limit: int
    ) -> list[PendingDelivery]:
        """pending_page, synchronously."""
        rows = self.conn.execute(_PENDING_PAGE, (mailing_id, after_id, channel, limit)).fetchall()
        return [
            PendingDelivery(r[0], r[1], channel, str(r[2] or ""), r[3], r[4], r[5], int(r[6]))
            for r in rows
        ]

    # ------------------------------------------------------------------ writes
    async def commit(self, claims: Sequence[int], finishes: Sequence[Finish]) -> Committed:
        """One transaction: finish rows, then claim rows (pending -> sending).

        Returns the ids actually claimed (a row no longer pending, cancelled or
        claimed elsewhere, is not, so it cannot be sent twice) and the status of
        each fallback row written (pending, or skipped when the guest has no
        such contact), by the id of the row that failed.
        """
        return await self._call(self._commit, list(claims), list(finishes))

    def _commit(self, claims: list[int], finishes: list[Finish]) -> Committed:
        """commit, synchronously (rolled back whole on any error, so a retry is safe)."""
        conn, now = self.conn, now_text()
        conn.execute("BEGIN IMMEDIATE")
        try:
            fallbacks = self._finish(conn, finishes, now) if finishes else {}
            claimed: set[int] = set()
            if claims:
                cursor = conn.execute(_CLAIM, (now, json.dumps(claims)))
                claimed = {int(r[0]) for r in cursor.fetchall()}
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return Committed(claimed, fallbacks)

    @staticmethod
    def _finish(conn: sqlite3.Connection, finishes: list[Finish], now: str) -> dict[int, str]:
        """Write finished rows, guest marks and fallback rows (inside the transaction);
        the status of each fallback row written, by the id of the row that failed."""
        rows = [(f.delivery_id, f.status, f.error_code, f.error, f.external_id) for f in finishes]
        conn.execute(_FINISH, (now, now, json.dumps(rows, ensure_ascii=False)))
        for mark, sql in _MARK_GUEST.items():
            marked = [(now, f.guest_id) for f in finishes if f.mark_guest == mark]
            if marked:
                conn.executemany(sql, marked)
        fallbacks: dict[int, str] = {}
        for f in finishes:  # failures only, a few per batch at most
            if f.fallback is not None and f.status == DeliveryStatus.FAILED:
                row = conn.execute(
                    INSERT_ROW
                    + row_select(f.fallback)
                    + "FROM guests WHERE guests.id = ? RETURNING status",
                    (f.mailing_id, now, f.guest_id),
                ).fetchone()
                if row is not None:  # None: the guest has a row there already
                    fallbacks[f.delivery_id] = str(row[0])
        return fallbacks
