"""Segment use-cases for /segments and /new: lists with counts, the builder's checks,
create, rename, edit, duplicate and delete (refused while something uses it)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.validators import InputError, check_typed
from storage.db import Database
from storage.segment_conditions import (
    ConditionError,
    Group,
    bounds,
    parse_condition,
    parse_groups,
)
from storage.segments import (
    ALL_GUESTS_ID,
    Condition,
    Reach,
    Segment,
    SegmentNameTaken,
    SegmentRepository,
    Usage,
)

MAX_NAME = 64


class Kind(StrEnum):
    """How the builder asks for a condition's value."""

    NONE = "none"  # the operator says it all ("reachable by Telegram")
    SEX = "sex"  # buttons
    MONTH = "month"  # buttons
    DAYS = "days"  # typed whole number of days
    NUMBER = "number"  # typed whole number (age, visits)
    MONEY = "money"  # typed amount in roubles
    DATE = "date"  # typed DD.MM.YYYY
    NAMES = "names"  # typed, comma-separated (groups, tags)


# The builder's fields, in button order, with the operators it offers for each.
BUILDER_OPS: dict[str, tuple[str, ...]] = {
    "sex": ("=",),
    "age": ("at_least", "at_most", "between"),
    "birthday": ("today", "in_days", "within_days", "month"),
    "balance": ("at_least", "at_most", "between"),
    "visits": ("at_least", "at_most", "between"),
    "total_spent": ("at_least", "at_most", "between"),
    "avg_bill": ("at_least", "at_most", "between"),
    "registered": ("before", "after", "within_days", "older_than_days"),
    "last_visit": ("before", "after", "within_days", "older_than_days"),
    "group": ("in",),
    "tags": ("any", "all"),
    "telegram": ("present", "absent"),
    "email": ("present", "absent"),
    "subscribed": ("present", "absent"),
    "mailed": ("within_days", "not_within_days"),
}
DATE_FIELDS = ("registered", "last_visit")


def value_kind(field: str, op: str) -> Kind:
    if op in ("present", "absent", "today"):
        return Kind.NONE
    if field == "sex":
        return Kind.SEX
    if op == "month":
        return Kind.MONTH
    if op in ("before", "after"):
        return Kind.DATE
    if op in ("in_days", "within_days", "older_than_days", "not_within_days"):
        return Kind.DAYS
    if field in ("group", "tags"):
        return Kind.NAMES
    if field in ("balance", "total_spent", "avg_bill"):
        return Kind.MONEY
    return Kind.NUMBER


class ValueRefused(ValueError):
    """A typed value refused; the message is the reason, in the admin's language."""


_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_RANGE = re.compile(r"\s*([^\s–—-]+(?:\s[^\s–—-]+)*?)\s*(?:-|–|—|\.\.|\s)\s*([^\s–—-]+)\s*")


def _one(kind: Kind, text: str) -> Any:
    """One typed number, amount or date, as the condition stores it."""
    text = text.strip()
    if kind in (Kind.DAYS, Kind.NUMBER):
        if not text.isdigit():
            raise ValueRefused(_("Type a whole number, like 7."))
        number = int(text)
        high = 366 if kind is Kind.DAYS else 10**9
        if number > high:
            raise ValueRefused(_("That number is too large: at most {n}.").format(n=high))
        return number
    if kind is Kind.MONEY:
        cleaned = text.replace(" ", "").replace("\u00a0", "").replace(",", ".")
        if not re.fullmatch(r"\d{1,10}(\.\d{1,2})?", cleaned):
            raise ValueRefused(_("Type an amount in roubles, like 500 or 1250.50."))
        return cleaned
    match = _DATE.fullmatch(text)
    if match is None:
        raise ValueRefused(_("Type a date like 31.12.2025."))
    try:
        return date(int(match[3]), int(match[2]), int(match[1])).isoformat()
    except ValueError:
        raise ValueRefused(_("There is no such date.")) from None


