"""The render context of a run's messages, kept current while the run goes on."""

from __future__ import annotations

import time
from datetime import date
from typing import TYPE_CHECKING

from bot.render import RenderContext

if TYPE_CHECKING:
    from bot.config import Settings

REFRESH_SECONDS = 60


class RenderClock:
    """The render context of a mailing, refreshed each minute ({today} turns at midnight)."""

    def __init__(self, locale: str, settings: Settings, day: date | None = None) -> None:
        """Render for `locale` with today's date in TIMEZONE, or always `day` (a promotion's
        occurrence: its segment and {today} are of the occurrence's date)."""
        self.locale, self.tz, self.day = locale, settings.tz, day
        self.at = 0.0
        self.ctx = RenderContext(locale, day) if day else RenderContext.now(locale, self.tz)

    def __call__(self) -> RenderContext:
        """The current context."""
        if self.day is None and time.monotonic() - self.at > REFRESH_SECONDS:
            self.ctx, self.at = RenderContext.now(self.locale, self.tz), time.monotonic()
        return self.ctx

    def date(self) -> date:
        """Today in TIMEZONE (segments with dates are evaluated against it)."""
        return self().today
