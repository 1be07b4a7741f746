"""The one Telegram rate limiter of the bot: every message it sends or edits waits here.

Slots are spaced evenly (no bursts), so any one-second window holds at most
TELEGRAM_RATE sends however the requests' travel times vary, within a small
margin. A 429 pauses every sender at once for Telegram's retry_after.

A priority call (a reply to an admin) does not queue behind the broadcast's
reserved slots: it takes the first reserved slot from now on and every later
reservation moves back by one interval, so the spacing holds for all of them.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque

log = logging.getLogger(__name__)

# Sends are spaced 1.5% wider than 1/rate: requests leave in order but arrive with a
# few milliseconds of jitter, and a server counting a strict one-second window
# must never see rate+1 of them.
JITTER_MARGIN = 0.015
# A slot this close is taken at once: sleeping for less costs a turn of the event
# loop per message at high rates, and half a millisecond early moves no send out of
# its one-second window by more than the margin above allows.
EARLY = 0.0005
# Slots given to priority calls are remembered for waiters to catch up with; past this
# many the older half is forgotten (waiters sleep well under a second or a 429 pause).
INSERTS_KEPT = 4096


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
        self.replies_waiting = 0
        self._inserts: list[float] = []  # slots handed to priority calls, in order
        self._inserts_base = 0  # how many were forgotten from the front
        # The last grants, as Telegram counts them: at most `rate` in any window.
        self.window = 1.0 + margin
        self._recent: deque[float] = deque(maxlen=max(1, math.floor(rate)))

    async def acquire(self, *, priority: bool = False) -> None:
        """Wait for a free slot (and out of any 429 pause); the slot is then used.

        `priority`: ahead of every reserved broadcast slot (an admin's reply)."""
        if not priority:
            await self._acquire(priority=False)
            return
        # Replies still waiting for their slot: the bot owes the admin an answer.
        self.replies_waiting += 1
        try:
            await self._acquire(priority=True)
        finally:
            self.replies_waiting -= 1

    async def _acquire(self, *, priority: bool) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            earliest = max(now, self._paused_until)
            if priority:
                slot = self._insert(earliest)
            else:
                slot = max(self._next, earliest)
                self._next = slot + self.interval
            seen = self._inserts_base + len(self._inserts)
            while slot - loop.time() > EARLY:
                await asyncio.sleep(slot - loop.time())
                # Each priority call put at or before our slot meanwhile moves us back one.
                slot += self._moved(seen, slot) * self.interval
                seen = self._inserts_base + len(self._inserts)
            # After a stall of the event loop every overdue waiter wakes at once: the ones
            # the window cannot take wait, so no burst lands on top of the next second.
            while len(self._recent) == self._recent.maxlen:
                wait = self._recent[0] + self.window - loop.time()
                if wait <= EARLY:
                    break
                await asyncio.sleep(wait)
            # A 429 that arrived while we slept moves every send after the pause.
            if self._paused_until <= loop.time():
                self._recent.append(loop.time())
                return

    def _insert(self, earliest: float) -> float:
        """The slot for a priority call: the first reserved one from `earliest` on."""
        reserved_ahead = math.floor((self._next - earliest) / self.interval)
        if reserved_ahead <= 0:
            slot = max(self._next, earliest)
            self._next = slot + self.interval
            return slot
        slot = self._next - reserved_ahead * self.interval
        self._next += self.interval
        self._inserts.append(slot)
        if len(self._inserts) > INSERTS_KEPT:
            half = len(self._inserts) // 2
            del self._inserts[:half]
            self._inserts_base += half
        return slot

    def _moved(self, seen: int, slot: float) -> int:
        """How many priority slots at or before `slot` were handed out since `seen`."""
        start = max(0, seen - self._inserts_base)
        return sum(1 for at in self._inserts[start:] if at <= slot)

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
