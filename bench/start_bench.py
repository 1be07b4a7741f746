"""Start of a mailing to 1,000,000 guests: how long writing the pending rows takes, and memory.

The guests are generated with executemany into a temporary database first. Each
measurement runs in its own process on a fresh copy of that database, so its
peak memory (ru_maxrss) is its own. Beside the engine's paged populate (reasons
for skipped guests, a cursor per page for crash safety), the baseline is one
bare INSERT ... SELECT of the same guests with no reasons and no pages.

    python bench/start_bench.py [--quick] [--guests N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The engine is imported in the measuring processes only (see main()).

SCENARIOS = {
    "telegram": (("telegram",), "all"),
    "both": (("telegram", "email"), "all"),
    "priority": (("telegram", "email"), "priority"),
}


async def generate(path: Path, count: int) -> float:
    """`count` guests (70% with Telegram, 60% with email), 50,000 per executemany."""
    from storage.db import Database
    from storage.schema import migrate

    db = await Database(path).open()
    await migrate(db.conn)
    rnd = random.Random(11)
    now = datetime.now(UTC).isoformat()
    started = time.perf_counter()
    for start in range(1, count + 1, 50_000):
        rows = []
        for i in range(start, min(count + 1, start + 50_000)):
            telegram, email = rnd.random() < 0.7, rnd.random() < 0.6
            rows.append(
                (
                    f"+7{9_000_000_000 + i}",
                    f"guest{i}@example.test" if email else None,
                    "Анна",
                    "Иванова",
                    rnd.randint(0, 5_000_000),
                    i if telegram else None,
                    700_000 + i if telegram else None,
                    "active" if telegram else "none",
                    "active" if email else "none",
                    now,
                    now,
                )
            )
        await db.executemany(
            "INSERT INTO guests (phone, email, first_name, last_name, balance_cents, tg_user_id, "
            "tg_chat_id, tg_status, email_status, search_text, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?)",
            rows,
        )
    await db.close()
    return time.perf_counter() - started


async def measure(path: Path, scenario: str) -> dict[str, float]:
    """In a fresh process: start one mailing (populate only); seconds, rows, peak MB."""
    import bot.delivery.engine  # noqa: F401  (the bot's own weight: aiogram and all)
    from bot.delivery.populate import populate
    from storage.db import Database
    from storage.deliveries import DeliveryRepository
    from storage.mailings import MailingRepository

    channels, mode = SCENARIOS[scenario] if scenario != "bare" else SCENARIOS["telegram"]
    db = await Database(path).open()
    mailing = await MailingRepository(db).create(
        name="bench",
        segment_id=1,
        scheduled_at=datetime.now(UTC),
        channels=channels,
        send_mode=mode,
        created_by=1,
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    if scenario == "bare":
        await db.execute(
            "INSERT INTO deliveries (mailing_id, guest_id, channel, status, address) "
            "SELECT ?, id, 'telegram', 'pending', tg_chat_id FROM guests",
            (mailing.id,),
        )
    else:
        repo = DeliveryRepository(db)
        await repo.start_run(mailing.id, 1)
        # Only the start is measured: the run's populate step, nothing is sent.
        await populate(repo, mailing, date.today(), lambda: False)
    seconds = time.perf_counter() - started
    rows = await db.fetchval("SELECT COUNT(*) FROM deliveries WHERE mailing_id = ?", (mailing.id,))
    await db.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "rows": rows, "peak_mb": peak, "added_mb": peak - before}


def main() -> int:
    """Generate the guests, then time each scenario in its own process."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a smoke run with 20,000 guests")
    parser.add_argument("--guests", type=int, default=None)
    parser.add_argument("--measure", nargs=2, metavar=("DB", "SCENARIO"))
    parser.add_argument("--generate", nargs=2, metavar=("DB", "GUESTS"))
    args = parser.parse_args()
    if args.generate:
        seconds = asyncio.run(generate(Path(args.generate[0]), int(args.generate[1])))
        print(json.dumps({"seconds": seconds}))
        return 0
    if args.measure:
        print(json.dumps(asyncio.run(measure(Path(args.measure[0]), args.measure[1]))))
        return 0
    guests = args.guests or (20_000 if args.quick else 1_000_000)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "guests.sqlite3"
        # Every step in its own process: a child forked from a big parent would
        # report the parent's memory as its own peak (ru_maxrss survives fork+exec).
        out = subprocess.run(
            [sys.executable, __file__, "--generate", str(source), str(guests)],
            capture_output=True,
            text=True,
            check=True,
        )
        generated = json.loads(out.stdout.strip().splitlines()[-1])["seconds"]
        print(f"generated {guests} guests with executemany in {generated:.1f}s")
        print(
            f"\n{'start of a mailing':40} {'rows':>9} {'seconds':>8} {'rows/s':>10} "
            f"{'peak MB':>8} {'added MB':>9}"
        )
        for scenario, label in [
            ("telegram", "engine: Telegram only"),
            ("both", "engine: Telegram + email (all)"),
            ("priority", "engine: Telegram, then email (priority)"),
            ("bare", "baseline: one bare INSERT ... SELECT"),
        ]:
            copy = Path(tmp) / f"{scenario}.sqlite3"
            shutil.copy(source, copy)
            out = subprocess.run(
                [sys.executable, __file__, "--measure", str(copy), scenario],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{label:40} {r['rows']:>9} {r['seconds']:>8.2f} "
                f"{r['rows'] / r['seconds']:>10.0f} {r['peak_mb']:>8.0f} {r['added_mb']:>9.1f}"
            )
            if scenario != "bare":
                ok &= r["seconds"] < 10 and r["peak_mb"] < 200
            copy.unlink()
    print("peak MB: the whole bot process (aiogram alone is ~150 MB); added MB: by the start")
    print("targets met (< 10 s, < 200 MB)" if ok else "TARGETS MISSED")
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
