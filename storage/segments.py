"""Segments: saved conditions over the guest base, and their guests as SQL.

`segments.conditions` is a JSON list of conditions, all of which must hold
(an empty list: every guest). Each condition is `{"field", "op", "value"}`:

| field         | op                                   | value                                 |
|---------------|--------------------------------------|---------------------------------------|
| `balance`     | `=` `!=` `<` `<=` `>` `>=`           | roubles, number or "1234.50"          |
| `total_spent` | `=` `!=` `<` `<=` `>` `>=`           | roubles, number or "1234.50"          |
| `visits`      | `=` `!=` `<` `<=` `>` `>=`           | integer                               |
| `birthday`    | `within_days`                        | 0..366: birthday from today to +N days|
| `birthday`    | `month`                              | 1..12                                 |
| `last_visit`  | `within_days` / `older_than_days`    | days (older_than includes "never")    |
| `tags`        | `any` / `all` / `none`               | list of tags                          |
| `group`       | `=` / `!=`                           | account group                         |
| `sex`         | `=`                                  | "male" / "female"                     |
| `telegram`    | `present` / `absent`                 | — (reachable by Telegram or not)      |
| `email`       | `present` / `absent`                 | — (reachable by email or not)         |

`where_clause` turns a segment into a WHERE fragment over the table `guests`
(written unaliased, columns qualified) with its parameters, so the delivery
engine can stream recipients: `SELECT ... FROM guests WHERE {sql} AND guests.id > ?`.
Dates are compared with `today`, which the caller gives in TIMEZONE.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from storage.db import Database
from storage.guests import COLUMNS, Guest

ALL_GUESTS_ID = 1
TELEGRAM_REACHABLE = "(guests.tg_status = 'active' AND guests.tg_chat_id IS NOT NULL)"
EMAIL_REACHABLE = "(guests.email IS NOT NULL AND guests.email_status = 'active')"
_SELECT_GUEST = f"SELECT {', '.join('guests.' + c for c in COLUMNS)} FROM guests"
_COMPARE = ("=", "!=", "<", "<=", ">", ">=")
_NUMERIC = {
    "balance": "balance_cents",
    "total_spent": "total_spent_cents",
    "visits": "visits_count",
}
_OPS: dict[str, tuple[str, ...]] = {
    "balance": _COMPARE,
    "total_spent": _COMPARE,
    "visits": _COMPARE,
    "birthday": ("within_days", "month"),
    "last_visit": ("within_days", "older_than_days"),
    "tags": ("any", "all", "none"),
    "group": ("=", "!="),
    "sex": ("=",),
    "telegram": ("present", "absent"),
    "email": ("present", "absent"),
}


class ConditionError(ValueError):
    """A stored or proposed condition the segment language does not know."""


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op, "value": self.value}


def _int(value: Any, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConditionError(f"{what}: expected a whole number, got {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise ConditionError(f"{what}: expected a whole number, got {value!r}") from None
    if not low <= number <= high:
        raise ConditionError(f"{what}: {number} is outside {low}..{high}")
    return number


def _cents(value: Any, what: str) -> int:
    try:
        amount = Decimal(str(value).replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        raise ConditionError(f"{what}: expected an amount, got {value!r}") from None
    if not amount.is_finite():
        raise ConditionError(f"{what}: expected an amount, got {value!r}")
    return int((amount * 100).to_integral_value())


def parse_condition(raw: Any) -> Condition:
    """One condition from JSON, checked; ConditionError says what is wrong."""
    if not isinstance(raw, dict):
        raise ConditionError(f"a condition must be an object, got {raw!r}")
    field, op, value = raw.get("field"), raw.get("op"), raw.get("value")
    if field not in _OPS:
        raise ConditionError(f"unknown field {field!r}")
    if op not in _OPS[field]:
        raise ConditionError(f"{field}: unknown operator {op!r}")
    what = f"{field} {op}"
    if field in ("balance", "total_spent"):
        _cents(value, what)
    elif field == "visits":
        _int(value, 0, 10**9, what)
    elif field == "birthday":
        _int(value, 0, 366, what) if op == "within_days" else _int(value, 1, 12, what)
    elif field == "last_visit":
        _int(value, 0, 100_000, what)
    elif field == "tags":
        if not isinstance(value, list) or not value or not all(isinstance(t, str) for t in value):
            raise ConditionError(f"{what}: expected a list of tags")
    elif field == "group" and not isinstance(value, str):
        raise ConditionError(f"{what}: expected a group name")
    elif field == "sex" and value not in ("male", "female"):
        raise ConditionError(f"{what}: expected male or female")
    return Condition(str(field), str(op), value)


def parse_conditions(text: str) -> tuple[Condition, ...]:
    """A segment's conditions column as checked Conditions."""
    try:
        raw = json.loads(text or "[]")
    except ValueError:
        raise ConditionError("conditions are not valid JSON") from None
    if not isinstance(raw, list):
        raise ConditionError("conditions must be a JSON list")
    return tuple(parse_condition(item) for item in raw)


@dataclass(frozen=True)
class Segment:
    """A stored segment; `name` is the stored one (the built-in's is translated on display)."""

    id: int
    name: str
    conditions: tuple[Condition, ...]
    is_builtin: bool
    created_at: datetime

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


def _birthday_days(today: date, days: int) -> list[str]:
    """MM-DD of each day from today to today+days; Feb 29 joins Feb 28 in common years."""
    found: list[str] = []
    for offset in range(days + 1):
        day = today + timedelta(days=offset)
        found.append(day.strftime("%m-%d"))
        if day.month == 2 and day.day == 28 and (day + timedelta(days=1)).month == 3:
            found.append("02-29")
    return sorted(set(found))


