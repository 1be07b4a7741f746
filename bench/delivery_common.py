"""Shared parts of the delivery benchmarks: a world of guests, the engine, servers, a table.

Servers (the fake Bot API, the SMTP sink) run in their own processes, so the
client under test has a core to itself, as in production.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiogram import Bot  # noqa: E402

from bot.app import create_bot  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.delivery.engine import DeliveryEngine  # noqa: E402
from bot.i18n import create_i18n  # noqa: E402
from bot.telegram_session import install as install_budget  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.mailings import Mailing, MailingRepository  # noqa: E402
from storage.schema import migrate  # noqa: E402

ADMIN = 1001
TOKEN = "123456:BENCH-token"  # noqa: S105  (the fake Bot API's, not a secret)
FIRST = ["Анна", "Мария", "Дмитрий", "Сергей", "Екатерина", "Александр", "Ольга", "Иван"]
LAST = ["Иванова", "Смирнов", "Кузнецова", "Попов", "Соколова", "Лебедев", "Новикова"]
TEMPLATE = (
    "Здравствуйте, <b>{first_name}</b>!\nНа вашем счёте {balance} бонусов — "
    "самое время попробовать весеннее меню. Ждём вас до {today}."
)


@dataclass
class Row:
    """One line of a benchmark table."""

    scenario: str
    messages: int
    seconds: float
    peak_mb: float
    note: str = ""

    @property
    def rate(self) -> float:
        """Messages per second."""
        return self.messages / self.seconds if self.seconds else 0.0


def peak_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_table(title: str, rows: Sequence[Row]) -> None:
    """The figures, one scenario per line."""
    print(f"\n{title}")
    print(f"{'scenario':44} {'messages':>9} {'seconds':>8} {'rate/s':>9} {'peak MB':>8}  note")
    for r in rows:
        print(
            f"{r.scenario:44} {r.messages:>9} {r.seconds:>8.2f} {r.rate:>9.1f} "
            f"{r.peak_mb:>8.0f}  {r.note}"
        )


def guest_rows(count: int, *, start: int = 1, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """Guests reachable by Telegram and email, with Cyrillic names and balances."""
    rnd = random.Random(seed)
    now = datetime.now(UTC).isoformat()
    for i in range(start, start + count):
        yield (
            f"+7{9_000_000_000 + i}",
            f"guest{i}@example.test",
            rnd.choice(FIRST),
            rnd.choice(LAST),
            rnd.randint(0, 5_000_000),
            i,
            700_000 + i,
            "active",
            "active",
            now,
            now,
        )


async def add_guests(db: Database, count: int, *, batch: int = 50_000) -> None:
    """Insert `count` guests with executemany, a batch per transaction."""
    rows = guest_rows(count)
    while chunk := [r for _, r in zip(range(batch), rows, strict=False)]:
        await db.executemany(
            "INSERT INTO guests (phone, email, first_name, last_name, balance_cents, tg_user_id, "
            "tg_chat_id, tg_status, email_status, search_text, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?)",
            chunk,
        )


async def open_db(data_dir: Path) -> Database:
    """A fresh database in `data_dir`, migrated."""
    data_dir.mkdir(parents=True, exist_ok=True)
    db = await Database(data_dir / "probonus.sqlite3").open()
    await migrate(db.conn)
    return db


def settings_for(data_dir: Path, api_url: str, **values: Any) -> Settings:
    """Settings of a bench bot; values beyond Settings' own (SMTP_POOL_SIZE) are set after."""
    known = {k: v for k, v in values.items() if k in Settings.model_fields}
    known.setdefault("bot_token", TOKEN)
    settings = Settings(
        _env_file=None,
        admin_ids=str(ADMIN),
        data_dir=data_dir,
        telegram_api_url=api_url,
        **known,
    )
    extra = {k: v for k, v in values.items() if k not in Settings.model_fields}
    return settings.model_copy(update=extra) if extra else settings


async def make_engine(
    db: Database, settings: Settings, mailing_settings: Any = None, bot: Bot | None = None
) -> DeliveryEngine:
    """A started engine (its own connection, recovery done) for a bench run."""
    engine = DeliveryEngine(
        db,
        bot or create_bot(settings),
        settings,
        mailing_settings,
        create_i18n("ru"),
        bot_username="probonus_bench_bot",  # emails carry the unsubscribe link, as in the bot
    )
    # As in the bot (bot/app.py): the admin's progress messages take slots of the same
    # budget, or they come on top of the broadcast's 30/s and meet a 429.
    install_budget(engine.bot, engine.limiter)
    await engine.start()
    return engine


async def create_mailing(db: Database, channels: Sequence[str], **values: Any) -> Mailing:
    """A mailing due now to every guest."""
    return await MailingRepository(db).create(
        name=values.pop("name", "Весеннее меню"),
        segment_id=1,
        scheduled_at=datetime.now(UTC) - timedelta(seconds=1),
        channels=list(channels),
        send_mode=values.pop("send_mode", "all"),
        subject=values.pop("subject", "{first_name}, бонусы ждут" if "email" in channels else None),
        text_html=values.pop("text_html", TEMPLATE),
        locale="ru",
        created_by=ADMIN,
        **values,
    )


async def run_mailing(engine: DeliveryEngine, db: Database, mailing: Mailing) -> float:
    """Launch a mailing and wait for its run to end; the seconds it took.

    The run's task is awaited, not the database polled: a poll every few
    milliseconds goes through aiosqlite's thread, and each one takes the GIL from
    the engine's event loop twice, a cost the bare loops beside it never pay.
    """
    started = time.perf_counter()
    assert await engine.launch(mailing.id)
    await engine.wait(mailing.id)
    elapsed = time.perf_counter() - started
    status = await db.fetchval("SELECT status FROM mailings WHERE id = ?", (mailing.id,))
    if status != "completed":
        raise RuntimeError(f"the mailing ended {status}")
    return elapsed


class ServerProcess:
    """A helper server (fake Bot API, SMTP sink) in its own Python process.

    The child prints one JSON line when ready; `stats()` asks it for its counters
    through stdin/stdout ("stats" -> one JSON line).
    """

    def __init__(self, args: Sequence[str]) -> None:
        """Start `python -c <module main> args`."""
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        self.info: dict[str, Any] = json.loads(self.proc.stdout.readline())

    def ask(self, command: str) -> dict[str, Any]:
        """Send a command line to the child and read its JSON answer."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def close(self) -> None:
        """Stop the child."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def serve_commands(handlers: dict[str, Any], info: dict[str, Any]) -> None:
    """Child side of ServerProcess: print `info`, then answer commands until stdin closes."""
    print(json.dumps(info), flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        name, *args = line.split()
        result = handlers[name](*args)
        if asyncio.iscoroutine(result):
            result = await result
        print(json.dumps(result), flush=True)