def parse_value(field: str, op: str, text: str) -> Any:
    """The value an admin typed for a condition, checked; ValueRefused says why."""
    try:
        check_typed(text)
    except InputError:
        raise ValueRefused(_("Type the value as text.")) from None
    kind = value_kind(field, op)
    if kind is Kind.NAMES:
        names = [n.strip() for n in text.split(",") if n.strip()]
        if not names:
            raise ValueRefused(_("Type one or more names separated by commas."))
        if len(names) > 50 or any(len(n) > 100 for n in names):
            raise ValueRefused(
                _("Too many names or a name too long (at most 50 of 100 characters).")
            )
        return list(dict.fromkeys(names))
    if op == "between":
        match = _RANGE.fullmatch(text)
        if match is None:
            raise ValueRefused(_("Type two values with a dash between them, like 500-1000."))
        value: Any = [_one(kind, match[1]), _one(kind, match[2])]
    else:
        value = _one(kind, text)
    if field == "age" and any(int(v) > 150 for v in (value if op == "between" else [value])):
        raise ValueRefused(_("An age is at most 150 years."))
    try:
        condition = parse_condition({"field": field, "op": op, "value": value})
        if op in ("at_least", "at_most", "between"):
            bounds(condition)
    except ConditionError:
        raise ValueRefused(_("The first value must not be above the second.")) from None
    return value


def parse_name(text: str) -> str:
    """A segment's name as typed, checked; ValueRefused says why."""
    try:
        check_typed(text)
    except InputError:
        raise ValueRefused(_("The name must be visible text.")) from None
    name = " ".join(text.split())
    if len(name) > MAX_NAME:
        raise ValueRefused(_("The name is too long: at most {n} characters.").format(n=MAX_NAME))
    return name


class SegmentService:
    """What the handlers do with segments; the repository's SQL stays behind it."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.segments = SegmentRepository(db, settings.tz)
        self.settings = settings

    def today(self) -> date:
        return datetime.now(self.settings.tz).date()

    async def list_with_reach(self) -> list[tuple[Segment, Reach]]:
        """Every segment with its guests per channel now, "All guests" first."""
        today = self.today()
        return [(s, await self.segments.reach(s, today=today)) for s in await self.segments.list()]

    async def get(self, segment_id: int) -> Segment | None:
        segment = await self.segments.get(segment_id)
        return None if segment is None or segment.deleted else segment

    async def reach(self, segment: Segment) -> Reach:
        return await self.segments.reach(segment, today=self.today())

    async def draft_reach(self, groups: Sequence[Group]) -> Reach:
        """The live count of a segment being built (its conditions not saved yet)."""
        draft = Segment(0, "", tuple(groups), False, datetime.now())
        return await self.segments.reach(draft, today=self.today())

    async def create(self, name: str, groups: Sequence[Group]) -> Segment:
        """A new segment; SegmentNameTaken when the name is in use."""
        return await self.segments.create(name, [list(g) for g in groups])

    async def rename(self, segment_id: int, name: str) -> None:
        await self.segments.rename(segment_id, name)

    async def update(self, segment_id: int, groups: Sequence[Group]) -> None:
        await self.segments.update(segment_id, [list(g) for g in groups])

    async def duplicate(self, segment: Segment, name: str) -> Segment:
        """A copy under the first free name among "name", "name 2", "name 3"…"""
        for n in range(1, 1000):
            candidate = name if n == 1 else f"{name} {n}"
            try:
                return await self.segments.create(candidate, [list(g) for g in segment.groups])
            except SegmentNameTaken:
                continue
        raise SegmentNameTaken(name)

    async def delete(self, segment_id: int) -> Usage:
        """Delete unless used; the answer names what uses it (empty: deleted)."""
        if segment_id == ALL_GUESTS_ID:
            raise ValueError("the built-in segment cannot be deleted")
        return await self.segments.delete(segment_id)


def groups_from_data(raw: Any) -> tuple[Group, ...]:
    """The builder's draft (FSM data, JSON) as checked groups."""
    return parse_groups({"version": 2, "groups": [g for g in raw or [] if g]})


def groups_to_data(groups: Sequence[Sequence[Condition]]) -> list[list[dict[str, Any]]]:
    return [[c.to_json() for c in group] for group in groups]


__all__ = [
    "BUILDER_OPS",
    "DATE_FIELDS",
    "Kind",
    "SegmentNameTaken",
    "SegmentService",
    "ValueRefused",
    "groups_from_data",
    "groups_to_data",
    "parse_name",
    "parse_value",
    "value_kind",
]
