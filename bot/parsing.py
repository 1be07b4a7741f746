"""Parsers of the dates and times an admin types; each refusal says why by its code."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

# How far ahead a mailing may be planned; a typo like 2062 is refused, not scheduled.
MAX_DAYS_AHEAD = 366

_DATE = re.compile(r"(\d{1,2})\s*[.]\s*(\d{1,2})(?:\s*[.]\s*(\d{2}|\d{4}))?\s*[.]?")
_TIME = re.compile(r"(\d{1,2})\s*[:.]\s*(\d{2})")


class DateError(ValueError):
    """A typed date refused: code "format", "impossible", "past" or "too_far"."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class TimeError(ValueError):
    """A typed time refused: code "format" or "impossible"."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date(text: str, today: date) -> date:
    """DD.MM.YYYY, D.M.YYYY, DD.MM.YY or DD.MM (this year, or the next once it has passed)."""
    match = _DATE.fullmatch(text.strip())
    if match is None:
        raise DateError("format", f"{text!r} is not a date like 31.12.2026")
    day, month = int(match[1]), int(match[2])
    if match[3] is None:
        found = _make(today.year, month, day)
        if found is None or found < today:
            found = _make(today.year + 1, month, day) or found
        if found is None:
            raise DateError("impossible", f"there is no such date: {day:02d}.{month:02d}")
    else:
        year = int(match[3]) + (2000 if len(match[3]) == 2 else 0)
        found = _make(year, month, day)
        if found is None:
            raise DateError("impossible", f"there is no such date: {day:02d}.{month:02d}.{year}")
    if found < today:
        raise DateError("past", f"{found:%d.%m.%Y} has already passed")
    if found > today + timedelta(days=MAX_DAYS_AHEAD):
        raise DateError("too_far", f"{found:%d.%m.%Y} is more than a year ahead")
    return found


def parse_time(text: str) -> time:
    """HH:MM, H:MM or HH.MM (24-hour clock)."""
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise TimeError("format", f"{text!r} is not a time like 18:30")
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise TimeError("impossible", f"there is no such time: {hour:02d}:{minute:02d}")
    return time(hour, minute)
