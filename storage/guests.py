"""The guest base: bonus accounts, their contacts and Telegram links, and their tags."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

import aiosqlite

from storage.db import Database

Sex = Literal["male", "female"]
TG_STATUSES = frozenset({"none", "active", "blocked", "unsubscribed"})
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_PHONE_QUERY = re.compile(r"^[\d\s()+\-]+$")

COLUMNS = (
    "id", "card_number", "phone", "email", "last_name", "first_name", "middle_name", "sex",
    "birthday", "balance_cents", "account_group", "registered_at", "last_visit_at",
    "visits_count", "total_spent_cents", "tg_user_id", "tg_chat_id", "tg_username",
    "tg_status", "email_status", "search_text", "created_at", "updated_at",
)  # fmt: skip
# The columns an import may fill; None in a record means "keep what is stored".
DATA_FIELDS = (
    "card_number", "email", "last_name", "first_name", "middle_name", "sex", "birthday",
    "balance_cents", "account_group", "registered_at", "last_visit_at", "visits_count",
    "total_spent_cents",
)  # fmt: skip
_WRITTEN = ("phone", *DATA_FIELDS, "email_status", "search_text")
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM guests"


def search_key(text: str) -> str:
    """Text as search_text stores it: case-folded, with ё read as е."""
    return text.casefold().replace("ё", "е")


def search_text_of(values: dict[str, Any]) -> str:
    """The search_text of a guest: "last first middle card phone-digits", case-folded."""
    phone = "".join(ch for ch in str(values.get("phone") or "") if ch.isdigit())
    parts = [values.get(k) for k in ("last_name", "first_name", "middle_name", "card_number")]
    return search_key(" ".join(str(p) for p in [*parts, phone] if p))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class GuestRecord:
    """One guest as an import delivers it; None means "not given, keep the stored value"."""

    phone: str
    card_number: str | None = None
    email: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    sex: Sex | None = None
    birthday: date | None = None
    balance_cents: int | None = None
    account_group: str | None = None
    registered_at: date | None = None
    last_visit_at: date | None = None
    visits_count: int | None = None
    total_spent_cents: int | None = None
    # None: keep the guest's tags (no tags column, or a blank cell); a tuple replaces them.
    tags: tuple[str, ...] | None = None


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


@dataclass(frozen=True, slots=True)
class CardConflict:
    """A record not written: its card number belongs to another guest."""

    index: int  # position in the records passed to upsert_many
    card_number: str
    other_phone: str


@dataclass(frozen=True, slots=True)
class UpsertResult:
    added: int
    updated: int
    unchanged: int
    conflicts: tuple[CardConflict, ...] = ()


@dataclass(eq=False, slots=True)
class _Slot:
    """One guest while a batch is planned: what is stored and what it will become."""

    id: int | None
    values: dict[str, Any]
    original: dict[str, Any] | None = None
    tags: frozenset[str] | None = None
    original_tags: frozenset[str] | None = None


@dataclass
class _Plan:
    """Applies records in order to the batch's guests in memory, then writes the outcome.

    Rows are written once each, in any order, which is safe unless a phone or card
    number leaves one guest and goes to another inside the batch; then every
    record is written in turn instead (`sequential`).
    """

    by_phone: dict[str, _Slot] = field(default_factory=dict)
    by_card: dict[str, _Slot] = field(default_factory=dict)
    slots: list[_Slot] = field(default_factory=list)
    steps: list[tuple[_Slot, bool, dict[str, Any], frozenset[str] | None]] = field(
        default_factory=list
    )
    released: set[tuple[str, str]] = field(default_factory=set)
    sequential: bool = False
    keep_steps: bool = False  # remember each record's outcome, for writing them in turn
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: list[CardConflict] = field(default_factory=list)

    def load(self, row: aiosqlite.Row, tags: dict[int, frozenset[str]] | None) -> None:
        values = {name: row[name] for name in _WRITTEN}
        slot = _Slot(row["id"], values, dict(values))
        if tags is not None:
            slot.tags = slot.original_tags = tags.get(row["id"], frozenset())
        self.slots.append(slot)
        self.by_phone[values["phone"]] = slot
        if values["card_number"] is not None:
            self.by_card[values["card_number"]] = slot

    def _take(self, kind: str, value: str, slot: _Slot) -> None:
        if (kind, value) in self.released:
            self.sequential = True
        (self.by_phone if kind == "phone" else self.by_card)[value] = slot

    def _release(self, kind: str, value: str) -> None:
        (self.by_phone if kind == "phone" else self.by_card).pop(value, None)
        self.released.add((kind, value))

    def apply(self, index: int, rec: GuestRecord) -> None:
        slot = self.by_phone.get(rec.phone)
        if slot is None and rec.card_number is not None:
            slot = self.by_card.get(rec.card_number)
        if rec.card_number is not None:
            holder = self.by_card.get(rec.card_number)
            if holder is not None and holder is not slot:
                phone = holder.values["phone"]
                self.conflicts.append(CardConflict(index, rec.card_number, phone))
                return
        created = slot is None
        if slot is None:
            values = dict.fromkeys(_WRITTEN)
            values.update(balance_cents=0, visits_count=0, total_spent_cents=0)
            values.update(phone=rec.phone, email_status="none")
            slot = _Slot(None, values)
            self.slots.append(slot)
            self._take("phone", rec.phone, slot)
        values = slot.values
        changed = created
        if values["phone"] != rec.phone:  # found by card: the guest's phone changed
            self._release("phone", values["phone"])
            self._take("phone", rec.phone, slot)
            values["phone"] = rec.phone
            changed = True
        if rec.card_number is not None and values["card_number"] != rec.card_number:
            if values["card_number"] is not None:
                self._release("card", values["card_number"])
            self._take("card", rec.card_number, slot)
        if (
            rec.email is not None
            and values["email_status"] != "active"
            and (rec.email != values["email"] or values["email_status"] == "none")
        ):
            values["email_status"] = "active"
            changed = True
        for name in DATA_FIELDS:
            value = getattr(rec, name)
            if value is not None:
                if type(value) is date:
                    value = value.isoformat()
                if values[name] != value:
                    values[name] = value
                    changed = True
        if changed:
            values["search_text"] = search_text_of(values)
        if rec.tags is not None:
            tags = frozenset(rec.tags)
            changed = changed or tags != slot.tags
            slot.tags = tags
        if created:
            self.added += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1
        if self.keep_steps:
            self.steps.append((slot, created, dict(values), slot.tags))

    async def write(self, conn: aiosqlite.Connection, now: str) -> None:
        insert = (
            f"INSERT INTO guests ({', '.join(_WRITTEN)}, created_at, updated_at) "
            f"VALUES ({', '.join('?' * (len(_WRITTEN) + 2))})"
        )
        update = f"UPDATE guests SET {', '.join(f'{c} = ?' for c in _WRITTEN)}, updated_at = ? "
        update += "WHERE id = ?"
        if self.sequential:
            for slot, created, values, tags in self.steps:
                row = [values[c] for c in _WRITTEN]
                if created:
                    cursor = await conn.execute(insert, [*row, now, now])
                    slot.id = cursor.lastrowid
                else:
                    await conn.execute(update, [*row, now, slot.id])
                if tags is not None:
                    await _replace_tags(conn, [(slot, tags)])
            return
        new = [s for s in self.slots if s.id is None]
        changed = [
            s
            for s in self.slots
            if s.id is not None and (s.values != s.original or s.tags != s.original_tags)
        ]
        await conn.executemany(insert, [[*(s.values[c] for c in _WRITTEN), now, now] for s in new])
        await conn.executemany(
            update, [[*(s.values[c] for c in _WRITTEN), now, s.id] for s in changed]
        )
        new_tagged = [s for s in new if s.tags]
        if new_tagged:
            phones = json.dumps([s.values["phone"] for s in new_tagged])
            sql = "SELECT id, phone FROM guests WHERE phone IN (SELECT value FROM json_each(?))"
            async with conn.execute(sql, (phones,)) as cursor:
                ids = {row[1]: row[0] for row in await cursor.fetchall()}
            for s in new_tagged:
                s.id = ids[s.values["phone"]]
        retag = [(s, s.tags) for s in changed if s.tags != s.original_tags and s.tags is not None]
        await _replace_tags(conn, retag)
        await _replace_tags(conn, [(s, s.tags) for s in new_tagged if s.tags], fresh=True)


async def _replace_tags(
    conn: aiosqlite.Connection,
    items: Sequence[tuple[_Slot, frozenset[str]]],
    *,
    fresh: bool = False,
) -> None:
    """Set the tags of guests (`fresh`: guests just added, who have none yet)."""
    if not items:
        return
    if not fresh:
        ids = [(s.id,) for s, _ in items]
        await conn.executemany("DELETE FROM guest_tags WHERE guest_id = ?", ids)
    await conn.executemany(
        "INSERT INTO guest_tags (guest_id, tag) VALUES (?, ?)",
        [(s.id, tag) for s, tags in items for tag in sorted(tags)],
    )


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
                f"SELECT id, {', '.join(_WRITTEN)} FROM guests "
                "WHERE phone IN (SELECT value FROM json_each(?)) UNION "
                f"SELECT id, {', '.join(_WRITTEN)} FROM guests "
                "WHERE card_number IN (SELECT value FROM json_each(?))"
            )
            async with conn.execute(sql, (phones, cards)) as cursor:
                rows = await cursor.fetchall()
            tags = None
            if rows and any(r.tags is not None for r in records):
                tags = await self._load_tags(conn, [row["id"] for row in rows])
            plan = _Plan()
            for keep_steps in (False, True):
                plan = _Plan(keep_steps=keep_steps)
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

    async def set_tg_status_by_user(self, user_id: int, status: str) -> bool:
        """Mark a Telegram user's reachability (blocked, unsubscribed, active); False if unknown."""
        if status not in TG_STATUSES:
            raise ValueError(f"unknown tg_status {status!r}")
        changed = await self.db.execute(
            "UPDATE guests SET tg_status = ?, updated_at = ? WHERE tg_user_id = ?",
            (status, _now(), user_id),
        )
        return changed > 0
