"""What a run's senders share with the engine: the render context and how many workers."""

from __future__ import annotations

import math
import time
from datetime import date
from typing import TYPE_CHECKING

from bot.render import RenderContext

if TYPE_CHECKING:
    from bot.config import Settings


def telegram_workers(rate: float) -> int:
    """Concurrent Telegram sends: enough to keep `rate` up at ~250 ms per request."""
    return max(4, min(32, math.ceil(rate / 4)))


class Today:
    """The render context of a mailing, refreshed each minute ({today} turns at midnight)."""

    def __init__(self, locale: str, settings: Settings) -> None:
        """Render for `locale` with today's date in TIMEZONE."""
        self.locale, self.tz = locale, settings.tz
        self.at = 0.0
        self.ctx = RenderContext.now(locale, self.tz)

    def __call__(self) -> RenderContext:
        """The current context."""
        if time.monotonic() - self.at > 60:
            self.ctx, self.at = RenderContext.now(self.locale, self.tz), time.monotonic()
        return self.ctx

    def date(self) -> date:
        """Today in TIMEZONE (segments with dates are evaluated against it)."""
        return self().today
