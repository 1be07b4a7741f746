"""Building blocks of the delivery tests: guests, SMTP settings and mailings written
straight into the database, and waits on what the engine does with them."""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from bot.delivery.engine import DeliveryEngine
from bot.secrets import SecretBox
from storage.db import Database
from storage.mailing_settings import MailingSettingsRepository, SmtpSettings
from storage.mailings import Mailing, MailingRepository
from storage.schema import migrate
from tests.conftest import ADMIN, RunningBot
from tests.smtp_servers import PASSWORD, USER

CHAT_BASE = 500_000
SENDER = "mailer@probonus.test"


def chat_of(index: int) -> int:
    """The Telegram chat id of the guest added with `index`."""
    return CHAT_BASE + index


def email_of(index: int) -> str:
    """The email address of the guest added with `index`."""
    return f"guest{index}@example.test"


async def add_guests(
    db: Database,
    indexes: Sequence[int],
    *,
    telegram: bool = True,
    email: bool = True,
    tg_status: str = "active",
    email_status: str = "active",
    first_name: str = "Анна",
) -> None:
    """Guests numbered by `indexes`, reachable as told (one transaction, any number)."""
    now = datetime.now(UTC).isoformat()
    rows = [
        (
            f"+7900{i:07d}",
            email_of(i) if email else None,
            first_name,
            "Иванова",
            150_000 + i,
            i if telegram else None,
            chat_of(i) if telegram else None,
            tg_status if telegram else "none",
            email_status if email else "none",
            now,
            now,
        )
        for i in indexes
    ]
    await db.executemany(
        "INSERT INTO guests (phone, email, first_name, last_name, balance_cents, tg_user_id, "
        "tg_chat_id, tg_status, email_status, search_text, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?)",
        rows,
    )


class Server(Protocol):
    """An SMTP server of the tests: where it listens."""

    host: str
    port: int


async def use_smtp(db: Database, data_dir: Path, server: Server, **changes: Any) -> None:
    """Put the test server's settings in force (as if verified) and switch Email on."""
    box = SecretBox.load_or_create(data_dir)
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "username": USER,
        "password_encrypted": box.encrypt(PASSWORD),
        "security": "none",
        "sender_email": SENDER,
        "sender_name": "Ресторан «Пхали»",
        "verified_at": now,
        "updated_at": now,
        "updated_by": ADMIN,
    }
    values.update(changes)
    repo = MailingSettingsRepository(db)
    await repo.save_verified(SmtpSettings(**values))
    await repo.set_channel("email", True, ADMIN)


async def create_mailing(
    db: Database,
    *,
    channels: Sequence[str] = ("telegram",),
    send_mode: str = "all",
    text: str | None = "Здравствуйте, <b>{first_name}</b>! Ваш баланс: {balance} ₽",
    subject: str | None = "{first_name}, у вас бонусы",
    image_path: str | None = None,
    when: datetime | None = None,
    segment_id: int = 1,
    name: str = "Весеннее меню",
) -> Mailing:
    """A scheduled mailing; by default due tomorrow, so only the test launches it (a
    mailing already due would be launched by the scheduler's start as well)."""
    return await MailingRepository(db).create(
        name=name,
        segment_id=segment_id,
        scheduled_at=when or datetime.now(UTC) + timedelta(days=1),
        channels=list(channels),
        send_mode=send_mode,
        subject=subject if "email" in channels else None,
        text_html=text,
        image_path=image_path,
        locale="ru",
        created_by=ADMIN,
    )


async def press_now(bot: RunningBot, user_id: int, button_text: str) -> None:
    """Press a button and wait only for its answer (bot.press waits for quiet, and a
    running mailing is never quiet)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        try:
            data = bot.find_button(user_id, button_text)
            break
        except AssertionError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)
    query_id = bot.api.press_button(user_id, data)
    await bot.api.answer_of(query_id, timeout=20)


def jpeg_in(data_dir: Path) -> str:
    """A small real JPEG in DATA_DIR/media; its path relative to DATA_DIR."""
    (data_dir / "media").mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (20, 120, 200)).save(out, "JPEG")
    (data_dir / "media" / "menu.jpg").write_bytes(out.getvalue())
    return "media/menu.jpg"


async def offline_db(data_dir: Path) -> Database:
    """The bot's database opened while the bot is not running (migrated)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    db = await Database(data_dir / "probonus.sqlite3").open()
    await migrate(db.conn)
    return db


async def leave_crashed_run(
    db: Database, mailing: Mailing, guests: int, *, status: str, rest: str
) -> None:
    """The state a process killed mid-run leaves: the mailing in `status`, its segment of
    `guests` written, guest 1 sent, guest 2 in flight (`sending`), the others `rest`."""
    now = datetime.now(UTC).isoformat()
    await db.execute("UPDATE mailings SET status = ? WHERE id = ?", (status, mailing.id))
    await db.execute(
        "INSERT INTO mailing_runs (mailing_id, launched_by, populate_until, populate_cursor, "
        "populated, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
        (mailing.id, ADMIN, guests, guests, now, now),
    )
    await db.execute(
        "INSERT INTO deliveries (mailing_id, guest_id, channel, status, address) "
        "SELECT ?, id, 'telegram', CASE id WHEN 1 THEN 'sent' WHEN 2 THEN 'sending' "
        "ELSE ? END, tg_chat_id FROM guests",
        (mailing.id, rest),
    )


def engine_of(bot: RunningBot) -> DeliveryEngine:
    """The running bot's delivery engine."""
    assert bot.app is not None
    engine = bot.app.services.engine
    assert isinstance(engine, DeliveryEngine)
    return engine


async def status_of(db: Database, mailing_id: int) -> str:
    """The mailing's status now."""
    return str(await db.fetchval("SELECT status FROM mailings WHERE id = ?", (mailing_id,)))


async def wait_status(db: Database, mailing_id: int, *statuses: str, timeout: float = 20.0) -> str:
    """Wait until the mailing reaches one of the statuses; returns it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        status = await status_of(db, mailing_id)
        if status in statuses:
            return status
        if loop.time() > deadline:
            counts = await journal_counts(db, mailing_id)
            raise AssertionError(f"mailing {mailing_id} is {status}, not {statuses}; {counts}")
        await asyncio.sleep(0.05)


async def wait_until(predicate: Any, timeout: float = 20.0, what: str = "condition") -> None:
    """Poll an async or plain predicate until true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def journal(db: Database, mailing_id: int) -> list[dict[str, Any]]:
    """Every delivery row of the mailing, with the guest's index (its tg_user_id)."""
    rows = await db.fetchall(
        "SELECT d.*, g.phone FROM deliveries d JOIN guests g ON g.id = d.guest_id "
        "WHERE d.mailing_id = ? ORDER BY d.id",
        (mailing_id,),
    )
    return [dict(r) for r in rows]


async def journal_counts(db: Database, mailing_id: int) -> Counter[tuple[str, str]]:
    """(channel, status) -> rows."""
    return Counter((r["channel"], r["status"]) for r in await journal(db, mailing_id))
