"""The mailing history: its filter (a date range and words), typed ranges, pages, export.

Dates are days in TIMEZONE, a range includes both ends; the list reads mailings
scheduled from the first day's midnight to the midnight after the last day.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.xlsx import XlsxWriter
from storage.db import Database
from storage.history import HistoryQuery, HistoryRepository, HistoryRow

PAGE = 10
_DAY = re.compile(r"(\d{1,2})\.(\d{1,2})(?:\.(\d{4}|\d{2}))?\.?")
_DASH = re.compile(r"\s*[-–—]\s*")
# Text made of digits, dots, dashes and spaces is meant as dates, never as words.
_DATE_LIKE = re.compile(r"[\d\s.\-–—/]*\d[\d\s.\-–—/]*")


class Preset(StrEnum):
    """The quick date buttons."""

    TODAY = "today"
    WEEK = "7d"
    MONTH30 = "30d"
    THIS_MONTH = "month"
    ALL = "all"


class RangeError(ValueError):
    """A typed range refused: code "format", "impossible" (no such day) or "reversed"."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class DayRange:
    """Days from `first` to `last`, both included; None on a side: unbounded."""

    first: date | None = None
    last: date | None = None


def looks_like_dates(text: str) -> bool:
    """Whether typed text is meant as a date range (else it is words to search)."""
    return bool(_DATE_LIKE.fullmatch(text.strip()))


def _day(text: str) -> tuple[int, int, int | None]:
    match = _DAY.fullmatch(text.strip())
    if match is None:
        raise RangeError("format", f"{text!r} is not a date like 01.12.2026")
    year = None
    if match[3] is not None:
        year = int(match[3]) + (2000 if len(match[3]) == 2 else 0)
    return int(match[1]), int(match[2]), year


def _make(day: int, month: int, year: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise RangeError("impossible", f"there is no such date: {day:02d}.{month:02d}") from None


def parse_range(text: str, today: date) -> DayRange:
    """`DD.MM.YYYY-DD.MM.YYYY`, one date, `DD.MM-DD.MM`, spaces around the dash allowed.

    A date without its year is in the current year, or the one before when that would
    put the range in the future (in January "01.12-15.12" is the December just gone);
    `20.12-10.01` runs over the new year.
    """
    parts = _DASH.split(text.strip())
    if len(parts) > 2 or not all(parts):
        raise RangeError("format", f"{text!r} is not a range like 01.12.2026-31.12.2026")
    (d1, m1, y1), (d2, m2, y2) = _day(parts[0]), _day(parts[-1])
    year = today.year
    end_year = y2 if y2 is not None else (y1 if y1 is not None else year)
    start_year = y1 if y1 is not None else end_year
    if y1 is None and y2 is None:
        if (m2, d2) < (m1, d1):
            start_year -= 1  # over the new year
        if (m1, d1) > (today.month, today.day) and start_year == year:
            start_year, end_year = start_year - 1, end_year - 1
    elif y1 is None and (m1, d1) > (m2, d2):
        start_year -= 1
    elif y2 is None and (m2, d2) < (m1, d1):
        end_year += 1
    first, last = _make(d1, m1, start_year), _make(d2, m2, end_year)
    if last < first:
        raise RangeError("reversed", f"{first:%d.%m.%Y} is after {last:%d.%m.%Y}")
    return DayRange(first, last)


def preset_range(preset: Preset, today: date) -> DayRange:
    if preset is Preset.TODAY:
        return DayRange(today, today)
    if preset is Preset.WEEK:
        return DayRange(today - timedelta(days=6), today)
    if preset is Preset.MONTH30:
        return DayRange(today - timedelta(days=29), today)
    if preset is Preset.THIS_MONTH:
        following = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
        return DayRange(today.replace(day=1), following - timedelta(days=1))
    return DayRange()


@dataclass(frozen=True)
class HistoryFilter:
    """What the admin narrowed the history to; kept in the chat's FSM data as JSON."""

    days: DayRange = field(default_factory=DayRange)
    words: tuple[str, ...] = ()
    preset: str = ""  # the quick button it came from, to mark it

    def to_data(self) -> dict[str, Any]:
        first, last = self.days.first, self.days.last
        return {
            "first": first.isoformat() if first else None,
            "last": last.isoformat() if last else None,
            "words": list(self.words),
            "preset": self.preset,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> HistoryFilter:
        data = data or {}
        first, last = data.get("first"), data.get("last")
        return cls(
            DayRange(
                date.fromisoformat(first) if first else None,
                date.fromisoformat(last) if last else None,
            ),
            tuple(data.get("words") or ()),
            str(data.get("preset") or ""),
        )

    @property
    def narrowed(self) -> bool:
        return bool(self.days.first or self.days.last or self.words)


def search_words(text: str) -> tuple[str, ...]:
    return tuple(text.split())[:10]


@dataclass(frozen=True)
class HistoryPage:
    rows: list[HistoryRow]
    total: int
    page: int

    @property
    def has_next(self) -> bool:
        return (self.page + 1) * PAGE < self.total


class HistoryService:
    """The history's use-cases: a page of a filter, the export."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.settings = settings
        self.repo = HistoryRepository(db)

    def query(self, flt: HistoryFilter, only: int | None = None) -> HistoryQuery:
        tz = self.settings.tz
        first, last = flt.days.first, flt.days.last
        start = datetime.combine(first, time(), tzinfo=tz) if first else None
        end = None
        if last and last < date.max:
            end = datetime.combine(last + timedelta(days=1), time(), tzinfo=tz)
        return HistoryQuery(start, end, flt.words, only)

    async def page(self, flt: HistoryFilter, page: int) -> HistoryPage:
        query = self.query(flt)
        total = await self.repo.count(query)
        last_page = max(0, (total - 1) // PAGE)
        page = min(max(0, page), last_page)
        rows = await self.repo.page(query, limit=PAGE, offset=page * PAGE)
        return HistoryPage(rows, total, page)

    async def export(
        self,
        flt: HistoryFilter,
        path: Path,
        sheet_title: str,
        headers: Sequence[str],
        row_of: Any,
        only: int | None = None,
    ) -> int:
        """Every mailing of the filter as one sheet; `row_of(HistoryRow)` (awaitable) gives a
        row's cells. Returns the mailings written."""
        writer = XlsxWriter(path, sheet_title, headers)
        batch: list[Sequence[Any]] = []
        written = 0
        async for row in self.repo.iter_rows(self.query(flt, only)):
            batch.append(await row_of(row))
            written += 1
            if len(batch) >= 500:
                await asyncio.to_thread(writer.extend, batch)
                batch = []
        if batch:
            await asyncio.to_thread(writer.extend, batch)
        await asyncio.to_thread(writer.save)
        return written

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.settings.tz)

    async def sends_over_time(self, mailing_id: int) -> list[tuple[datetime, int]]:
        """Sent messages per minute, as local moments."""
        found = []
        for minute, count in await self.repo.sends_by_minute(mailing_id):
            moment = datetime.fromisoformat(minute + ":00+00:00")
            found.append((self.local(moment), count))
        return found

    async def resendable_failed(self, mailing_id: int) -> int:
        return await self.repo.resendable_failed(mailing_id)

    async def failed_to_unknown(self, mailing_id: int) -> int:
        return await self.repo.failed_to_unknown(mailing_id)
