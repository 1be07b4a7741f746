"""A page of /history with ~2,000 mailings and 1,000,000 delivery rows: first page,
a period, a search; time per page beside a bare query baseline.

A page is the service's filtered count and ten rows (JOINs for the segment's and the
promotion's names) plus each mailing's delivery counts (per mailing until the
counts snapshot is merged). The baseline is a bare `SELECT ... ORDER BY ... LIMIT 10`
on mailings with no joins, no counts.

    python bench/history_bench.py [--quick] [--mailings N] [--deliveries N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.history import DayRange, HistoryFilter, HistoryService  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.deliveries import DeliveryRepository  # noqa: E402
from storage.schema import migrate  # noqa: E402

WORDS = ["Новогодняя", "акция", "Ёлка", "Summer", "бонусы", "ужин", "Завтрак", "скидка"]


async def generate(db: Database, mailings: int, deliveries: int) -> None:
    now = datetime.now(UTC)
    stamp = now.isoformat(timespec="seconds")
    guests = max(1, deliveries // max(1, mailings))
    await db.executemany(
        "INSERT INTO guests (phone, first_name, tg_chat_id, tg_status, email_status, "
        "search_text, created_at, updated_at) VALUES (?, 'A', ?, 'active', 'none', '', ?, ?)",
        ((f"+7900{i:07d}", 10_000 + i, stamp, stamp) for i in range(guests)),
    )
    rng = random.Random(1)
    await db.executemany(
        "INSERT INTO mailings (name, segment_id, scheduled_at, channels, status, created_by, "
        "created_at, updated_at) VALUES (?, 1, ?, 'telegram', ?, 1, ?, ?)",
        (
            (
                f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i}",
                (now - timedelta(hours=6 * i)).isoformat(timespec="seconds"),
                "scheduled" if i < 5 else "completed",
                stamp,
                stamp,
            )
            for i in range(mailings)
        ),
    )
    per = deliveries // mailings
    statuses = ["sent"] * 8 + ["failed", "skipped"]
    await db.executemany(
        "INSERT INTO deliveries (mailing_id, guest_id, channel, status) "
        "VALUES (?, ?, 'telegram', ?)",
        ((m, g + 1, statuses[g % 10]) for m in range(1, mailings + 1) for g in range(per)),
    )
    await db.execute("ANALYZE")


async def timed(label: str, runs: int, action: object) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        await action()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    print(f"{label:<28} {best * 1000:8.1f} ms")
    return best


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes (shared machine)")
    parser.add_argument("--mailings", type=int, default=2_000)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    args = parser.parse_args()
    mailings, deliveries = args.mailings, args.deliveries
    if args.quick:
        mailings, deliveries = 200, 50_000
    with tempfile.TemporaryDirectory() as tmp:
        values = {"bot_token": "1:bench", "admin_ids": "1", "data_dir": Path(tmp)}
        settings = Settings(_env_file=None, timezone="Europe/Moscow", **values)  # type: ignore[arg-type]
        db = await Database(Path(tmp) / "bench.sqlite3").open()
        await migrate(db.conn)
        started = time.perf_counter()
        await generate(db, mailings, deliveries)
        print(f"{mailings} mailings, {deliveries} deliveries made in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        service = HistoryService(db, settings)
        counts = DeliveryRepository(db)
        today = datetime.now(settings.tz).date()

        async def page(flt: HistoryFilter) -> None:
            found = await service.page(flt, 0)
            for row in found.rows:
                await counts.counts(row.mailing.id)

        async def bare() -> None:
            await db.fetchall("SELECT * FROM mailings ORDER BY scheduled_at DESC, id DESC LIMIT 10")

        month = HistoryFilter(DayRange(today - timedelta(days=29), today))
        await timed("baseline (bare query)", 5, bare)
        await timed("first page", 5, lambda: page(HistoryFilter()))
        await timed("period (30 days)", 5, lambda: page(month))
        await timed("search «ёлка»", 5, lambda: page(HistoryFilter(words=("ёлка",))))
        await timed("search, last page", 5, lambda: service.page(
            HistoryFilter(words=("акция",)), 10**6))  # fmt: skip
        await db.close()


if __name__ == "__main__":
    asyncio.run(main())