def _condition_sql(c: Condition, today: date) -> tuple[str, list[Any]]:
    """One condition as SQL over `guests` (operators and columns are whitelisted)."""
    if c.field in _NUMERIC:
        column = f"guests.{_NUMERIC[c.field]}"
        value = int(c.value) if c.field == "visits" else _cents(c.value, c.field)
        return f"{column} {c.op} ?", [value]
    if c.field == "birthday":
        if c.op == "month":
            return "guests.birthday_md LIKE ?", [f"{int(c.value):02d}-%"]
        days = json.dumps(_birthday_days(today, int(c.value)))
        return "guests.birthday_md IN (SELECT value FROM json_each(?))", [days]
    if c.field == "last_visit":
        since = (today - timedelta(days=int(c.value))).isoformat()
        if c.op == "within_days":
            return "guests.last_visit_at >= ?", [since]
        return "(guests.last_visit_at IS NULL OR guests.last_visit_at < ?)", [since]
    if c.field == "tags":
        tags = json.dumps(list(c.value))
        tagged = "SELECT guest_id FROM guest_tags WHERE tag IN (SELECT value FROM json_each(?))"
        if c.op == "any":
            return f"guests.id IN ({tagged})", [tags]
        if c.op == "none":
            return f"guests.id NOT IN ({tagged})", [tags]
        wanted = len(set(c.value))
        return f"guests.id IN ({tagged} GROUP BY guest_id HAVING COUNT(*) = ?)", [tags, wanted]
    if c.field == "group":
        if c.op == "=":
            return "guests.account_group = ?", [c.value]
        return "(guests.account_group IS NULL OR guests.account_group <> ?)", [c.value]
    if c.field == "sex":
        return "guests.sex = ?", [c.value]
    reachable = TELEGRAM_REACHABLE if c.field == "telegram" else EMAIL_REACHABLE
    return (reachable if c.op == "present" else f"NOT {reachable}"), []


def where_clause(segment: Segment, *, today: date | None = None) -> tuple[str, list[Any]]:
    """The segment's guests as a WHERE fragment over `guests` and its parameters ("1": all)."""
    if not segment.conditions:
        return "1", []
    day = today or date.today()
    parts: list[str] = []
    params: list[Any] = []
    for condition in segment.conditions:
        sql, values = _condition_sql(condition, day)
        parts.append(f"({sql})")
        params.extend(values)
    return " AND ".join(parts), params


class SegmentRepository:
    """Reads segments and counts their guests; the SQL of segments lives here."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _from_row(row: Any) -> Segment:
        return Segment(
            id=int(row["id"]),
            name=str(row["name"]),
            conditions=parse_conditions(row["conditions"]),
            is_builtin=bool(row["is_builtin"]),
            created_at=datetime.fromisoformat(row["created_at"]),
        )

    async def list(self) -> list[Segment]:
        """Every segment, "All guests" first, then by name."""
        rows = await self.db.fetchall(
            "SELECT * FROM segments ORDER BY id <> ?, is_builtin DESC, name COLLATE NOCASE",
            (ALL_GUESTS_ID,),
        )
        return [self._from_row(row) for row in rows]

    async def get(self, segment_id: int) -> Segment | None:
        row = await self.db.fetchone("SELECT * FROM segments WHERE id = ?", (segment_id,))
        return None if row is None else self._from_row(row)

    async def create(self, name: str, conditions: Sequence[Condition]) -> Segment:
        """A new segment (the UI to define them comes later; tests use this)."""
        checked = [parse_condition(c.to_json()).to_json() for c in conditions]
        now = datetime.now().astimezone().isoformat(timespec="seconds")
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO segments (name, conditions, is_builtin, created_at) "
                "VALUES (?, ?, 0, ?)",
                (name, json.dumps(checked, ensure_ascii=False), now),
            )
            segment_id = cursor.lastrowid
        segment = await self.get(int(segment_id or 0))
        assert segment is not None
        return segment

    async def count(self, segment: Segment, *, today: date | None = None) -> int:
        sql, params = where_clause(segment, today=today)
        return int(await self.db.fetchval(f"SELECT COUNT(*) FROM guests WHERE {sql}", params))

    async def reach(self, segment: Segment, *, today: date | None = None) -> Reach:
        """Totals per channel: telegram-reachable, email-reachable, neither, both."""
        sql, params = where_clause(segment, today=today)
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
        sql, params = where_clause(segment, today=today)
        row = await self.db.fetchone(
            f"SELECT COUNT(*) FROM guests WHERE {sql} AND ({blank})", params
        )
        return int(row[0]) if row else 0

    async def longest(self, segment: Segment, *, today: date | None = None) -> Longest:
        """The longest names and the extreme balances among the segment's guests."""
        sql, params = where_clause(segment, today=today)
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
        sql, params = where_clause(segment, today=today)
        reach = [TELEGRAM_REACHABLE if c == "telegram" else EMAIL_REACHABLE for c in channels]
        reached = f"NOT ({' OR '.join(reach)}), " if reach else ""
        row = await self.db.fetchone(
            f"{_SELECT_GUEST} WHERE {sql} ORDER BY {reached}guests.first_name IS NULL, "
            "length(COALESCE(guests.last_name, '') || COALESCE(guests.first_name, '') || "
            "COALESCE(guests.middle_name, '')) DESC, guests.id LIMIT 1",
            params,
        )
        return None if row is None else Guest.from_row(row)
