"""A mailing's journal at scale: page times and the XLSX export's time and memory.

Builds a database with one mailing of N deliveries (default 1,000,000; both
channels, every status), then prints:
- journal pages (first, deep via the keyset cursor, each filter) in ms;
- the export through JournalService (database -> rows -> XLSX) beside a baseline:
  the bare writer (bot.xlsx) on the same rows made in memory, no database; and
  openpyxl's write-only mode on the same rows, the writer this one replaced.
Each export runs in its own process so ru_maxrss (peak resident memory) is its own.

    python bench/journal_bench.py [--rows N] [--skip-openpyxl]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.journal import ExportSpec, JournalService  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.journal import JournalFilter, JournalRow  # noqa: E402
from storage.schema import migrate  # noqa: E402
from storage.statuses import Channel, DeliveryStatus  # noqa: E402

TZ = ZoneInfo("Europe/Moscow")
HEADERS = ["No.", "Guest", "Phone", "Channel", "Status", "Reason", "Address", "Time"]
STATUSES = ["sent"] * 85 + ["failed"] * 5 + ["skipped"] * 8 + ["unknown"] + ["pending"]
CODES = {"failed": "blocked", "skipped": "no_email", "unknown": "interrupted"}


def values(row: JournalRow) -> list[Any]:
    return [row.id, row.name or "—", row.phone, str(row.channel), str(row.status),
            row.error_code or "", row.address or "—", row.at]  # fmt: skip


async def build(path: Path, rows: int) -> None:
    db = await Database(path).open()
    await migrate(db.conn)
    guests = (rows + 1) // 2
    now = datetime.now(UTC)
    await db.executemany(
        "INSERT INTO guests (id, phone, first_name, last_name, search_text, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, '', ?, ?)",
        (
            (i, f"+7900{i:07d}", f"Имя{i}", f"=Фамилия{i}", now.isoformat(), now.isoformat())
            for i in range(1, guests + 1)
        ),
    )
    await db.execute(
        "INSERT INTO mailings (id, name, segment_id, scheduled_at, channels, status, "
        "created_by, created_at, updated_at) VALUES (1, 'Bench', 1, ?, 'telegram,email', "
        "'completed', 1, ?, ?)",
        (now.isoformat(), now.isoformat(), now.isoformat()),
    )

    def deliveries() -> Any:
        for n in range(rows):
            guest, channel = n // 2 + 1, ("telegram", "email")[n % 2]
            status = STATUSES[(n * 7919) % len(STATUSES)]
            at = (now + timedelta(seconds=n)).isoformat()
            code = CODES.get(status)
            yield (
                1,
                guest,
                channel,
                status,
                f"addr{n}",
                code,
                code,
                at,
                at if status == "sent" else None,
            )

    await db.executemany(
        "INSERT INTO deliveries (mailing_id, guest_id, channel, status, address, error_code, "
        "error, updated_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        deliveries(),
    )
    await db.execute("ANALYZE")
    await db.close()


async def pages(path: Path) -> dict[str, float]:
    """Milliseconds for pages: the slowest of 20 runs each."""
    db = await Database(path).open()
    journal = JournalService(db)
    half = await db.fetchval("SELECT COUNT(*) FROM deliveries") // 2
    middle = await db.fetchval("SELECT id FROM deliveries ORDER BY id LIMIT 1 OFFSET ?", (half,))
    cases = {
        "first page": (JournalFilter(), None, None),
        "middle page": (JournalFilter(), middle, None),
        "previous page (middle)": (JournalFilter(), None, middle),
        "failed, first page": (JournalFilter(DeliveryStatus.FAILED), None, None),
        "unknown (1%), middle": (JournalFilter(DeliveryStatus.UNKNOWN), middle, None),
        "pending, email": (JournalFilter(DeliveryStatus.PENDING, Channel.EMAIL), None, None),
        "email, middle": (JournalFilter(None, Channel.EMAIL), middle, None),
        "skipped telegram, middle": (
            JournalFilter(DeliveryStatus.SKIPPED, Channel.TELEGRAM),
            middle,
            None,
        ),
        "account card: a guest's last 10": None,
    }
    times: dict[str, float] = {}
    for name, case in cases.items():
        worst = 0.0
        for _ in range(20):
            start = time.perf_counter()
            if case is None:
                await journal.of_guest(12_345)
            else:
                await journal.page(1, case[0], after=case[1], before=case[2])
            worst = max(worst, time.perf_counter() - start)
        times[name] = worst * 1000
    await db.close()
    return times


async def export(path: Path, out: Path) -> int:
    db = await Database(path).open()
    spec = ExportSpec("journal", "Journal", HEADERS, values, TZ)
    done = await JournalService(db).export(1, JournalFilter(), out, spec)
    await db.close()
    return done.rows


def same_rows(rows: int) -> Any:
    now = datetime.now(UTC)
    for n in range(rows):
        status = STATUSES[(n * 7919) % len(STATUSES)]
        yield [n + 1, f"=Фамилия{n // 2 + 1} Имя{n // 2 + 1}", f"+7900{n // 2 + 1:07d}",
               ("telegram", "email")[n % 2], status, CODES.get(status, ""), f"addr{n}",
               now + timedelta(seconds=n)]  # fmt: skip


def child(kind: str, db_path: Path, rows: int) -> None:
    """One measurement in this process: prints seconds, peak RSS (MB) and the file size."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        start = time.perf_counter()
        if kind == "export":
            asyncio.run(export(db_path, out))
        elif kind == "writer":
            from bot.xlsx import write_rows

            write_rows(out / "journal.xlsx", "Journal", HEADERS, same_rows(rows), tz=TZ)
        else:
            from openpyxl import Workbook

            wb = Workbook(write_only=True)
            ws = wb.create_sheet("Journal")
            ws.append(HEADERS)
            for row in same_rows(rows):
                row[-1] = row[-1].astimezone(TZ).replace(tzinfo=None)
                ws.append(row)
            wb.save(out / "journal.xlsx")
        seconds = time.perf_counter() - start
        size = sum(p.stat().st_size for p in out.iterdir())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "size_mb": size / 2**20}))


def measure(kind: str, db_path: Path, rows: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--db", str(db_path), "--rows", str(rows)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-openpyxl", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("--db")
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.db), args.rows)
        return
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.sqlite3"
        start = time.perf_counter()
        asyncio.run(build(db_path, args.rows))
        print(f"{args.rows:,} deliveries written in {time.perf_counter() - start:.1f} s")
        print("journal pages (worst of 20):")
        for name, ms in asyncio.run(pages(db_path)).items():
            print(f"  {name:<34} {ms:7.2f} ms")
        kinds = ["export", "writer"] + ([] if args.skip_openpyxl else ["openpyxl"])
        labels = {
            "export": "export (database -> XLSX)",
            "writer": "baseline: bare writer, same rows",
            "openpyxl": "openpyxl write-only, same rows",
        }
        print(f"XLSX of {args.rows:,} rows:")
        for kind in kinds:
            r = measure(kind, db_path, args.rows)
            print(f"  {labels[kind]:<34} {r['seconds']:6.1f} s  peak {r['peak_mb']:6.1f} MB"
                  f"  file {r['size_mb']:.1f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
