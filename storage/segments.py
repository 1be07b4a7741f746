"""Segments: saved conditions over the guest base, and their guests as SQL.

The condition language and its JSON live in storage/segment_conditions.py, the
compilation to SQL in storage/segment_sql.py. `where_clause` turns a segment into
a WHERE fragment over the table `guests` (unaliased, columns qualified) with its
parameters, so the delivery engine can stream recipients:
`SELECT ... FROM guests WHERE {sql} AND guests.id > ?`.
A segment whose stored conditions cannot be read (an unknown version, a field
this release does not know) keeps its `problem` and matches no guest: its pages
say why instead of failing, and no mailing reaches guests it did not mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from storage.db import Database
from storage.guests import COLUMNS, Guest
from storage.segment_conditions import (
    Condition,
    ConditionError,
    Group,
    dump_groups,
    parse_condition,
    parse_conditions,
)
from storage.segment_sql import EMAIL_REACHABLE, TELEGRAM_REACHABLE, groups_sql
from storage.statuses import MailingStatus

ALL_GUESTS_ID = 1
_SELECT_GUEST = f"SELECT {', '.join('guests.' + c for c in COLUMNS)} FROM guests"

__all__ = [
    "ALL_GUESTS_ID",
    "Condition",
    "ConditionError",
    "Group",
    "Segment",
    "SegmentRepository",
    "parse_condition",
    "parse_conditions",
    "where_clause",
]


class SegmentNameTaken(ValueError):
    """Another segment already has this name."""


@dataclass(frozen=True)
class Segment:
    """A stored segment; `name` is the stored one (the built-in's is translated on display)."""

    id: int
    name: str
    groups: tuple[Group, ...]
    is_builtin: bool
    created_at: datetime
    problem: str | None = None  # why the stored conditions could not be read
    deleted: bool = False  # kept for past mailings' history only

    @property
    def is_all_guests(self) -> bool:
        return self.id == ALL_GUESTS_ID


@dataclass(frozen=True)
class Reach:
    """How many guests of a segment each channel can reach."""

    total: int
    telegram: int
    email: int
    neither: int
    both: int


@dataclass(frozen=True)
class Longest:
    """The longest values in a segment, for a worst-case length check of a message."""

    first_name: int
    last_name: int
    middle_name: int
    max_balance_cents: int
    min_balance_cents: int


@dataclass(frozen=True)
class Usage:
    """What uses a segment: scheduled mailings and enabled promotions, by name."""

    mailings: tuple[str, ...]
    promotions: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.mailings or self.promotions)


def where_clause(
    segment: Segment, *, today: date | None = None, tz: tzinfo = UTC
) -> tuple[str, list[Any]]:
    """The segment's guests as a WHERE fragment over `guests` and its parameters ("1": all);
    `today` and `tz` are TIMEZONE's date and zone."""
    if segment.problem is not None:
        return "0", []
    if not segment.groups:
        return "1", []
    sql, params = groups_sql(segment.groups, today or datetime.now(tz).date(), tz)
    return f"({sql})", params


def _as_groups(
    conditions: Sequence[Condition] | Sequence[Sequence[Condition]],
) -> list[list[Condition]]:
    """A flat list (one AND group) or a list of groups, as groups."""
    if all(isinstance(c, Condition) for c in conditions):
        return [list(conditions)] if conditions else []  # type: ignore[arg-type]
    return [list(group) for group in conditions]  # type: ignore[arg-type]


