"""Writing an import batch: guests matched by phone (else card number), planned in memory.

The plan applies the batch's records in order to the guests they touch, then
writes each changed guest once (or every record in turn when a phone or card
number moves between guests inside the batch).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import aiosqlite

Sex = Literal["male", "female"]

# The columns an import may fill; None in a record means "keep what is stored".
DATA_FIELDS = (
    "card_number", "email", "last_name", "first_name", "middle_name", "sex", "birthday",
    "balance_cents", "account_group", "registered_at", "last_visit_at", "visits_count",
    "total_spent_cents",
)  # fmt: skip
WRITTEN = ("phone", *DATA_FIELDS, "email_status", "search_text")


def search_key(text: str) -> str:
    """Text as search_text stores it: case-folded, with ё read as е."""
    return text.casefold().replace("ё", "е")


def search_text_of(values: dict[str, Any]) -> str:
    """The search_text of a guest: "last first middle card phone-digits", case-folded."""
    phone = "".join(ch for ch in str(values.get("phone") or "") if ch.isdigit())
    parts = [values.get(k) for k in ("last_name", "first_name", "middle_name", "card_number")]
    return search_key(" ".join(str(p) for p in [*parts, phone] if p))


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
class UpsertPlan:
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
        values = {name: row[name] for name in WRITTEN}
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
            values = dict.fromkeys(WRITTEN)
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
            f"INSERT INTO guests ({', '.join(WRITTEN)}, created_at, updated_at) "
            f"VALUES ({', '.join('?' * (len(WRITTEN) + 2))})"
        )
        update = f"UPDATE guests SET {', '.join(f'{c} = ?' for c in WRITTEN)}, updated_at = ? "
        update += "WHERE id = ?"
        if self.sequential:
            for slot, created, values, tags in self.steps:
                row = [values[c] for c in WRITTEN]
                if created:
                    cursor = await conn.execute(insert, [*row, now, now])
                    slot.id = cursor.lastrowid
                else:
                    await conn.execute(update, [*row, now, slot.id])
                if tags is not None:
                    await replace_tags(conn, [(slot, tags)])
            return
        new = [s for s in self.slots if s.id is None]
        changed = [
            s
            for s in self.slots
            if s.id is not None and (s.values != s.original or s.tags != s.original_tags)
        ]
        await conn.executemany(insert, [[*(s.values[c] for c in WRITTEN), now, now] for s in new])
        await conn.executemany(
            update, [[*(s.values[c] for c in WRITTEN), now, s.id] for s in changed]
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
        await replace_tags(conn, retag)
        await replace_tags(conn, [(s, s.tags) for s in new_tagged if s.tags], fresh=True)


async def replace_tags(
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
