"""Scheduling across restarts: jobs rebuilt from the database, the grace period, recovery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.mailings import MailingRepository
from tests.conftest import ADMIN, BotFactory
from tests.delivery_world import (
    add_guests,
    chat_of,
    create_mailing,
    engine_of,
    journal,
    journal_counts,
    leave_crashed_run,
    offline_db,
    status_of,
    wait_status,
    wait_until,
)


async def test_a_restart_keeps_a_future_mailing_which_then_goes_at_its_moment(
    start_bot: BotFactory,
) -> None:
    bot = await start_bot()
    assert bot.app is not None
    await add_guests(bot.app.db, range(1, 4))
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
    mailing = await create_mailing(bot.app.db, when=when)
    await bot.app.services.scheduler.sync(mailing.id)
    await bot.restart()
    assert bot.app is not None
    scheduler = bot.app.services.scheduler
    await wait_until(lambda: scheduler.jobs(), what="the jobs rebuilt at start")
    assert scheduler.jobs() == {mailing.id: when}
    assert await status_of(bot.app.db, mailing.id) == "scheduled"
    await wait_status(bot.app.db, mailing.id, "completed", timeout=15)
    started = await bot.app.db.fetchval(
        "SELECT started_at FROM mailings WHERE id = ?", (mailing.id,)
    )
    assert datetime.fromisoformat(started) >= when
    assert all(len(bot.api.messages.get(chat_of(i), {})) == 1 for i in range(1, 4))


async def test_rescheduling_and_cancelling_move_and_drop_the_job(start_bot: BotFactory) -> None:
    bot = await start_bot()
    assert bot.app is not None
    scheduler = bot.app.services.scheduler
    await wait_until(lambda: scheduler.scheduler.running, what="the scheduler")
    repo = MailingRepository(bot.app.db)
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    mailing = await create_mailing(bot.app.db, when=when)
    await scheduler.sync(mailing.id)
    assert scheduler.jobs() == {mailing.id: when}
    later = when + timedelta(hours=2)
    assert await repo.reschedule(mailing.id, later)
    await scheduler.sync(mailing.id)
    assert scheduler.jobs() == {mailing.id: later}
    assert await engine_of(bot).cancel(mailing.id)
    await scheduler.sync(mailing.id)
    assert scheduler.jobs() == {}
    assert await status_of(bot.app.db, mailing.id) == "cancelled"


async def test_a_mailing_missed_within_the_grace_period_goes_out_at_start(
    start_bot: BotFactory, data_dir: Path
) -> None:
    db = await offline_db(data_dir)
    await add_guests(db, range(1, 4))
    mailing = await create_mailing(db, when=datetime.now(UTC) - timedelta(minutes=10))
    await db.close()
    bot = await start_bot()
    assert bot.app is not None
    await wait_status(bot.app.db, mailing.id, "completed")
    assert await journal_counts(bot.app.db, mailing.id) == {("telegram", "sent"): 3}


async def test_a_mailing_missed_beyond_grace_is_not_sent_and_the_author_can_send_it_now(
    start_bot: BotFactory, data_dir: Path
) -> None:
    db = await offline_db(data_dir)
    await add_guests(db, range(1, 4))
    mailing = await create_mailing(db, when=datetime.now(UTC) - timedelta(hours=3))
    await db.close()
    bot = await start_bot()
    assert bot.app is not None
    await wait_status(bot.app.db, mailing.id, "missed")
    await wait_until(lambda: bot.api.sent_texts(ADMIN), what="the notice")
    notice = bot.api.sent_texts(ADMIN)[-1]
    assert "was due at" in notice and "not sent" in notice and "60 min" in notice
    assert not any(bot.api.messages.get(chat_of(i)) for i in range(1, 4))
    await bot.press(ADMIN, "Send now")
    await wait_status(bot.app.db, mailing.id, "completed")
    assert await journal_counts(bot.app.db, mailing.id) == {("telegram", "sent"): 3}


async def test_after_a_crash_in_flight_rows_are_unknown_and_the_rest_resumes(
    start_bot: BotFactory, data_dir: Path
) -> None:
    db = await offline_db(data_dir)
    await add_guests(db, range(1, 6))
    mailing = await create_mailing(db)
    # The state a killed process leaves: running, the segment written, one row in flight.
    await leave_crashed_run(db, mailing, 5, status="running", rest="pending")
    await db.close()
    bot = await start_bot()
    assert bot.app is not None
    await wait_status(bot.app.db, mailing.id, "completed")
    rows = {r["address"]: r for r in await journal(bot.app.db, mailing.id)}
    assert rows[str(chat_of(2))]["status"] == "unknown"
    assert rows[str(chat_of(2))]["error_code"] == "interrupted"
    assert not bot.api.messages.get(chat_of(1)) and not bot.api.messages.get(chat_of(2))
    assert all(len(bot.api.messages[chat_of(i)]) == 1 for i in (3, 4, 5))