class SegmentRepository:
    """Reads segments and counts their guests; the SQL of segments lives here."""

    def __init__(self, db: Database, tz: tzinfo = UTC) -> None:
        """`tz`: TIMEZONE, where a day of the conditions starts."""
        self.db = db
        self.tz = tz

    @staticmethod
    def _from_row(row: Any) -> Segment:
        groups: tuple[Group, ...] = ()
        problem = None
        try:
            groups = parse_conditions(row["conditions"])
        except ConditionError as exc:
            problem = str(exc)
        return Segment(
            id=int(row["id"]),
            name=str(row["name"]),
            groups=groups,
            is_builtin=bool(row["is_builtin"]),
            created_at=datetime.fromisoformat(row["created_at"]),
            problem=problem,
            deleted=row["deleted_at"] is not None,
        )

    async def list(self) -> list[Segment]:
        """Every segment, "All guests" first, then by name."""
        rows = await self.db.fetchall(
            "SELECT * FROM segments WHERE deleted_at IS NULL "
            "ORDER BY id <> ?, is_builtin DESC, name COLLATE NOCASE",
            (ALL_GUESTS_ID,),
        )
        return [self._from_row(row) for row in rows]

    async def get(self, segment_id: int) -> Segment | None:
        row = await self.db.fetchone("SELECT * FROM segments WHERE id = ?", (segment_id,))
        return None if row is None else self._from_row(row)

    async def create(
        self, name: str, conditions: Sequence[Condition] | Sequence[Sequence[Condition]]
    ) -> Segment:
        """A new segment: a flat list of conditions (all must hold) or OR-ed groups of them."""
        stored = dump_groups(_as_groups(conditions))
        now = datetime.now().astimezone().isoformat(timespec="seconds")
        async with self.db.transaction() as conn:
            if await self._taken(conn, name, None):
                raise SegmentNameTaken(name)
            cursor = await conn.execute(
                "INSERT INTO segments (name, conditions, is_builtin, created_at) "
                "VALUES (?, ?, 0, ?)",
                (name, stored, now),
            )
            segment_id = cursor.lastrowid
        segment = await self.get(int(segment_id or 0))
        assert segment is not None
        return segment

    @staticmethod
    async def _taken(conn: Any, name: str, other_than: int | None) -> bool:
        cursor = await conn.execute(
            "SELECT 1 FROM segments WHERE name = ? COLLATE NOCASE AND id IS NOT ?",
            (name, other_than),
        )
        return await cursor.fetchone() is not None

    async def rename(self, segment_id: int, name: str) -> None:
        """A custom segment's new name (the built-in one keeps its own)."""
        async with self.db.transaction() as conn:
            if await self._taken(conn, name, segment_id):
                raise SegmentNameTaken(name)
            await conn.execute(
                "UPDATE segments SET name = ? WHERE id = ? AND is_builtin = 0", (name, segment_id)
            )

    async def update(self, segment_id: int, groups: Sequence[Sequence[Condition]]) -> None:
        """A custom segment's new conditions."""
        await self.db.execute(
            "UPDATE segments SET conditions = ? WHERE id = ? AND is_builtin = 0",
            (dump_groups(_as_groups(groups)), segment_id),
        )

    async def usage(self, segment_id: int) -> Usage:
        """Scheduled mailings and enabled, not deleted promotions that use the segment."""
        mailings = await self.db.fetchall(
            "SELECT name FROM mailings WHERE segment_id = ? AND status = ? ORDER BY scheduled_at",
            (segment_id, MailingStatus.SCHEDULED),
        )
        promotions = await self.db.fetchall(
            "SELECT name FROM promotions WHERE segment_id = ? AND enabled = 1 "
            "AND deleted_at IS NULL ORDER BY name",
            (segment_id,),
        )
        return Usage(tuple(r[0] for r in mailings), tuple(r[0] for r in promotions))

    async def delete(self, segment_id: int) -> Usage:
        """Delete a custom segment unless a scheduled mailing or an enabled promotion uses
        it (then nothing changes and the answer names them).

        A segment past mailings or disabled promotions still refer to stays as a hidden
        row under a freed name ("VIP (#5)"), so their history keeps its segment."""
        async with self.db.transaction() as conn:
            usage = await self.usage(segment_id)
            if usage:
                return usage
            cursor = await conn.execute(
                "SELECT EXISTS (SELECT 1 FROM mailings WHERE segment_id = ?) "
                "OR EXISTS (SELECT 1 FROM promotions WHERE segment_id = ?)",
                (segment_id, segment_id),
            )
            row = await cursor.fetchone()
            if row and row[0]:
                now = datetime.now().astimezone().isoformat(timespec="seconds")
                await conn.execute(
                    "UPDATE segments SET deleted_at = ?, name = name || ' (#' || id || ')' "
                    "WHERE id = ? AND is_builtin = 0 AND deleted_at IS NULL",
                    (now, segment_id),
                )
            else:
                await conn.execute(
                    "DELETE FROM segments WHERE id = ? AND is_builtin = 0", (segment_id,)
                )
        return usage

    async def count(self, segment: Segment, *, today: date | None = None) -> int:
        sql, params = where_clause(segment, today=today, tz=self.tz)
        return int(await self.db.fetchval(f"SELECT COUNT(*) FROM guests WHERE {sql}", params))

    async def reach(self, segment: Segment, *, today: date | None = None) -> Reach:
        """Totals per channel: telegram-reachable, email-reachable, neither, both."""
        sql, params = where_clause(segment, today=today, tz=self.tz)
        row = await self.db.fetchone(
            f"SELECT COUNT(*), COALESCE(SUM({TELEGRAM_REACHABLE}), 0), "
            f"COALESCE(SUM({EMAIL_REACHABLE}), 0), "
            f"COALESCE(SUM({TELEGRAM_REACHABLE} AND {EMAIL_REACHABLE}), 0) "
            f"FROM guests WHERE {sql}",
            params,
        )
        total, telegram, email, both = (int(v) for v in row) if row else (0, 0, 0, 0)
        return Reach(total, telegram, email, total - telegram - email + both, both)

    async def count_without(
        self, segment: Segment, names: Sequence[str], *, today: date | None = None
    ) -> int:
        """Guests of the segment missing any of these name parts (first, last, middle)."""
        columns = [c for c in ("first_name", "last_name", "middle_name") if c in names]
        if not columns:
            return 0
        blank = " OR ".join(f"COALESCE(TRIM(guests.{c}), '') = ''" for c in columns)
        sql, params = where_clause(segment, today=today, tz=self.tz)
        row = await self.db.fetchone(
            f"SELECT COUNT(*) FROM guests WHERE {sql} AND ({blank})", params
        )
        return int(row[0]) if row else 0

    async def longest(self, segment: Segment, *, today: date | None = None) -> Longest:
        """The longest names and the extreme balances among the segment's guests."""
        sql, params = where_clause(segment, today=today, tz=self.tz)
        row = await self.db.fetchone(
            "SELECT COALESCE(MAX(length(guests.first_name)), 0), "
            "COALESCE(MAX(length(guests.last_name)), 0), "
            "COALESCE(MAX(length(guests.middle_name)), 0), "
            "COALESCE(MAX(guests.balance_cents), 0), COALESCE(MIN(guests.balance_cents), 0) "
            f"FROM guests WHERE {sql}",
            params,
        )
        values = [int(v) for v in row] if row else [0] * 5
        return Longest(*values)

    async def sample(
        self, segment: Segment, *, today: date | None = None, channels: Sequence[str] = ()
    ) -> Guest | None:
        """A real guest of the segment to preview with: one the channels reach, with a name,
        the longest first."""
        sql, params = where_clause(segment, today=today, tz=self.tz)
        reach = [TELEGRAM_REACHABLE if c == "telegram" else EMAIL_REACHABLE for c in channels]
        reached = f"NOT ({' OR '.join(reach)}), " if reach else ""
        row = await self.db.fetchone(
            f"{_SELECT_GUEST} WHERE {sql} ORDER BY {reached}guests.first_name IS NULL, "
            "length(COALESCE(guests.last_name, '') || COALESCE(guests.first_name, '') || "
            "COALESCE(guests.middle_name, '')) DESC, guests.id LIMIT 1",
            params,
        )
        return None if row is None else Guest.from_row(row)
