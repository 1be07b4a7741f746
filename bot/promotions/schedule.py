"""A promotion's schedule: the model, its JSON, and the next occurrence in TIMEZONE.

Pure functions (no clock, no database), so the arithmetic is property-tested. Days are
local days in the promotion's zone; a time the clocks skip runs at the first moment after
the gap, a time that repeats runs once, at its first passage.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

EVERY_MAX = 365  # "every N days" up to a year
_SEARCH_DAYS = 2 * EVERY_MAX + 2  # every kind matches within this many days of any day


class ScheduleKind(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"  # on chosen weekdays
    MONTHLY = "monthly"  # on day N (the last day when a month is shorter)
    EVERY_N_DAYS = "every_n_days"  # counted from the start date


class ScheduleError(ValueError):
    """A stored or proposed schedule that does not make sense."""


@dataclass(frozen=True)
class Schedule:
    """When a promotion runs: its kind, a local time, and the kind's parameter."""

    kind: ScheduleKind
    at: time
    weekdays: tuple[int, ...] = ()  # 0 = Monday ... 6 = Sunday (weekly)
    day: int = 0  # 1..31 (monthly)
    every: int = 0  # N >= 1 (every N days)

    def __post_init__(self) -> None:
        if self.at.second or self.at.microsecond or self.at.tzinfo is not None:
            raise ScheduleError("the time is a naive HH:MM")
        if self.kind is ScheduleKind.WEEKLY:
            days = self.weekdays
            if not days or any(not 0 <= d <= 6 for d in days) or list(days) != sorted(set(days)):
                raise ScheduleError(f"weekdays must be distinct 0..6 in order, got {days!r}")
        elif self.weekdays:
            raise ScheduleError("weekdays belong to a weekly schedule")
        if self.kind is ScheduleKind.MONTHLY:
            if not 1 <= self.day <= 31:
                raise ScheduleError(f"the day of the month must be 1..31, got {self.day}")
        elif self.day:
            raise ScheduleError("a day of the month belongs to a monthly schedule")
        if self.kind is ScheduleKind.EVERY_N_DAYS:
            if not 1 <= self.every <= EVERY_MAX:
                raise ScheduleError(f"every N days needs 1..{EVERY_MAX}, got {self.every}")
        elif self.every:
            raise ScheduleError("N belongs to an every-N-days schedule")

    # ------------------------------------------------------------ JSON
    def to_json(self) -> dict[str, Any]:
        """As stored in promotions.schedule (only the kind's own parameter)."""
        raw: dict[str, Any] = {"kind": self.kind.value, "at": self.at.strftime("%H:%M")}
        if self.kind is ScheduleKind.WEEKLY:
            raw["weekdays"] = list(self.weekdays)
        elif self.kind is ScheduleKind.MONTHLY:
            raw["day"] = self.day
        elif self.kind is ScheduleKind.EVERY_N_DAYS:
            raw["every"] = self.every
        return raw

    def dumps(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: Any) -> Schedule:
        """A schedule from its JSON object; ScheduleError says what is wrong."""
        if not isinstance(raw, dict):
            raise ScheduleError(f"a schedule is an object, got {raw!r}")
        try:
            kind = ScheduleKind(str(raw.get("kind")))
        except ValueError:
            raise ScheduleError(f"unknown schedule kind {raw.get('kind')!r}") from None
        at = parse_at(raw.get("at"))
        weekdays = raw.get("weekdays", [])
        day, every = raw.get("day", 0), raw.get("every", 0)
        if not isinstance(weekdays, list) or not all(_whole(d) for d in weekdays):
            raise ScheduleError(f"weekdays must be a list of numbers, got {weekdays!r}")
        if not _whole(day) or not _whole(every):
            raise ScheduleError("day and every must be whole numbers")
        extra = set(raw) - {"kind", "at", "weekdays", "day", "every"}
        if extra:
            raise ScheduleError(f"unknown schedule keys {sorted(extra)!r}")
        return cls(kind, at, tuple(weekdays), day, every)

    @classmethod
    def loads(cls, text: str) -> Schedule:
        try:
            raw = json.loads(text)
        except ValueError:
            raise ScheduleError("the schedule is not valid JSON") from None
        return cls.from_json(raw)

    # ------------------------------------------------------------ days
    def runs_on(self, day: date, starts_on: date) -> bool:
        """Whether the schedule has an occurrence on this local day (from `starts_on`)."""
        if day < starts_on:
            return False
        if self.kind is ScheduleKind.WEEKLY:
            return day.weekday() in self.weekdays
        if self.kind is ScheduleKind.MONTHLY:
            last = calendar.monthrange(day.year, day.month)[1]
            return day.day == min(self.day, last)
        if self.kind is ScheduleKind.EVERY_N_DAYS:
            return (day - starts_on).days % self.every == 0
        return True


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_at(value: Any) -> time:
    """ "HH:MM" (24-hour) as a time; ScheduleError otherwise."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise ScheduleError(f"the time must be HH:MM, got {value!r}")
    try:
        return time(int(value[:2]), int(value[3:]))
    except ValueError:
        raise ScheduleError(f"the time must be HH:MM, got {value!r}") from None


def local_moment(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The moment (UTC) of `at` on `day` in `tz`: a skipped time gives the first moment
    after the gap; a repeated time gives its first passage."""
    first = datetime.combine(day, at, tzinfo=tz)  # fold=0: the earlier offset
    utc = first.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == first.replace(tzinfo=None):
        return utc  # exists (the first passage when repeated)
    # In a gap: the clocks jumped over `at`. The jump lies between the two readings of
    # the wall time; the first instant whose wall time is past `at` is the gap's end.
    low = first.replace(fold=1).astimezone(UTC)  # before the jump
    high = utc  # after it
    wanted = first.replace(tzinfo=None)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= wanted:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def next_after(
    schedule: Schedule,
    after: datetime,
    tz: ZoneInfo,
    starts_on: date,
    ends_on: date | None = None,
) -> datetime | None:
    """The first occurrence (UTC) strictly after `after`, on a local day from `starts_on`
    to `ends_on` (inclusive); None when the schedule has no more."""
    if after.tzinfo is None:
        raise ValueError("`after` must be timezone-aware")
    # A day's occurrence can fall on the next local date (a gap at midnight): start a day early.
    day = max(starts_on, after.astimezone(tz).date() - timedelta(days=1))
    for _ in range(_SEARCH_DAYS):
        if ends_on is not None and day > ends_on:
            return None
        if schedule.runs_on(day, starts_on):
            moment = local_moment(day, schedule.at, tz)
            if moment > after:
                return moment
        day += timedelta(days=1)
    return None


def occurrences_between(
    schedule: Schedule,
    after: datetime,
    until: datetime,
    tz: ZoneInfo,
    starts_on: date,
    ends_on: date | None = None,
    *,
    limit: int = 100,
) -> list[datetime]:
    """The occurrences in (after, until], oldest first, at most `limit` (the latest kept)."""
    found: list[datetime] = []
    moment = next_after(schedule, after, tz, starts_on, ends_on)
    while moment is not None and moment <= until:
        found.append(moment)
        moment = next_after(schedule, moment, tz, starts_on, ends_on)
    return found[-limit:]
