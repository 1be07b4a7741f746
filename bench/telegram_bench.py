"""Telegram delivery speed against the fake Bot API (in its own process).

1. Rate-limited: the fake answers 429 beyond 30 sends in any one-second window;
   TELEGRAM_RATE=30; 3,000 guests. The engine should reach >= 97% of 30/s with
   no 429 at all. Beside it, a naive loop pacing sends at exactly 1/30 s.
2. Unlimited: the engine's rate next to a bare aiogram loop (send_message with
   the same concurrency, the same personalised texts rendered per message, no
   database), same server, same run. The machine is shared and noisy, so the two
   alternate for several rounds (engine first in even rounds, the loop first in
   odd ones) and the table shows the median time of each; the target is on the
   median of the per-round ratios: the engine should reach >= 90% of the loop.
   The engine's time runs from launch to the end of its run's task (writing the
   segment's rows and the admin's progress messages included); the bench awaits
   that task instead of polling the database, which would cost the engine's
   event loop the GIL a few hundred times a second.

    python bench/telegram_bench.py [--quick] [--guests N] [--only limited|unlimited]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from delivery_common import (
    TEMPLATE,
    Row,
    ServerProcess,
    add_guests,
    create_mailing,
    guest_rows,
    make_engine,
    open_db,
    peak_mb,
    print_table,
    run_mailing,
    serve_commands,
    settings_for,
)

from bot.app import create_bot
from bot.delivery.telegram_sender import telegram_workers
from bot.render import Recipient, RenderContext, render_telegram

UNLIMITED_RATE = 1_000_000.0


async def serve_fake(rate_limit: str) -> None:
    """Child process: the fake Bot API, optionally enforcing a global rate limit."""
    from tests.fakes.botapi import FakeBotAPI

    fake = FakeBotAPI()
    await fake.start()
    fake.rate_limit = int(rate_limit) or None
    # The fake is the measuring instrument: a collection pause here would stamp the
    # requests queued meanwhile with one arrival time, a burst Telegram never sees.
    gc.disable()

    def stats() -> dict[str, int]:
        """Successful sends and 429 answers so far."""
        sends = [c for c in fake.calls if c.method == "sendMessage" and c.ok]
        return {"sent": len(sends), "rate_limited": fake.rate_limited_count}

    def reset() -> dict[str, int]:
        """Forget every call and message, so each run meets the same fresh server."""
        fake.calls.clear()
        fake.messages.clear()
        fake._texts.clear()
        fake._store.clear()
        fake.rate_limited_count = 0
        return {}

    await serve_commands(
        {"stats": stats, "reset": reset},
        {"url": fake.base_url, "token": fake.token},
    )
    await fake.stop()


async def engine_run(
    url: str, token: str, guests: int, rate: float, data_dir: Path
) -> tuple[float, int]:
    """Send one Telegram mailing to `guests` through the engine; (seconds, workers)."""
    db = await open_db(data_dir)
    await add_guests(db, guests)
    settings = settings_for(data_dir, url, bot_token=token).model_copy(
        update={"telegram_rate": rate}
    )
    engine = await make_engine(db, settings)
    try:
        mailing = await create_mailing(db, ["telegram"])
        seconds = await run_mailing(engine, db, mailing)
    finally:
        await engine.stop()
        await engine.bot.session.close()
        await db.close()
    return seconds, engine.telegram_workers


async def bare_loop(
    url: str, token: str, guests: int, workers: int, *, pace: float | None = None
) -> float:
    """send_message to every guest with `workers` concurrent senders; no database."""
    settings = settings_for(Path(tempfile.gettempdir()), url, bot_token=token)
    bot = create_bot(settings)
    ctx = RenderContext.now("ru", settings.tz)
    # The guests' stored fields; each becomes template data as it is sent, as in the
    # engine (which reads them from the database in pages, and that is timed too).
    queue: asyncio.Queue[tuple[int, str, str, int]] = asyncio.Queue()
    for row in guest_rows(guests):
        queue.put_nowait((row[6], row[2], row[3], row[4]))
    loop = asyncio.get_running_loop()
    next_slot = loop.time()

    async def worker() -> None:
        """Send queued texts until none are left (paced when asked)."""
        nonlocal next_slot
        while not queue.empty():
            chat_id, first, last, cents = queue.get_nowait()
            recipient = Recipient(first, last, None, Decimal(cents).scaleb(-2))
            text = render_telegram(TEMPLATE, recipient, ctx)  # a mailing is personalised
            if pace:
                slot = max(next_slot, loop.time())
                next_slot = slot + pace
                await asyncio.sleep(slot - loop.time())
            with contextlib.suppress(Exception):  # the naive loop's 429s: the server counts
                await bot.send_message(chat_id, text)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed = time.perf_counter() - started
    await bot.session.close()
    return elapsed


def limited(script: str, guests: int) -> list[Row]:
    """Scenario 1: the server enforces 30/s; the engine at TELEGRAM_RATE=30 and a naive loop."""
    fake = ServerProcess([script, "--serve-fake", "30"])
    url, token = fake.info["url"], fake.info["token"]
    try:
        gc.freeze()  # the start-up objects set aside, as the bot does (bot/app.py)
        with tempfile.TemporaryDirectory() as tmp:
            seconds, _ = asyncio.run(engine_run(url, token, guests, 30, Path(tmp)))
        engine_stats = fake.ask("stats")  # the engine's 429s, before the loop's run
        fake.ask("reset")
        naive = asyncio.run(bare_loop(url, token, guests, 8, pace=1 / 30))
        naive_stats = fake.ask("stats")
    finally:
        fake.close()
    rate = guests / seconds
    return [
        Row("engine, TELEGRAM_RATE=30, server limit 30/s", guests, seconds, peak_mb(),
            f"{rate / 30:.1%} of 30/s, 429 answers: {engine_stats['rate_limited']}"),
        Row("baseline: naive loop paced at 1/30 s", naive_stats["sent"], naive, peak_mb(),
            f"429 answers: {naive_stats['rate_limited']}"),
    ]  # fmt: skip


def unlimited(script: str, guests: int, rounds: int) -> tuple[list[Row], float]:
    """Scenario 2: no limit; the engine and a bare loop, alternating; rows and the
    median of the per-round ratios (engine rate / bare rate)."""
    fake = ServerProcess([script, "--serve-fake", "0"])
    url, token = fake.info["url"], fake.info["token"]
    engine_times: list[float] = []
    bare_times: list[float] = []
    workers = telegram_workers(UNLIMITED_RATE)

    def engine_once() -> None:
        fake.ask("reset")
        with tempfile.TemporaryDirectory() as tmp:
            seconds, _ = asyncio.run(engine_run(url, token, guests, UNLIMITED_RATE, Path(tmp)))
        engine_times.append(seconds)

    def bare_once() -> None:
        fake.ask("reset")
        bare_times.append(asyncio.run(bare_loop(url, token, guests, workers)))

    try:
        # aiogram builds its pydantic models on first use: warm up before timing either,
        # then set the start-up objects aside as the bot does (gc.freeze in bot/app.py).
        asyncio.run(bare_loop(url, token, 100, 8))
        gc.freeze()
        for turn in range(rounds):
            for run in (engine_once, bare_once) if turn % 2 == 0 else (bare_once, engine_once):
                run()
    finally:
        fake.close()
    engine, bare = statistics.median(engine_times), statistics.median(bare_times)
    ratios = sorted(b / e for e, b in zip(engine_times, bare_times, strict=True))
    ratio = statistics.median(ratios)
    spread = f"rounds {ratios[0]:.0%}-{ratios[-1]:.0%}" if rounds > 1 else ""
    return [
        Row(f"engine, no limit ({workers} concurrent)", guests, engine, peak_mb(),
            f"{ratio:.1%} of the bare loop (median of {rounds}; {spread})"),
        Row(f"baseline: bare aiogram loop ({workers} concurrent)", guests, bare, peak_mb(),
            f"best of each: {min(bare_times) / min(engine_times):.1%}"),
    ], ratio  # fmt: skip


def main() -> int:
    """Run the scenarios and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a smoke run with few guests")
    parser.add_argument("--guests", type=int, default=None)
    parser.add_argument("--only", choices=["limited", "unlimited"], default=None)
    parser.add_argument("--serve-fake", metavar="RATE_LIMIT")
    args = parser.parse_args()
    if args.serve_fake is not None:
        asyncio.run(serve_fake(args.serve_fake))
        return 0
    script = str(Path(__file__).resolve())
    rows: list[Row] = []
    ok = True
    if args.only != "unlimited":
        part = limited(script, args.guests or (150 if args.quick else 3000))
        ok &= part[0].rate >= 0.97 * 30 and part[0].note.endswith("429 answers: 0")
        rows += part
    if args.only != "limited":
        part, ratio = unlimited(
            script, args.guests or (300 if args.quick else 10_000), 1 if args.quick else 7
        )
        ok &= ratio >= 0.90
        rows += part
    print_table("Telegram delivery", rows)
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
