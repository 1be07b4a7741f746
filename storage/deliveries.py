"""The delivery engine's store: a run's deliveries and its own state; all the engine's SQL.

A mailing's journal is its delivery rows (one per guest per channel tried). The
engine writes them from the segment in pages, claims them (`sending`) before a
send and finishes them after it in small batches; nothing else holds progress.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any, NamedTuple

from storage.db import Database
from storage.guest_counts import GuestCountRepository, GuestTally, rows_of
from storage.mailings import status_change
from storage.segments import (
    EMAIL_REACHABLE,
    TELEGRAM_REACHABLE,
    Segment,
    SegmentRepository,
    where_clause,
)
from storage.statuses import (
    TERMINAL_DELIVERY,
    Channel,
    DeliveryStatus,
    EmailStatus,
    MailingStatus,
    Mark,
    Outcome,
    SendMode,
    TelegramStatus,
)

# The names this module had before the types lived in storage/statuses.py.
TERMINAL = TERMINAL_DELIVERY
REACHABLE: dict[str, str] = {Channel.TELEGRAM: TELEGRAM_REACHABLE, Channel.EMAIL: EMAIL_REACHABLE}
_ADDRESS: dict[str, str] = {Channel.TELEGRAM: "guests.tg_chat_id", Channel.EMAIL: "guests.email"}
# Why a guest is skipped on a channel: (condition, code, text), first match wins.
SKIP_REASONS: dict[str, tuple[tuple[str, str, str], ...]] = {
    Channel.TELEGRAM: (
        (f"guests.tg_status = '{TelegramStatus.BLOCKED}'", "blocked", "the guest blocked the bot"),
        (
            f"guests.tg_status = '{TelegramStatus.UNSUBSCRIBED}'",
            "unsubscribed",
            "the guest unsubscribed (/stop)",
        ),
        ("1", "no_telegram", "no Telegram linked"),
    ),
    Channel.EMAIL: (
        ("guests.email IS NULL OR guests.email = ''", "no_email", "no email address"),
        (f"guests.email_status = '{EmailStatus.BOUNCED}'", "bounced", "the address bounced before"),
        (
            f"guests.email_status = '{EmailStatus.UNSUBSCRIBED}'",
            "unsubscribed",
            "unsubscribed from email",
        ),
        ("1", "no_email", "the email address is not active"),
    ),
}
INTERRUPTED = ("interrupted", "the bot stopped during the send; it may or may not have arrived")
CANCELLED = ("cancelled", "cancelled")
# The frequency cap: a guest who got a mailing within the last N days is held back.
FREQUENCY_CAP = "frequency_cap"
_HOLD_BACK = (
    f"UPDATE deliveries SET status = '{DeliveryStatus.SKIPPED}', error_code = '{FREQUENCY_CAP}', "
    "error = 'frequency cap: the guest got another mailing in the last ' || ? || ' days', "
    f"updated_at = ? WHERE mailing_id = ? AND status = '{DeliveryStatus.PENDING}' "
    "AND guest_id > ? AND guest_id <= ? AND EXISTS (SELECT 1 FROM deliveries AS got "
    f"WHERE got.guest_id = deliveries.guest_id AND got.status = '{DeliveryStatus.SENT}' "
    "AND got.sent_at >= ? AND got.mailing_id <> deliveries.mailing_id)"
)
# Rows left `sending` by runs that did not end cleanly (the process or the journal
# broke) become `unknown`: whether they arrived is not known, so they are never resent.
_INTERRUPT = (
    f"UPDATE deliveries SET status = '{DeliveryStatus.UNKNOWN}', error_code = ?, error = ?, "
    f"updated_at = ? WHERE status = '{DeliveryStatus.SENDING}' AND mailing_id IN "
    "(SELECT mailing_id FROM mailing_runs WHERE ended_at IS NULL{only})"
)
INSERT_ROW = (
    "INSERT OR IGNORE INTO deliveries "
    "(mailing_id, guest_id, channel, status, address, error_code, error, updated_at) "
)


def now_text() -> str:
    """The current moment as stored (ISO-8601, UTC, milliseconds)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def row_select(channel: str) -> str:
    """SELECT list writing one delivery row for `channel` per guest: pending or skipped+why."""
    if channel not in REACHABLE:
        raise ValueError(f"unknown channel {channel!r}")
    reach = REACHABLE[channel]
    codes = " ".join(f"WHEN {cond} THEN '{code}'" for cond, code, _ in SKIP_REASONS[channel])
    texts = " ".join(f"WHEN {cond} THEN '{text}'" for cond, _, text in SKIP_REASONS[channel])
    return (
        f"SELECT ?, guests.id, '{channel}', CASE WHEN {reach} THEN "
        f"'{DeliveryStatus.PENDING}' ELSE '{DeliveryStatus.SKIPPED}' END, {_ADDRESS[channel]}, "
        f"CASE WHEN {reach} THEN NULL {codes} END, CASE WHEN {reach} THEN NULL {texts} END, ? "
    )


