"""The bot's one Telegram budget: evenly spaced slots, and an admin's reply ahead of a broadcast."""

from __future__ import annotations

import asyncio
import time

from bot.delivery.limiter import RateLimiter


async def _hammer(limiter: RateLimiter, times: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        await limiter.acquire()
        times.append(loop.time())


def _busiest_second(times: list[float]) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_an_admins_reply_goes_before_the_broadcasts_reserved_slots() -> None:
    rate = 20
    limiter = RateLimiter(rate)
    loop = asyncio.get_running_loop()
    broadcast: list[float] = []
    stop = asyncio.Event()
    workers = [asyncio.create_task(_hammer(limiter, broadcast, stop)) for _ in range(12)]
    await asyncio.sleep(0.5)  # twelve workers keep about 0.6 s of slots reserved ahead

    asked = loop.time()
    reply = asyncio.create_task(limiter.acquire(priority=True))
    queued = asyncio.create_task(limiter.acquire())
    await reply
    reply_waited = loop.time() - asked
    await queued
    queued_waited = loop.time() - asked
    replies = [asked + reply_waited]
    for _ in range(3):  # a few more replies while the broadcast goes on
        await limiter.acquire(priority=True)
        replies.append(loop.time())
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*workers)

    assert reply_waited < 3 * limiter.interval, reply_waited
    assert queued_waited > 8 * limiter.interval, queued_waited
    # Replies and broadcast together stay within the budget (one slot of scheduling jitter).
    assert _busiest_second(broadcast + replies) <= rate + 1


async def test_a_priority_call_on_an_idle_limiter_is_immediate_and_spaced_after() -> None:
    limiter = RateLimiter(10)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await limiter.acquire(priority=True)
    first = loop.time()
    await limiter.acquire()
    second = loop.time()
    assert first - start < 0.05
    assert second - first >= limiter.interval * 0.9


async def test_a_stalled_event_loop_does_not_release_a_burst_over_the_window() -> None:
    rate = 30
    limiter = RateLimiter(rate)
    grants: list[float] = []
    stop = asyncio.Event()
    workers = [asyncio.create_task(_hammer(limiter, grants, stop)) for _ in range(16)]
    await asyncio.sleep(1.2)
    # The loop stalls (a long synchronous call, on purpose): slots fall overdue.
    time.sleep(0.3)  # noqa: ASYNC251
    await asyncio.sleep(1.5)
    stop.set()
    await asyncio.gather(*workers)
    # However the loop was held up, Telegram's window never sees more than the rate.
    assert _busiest_second(grants) <= rate, sorted(grants)
    assert len(grants) >= 2.9 * rate * 0.8  # and the stall cost only its own time
