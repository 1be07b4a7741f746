"""Quiet hours and the frequency cap: the arithmetic, the refusal, the settings service.

Quiet hours are a window of local wall-clock times in TIMEZONE, which may cross
midnight (22:00-09:00). No mailing is created for a moment inside them, and a
run that reaches them pauses until they end (docs/architecture.md, "Delivery
engine"). The engine asks the time of a Clock, so tests can run it fast.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.zones import zone_words
from storage.db import Database
from storage.limits import CapScope, Limits, LimitsRepository

CAP_DAYS_MAX = 365
_WINDOW = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*[-–—]\s*(\d{1,2})[:.](\d{2})\s*$")
_OFF_WORDS = frozenset({"off", "no", "нет", "выкл", "выключить", "0"})


class Clock:
    """The engine's time: now, and sleeping until a moment (a test runs it faster)."""

    def now(self) -> datetime:
        """The current moment, aware, in UTC."""
        return datetime.now(UTC)

    async def sleep_until(self, moment: datetime) -> None:
        """Sleep until `moment` (at once when it passed)."""
        await asyncio.sleep(max(0.0, (moment - self.now()).total_seconds()))


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The moment of a wall-clock time on a day, in UTC. Through UTC: a time the clocks
    skip (spring forward) becomes the moment it really is, as in /new."""
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class QuietHours:
    """A quiet window [start, end) of wall-clock times in `tz`; crosses midnight when
    start > end."""

    start: time
    end: time
    tz: ZoneInfo

    @classmethod
    def of(cls, limits: Limits, tz: ZoneInfo) -> QuietHours | None:
        """The quiet hours in force, or None when they are off."""
        window = limits.quiet
        return None if window is None else cls(window[0], window[1], tz)

    def contains(self, moment: datetime) -> bool:
        """True when `moment` (aware) falls inside quiet hours."""
        clock = moment.astimezone(self.tz).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def _next(self, moment: datetime, clock: time) -> datetime:
        """The first moment after `moment` whose wall-clock time is `clock`."""
        day = moment.astimezone(self.tz).date() - timedelta(days=1)
        while (found := _at(day, clock, self.tz)) <= moment:
            day += timedelta(days=1)
        return found

    def end_after(self, moment: datetime) -> datetime:
        """When the quiet hours that hold `moment` end (UTC)."""
        return self._next(moment, self.end)

    def next_start(self, moment: datetime) -> datetime:
        """When quiet hours next begin after `moment` (UTC)."""
        return self._next(moment, self.start)

    def window_text(self) -> str:
        """The window as people write it: "22:00–09:00"."""
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def refusal(self, moment: datetime) -> str | None:
        """Why a mailing cannot go at `moment` (None when it can): it falls in quiet hours."""
        if not self.contains(moment):
            return None
        return _(
            "{time} falls in quiet hours ({window}, {zone}): mailings do not go out then. "
            "Choose a time from {end}, or change quiet hours in /settings."
        ).format(
            time=f"{moment.astimezone(self.tz):%H:%M}",
            window=self.window_text(),
            zone=zone_words(str(self.tz)),
            end=f"{self.end:%H:%M}",
        )


def parse_window(text: str) -> tuple[time, time] | None:
    """A typed quiet window "22:00-09:00" (or "22.00 – 09.00"); None for "off";
    ValueError with the reason for anything else."""
    if text.strip().lower() in _OFF_WORDS:
        return None
    match = _WINDOW.match(text)
    if match is None:
        raise ValueError("format")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError("range")
    start, end = time(h1, m1), time(h2, m2)
    if start == end:
        raise ValueError("empty")
    return start, end


def parse_cap(text: str) -> int | None:
    """A typed cap in days (1..CAP_DAYS_MAX); None for "off"; ValueError otherwise."""
    value = text.strip().lower()
    if value in _OFF_WORDS:
        return None
    if not value.isdigit():
        raise ValueError("format")
    days = int(value)
    if not 1 <= days <= CAP_DAYS_MAX:
        raise ValueError("range")
    return days


class LimitsService:
    """Quiet hours and the global cap for the handlers: read, change, check a moment."""

    def __init__(self, db: Database, tz: ZoneInfo) -> None:
        """Use the application's database; times are in `tz` (TIMEZONE)."""
        self.repo = LimitsRepository(db)
        self.tz = tz

    async def current(self) -> Limits:
        """The limits in force."""
        return await self.repo.get()

    async def quiet_hours(self) -> QuietHours | None:
        """The quiet hours in force (None when off)."""
        return QuietHours.of(await self.repo.get(), self.tz)

    async def refusal(self, moment: datetime) -> str | None:
        """Why a mailing (or a promotion's time) cannot go at `moment`; None when it can."""
        quiet = await self.quiet_hours()
        return None if quiet is None else quiet.refusal(moment)

    async def set_quiet(self, window: tuple[time, time] | None, user_id: int | None) -> None:
        """Set or turn off quiet hours."""
        await self.repo.set_quiet(window, user_id)

    async def set_cap(self, days: int | None, scope: CapScope, user_id: int | None) -> None:
        """Set or turn off the global cap, with its scope."""
        await self.repo.set_cap(days, scope, user_id)