class PendingDelivery(NamedTuple):
    """A pending row with what a send needs: the address and the guest's template data.

    (Named tuples: a big mailing makes millions of these; they are the cheapest to build.)
    """

    id: int
    guest_id: int
    channel: Channel
    address: str
    first_name: str | None
    last_name: str | None
    middle_name: str | None
    balance_cents: int


class Finish(NamedTuple):
    """How one claimed row ended. Status PENDING hands it back unsent (never reached)."""

    mailing_id: int
    delivery_id: int
    guest_id: int
    status: Outcome
    error_code: str | None = None
    error: str | None = None
    external_id: str | None = None
    mark_guest: Mark | None = None
    # Priority mode: the channel to try next for this guest (written in the same transaction).
    fallback: Channel | None = None


@dataclass(frozen=True)
class RunState:
    """The engine's own record of a started mailing."""

    mailing_id: int
    launched_by: int | None
    populate_until: int | None
    populate_cursor: int
    populated: bool
    paused_channels: tuple[Channel, ...]
    last_error: str | None
    progress_chat_id: int | None
    progress_message_id: int | None


@dataclass
class Counts:
    """Delivery rows of a mailing by channel and status."""

    by_channel: dict[str, dict[str, int]]
    # The guests' states, when read for a run (DeliveryRepository.run_counts).
    guests: GuestTally | None = None

    def total(self, status: str | None = None) -> int:
        """Rows with `status` (all rows when None), over every channel."""
        return sum(n for c in self.by_channel.values() for s, n in c.items() if status in (None, s))

    def channel(self, channel: str, status: str) -> int:
        """Rows of one channel in one status."""
        return self.by_channel.get(channel, {}).get(status, 0)

    def add(self, channel: str, status: str, delta: int) -> None:
        """Move the count of one channel's status by delta."""
        per = self.by_channel.setdefault(channel, {})
        per[status] = per.get(status, 0) + delta

    def guest_row(
        self, guest_id: int, channel: str, status: str, error_code: str | None = None
    ) -> None:
        """The guest's row on `channel` now stands at `status` (the guests' numbers follow)."""
        if self.guests is not None:
            self.guests.set(guest_id, Channel(channel), status, error_code)


