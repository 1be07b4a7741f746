"""A run's limits: the frequency cap it writes rows with, and the watch on quiet hours.

A run that reaches quiet hours stops taking rows (the rest stay pending) and the
mailing pauses until they end; the engine wakes it then. The limits are read
from the database as the run goes, so a change in /settings reaches it within a
minute (docs/architecture.md, "Delivery engine").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.quiet_hours import Clock, QuietHours
from storage.limits import LimitsRepository

RECHECK_SECONDS = 60  # how soon a change of quiet hours in /settings reaches a run


async def cap_for_run(
    limits: LimitsRepository, mailing_id: int, clock: Clock
) -> tuple[int, str] | None:
    """The frequency cap the mailing's rows are written with: (days, since as stored),
    or None. The stricter (longer) of the mailing's own cap and the global one, when
    the global one's scope covers the mailing's kind."""
    kind, own = await limits.cap_of(mailing_id)
    days = (await limits.get()).cap_for(kind, own)
    if days is None:
        return None
    since = clock.now() - timedelta(days=days)
    return days, since.isoformat(timespec="milliseconds")


class QuietWatch:
    """Tells a run when quiet hours begin: `on_quiet(until)` once, then it ends."""

    def __init__(
        self,
        limits: LimitsRepository,
        clock: Clock,
        tz: ZoneInfo,
        on_quiet: Callable[[datetime], None],
    ) -> None:
        """Watch the quiet hours in `limits` (wall-clock times in `tz`) on `clock`."""
        self.limits, self.clock, self.tz = limits, clock, tz
        self.on_quiet = on_quiet
        self._task: asyncio.Task[None] | None = None

    async def until(self) -> datetime | None:
        """When quiet hours hold now: the moment they end; else None."""
        quiet = QuietHours.of(await self.limits.get(), self.tz)
        now = self.clock.now()
        return quiet.end_after(now) if quiet is not None and quiet.contains(now) else None

    async def _watch(self) -> None:
        """Sleep until quiet hours begin (looking again every RECHECK_SECONDS), then tell."""
        while True:
            quiet = QuietHours.of(await self.limits.get(), self.tz)
            now = self.clock.now()
            if quiet is not None and quiet.contains(now):
                self.on_quiet(quiet.end_after(now))
                return
            wake = now + timedelta(seconds=RECHECK_SECONDS)
            if quiet is not None:
                wake = min(wake, quiet.next_start(now))
            await self.clock.sleep_until(wake)

    def start(self) -> None:
        """Start watching (in the background)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch(), name="quiet-hours")

    async def close(self) -> None:
        """Stop watching."""
        if self._task is not None:
            self._task.cancel()
            # A watch broken by the database ends quietly: the run goes on without it.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
