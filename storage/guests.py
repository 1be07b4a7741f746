"""The guest base: bonus accounts, their contacts and Telegram links, and their tags."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import aiosqlite

from storage.db import Database
from storage.guest_upsert import (
    DATA_FIELDS,
    WRITTEN,
    CardConflict,
    GuestRecord,
    Sex,
    UpsertPlan,
    UpsertResult,
    search_key,
    search_text_of,
)

__all__ = [
    "COLUMNS",
    "DATA_FIELDS",
    "CardConflict",
    "Guest",
    "GuestCounts",
    "GuestRecord",
    "GuestRepository",
    "Sex",
    "UpsertResult",
    "search_key",
    "search_text_of",
]

TG_STATUSES = frozenset({"none", "active", "blocked", "unsubscribed"})
EMAIL_STATUSES = frozenset({"none", "active", "bounced", "unsubscribed"})
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_PHONE_QUERY = re.compile(r"^[\d\s()+\-]+$")

COLUMNS = (
    "id", "card_number", "phone", "email", "last_name", "first_name", "middle_name", "sex",
    "birthday", "balance_cents", "account_group", "registered_at", "last_visit_at",
    "visits_count", "total_spent_cents", "tg_user_id", "tg_chat_id", "tg_username",
    "tg_status", "email_status", "search_text", "created_at", "updated_at",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM guests"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class Guest:
    """A stored guest, every column typed."""

    id: int
    card_number: str | None
    phone: str
    email: str | None
    last_name: str | None
    first_name: str | None
    middle_name: str | None
    sex: Sex | None
    birthday: date | None
    balance_cents: int
    account_group: str | None
    registered_at: date | None
    last_visit_at: date | None
    visits_count: int
    total_spent_cents: int
    tg_user_id: int | None
    tg_chat_id: int | None
    tg_username: str | None
    tg_status: str
    email_status: str
    search_text: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: aiosqlite.Row | Sequence[Any]) -> Guest:
        v = dict(zip(COLUMNS, tuple(row), strict=True))
        for name in ("birthday", "registered_at", "last_visit_at"):
            v[name] = _date(v[name])
        for name in ("created_at", "updated_at"):
            v[name] = datetime.fromisoformat(v[name])
        return cls(**v)

    @property
    def balance(self) -> Decimal:
        return Decimal(self.balance_cents).scaleb(-2)

    @property
    def total_spent(self) -> Decimal:
        return Decimal(self.total_spent_cents).scaleb(-2)

    @property
    def full_name(self) -> str:
        """Last, first and middle name joined by single spaces (the {full_name} variable)."""
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)


@dataclass(frozen=True, slots=True)
class GuestCounts:
    total: int
    telegram_reachable: int
    email_reachable: int


class GuestRepository:
    """Reads and writes guests: imports via upsert_many, Telegram links via link_telegram."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert_many(self, records: Sequence[GuestRecord]) -> UpsertResult:
        """Add or update guests in one transaction, matching by phone, else by card number.

        Only fields a record gives are written, so an import never blanks data;
        Telegram fields are never touched. Records apply in order: a later one
        for the same guest updates what an earlier one wrote.
        """
        if not records:
            return UpsertResult(0, 0, 0)
        phones = json.dumps([r.phone for r in records])
        cards = json.dumps([r.card_number for r in records if r.card_number is not None])
        async with self.db.transaction() as conn:
            sql = (
                f"SELECT id, {', '.join(WRITTEN)} FROM guests "
                "WHERE phone IN (SELECT value FROM json_each(?)) UNION "
                f"SELECT id, {', '.join(WRITTEN)} FROM guests "
                "WHERE card_number IN (SELECT value FROM json_each(?))"
            )
            async with conn.execute(sql, (phones, cards)) as cursor:
                rows = await cursor.fetchall()
            tags = None
            if rows and any(r.tags is not None for r in records):
                tags = await self._load_tags(conn, [row["id"] for row in rows])
            plan = UpsertPlan()
            for keep_steps in (False, True):
                plan = UpsertPlan(keep_steps=keep_steps)
                for row in rows:
                    plan.load(row, tags)
                for index, record in enumerate(records):
                    plan.apply(index, record)
                if not plan.sequential:
                    break  # else plan again, remembering every step
            await plan.write(conn, _now())
        return UpsertResult(plan.added, plan.updated, plan.unchanged, tuple(plan.conflicts))

    @staticmethod
    async def _load_tags(
        conn: aiosqlite.Connection, guest_ids: list[int]
    ) -> dict[int, frozenset[str]]:
        found: dict[int, set[str]] = {}
        sql = (
            "SELECT guest_id, tag FROM guest_tags "
            "WHERE guest_id IN (SELECT value FROM json_each(?))"
        )
        async with conn.execute(sql, (json.dumps(guest_ids),)) as cursor:
            for guest_id, tag in await cursor.fetchall():
                found.setdefault(guest_id, set()).add(tag)
        return {guest_id: frozenset(tags) for guest_id, tags in found.items()}

    async def get(self, guest_id: int) -> Guest | None:
        row = await self.db.fetchone(f"{_SELECT} WHERE id = ?", (guest_id,))
        return None if row is None else Guest.from_row(row)

    async def by_phone(self, phone: str) -> Guest | None:
        row = await self.db.fetchone(f"{_SELECT} WHERE phone = ?", (phone,))
        return None if row is None else Guest.from_row(row)

    async def by_tg_user(self, user_id: int) -> Guest | None:
        row = await self.db.fetchone(f"{_SELECT} WHERE tg_user_id = ?", (user_id,))
        return None if row is None else Guest.from_row(row)

    async def search(self, query: str, limit: int = 10) -> list[Guest]:
        """Guests matching a phone/card fragment, or containing every word of the query."""
        query = query.strip()
        digits = "".join(ch for ch in query if ch.isdigit())
        if digits and _PHONE_QUERY.match(query):
            variants = [digits]
            if len(digits) == 11 and digits[0] == "8":
                variants.append("7" + digits[1:])
            cond = " OR ".join("instr(phone, ?) > 0 OR instr(card_number, ?) > 0" for _ in variants)
            params: list[Any] = [v for v in variants for _ in (0, 1)]
            sql = f"{_SELECT} WHERE {cond} ORDER BY id LIMIT ?"
        else:
            words = search_key(query).split()
            if not words:
                return []
            sql = f"{_SELECT} WHERE {' AND '.join('instr(search_text, ?) > 0' for _ in words)}"
            sql += " ORDER BY search_text, id LIMIT ?"
            params = list(words)
        rows = await self.db.fetchall(sql, [*params, limit])
        return [Guest.from_row(r) for r in rows]

    async def counts(self) -> GuestCounts:
        row = await self.db.fetchone(
            "SELECT COUNT(*), "
            "COALESCE(SUM(tg_status = 'active'), 0), "
            "COALESCE(SUM(email IS NOT NULL AND email_status = 'active'), 0) FROM guests"
        )
        assert row is not None
        return GuestCounts(int(row[0]), int(row[1]), int(row[2]))

    async def iter_all(self, page_size: int = 1000) -> AsyncIterator[Guest]:
        """Every guest in id order, a page at a time (constant memory)."""
        last_id = 0
        while True:
            rows = await self.db.fetchall(
                f"{_SELECT} WHERE id > ? ORDER BY id LIMIT ?", (last_id, page_size)
            )
            for row in rows:
                yield Guest.from_row(row)
            if len(rows) < page_size:
                return
            last_id = rows[-1]["id"]

    async def tags(self, guest_id: int) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT tag FROM guest_tags WHERE guest_id = ? ORDER BY tag", (guest_id,)
        )
        return [r[0] for r in rows]

    async def tags_for(self, guest_ids: Sequence[int]) -> dict[int, list[str]]:
        """The tags of many guests in one query (guests without tags are left out)."""
        found: dict[int, list[str]] = {}
        rows = await self.db.fetchall(
            "SELECT guest_id, tag FROM guest_tags "
            "WHERE guest_id IN (SELECT value FROM json_each(?)) ORDER BY guest_id, tag",
            (json.dumps(list(guest_ids)),),
        )
        for guest_id, tag in rows:
            found.setdefault(guest_id, []).append(tag)
        return found

    async def link_telegram(
        self,
        phone: str,
        user_id: int,
        chat_id: int,
        username: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> tuple[Guest, bool]:
        """Link a Telegram user to the guest with this E.164 phone, creating one if none.

        The user's previous link (another account) is dropped first. A stored
        name is kept; an empty one is filled from Telegram. Returns (guest, created).
        """
        if not _E164.match(phone):
            raise ValueError(f"phone must be E.164, got {phone!r}")
        first_name = (first_name or "").strip() or None
        last_name = (last_name or "").strip() or None
        now = _now()
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE guests SET tg_user_id = NULL, tg_chat_id = NULL, tg_username = NULL, "
                "tg_status = 'none', updated_at = ? WHERE tg_user_id = ? AND phone <> ?",
                (now, user_id, phone),
            )
            async with conn.execute(f"{_SELECT} WHERE phone = ?", (phone,)) as cursor:
                row = await cursor.fetchone()
            tg = (user_id, chat_id, username, now)
            if row is None:
                values = {"phone": phone, "first_name": first_name, "last_name": last_name}
                cursor = await conn.execute(
                    "INSERT INTO guests (phone, first_name, last_name, search_text, tg_user_id, "
                    "tg_chat_id, tg_username, tg_status, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)",
                    (phone, first_name, last_name, search_text_of(values), *tg, now),
                )
                guest_id = cursor.lastrowid
            else:
                guest_id = row["id"]
                values = dict(zip(COLUMNS, tuple(row), strict=True))
                values["first_name"] = values["first_name"] or first_name
                values["last_name"] = values["last_name"] or last_name
                await conn.execute(
                    "UPDATE guests SET first_name = ?, last_name = ?, search_text = ?, "
                    "tg_user_id = ?, tg_chat_id = ?, tg_username = ?, tg_status = 'active', "
                    "updated_at = ? WHERE id = ?",
                    (
                        values["first_name"],
                        values["last_name"],
                        search_text_of(values),
                        *tg,
                        guest_id,
                    ),
                )
            async with conn.execute(f"{_SELECT} WHERE id = ?", (guest_id,)) as cursor:
                stored = await cursor.fetchone()
        assert stored is not None
        return Guest.from_row(stored), row is None

    async def set_email_status(self, guest_id: int, status: str) -> Guest | None:
        """Mark a guest's email reachability; the guest as it is now (None if unknown)."""
        if status not in EMAIL_STATUSES:
            raise ValueError(f"unknown email_status {status!r}")
        await self.db.execute(
            "UPDATE guests SET email_status = ?, updated_at = ? WHERE id = ? AND email_status != ?",
            (status, _now(), guest_id, status),
        )
        return await self.get(guest_id)

    async def set_tg_status_by_user(self, user_id: int, status: str) -> bool:
        """Mark a Telegram user's reachability (blocked, unsubscribed, active); False if unknown."""
        if status not in TG_STATUSES:
            raise ValueError(f"unknown tg_status {status!r}")
        changed = await self.db.execute(
            "UPDATE guests SET tg_status = ?, updated_at = ? WHERE tg_user_id = ?",
            (status, _now(), user_id),
        )
        return changed > 0
