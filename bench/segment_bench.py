"""Counting a segment over a large guest base: time per condition kind beside a bare
`SELECT count(*) FROM guests`, and peak memory. The base has a delivery history (one sent
message per guest on average over the last 60 days), so "mailed within N days" reads real rows.

    python bench/segment_bench.py [--quick] [--guests N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from storage.db import Database  # noqa: E402
from storage.schema import migrate  # noqa: E402
from storage.segments import Condition as C  # noqa: E402
from storage.segments import SegmentRepository, where_clause  # noqa: E402

KINDS = {
    "sex": C("sex", "=", "male"),
    "age": C("age", "between", [25, 40]),
    "birthday within 7 days": C("birthday", "within_days", 7),
    "balance": C("balance", "at_least", "500"),
    "average bill": C("avg_bill", "between", ["300", "900"]),
    "last visit (no date in)": C("last_visit", "older_than_days", 90, True),
    "group one of": C("group", "in", ["VIP", "Gold"]),
    "tags all of": C("tags", "all", ["vip", "wine"]),
    "subscribed": C("subscribed", "present"),
    "no mailing in 30 days": C("mailed", "not_within_days", 30),
    "mailed within 7 days": C("mailed", "within_days", 7),
}
TODAY = date(2026, 1, 1)
ZONE = ZoneInfo("Europe/Moscow")
MAILINGS = 30  # over 60 days: one every other day


async def generate_deliveries(db: Database, count: int) -> int:
    """About one sent delivery per guest, spread over MAILINGS mailings in 60 days."""
    rnd = random.Random(11)
    now = datetime.now(UTC).isoformat()
    first = datetime.combine(TODAY - timedelta(days=60), datetime.min.time(), tzinfo=UTC)
    moments = [first + timedelta(days=2 * m, hours=9) for m in range(MAILINGS)]
    await db.executemany(
        "INSERT INTO mailings (name, segment_id, scheduled_at, channels, created_by, "
        "created_at, updated_at) VALUES (?, 1, ?, 'telegram', 1, ?, ?)",
        [(f"Mailing {m}", at.isoformat(), now, now) for m, at in enumerate(moments, 1)],
    )
    written = 0
    for start in range(1, count + 1, 50_000):
        rows = []
        for guest in range(start, min(count + 1, start + 50_000)):
            for m in rnd.sample(range(MAILINGS), rnd.choice((0, 1, 1, 2))):
                sent = moments[m] + timedelta(seconds=rnd.randint(0, 3_600))
                rows.append((m + 1, guest, sent.isoformat(timespec="milliseconds")))
        await db.executemany(
            "INSERT INTO deliveries (mailing_id, guest_id, channel, status, sent_at) "
            "VALUES (?, ?, 'telegram', 'sent', ?)",
            rows,
        )
        written += len(rows)
    # The engine marks rows sent by an update, whose trigger keeps guests.last_sent_at;
    # rows inserted as sent here get it the way migration 0014 fills it in.
    await db.execute(
        "UPDATE guests SET last_sent_at = (SELECT max(sent_at) FROM deliveries "
        "WHERE deliveries.guest_id = guests.id AND deliveries.status = 'sent')"
    )
    await db.execute("ANALYZE")
    return written


async def generate(db: Database, count: int) -> None:
    rnd = random.Random(7)
    now = datetime.now(UTC).isoformat()
    for start in range(1, count + 1, 50_000):
        rows = []
        for i in range(start, min(count + 1, start + 50_000)):
            born = date(1950, 1, 1) + timedelta(days=rnd.randint(0, 20_000))
            visit = date(2026, 1, 1) - timedelta(days=rnd.randint(0, 900))
            visits = rnd.randint(0, 40)
            sex = rnd.choice(("male", "female", None))
            group = rnd.choice(("VIP", "Gold", None))
            last = visit.isoformat() if rnd.random() < 0.8 else None
            spent = visits * rnd.randint(20_000, 150_000)
            email = "active" if rnd.random() < 0.7 else "none"
            balance = rnd.randint(0, 500_000)
            phone = f"+7{9_000_000_000 + i}"
            rows.append(
                (phone, sex, born.isoformat(), balance, group, last, visits, spent, email, now, now)
            )
        await db.executemany(
            "INSERT INTO guests (phone, sex, birthday, balance_cents, account_group, "
            "last_visit_at, visits_count, total_spent_cents, email_status, email, search_text, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'g@x.ru', '', ?, ?)",
            rows,
        )
        tags = [
            (i, t) for i in range(start, min(count + 1, start + 50_000), 7) for t in ("vip", "wine")
        ]
        await db.executemany("INSERT INTO guest_tags (guest_id, tag) VALUES (?, ?)", tags)
    await db.execute("ANALYZE")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100,000 guests")
    parser.add_argument("--guests", type=int, default=1_000_000)
    args = parser.parse_args()
    count = 100_000 if args.quick else args.guests
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database(Path(tmp) / "bench.sqlite3").open()
        await migrate(db.conn)
        started = time.perf_counter()
        await generate(db, count)
        deliveries = await generate_deliveries(db, count)
        print(
            f"guests: {count:,}, sent deliveries: {deliveries:,}, "
            f"generated in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        total = await db.fetchval("SELECT count(*) FROM guests")
        took = time.perf_counter() - started
        print(f"{'SELECT count(*) FROM guests':32} {took:7.3f} s  {total:>9,}")
        repo = SegmentRepository(db, ZONE)
        for name, condition in KINDS.items():
            segment = await repo.create(name, [condition])
            sql, params = where_clause(segment, today=TODAY, tz=ZONE)
            started = time.perf_counter()
            found = await db.fetchval(f"SELECT count(*) FROM guests WHERE {sql}", params)
            print(f"{name:32} {time.perf_counter() - started:7.3f} s  {found:>9,}")
        await db.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak:.0f} MB")


if __name__ == "__main__":
    asyncio.run(main())
