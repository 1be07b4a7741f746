"""The one Telegram rate limiter of the bot: every broadcast send waits for a slot here.

Slots are spaced evenly (no bursts), so any one-second window holds at most
TELEGRAM_RATE sends however the requests' travel times vary, within a small
margin. A 429 pauses every sender at once for Telegram's retry_after.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)

# Sends are spaced 1.5% wider than 1/rate: requests leave in order but arrive with a
# few milliseconds of jitter, and a server counting a strict one-second window
# must never see rate+1 of them.
JITTER_MARGIN = 0.015
# A slot this close is taken at once: sleeping for less costs a turn of the event
# loop per message at high rates, and half a millisecond early moves no send out of
# its one-second window by more than the margin above allows.
EARLY = 0.0005


class RateLimiter:
    """Evenly spaced send slots at `rate` per second, shared by all running mailings."""

    def __init__(self, rate: float, *, margin: float = JITTER_MARGIN) -> None:
        """A limiter for `rate` messages per second."""
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = rate
        self.interval = (1.0 + margin) / rate
        self._next = 0.0
        self._paused_until = 0.0
        self.pauses = 0

    async def acquire(self) -> None:
        """Wait for the next free slot (and out of any 429 pause); the slot is then used."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            slot = max(self._next, now, self._paused_until)
            self._next = slot + self.interval
            if slot - now > EARLY:
                await asyncio.sleep(slot - now)
            # A 429 that arrived while we slept moves every send after the pause.
            if self._paused_until <= loop.time():
                return

    def pause(self, seconds: float) -> None:
        """Stop every send for `seconds` (Telegram's retry_after), from now."""
        loop = asyncio.get_running_loop()
        until = loop.time() + max(0.0, seconds)
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1
            log.warning("Telegram asked to slow down: every send waits %.1f s", seconds)

    @property
    def paused(self) -> bool:
        """True while a 429 pause is in force."""
        return self._paused_until > asyncio.get_running_loop().time()
