"""The segment condition language: conditions as data, their JSON and its checks.

A segment's `conditions` column holds `{"version": 2, "groups": [[c, ...], ...]}`:
conditions inside a group are joined by AND, groups by OR (no group: every guest).
Version 1, a flat JSON list of conditions (one AND group), is migrated on read.
Each condition is `{"field", "op", "value"}` plus, for dates, `"missing"`: whether
guests with no such date are in. Fields and operators are a whitelist; values are
checked here and reach SQL only as parameters (storage/segment_sql.py).

| field                   | op                                                     | value      |
|-------------------------|--------------------------------------------------------|------------|
| `sex`                   | `=`                                                    | male/female|
| `age`                   | `at_least` `at_most` `between`                         | years      |
| `birthday`              | `today` `in_days` `within_days` `month`                | days/month |
| `balance` `total_spent` | `at_least` `at_most` `between`, v1: `=` `!=` `<` ...  | roubles    |
| `avg_bill`              | `at_least` `at_most` `between`                         | roubles    |
| `visits`                | `at_least` `at_most` `between`, v1: `=` `!=` `<` ...  | count      |
| `registered` `last_visit` | `before` `after` (date) `within_days` `older_than_days` | date/days|
| `group`                 | `in` (list), v1: `=` `!=`                              | group names|
| `tags`                  | `any` `all` `none`                                     | tag list   |
| `telegram` `email` `subscribed` | `present` `absent`                             | —          |
| `mailed`                | `within_days` `not_within_days`                        | days       |

A `between` value is `[low, high]`, both included.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

VERSION = 2
COMPARE = ("=", "!=", "<", "<=", ">", ">=")
RANGE = ("at_least", "at_most", "between")
DATE_OPS = ("before", "after", "within_days", "older_than_days")
MONEY = ("balance", "total_spent", "avg_bill")

OPS: dict[str, tuple[str, ...]] = {
    "sex": ("=",),
    "age": RANGE,
    "birthday": ("today", "in_days", "within_days", "month"),
    "balance": RANGE + COMPARE,
    "total_spent": RANGE + COMPARE,
    "avg_bill": RANGE,
    "visits": RANGE + COMPARE,
    "registered": DATE_OPS,
    "last_visit": DATE_OPS,
    "group": ("in", "=", "!="),
    "tags": ("any", "all", "none"),
    "telegram": ("present", "absent"),
    "email": ("present", "absent"),
    "subscribed": ("present", "absent"),
    "mailed": ("within_days", "not_within_days"),
}
MAX_DAYS = 36_600
MAX_CONDITIONS = 30


class ConditionError(ValueError):
    """A stored or proposed condition the segment language does not know."""


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any = None
    # Dates only: are guests without the date in (True) or out (False)?
    missing: bool | None = None

    def to_json(self) -> dict[str, Any]:
        found = {"field": self.field, "op": self.op, "value": self.value}
        if self.missing is not None:
            found["missing"] = self.missing
        return found


Group = tuple[Condition, ...]


def whole(value: Any, low: int, high: int, what: str) -> int:
    """A whole number within low..high, from JSON or typed text."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConditionError(f"{what}: expected a whole number, got {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise ConditionError(f"{what}: expected a whole number, got {value!r}") from None
    if not low <= number <= high:
        raise ConditionError(f"{what}: {number} is outside {low}..{high}")
    return number


def cents(value: Any, what: str) -> int:
    """An amount in roubles ("1 234,50", 500) as kopecks."""
    if isinstance(value, bool) or value is None:
        raise ConditionError(f"{what}: expected an amount, got {value!r}")
    try:
        amount = Decimal(str(value).replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        raise ConditionError(f"{what}: expected an amount, got {value!r}") from None
    if not amount.is_finite() or abs(amount) > 10**12:
        raise ConditionError(f"{what}: expected an amount, got {value!r}")
    return int((amount * 100).to_integral_value())


def day(value: Any, what: str) -> date:
    if not isinstance(value, str):
        raise ConditionError(f"{what}: expected a date, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConditionError(f"{what}: expected a date, got {value!r}") from None


def _number(field: str, value: Any, what: str) -> int:
    if field in MONEY:
        return cents(value, what)
    high = 150 if field == "age" else 10**9
    return whole(value, 0, high, what)


def bounds(c: Condition) -> tuple[int | None, int | None]:
    """A range condition's low and high (kopecks for money), None where open."""
    what = f"{c.field} {c.op}"
    if c.op == "between":
        if not isinstance(c.value, list) or len(c.value) != 2:
            raise ConditionError(f"{what}: expected [low, high]")
        low, high = (_number(c.field, v, what) for v in c.value)
        if low > high:
            raise ConditionError(f"{what}: {low} is above {high}")
        return low, high
    number = _number(c.field, c.value, what)
    return (number, None) if c.op == "at_least" else (None, number)


def _check_value(field: str, op: str, value: Any, missing: Any) -> None:
    what = f"{field} {op}"
    if field in ("registered", "last_visit"):
        if missing is not None and not isinstance(missing, bool):
            raise ConditionError(f"{what}: 'missing' must be true or false")
        if op in ("before", "after"):
            day(value, what)
        else:
            whole(value, 0, MAX_DAYS, what)
    elif missing is not None:
        raise ConditionError(f"{what}: only dates say whether guests without one are in")
    elif op in RANGE:
        bounds(Condition(field, op, value))
    elif op in COMPARE and field in ("balance", "total_spent"):
        cents(value, what)
    elif op in COMPARE and field == "visits":
        whole(value, 0, 10**9, what)
    elif field == "birthday":
        if op == "month":
            whole(value, 1, 12, what)
        elif op in ("in_days", "within_days"):
            whole(value, 0, 366, what)
    elif field in ("tags", "group") and op in ("any", "all", "none", "in"):
        if not isinstance(value, list) or not value or not all(isinstance(t, str) for t in value):
            raise ConditionError(f"{what}: expected a list of names")
    elif field == "group" and not isinstance(value, str):
        raise ConditionError(f"{what}: expected a group name")
    elif field == "sex" and value not in ("male", "female"):
        raise ConditionError(f"{what}: expected male or female")
    elif field == "mailed":
        whole(value, 0, MAX_DAYS, what)


def parse_condition(raw: Any) -> Condition:
    """One condition from JSON, checked; ConditionError says what is wrong."""
    if not isinstance(raw, dict):
        raise ConditionError(f"a condition must be an object, got {raw!r}")
    field, op, value = raw.get("field"), raw.get("op"), raw.get("value")
    if field not in OPS:
        raise ConditionError(f"unknown field {field!r}")
    if op not in OPS[field]:
        raise ConditionError(f"{field}: unknown operator {op!r}")
    missing = raw.get("missing")
    _check_value(field, op, value, missing)
    if field == "last_visit" and missing is None and op in DATE_OPS:
        # Version 1 counted guests who never came as "older than N days" only.
        missing = op == "older_than_days"
    if field == "registered" and missing is None:
        missing = False
    return Condition(str(field), str(op), value, missing)


def parse_groups(raw: Any) -> tuple[Group, ...]:
    """Stored conditions (either version) as checked OR-of-AND groups."""
    if isinstance(raw, list):  # version 1: one AND group
        raw = {"version": 1, "groups": [raw] if raw else []}
    if not isinstance(raw, dict):
        raise ConditionError("conditions must be a JSON list or object")
    version = raw.get("version")
    if version not in (1, VERSION):
        raise ConditionError(f"conditions of an unknown version {version!r}")
    groups = raw.get("groups")
    if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
        raise ConditionError("conditions: 'groups' must be a list of lists")
    parsed = tuple(tuple(parse_condition(c) for c in group) for group in groups)
    if any(not group for group in parsed):
        raise ConditionError("conditions: an empty group")
    if sum(len(group) for group in parsed) > MAX_CONDITIONS:
        raise ConditionError(f"conditions: more than {MAX_CONDITIONS}")
    return parsed


def parse_conditions(text: str) -> tuple[Group, ...]:
    """A segment's conditions column as checked groups."""
    try:
        raw = json.loads(text or "[]")
    except ValueError:
        raise ConditionError("conditions are not valid JSON") from None
    return parse_groups(raw)


def dump_groups(groups: tuple[Group, ...] | list[list[Condition]]) -> str:
    """Groups as the current version's JSON (checked first)."""
    data = [[c.to_json() for c in group] for group in groups]
    parse_groups({"version": VERSION, "groups": data})
    return json.dumps({"version": VERSION, "groups": data}, ensure_ascii=False)
