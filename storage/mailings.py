"""Mailings, one-off or occurrences of a promotion: what to send, to whom, when, status.

Times are stored as ISO-8601 text in UTC with seconds ("2026-03-08T09:00:00+00:00"),
so comparing the text compares the moments. Status changes are compare-and-set,
so the scheduler, the engine and an admin's button cannot overwrite each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from storage.db import Database
from storage.statuses import FINISHED_MAILING, Channel, MailingKind, MailingStatus, SendMode

# The names this module had before the types lived in storage/statuses.py.
Status = MailingStatus
STATUSES: tuple[MailingStatus, ...] = tuple(MailingStatus)
CHANNELS: tuple[Channel, ...] = tuple(Channel)
SEND_MODES: tuple[SendMode, ...] = tuple(SendMode)
FINISHED = FINISHED_MAILING

COLUMNS = (
    "id", "name", "segment_id", "scheduled_at", "channels", "send_mode", "subject", "text_html",
    "image_path", "image_file_id", "status", "locale", "created_by", "created_at", "updated_at",
    "started_at", "finished_at", "kind", "promotion_id", "occurrence_at", "cap_days",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM mailings"


def to_db_time(moment: datetime) -> str:
    """An aware datetime as the stored UTC text (naive ones are refused)."""
    if moment.tzinfo is None:
        raise ValueError("mailing times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


def _now() -> str:
    return to_db_time(datetime.now(UTC))


@dataclass(frozen=True)
class Mailing:
    """A stored mailing; times aware in UTC, channels in priority order."""

    id: int
    name: str
    segment_id: int
    scheduled_at: datetime
    channels: tuple[Channel, ...]
    send_mode: SendMode
    subject: str | None
    text_html: str | None
    image_path: str | None
    image_file_id: str | None
    status: MailingStatus
    locale: str
    created_by: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    # One-off, or one occurrence (its moment, UTC) of a segment promotion.
    kind: MailingKind = MailingKind.ONE_OFF
    promotion_id: int | None = None
    occurrence_at: datetime | None = None
    cap_days: int | None = None  # "at most one mailing every N days" to the same guest

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Mailing:
        values = dict(zip(COLUMNS, tuple(row), strict=True))
        values["channels"] = tuple(Channel(c) for c in str(values["channels"]).split(",") if c)
        values["send_mode"] = SendMode(values["send_mode"])
        values["status"] = MailingStatus(values["status"])
        values["kind"] = MailingKind(values["kind"])
        times = ("scheduled_at", "created_at", "updated_at", "started_at", "finished_at")
        for name in (*times, "occurrence_at"):
            values[name] = _time(values[name])
        return cls(**values)

    @property
    def uses_telegram(self) -> bool:
        return Channel.TELEGRAM in self.channels

    @property
    def uses_email(self) -> bool:
        return Channel.EMAIL in self.channels


def status_change(
    mailing_id: int, status: str, expected: Sequence[str] | None, now: str
) -> tuple[str, list[Any]]:
    """The compare-and-set UPDATE (SQL and parameters) moving a mailing to `status` from one
    of `expected` (from any when None) at `now`: going to running stamps started_at the
    first time, a finished status stamps finished_at."""
    sql = "UPDATE mailings SET status = ?, updated_at = ?"
    params: list[Any] = [status, now]
    if status == MailingStatus.RUNNING:
        sql += ", started_at = COALESCE(started_at, ?)"
        params.append(now)
    if status in FINISHED:
        sql += ", finished_at = ?"
        params.append(now)
    sql += " WHERE id = ?"
    params.append(mailing_id)
    if expected is not None:
        sql += f" AND status IN ({', '.join('?' * len(expected))})"
        params.extend(expected)
    return sql, params


def _check_channels(channels: Sequence[str], send_mode: str) -> str:
    if not channels or len(set(channels)) != len(channels):
        raise ValueError(f"channels must be one or two distinct channels, got {channels!r}")
    if any(c not in CHANNELS for c in channels):
        raise ValueError(f"unknown channel in {channels!r}")
    if send_mode not in SEND_MODES:
        raise ValueError(f"unknown send mode {send_mode!r}")
    return ",".join(channels)


def _like(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class DraftTaken(Exception):
    """The draft was already stored as a mailing (a repeated Confirm)."""

    def __init__(self, mailing: Mailing) -> None:
        super().__init__(f"the draft is already mailing {mailing.id}")
        self.mailing = mailing


class MailingRepository:
    """SQL for mailings; knows nothing of Telegram or SMTP."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        *,
        name: str,
        segment_id: int,
        scheduled_at: datetime,
        channels: Sequence[str],
        send_mode: str = SendMode.ALL,
        subject: str | None = None,
        text_html: str | None = None,
        image_path: str | None = None,
        image_file_id: str | None = None,
        locale: str = "ru",
        created_by: int,
        status: MailingStatus = MailingStatus.SCHEDULED,
        draft_key: str | None = None,
    ) -> Mailing:
        """Store a new mailing (scheduled unless told otherwise).

        With a `draft_key`, at most one mailing is ever stored per key: a second
        create of the same draft raises DraftTaken with the mailing the first made."""
        stored_channels = _check_channels(channels, send_mode)
        now = _now()
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO mailings (name, segment_id, scheduled_at, channels, send_mode, "
                "subject, text_html, image_path, image_file_id, status, locale, created_by, "
                "created_at, updated_at, draft_key) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (draft_key) DO NOTHING",
                (
                    name,
                    segment_id,
                    to_db_time(scheduled_at),
                    stored_channels,
                    send_mode,
                    subject,
                    text_html,
                    image_path,
                    image_file_id,
                    status,
                    locale,
                    created_by,
                    now,
                    now,
                    draft_key,
                ),
            )
            created = cursor.rowcount == 1
            mailing_id = int(cursor.lastrowid or 0)
        if not created:
            assert draft_key is not None
            taken = await self.by_draft_key(draft_key)
            assert taken is not None
            raise DraftTaken(taken)
        mailing = await self.get(mailing_id)
        assert mailing is not None
        return mailing

    async def create_occurrence(
        self,
        *,
        promotion_id: int,
        occurrence_at: datetime,
        name: str,
        segment_id: int,
        channels: Sequence[str],
        send_mode: str = SendMode.ALL,
        subject: str | None = None,
        text_html: str | None = None,
        image_path: str | None = None,
        locale: str = "ru",
        created_by: int,
        cap_days: int | None = None,
        status: MailingStatus = MailingStatus.SCHEDULED,
    ) -> tuple[Mailing, bool]:
        """The mailing of one occurrence of a promotion, scheduled at the occurrence's moment;
        True when this call stored it, False when it already existed (the unique index
        mailings_one_per_occurrence decides, whoever fires it, however often)."""
        stored_channels = _check_channels(channels, send_mode)
        now = _now()
        moment = to_db_time(occurrence_at)
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO mailings (name, segment_id, scheduled_at, channels, send_mode, "
                "subject, text_html, image_path, status, locale, created_by, created_at, "
                "updated_at, finished_at, kind, promotion_id, occurrence_at, cap_days) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (promotion_id, occurrence_at) WHERE promotion_id IS NOT NULL "
                "DO NOTHING",
                (
                    name,
                    segment_id,
                    moment,
                    stored_channels,
                    send_mode,
                    subject,
                    text_html,
                    image_path,
                    status,
                    locale,
                    created_by,
                    now,
                    now,
                    now if status in FINISHED else None,  # a missed one is over at once
                    MailingKind.PROMOTION,
                    promotion_id,
                    moment,
                    cap_days,
                ),
            )
            created = cursor.rowcount == 1
        mailing = await self.by_occurrence(promotion_id, occurrence_at)
        assert mailing is not None
        return mailing, created

    async def by_occurrence(self, promotion_id: int, occurrence_at: datetime) -> Mailing | None:
        """The mailing of one occurrence of a promotion, if there is one."""
        row = await self.db.fetchone(
            f"{_SELECT} WHERE promotion_id = ? AND occurrence_at = ?",
            (promotion_id, to_db_time(occurrence_at)),
        )
        return None if row is None else Mailing.from_row(row)

    async def of_promotion(self, promotion_id: int, *, limit: int = 10) -> list[Mailing]:
        """A promotion's mailings, the latest occurrence first."""
        rows = await self.db.fetchall(
            f"{_SELECT} WHERE promotion_id = ? ORDER BY occurrence_at DESC, id DESC LIMIT ?",
            (promotion_id, limit),
        )
        return [Mailing.from_row(row) for row in rows]

    async def by_draft_key(self, draft_key: str) -> Mailing | None:
        """The mailing a draft became, if it did."""
        row = await self.db.fetchone(f"{_SELECT} WHERE draft_key = ?", (draft_key,))
        return None if row is None else Mailing.from_row(row)

    async def get(self, mailing_id: int) -> Mailing | None:
        row = await self.db.fetchone(f"{_SELECT} WHERE id = ?", (mailing_id,))
        return None if row is None else Mailing.from_row(row)

    async def list_between(
        self,
        start: datetime,
        end: datetime,
        *,
        query: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[Mailing]:
        """Mailings scheduled in [start, end), newest first; `query` matches the name."""
        sql = f"{_SELECT} WHERE scheduled_at >= ? AND scheduled_at < ?"
        params: list[Any] = [to_db_time(start), to_db_time(end)]
        if query:
            sql += " AND name LIKE ? ESCAPE '\\'"
            params.append(_like(query))
        sql += " ORDER BY scheduled_at DESC, id DESC LIMIT ? OFFSET ?"
        rows = await self.db.fetchall(sql, [*params, limit, offset])
        return [Mailing.from_row(row) for row in rows]

    async def recent(self, *, limit: int = 10, offset: int = 0) -> list[Mailing]:
        """The history list: scheduled ones first (soonest first), then the rest, newest first."""
        rows = await self.db.fetchall(
            f"{_SELECT} ORDER BY status <> :scheduled, "
            "CASE WHEN status = :scheduled THEN scheduled_at END ASC, "
            "scheduled_at DESC, id DESC LIMIT :limit OFFSET :offset",
            {"scheduled": MailingStatus.SCHEDULED, "limit": limit, "offset": offset},
        )
        return [Mailing.from_row(row) for row in rows]

    async def count(self) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM mailings"))

    async def due(self, now: datetime) -> list[Mailing]:
        """Scheduled mailings whose moment has come, oldest first."""
        rows = await self.db.fetchall(
            f"{_SELECT} WHERE status = ? AND scheduled_at <= ? ORDER BY scheduled_at, id",
            (MailingStatus.SCHEDULED, to_db_time(now)),
        )
        return [Mailing.from_row(row) for row in rows]

    async def set_status(
        self,
        mailing_id: int,
        status: MailingStatus | str,
        *,
        expected: str | tuple[str, ...] | None = None,
    ) -> bool:
        """Move to `status` if the current one is `expected` (any when None); True if moved.

        Going to running stamps started_at (the first time); a finished status stamps
        finished_at.
        """
        if status not in STATUSES:
            raise ValueError(f"unknown mailing status {status!r}")
        wanted = (expected,) if isinstance(expected, str) else expected
        return await self.db.execute(*status_change(mailing_id, status, wanted, _now())) == 1

    async def reschedule(self, mailing_id: int, when: datetime) -> bool:
        """A new moment for a mailing that has not started; False otherwise."""
        changed = await self.db.execute(
            "UPDATE mailings SET scheduled_at = ?, updated_at = ? WHERE id = ? AND status = ?",
            (to_db_time(when), _now(), mailing_id, MailingStatus.SCHEDULED),
        )
        return changed == 1

    async def cancel(self, mailing_id: int) -> bool:
        """Cancel a mailing that is scheduled or paused; False when it is past that."""
        return await self.set_status(
            mailing_id,
            MailingStatus.CANCELLED,
            expected=(MailingStatus.SCHEDULED, MailingStatus.PAUSED),
        )

    async def set_image_file_id(self, mailing_id: int, file_id: str) -> None:
        """Remember the Telegram file_id of the mailing's image once it has been uploaded."""
        await self.db.execute(
            "UPDATE mailings SET image_file_id = ?, updated_at = ? WHERE id = ?",
            (file_id, _now(), mailing_id),
        )
