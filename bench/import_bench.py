"""Guest import speed and memory: 100,000 realistic guests from CSV and XLSX.

Prints, for each format, the bare cost of reading the file (openpyxl, calamine / csv,
no validation, no database) next to a full import into a fresh database and
a re-import of the same file (every guest unchanged). Each measurement runs
in its own process so ru_maxrss is its own; peak traced memory comes from a
second run under tracemalloc (which slows Python down, so it is not timed).

    python bench/import_bench.py [--rows N] [--no-memory]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HEADERS = [
    "Телефон",
    "Фамилия",
    "Имя",
    "Отчество",
    "Email",
    "Пол",
    "Дата рождения",
    "Баланс",
    "Номер карты",
    "Группа",
    "Теги",
    "Дата регистрации",
    "Последний визит",
    "Визиты",
    "Сумма покупок",
]
LAST = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
]
MALE = [
    "Александр",
    "Дмитрий",
    "Максим",
    "Сергей",
    "Андрей",
    "Алексей",
    "Артём",
    "Илья",
    "Кирилл",
    "Михаил",
    "Никита",
    "Матвей",
    "Роман",
    "Егор",
    "Арсений",
    "Иван",
]
FEMALE = [
    "Анастасия",
    "Мария",
    "Анна",
    "Виктория",
    "Екатерина",
    "Наталья",
    "Марина",
    "Полина",
    "Дарья",
    "Алиса",
    "Ксения",
    "Елена",
    "Ольга",
    "Татьяна",
    "Юлия",
    "Софья",
]
PATRONYMIC = [
    "Александров",
    "Дмитриев",
    "Сергеев",
    "Андреев",
    "Алексеев",
    "Иванов",
    "Михайлов",
    "Николаев",
    "Петров",
    "Владимиров",
]
GROUPS = ["Базовый", "Серебряный", "Золотой", "Платиновый"]
TAGS = ["vip", "кофе", "завтраки", "доставка", "веган", "бизнес-ланч", "дети"]
DOMAINS = ["mail.ru", "yandex.ru", "gmail.com", "bk.ru", "list.ru", "inbox.ru"]


def _guest(rnd: random.Random, index: int, today: date) -> list[Any]:
    """One guest row as a loyalty system would export it (phones in mixed formats)."""
    female = rnd.random() < 0.55
    last = rnd.choice(LAST) + ("а" if female else "")
    first = rnd.choice(FEMALE if female else MALE)
    middle = rnd.choice(PATRONYMIC) + ("на" if female else "ич")
    digits = f"9{(index * 7919 + 1_000_003) % 1_000_000_000:09d}"
    phone = rnd.choice(
        [f"+7{digits}", f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}", f"7{digits}"]
    )
    email = f"guest{index}@{rnd.choice(DOMAINS)}" if rnd.random() < 0.6 else ""
    if rnd.random() < 0.01:
        email = f"guest{index}@@broken"  # about 1% of rows are refused
    born = today - timedelta(days=rnd.randint(18 * 365, 75 * 365))
    registered = today - timedelta(days=rnd.randint(30, 2000))
    visited = registered + timedelta(days=rnd.randint(0, (today - registered).days))
    balance = f"{rnd.randint(0, 500_000) / 100:.2f}".replace(".", ",")
    tags = ", ".join(rnd.sample(TAGS, rnd.randint(0, 2)))
    return [
        phone,
        last,
        first,
        middle,
        email,
        "ж" if female else "м",
        born.strftime("%d.%m.%Y"),
        balance,
        f"{100000 + index}",
        rnd.choice(GROUPS),
        tags,
        registered.strftime("%d.%m.%Y"),
        visited.strftime("%d.%m.%Y"),
        rnd.randint(0, 300),
        f"{rnd.randint(0, 50_000_000) / 100}",
    ]


def _typed(row: list[Any]) -> list[Any]:
    """The row as an XLSX holds it: dates as dates, amounts and counts as numbers."""
    typed = list(row)
    for index in (6, 11, 12):
        typed[index] = datetime.strptime(row[index], "%d.%m.%Y").date()
    typed[7] = Decimal(row[7].replace(",", "."))
    typed[14] = Decimal(row[14])
    return typed


def generate(directory: Path, rows: int) -> tuple[Path, Path]:
    """The same guests as a ;-separated cp1251 CSV (text) and as an XLSX (typed cells).

    The XLSX is written by bot.xlsx (openpyxl write-only), like the bot's own
    exports: inline strings and no <dimension>, the slower kind for openpyxl to open.
    """
    from bot.xlsx import write_rows

    rnd = random.Random(20240501)
    today = date.today()
    csv_path = directory / "guests.csv"
    xlsx_path = directory / "guests.xlsx"
    data = [_guest(rnd, i, today) for i in range(rows)]
    with csv_path.open("w", encoding="cp1251", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(HEADERS)
        writer.writerows(data)
    write_rows(xlsx_path, "Гости", HEADERS, (_typed(row) for row in data))
    return csv_path, xlsx_path


def read_only(path: Path, fast: bool = False) -> int:
    """The bare cost of reading every cell, no validation, no database."""
    count = 0
    if path.suffix == ".csv":
        with path.open(encoding="cp1251", newline="") as fh:
            for _ in csv.reader(fh, delimiter=";"):
                count += 1
        return count - 1
    if fast:  # the import's reader: calamine
        from bot.guest_import.calamine_rows import read_sheets

        for _count, rows in read_sheets(path):
            return sum(1 for _ in rows) - 1
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    for _ in wb.active.iter_rows(values_only=True):  # today's openpyxl reader
        count += 1
    wb.close()
    return count - 1


async def import_file(path: Path, db_path: Path, times: int) -> dict[str, Any]:
    from bot.guest_import import import_guests
    from storage.db import Database
    from storage.schema import migrate

    db = await Database(db_path).open()
    await migrate(db.conn)
    try:
        for _ in range(times):
            batch_size = int(os.environ.get("BENCH_BATCH", "1000"))
            result = await import_guests(db, path, path.name, batch_size=batch_size)
    finally:
        await db.close()
    return {
        "rows": result.total_rows,
        "added": result.added,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": len(result.rejected),
    }


def child(mode: str, path: Path, trace: bool) -> None:
    """One measurement in this process; prints a JSON line."""
    if mode == "generate":
        started = time.perf_counter()
        files = generate(path, int(os.environ["BENCH_ROWS"]))
        sizes = ", ".join(f"{p.suffix[1:]} {p.stat().st_size / 2**20:.1f} MB" for p in files)
        print(json.dumps({"seconds": time.perf_counter() - started, "sizes": sizes}))
        return
    if trace:
        tracemalloc.start()
    info: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.db"
        if mode == "reimport":
            asyncio.run(import_file(path, db_path, 1))
        started = time.perf_counter()
        if mode in ("read", "read-fast"):
            info["rows"] = read_only(path, fast=mode == "read-fast")
        else:
            info.update(asyncio.run(import_file(path, db_path, 1)))
        info["seconds"] = time.perf_counter() - started
    if trace:
        info["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    info["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(info))


def measure(mode: str, path: Path, trace: bool, rows: int = 0) -> dict[str, Any]:
    """Run one measurement in a fresh process (so its ru_maxrss is its own)."""
    args = [sys.executable, __file__, "--child", mode, str(path)]
    env = {**os.environ, "BENCH_ROWS": str(rows)}
    out = subprocess.run(
        [*args, *(["--trace"] if trace else [])], check=True, capture_output=True, env=env
    )
    last_line: str = out.stdout.decode().strip().splitlines()[-1]
    result: dict[str, Any] = json.loads(last_line)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["BENCH_BATCH"] = str(args.batch_size)
    if args.child:
        child(args.child[0], Path(args.child[1]), args.trace)
        return
    with tempfile.TemporaryDirectory() as tmp:
        made = measure("generate", Path(tmp), trace=False, rows=args.rows)
        print(f"generated {args.rows} guests in {made['seconds']:.1f}s: {made['sizes']}")
        files = (Path(tmp) / "guests.csv", Path(tmp) / "guests.xlsx")
        print(
            f"{'file':5} {'measure':22} {'rows':>7} {'seconds':>8} {'rows/s':>8} "
            f"{'traced MB':>10} {'maxrss MB':>10}"
        )
        labels = {
            "read": "read only (baseline)",
            "read-fast": "read only (calamine)",
            "import": "import, new base",
            "reimport": "re-import, unchanged",
        }
        for path in files:
            modes = ["read", "read-fast"] if path.suffix == ".xlsx" else ["read"]
            for mode in [*modes, "import", "reimport"]:
                timed = measure(mode, path, trace=False)
                traced = None if args.no_memory else measure(mode, path, trace=True)
                peak = "-" if traced is None else f"{traced['traced_peak_mb']:.1f}"
                rate = timed["rows"] / timed["seconds"] if timed["seconds"] else 0
                print(
                    f"{path.suffix[1:]:5} {labels[mode]:22} {timed['rows']:>7} "
                    f"{timed['seconds']:>8.2f} {rate:>8.0f} {peak:>10} "
                    f"{timed['maxrss_mb']:>10.0f}",
                    flush=True,
                )
                if not mode.startswith("read"):
                    counts = {k: timed[k] for k in ("added", "updated", "unchanged", "rejected")}
                    print(f"{'':5} {'':22} {counts}")


if __name__ == "__main__":
    main()