class DeliveryRepository:
    """SQL of the delivery engine: populate, claim, finish, counts, recovery, run state."""

    def __init__(self, db: Database, tz: tzinfo = UTC) -> None:
        """Use `db` (the engine's own connection; writes are short transactions); `tz` is
        TIMEZONE, where a day of the segment conditions starts."""
        self.db = db
        self.tz = tz

    # ------------------------------------------------------------------ mailing status
    async def move(
        self,
        mailing_id: int,
        status: MailingStatus,
        expected: Sequence[MailingStatus],
        conn: Any = None,
    ) -> bool:
        """Compare-and-set the mailing's status, stamping started_at / finished_at."""
        sql, params = status_change(mailing_id, status, expected, now_text())
        if conn is not None:
            cursor = await conn.execute(sql, params)
            return bool(cursor.rowcount == 1)
        return await self.db.execute(sql, params) == 1

    async def status(self, mailing_id: int) -> MailingStatus | None:
        """The mailing's status now (None if it does not exist)."""
        value = await self.db.fetchval("SELECT status FROM mailings WHERE id = ?", (mailing_id,))
        return None if value is None else MailingStatus(value)

    async def mailings_in(self, statuses: Sequence[MailingStatus]) -> list[int]:
        """Ids of mailings in any of the statuses, oldest first."""
        rows = await self.db.fetchall(
            f"SELECT id FROM mailings WHERE status IN ({', '.join('?' * len(statuses))}) "
            "ORDER BY id",
            list(statuses),
        )
        return [int(r[0]) for r in rows]

    # ------------------------------------------------------------------ run state
    async def start_run(self, mailing_id: int, launched_by: int | None) -> None:
        """Create the run record (kept on resume); a new launcher replaces the old one."""
        now = now_text()
        await self.db.execute(
            "INSERT INTO mailing_runs (mailing_id, launched_by, created_at, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (mailing_id) DO UPDATE SET "
            "launched_by = COALESCE(excluded.launched_by, launched_by), ended_at = NULL, "
            "updated_at = ?",
            (mailing_id, launched_by, now, now, now),
        )

    async def end_run(self, mailing_id: int) -> None:
        """The run's task ended with every claimed row finished and written."""
        now = now_text()
        await self.db.execute(
            "UPDATE mailing_runs SET ended_at = ?, updated_at = ? WHERE mailing_id = ?",
            (now, now, mailing_id),
        )

    async def run_state(self, mailing_id: int) -> RunState | None:
        """The engine's record of the mailing's run, if it ever started."""
        row = await self.db.fetchone(
            "SELECT * FROM mailing_runs WHERE mailing_id = ?", (mailing_id,)
        )
        if row is None:
            return None
        paused = tuple(Channel(c) for c in str(row["paused_channels"]).split(",") if c)
        return RunState(
            mailing_id=int(row["mailing_id"]),
            launched_by=row["launched_by"],
            populate_until=row["populate_until"],
            populate_cursor=int(row["populate_cursor"]),
            populated=bool(row["populated"]),
            paused_channels=paused,
            last_error=row["last_error"],
            progress_chat_id=row["progress_chat_id"],
            progress_message_id=row["progress_message_id"],
        )

    async def set_paused_channels(
        self, mailing_id: int, channels: Sequence[Channel], last_error: str | None = None
    ) -> None:
        """Record which channels are paused (after failures in a row) and why."""
        await self.db.execute(
            "UPDATE mailing_runs SET paused_channels = ?, last_error = COALESCE(?, last_error), "
            "updated_at = ? WHERE mailing_id = ?",
            (",".join(channels), last_error, now_text(), mailing_id),
        )

    async def set_progress_message(self, mailing_id: int, chat_id: int, message_id: int) -> None:
        """Remember the progress message, so a restarted bot keeps editing the same one."""
        await self.db.execute(
            "UPDATE mailing_runs SET progress_chat_id = ?, progress_message_id = ?, "
            "updated_at = ? WHERE mailing_id = ?",
            (chat_id, message_id, now_text(), mailing_id),
        )

    async def set_image_file_id(self, mailing_id: int, file_id: str | None) -> None:
        """Remember (or forget, when Telegram refuses it) the uploaded image's file_id."""
        await self.db.execute(
            "UPDATE mailings SET image_file_id = ?, updated_at = ? WHERE id = ?",
            (file_id, now_text(), mailing_id),
        )

    # ------------------------------------------------------------------ populate
    async def segment(self, segment_id: int) -> Segment | None:
        """The segment a run writes rows for."""
        return await SegmentRepository(self.db, self.tz).get(segment_id)

    async def freeze_segment(self, mailing_id: int) -> int:
        """Fix the largest guest id the run covers (first call only); returns it."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE mailing_runs SET populate_until = "
                "(SELECT COALESCE(MAX(id), 0) FROM guests), updated_at = ? "
                "WHERE mailing_id = ? AND populate_until IS NULL",
                (now_text(), mailing_id),
            )
            async with conn.execute(
                "SELECT populate_until FROM mailing_runs WHERE mailing_id = ?", (mailing_id,)
            ) as cursor:
                row = await cursor.fetchone()
        if row is None:
            raise LookupError(f"mailing {mailing_id} has no run record")
        return int(row[0])

    async def populate_page(
        self,
        mailing_id: int,
        channels: Sequence[Channel],
        send_mode: SendMode,
        segment: Segment,
        today: date,
        after_id: int,
        upto_id: int,
        *,
        last: bool,
        cap: tuple[int, str] | None = None,
    ) -> int:
        """Write the rows of the segment's guests (as of `today`) with ids in (after_id,
        upto_id]; one transaction with the cursor, so a crash resumes at the page.
        Returns rows written.

        all: one row per chosen channel. priority: the first channel's row; a guest
        it cannot reach gets a skipped row there and the next channel's row, and so on.
        `cap` (days, since: UTC ISO): a guest sent another mailing since then gets
        its pending rows skipped ("frequency cap").
        """
        segment_sql, segment_params = where_clause(segment, today=today, tz=self.tz)
        now = now_text()
        written = 0
        async with self.db.transaction() as conn:
            unreachable: list[str] = []
            for channel in channels:
                sql = (
                    INSERT_ROW + row_select(channel) + "FROM guests WHERE guests.id > ? "
                    f"AND guests.id <= ? AND ({segment_sql})"
                )
                sql += "".join(f" AND NOT {REACHABLE[c]}" for c in unreachable)
                cursor = await conn.execute(
                    sql, [mailing_id, now, after_id, upto_id, *segment_params]
                )
                written += max(cursor.rowcount, 0)
                if send_mode == SendMode.PRIORITY:
                    unreachable.append(channel)
            if cap is not None:
                days, since = cap
                await conn.execute(_HOLD_BACK, (days, now, mailing_id, after_id, upto_id, since))
            await conn.execute(
                "UPDATE mailing_runs SET populate_cursor = ?, populated = ?, updated_at = ? "
                "WHERE mailing_id = ?",
                (upto_id, int(last), now, mailing_id),
            )
        return written

    async def counts(self, mailing_id: int) -> Counts:
        """The mailing's rows by channel and status."""
        rows = await self.db.fetchall(
            "SELECT channel, status, COUNT(*) FROM deliveries WHERE mailing_id = ? "
            "GROUP BY channel, status",
            (mailing_id,),
        )
        found: dict[str, dict[str, int]] = {}
        for channel, status, count in rows:
            found.setdefault(Channel(channel), {})[DeliveryStatus(status)] = int(count)
        return Counts(found)

    async def run_counts(self, mailing_id: int) -> Counts:
        """The mailing's rows by channel and status with every guest's state, in one read
        (a run keeps both up to date as rows finish)."""
        tally = await GuestCountRepository(self.db).tally(mailing_id)
        return Counts(rows_of(tally.histogram), tally)

    async def save_guest_counts(self, mailing_id: int) -> None:
        """Keep the mailing's numbers in guests as its rows stand now (a run ended)."""
        await GuestCountRepository(self.db).save(mailing_id, now_text())

    # ------------------------------------------------------------------ admin actions
    async def cancel(self, mailing_id: int, expected: Sequence[MailingStatus]) -> bool:
        """Cancel the mailing and mark its unsent rows skipped ("cancelled"), atomically."""
        async with self.db.transaction() as conn:
            if not await self.move(mailing_id, MailingStatus.CANCELLED, expected, conn=conn):
                return False
            await conn.execute(
                "UPDATE deliveries SET status = ?, error_code = ?, error = ?, "
                "updated_at = ? WHERE mailing_id = ? AND status = ?",
                (
                    DeliveryStatus.SKIPPED,
                    *CANCELLED,
                    now_text(),
                    mailing_id,
                    DeliveryStatus.PENDING,
                ),
            )
        return True

    async def resend_unknown(self, mailing_id: int) -> int:
        """Make the mailing's `unknown` rows pending again (the admin decided); returns how many."""
        return await self.db.execute(
            "UPDATE deliveries SET status = ?, error_code = NULL, error = NULL, "
            "updated_at = ? WHERE mailing_id = ? AND status = ?",
            (DeliveryStatus.PENDING, now_text(), mailing_id, DeliveryStatus.UNKNOWN),
        )

    async def recover(self) -> int:
        """At start, before any run: rows left `sending` become `unknown` (never resent by
        themselves). Only runs that did not end cleanly can hold such rows, whatever
        their mailing's status now (a cancelled one may have had sends in flight)."""
        now = now_text()
        async with self.db.transaction() as conn:
            cursor = await conn.execute(_INTERRUPT.format(only=""), (*INTERRUPTED, now))
            count = max(cursor.rowcount, 0)
            # No run is alive yet: every run record is over now (a resumed one is
            # marked "not ended" again as it starts), so none is scanned twice.
            await conn.execute(
                "UPDATE mailing_runs SET ended_at = ? WHERE ended_at IS NULL", (now,)
            )
        return count

    async def interrupted(self, mailing_id: int) -> int:
        """Before a new run of the mailing: rows its last run left `sending` (it broke
        without writing them) become `unknown`. Only a run not marked ended has any."""
        return await self.db.execute(
            _INTERRUPT.format(only=" AND mailing_id = ?"), (*INTERRUPTED, now_text(), mailing_id)
        )

    async def complete(self, mailing_id: int) -> bool:
        """Move a running mailing to `completed` unless rows became pending meanwhile
        (the admin resent unknown ones at the very end); True if it moved."""
        now = now_text()
        changed = await self.db.execute(
            "UPDATE mailings SET status = ?, updated_at = ?, finished_at = ? "
            "WHERE id = ? AND status = ? AND NOT EXISTS (SELECT 1 FROM deliveries "
            "WHERE mailing_id = ? AND status = ?)",
            (
                MailingStatus.COMPLETED,
                now,
                now,
                mailing_id,
                MailingStatus.RUNNING,
                mailing_id,
                DeliveryStatus.PENDING,
            ),
        )
        return changed == 1
