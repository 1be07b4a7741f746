"""How long a mailing's numbers in guests take at 1,000,000 delivery rows.

Prints, per call: a bare COUNT(*) over the mailing's rows (the floor), the live
GROUP BY guest (a card of a running mailing), the run's read of every guest's
state (once per round), a progress edit from the run's tally, a row finished
into the tally, and a history page of 10 finished mailings read from the kept
snapshots. Run: python bench/counts_bench.py [guests]
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from storage.db import Database, fold  # noqa: E402
from storage.deliveries import DeliveryRepository, now_text  # noqa: E402
from storage.guest_counts import GuestCountRepository  # noqa: E402
from storage.schema import migrate  # noqa: E402
from storage.statuses import Channel  # noqa: E402


def build(path: Path, guests: int) -> None:
    """`guests` guests; mailing 1 with a row per guest on both channels (mode "all"),
    written page by page as a run does; mailings 2..11 small and finished."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.create_function("fold", 1, fold, deterministic=True)  # the history's name search
    conn.execute("BEGIN")
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO guests (id, phone, email, first_name, tg_chat_id, tg_status, email_status, "
        "created_at, updated_at) SELECT i, '+7900' || i, 'g' || i || '@example.test', 'Анна', i, "
        "CASE WHEN i % 3 THEN 'active' ELSE 'none' END, "
        "CASE WHEN i % 5 THEN 'active' ELSE 'none' END, 'x', 'x' FROM n",
        (guests,),
    )
    for mailing_id in range(1, 12):
        status = "running" if mailing_id == 1 else "completed"
        conn.execute(
            "INSERT INTO mailings (id, name, segment_id, scheduled_at, channels, status, "
            "created_by, created_at, updated_at) VALUES (?, 'm', 1, 'x', 'telegram,email', ?, "
            "1, 'x', 'x')",
            (mailing_id, status),
        )
    status = (
        "CASE WHEN id % 7 = 0 THEN 'failed' WHEN id % 11 = 0 THEN 'skipped' "
        "WHEN id % 13 = 0 THEN 'pending' ELSE 'sent' END"
    )
    for start in range(0, guests, 1000):
        for channel in ("telegram", "email"):
            conn.execute(
                "INSERT INTO deliveries (mailing_id, guest_id, channel, status, address, "
                f"error_code, updated_at) SELECT 1, id, ?, {status}, email, "
                "CASE WHEN id % 11 = 0 THEN 'no_email' END, 'x' FROM guests "
                "WHERE id > ? AND id <= ?",
                (channel, start, start + 1000),
            )
    conn.execute(
        "INSERT INTO deliveries (mailing_id, guest_id, channel, status, updated_at) "
        "SELECT m.id, g.id, 'telegram', 'sent', 'x' FROM guests g, mailings m "
        "WHERE m.id > 1 AND g.id <= 1000"
    )
    conn.execute("COMMIT")
    conn.close()


async def timed(label: str, call: Callable[[], Awaitable[Any]], repeat: int = 3) -> Any:
    """The best of `repeat` calls, printed in milliseconds."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = await call()
        best = min(best, time.perf_counter() - start)
    print(f"{label:58} {best * 1000:9.1f} ms")
    return result


async def main(guests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite"
        db = await Database(path).open()
        await migrate(db.conn)
        build(path, guests)
        rows = await db.fetchval("SELECT COUNT(*) FROM deliveries WHERE mailing_id = 1")
        print(f"mailing of {rows:,} delivery rows ({guests:,} guests, two channels)")
        repo = GuestCountRepository(db)
        deliveries = DeliveryRepository(db)
        await timed(
            "bare SELECT count(*) over the mailing's rows",
            lambda: db.fetchval("SELECT COUNT(*) FROM deliveries WHERE mailing_id = ?", (1,)),
        )
        await timed("rows by channel and status (the old counts)", lambda: deliveries.counts(1))
        await timed("guest numbers, live GROUP BY guest", lambda: repo.count(1))
        counts = await timed(
            "a run's read of every guest's state", lambda: deliveries.run_counts(1)
        )
        tally = counts.guests
        assert tally is not None
        ids = range(1, min(guests, 100_000) + 1)
        start = time.perf_counter()
        for guest_id in ids:
            tally.set(guest_id, Channel.EMAIL, "sent")
        per_row = (time.perf_counter() - start) / len(ids)
        print(f"{'a finished row into the tally':58} {per_row * 1e6:9.2f} µs")
        start = time.perf_counter()
        tally.set(1, Channel.TELEGRAM, "failed")
        tally.counts()
        edit = time.perf_counter() - start
        print(f"{'a progress edit from the tally':58} {edit * 1000:9.3f} ms")
        page = list(range(2, 12))
        await repo.many(page, now_text())  # counted once and kept
        await timed(
            "history page of 10 finished mailings (kept)", lambda: repo.many(page, now_text())
        )
        await db.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500_000))
