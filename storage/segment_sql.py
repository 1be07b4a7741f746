"""Segment conditions compiled to a parameterised WHERE fragment over `guests`.

Columns and operators come from whitelists in this file; every value an admin
gave is a parameter, so no text typed in the bot ever becomes SQL. Dates are
compared with `today`, which the caller gives in TIMEZONE; "mailed within N days"
counts from that zone's midnight (sent_at is stored in UTC).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from storage.segment_conditions import COMPARE, Condition, Group, bounds, cents, whole

TELEGRAM_REACHABLE = "(guests.tg_status = 'active' AND guests.tg_chat_id IS NOT NULL)"
EMAIL_REACHABLE = "(guests.email IS NOT NULL AND guests.email_status = 'active')"
_NUMERIC = {
    "balance": "guests.balance_cents",
    "total_spent": "guests.total_spent_cents",
    "visits": "guests.visits_count",
}
_DATES = {"registered": "guests.registered_at", "last_visit": "guests.last_visit_at"}


def _feb28_counts_29(day: date) -> bool:
    """28 February of a common year: the day 29 February birthdays are kept."""
    return day.month == 2 and day.day == 28 and (day + timedelta(days=1)).month == 3


def birthday_days(today: date, first: int, last: int) -> list[str]:
    """MM-DD of each day from today+first to today+last; 29 February joins 28 February
    in common years, and the range crosses the year boundary."""
    found: set[str] = set()
    for offset in range(first, last + 1):
        day = today + timedelta(days=offset)
        found.add(day.strftime("%m-%d"))
        if _feb28_counts_29(day):
            found.add("02-29")
    return sorted(found)


def _years_before(today: date, years: int) -> str:
    """The latest birthday (YYYY-MM-DD) of a guest who is `years` old today."""
    year = today.year - years
    if today.month == 2 and today.day == 29:
        try:
            return date(year, 2, 29).isoformat()
        except ValueError:
            return date(year, 2, 28).isoformat()
    if _feb28_counts_29(today):
        try:  # born on 29 February: a year older on 28 February of a common year
            return date(year, 2, 29).isoformat()
        except ValueError:
            pass
    return date(year, today.month, today.day).isoformat()


def _range(expr: str, low: int | None, high: int | None) -> tuple[str, list[Any]]:
    parts, params = [], []
    if low is not None:
        parts.append(f"{expr} >= ?")
        params.append(low)
    if high is not None:
        parts.append(f"{expr} <= ?")
        params.append(high)
    return " AND ".join(parts), params


def _age(c: Condition, today: date) -> tuple[str, list[Any]]:
    low, high = bounds(c)
    parts, params = ["guests.birthday IS NOT NULL"], []
    if low is not None:
        parts.append("guests.birthday <= ?")
        params.append(_years_before(today, low))
    if high is not None:
        parts.append("guests.birthday > ?")
        params.append(_years_before(today, high + 1))
    return " AND ".join(parts), params


def _money_or_count(c: Condition) -> tuple[str, list[Any]]:
    if c.field == "avg_bill":
        # total / visits compared without division: exact, and no guest with 0 visits.
        low, high = bounds(c)
        # Unary + keeps SQLite off the visits index: a plain scan is faster here.
        parts, params = ["+guests.visits_count > 0"], []
        if low is not None:
            parts.append("guests.total_spent_cents >= ? * guests.visits_count")
            params.append(low)
        if high is not None:
            parts.append("guests.total_spent_cents <= ? * guests.visits_count")
            params.append(high)
        return " AND ".join(parts), params
    column = _NUMERIC[c.field]
    if c.op in COMPARE:
        value = whole(c.value, 0, 10**9, c.field) if c.field == "visits" else cents(c.value, "")
        return f"{column} {c.op} ?", [value]
    return _range(column, *bounds(c))


def _date(c: Condition, today: date) -> tuple[str, list[Any]]:
    column = _DATES[c.field]
    if c.op == "before":
        sql, params = f"{column} < ?", [str(c.value)]
    elif c.op == "after":
        sql, params = f"{column} > ?", [str(c.value)]
    else:
        since = (today - timedelta(days=int(c.value))).isoformat()
        sql = f"{column} >= ?" if c.op == "within_days" else f"{column} < ?"
        params = [since]
    if c.missing:
        return f"{column} IS NULL OR ({sql})", params
    return sql, params


def _tags(c: Condition) -> tuple[str, list[Any]]:
    tags = json.dumps(sorted(set(c.value)), ensure_ascii=False)
    tagged = "SELECT guest_id FROM guest_tags WHERE tag IN (SELECT value FROM json_each(?))"
    if c.op == "any":
        return f"guests.id IN ({tagged})", [tags]
    if c.op == "none":
        return f"guests.id NOT IN ({tagged})", [tags]
    wanted = len(set(c.value))
    return f"guests.id IN ({tagged} GROUP BY guest_id HAVING COUNT(*) = ?)", [tags, wanted]


def local_midnight(day: date, tz: tzinfo) -> str:
    """The start of `day` in `tz`, written as sent_at is (UTC, milliseconds)."""
    start = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
    return start.isoformat(timespec="milliseconds")


def condition_sql(c: Condition, today: date, tz: tzinfo = UTC) -> tuple[str, list[Any]]:
    """One checked condition as SQL over `guests` and its parameters."""
    if c.field in _NUMERIC or c.field == "avg_bill":
        return _money_or_count(c)
    if c.field == "age":
        return _age(c, today)
    if c.field == "birthday":
        if c.op == "month":
            return "guests.birthday_md LIKE ?", [f"{int(c.value):02d}-%"]
        first = 0 if c.op in ("today", "within_days") else int(c.value)
        last = 0 if c.op == "today" else int(c.value)
        days = json.dumps(birthday_days(today, first, last))
        return "guests.birthday_md IN (SELECT value FROM json_each(?))", [days]
    if c.field in _DATES:
        return _date(c, today)
    if c.field == "tags":
        return _tags(c)
    if c.field == "group":
        if c.op == "in":
            return "guests.account_group IN (SELECT value FROM json_each(?))", [
                json.dumps(list(c.value), ensure_ascii=False)
            ]
        if c.op == "=":
            return "guests.account_group = ?", [c.value]
        return "(guests.account_group IS NULL OR guests.account_group <> ?)", [c.value]
    if c.field == "sex":
        return "guests.sex = ?", [c.value]
    if c.field == "mailed":
        # guests.last_sent_at: the guest's latest sent message, kept by a trigger.
        since = local_midnight(today - timedelta(days=int(c.value)), tz)
        if c.op == "within_days":
            return "guests.last_sent_at >= ?", [since]
        return "(guests.last_sent_at IS NULL OR guests.last_sent_at < ?)", [since]
    reachable = {
        "telegram": TELEGRAM_REACHABLE,
        "email": EMAIL_REACHABLE,
        "subscribed": f"({TELEGRAM_REACHABLE} OR {EMAIL_REACHABLE})",
    }[c.field]
    return (reachable if c.op == "present" else f"NOT {reachable}"), []


def groups_sql(groups: Sequence[Group], today: date, tz: tzinfo = UTC) -> tuple[str, list[Any]]:
    """OR of AND groups as one fragment ("1": every guest)."""
    if not groups:
        return "1", []
    ors: list[str] = []
    params: list[Any] = []
    for group in groups:
        ands = []
        for condition in group:
            sql, values = condition_sql(condition, today, tz)
            ands.append(f"({sql})")
            params.extend(values)
        ors.append("(" + " AND ".join(ands) + ")")
    return " OR ".join(ors), params
