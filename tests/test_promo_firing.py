"""A promotion's occurrences: exactly one mailing each, across restarts, double firing and
two bots on one database; missed ones recorded and told."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from storage.mailings import MailingRepository
from storage.segments import ALL_GUESTS_ID
from storage.statuses import MailingKind, MailingStatus
from tests.conftest import ADMIN, make_settings
from tests.delivery_world import add_guests, chat_of, offline_db, wait_status, wait_until
from tests.fakes.botapi import FakeBotAPI
from tests.promo_world import Clock, ClockBot, daily_promotion, later, local, occurrence_rows

DAY = date(2031, 5, 12)  # ahead of the real clock: APScheduler's own jobs stay in the future
TEN = time(10, 0)
MOSCOW = ZoneInfo("Europe/Moscow")  # the tests' TIMEZONE


@pytest.fixture
async def bots(api: FakeBotAPI, data_dir: Path) -> AsyncIterator[list[ClockBot]]:
    running: list[ClockBot] = []
    yield running
    for bot in running:
        await bot.stop()


async def start(api: FakeBotAPI, data_dir: Path, clock: Clock, bots: list[ClockBot]) -> ClockBot:
    bot = await ClockBot(api, make_settings(api, data_dir), clock=clock).start()
    bots.append(bot)
    await wait_until(lambda: bot.app and bot.app.services.scheduler.scheduler.running)
    return bot


def messages_to(api: FakeBotAPI, index: int) -> int:
    return len(api.messages.get(chat_of(index), {}))


async def test_an_occurrence_makes_one_mailing_however_often_it_is_asked_for(
    data_dir: Path,
) -> None:
    db = await offline_db(data_dir)
    repo = MailingRepository(db)
    await db.execute(
        "INSERT INTO promotions (name, segment_id, schedule, starts_on, channels, created_by, "
        "created_at, updated_at) VALUES ('p', 1, '{}', '2031-01-01', 'telegram', 1, '', '')"
    )
    moment = local(DAY, TEN, MOSCOW)
    args: dict[str, Any] = {"promotion_id": 1, "occurrence_at": moment, "name": "p",
                            "segment_id": 1, "channels": ["telegram"], "created_by": ADMIN,
                            "cap_days": 7}  # fmt: skip
    first, made = await repo.create_occurrence(**args)
    again, made_again = await repo.create_occurrence(**args, status=MailingStatus.MISSED)
    assert made and not made_again
    assert again == first
    assert (first.kind, first.promotion_id, first.occurrence_at, first.cap_days) == (
        MailingKind.PROMOTION, 1, moment, 7,
    )  # fmt: skip
    assert first.status == MailingStatus.SCHEDULED
    await db.close()


async def test_a_promotion_fires_once_across_a_restart(
    api: FakeBotAPI, data_dir: Path, bots: list[ClockBot]
) -> None:
    db = await offline_db(data_dir)
    await add_guests(db, range(1, 4))
    await db.close()
    clock = Clock(local(DAY, time(9, 0), MOSCOW))
    bot = await start(api, data_dir, clock, bots)
    assert bot.app is not None
    promotion = await daily_promotion(bot.promotions, ALL_GUESTS_ID, at=TEN, starts_on=DAY)
    scheduler = bot.app.services.scheduler
    await scheduler.sync_promotion(promotion.id)
    occurrence = local(DAY, TEN, bot.settings.tz)
    assert scheduler.promotion_jobs() == {promotion.id: occurrence}

    clock.move_to(later(occurrence, seconds=1))
    await bot.reconcile()
    await bot.reconcile()  # fired twice: still one mailing
    (mailing,) = await MailingRepository(bot.app.db).of_promotion(promotion.id)
    await wait_status(bot.app.db, mailing.id, "completed")

    await bot.restart()
    clock.move_to(later(occurrence, minutes=2))
    await bot.reconcile()
    assert bot.app is not None
    assert await occurrence_rows(bot.app.db, promotion.id) == [
        (occurrence.isoformat(), "completed")
    ]
    assert [messages_to(api, i) for i in range(1, 4)] == [1, 1, 1]
    # The next day's occurrence is planned.
    assert bot.app.services.scheduler.promotion_jobs() == {promotion.id: later(occurrence, days=1)}


async def test_an_occurrence_due_while_the_bot_was_down_runs_once_within_the_grace(
    api: FakeBotAPI, data_dir: Path, bots: list[ClockBot]
) -> None:
    db = await offline_db(data_dir)
    await add_guests(db, range(1, 3))
    await db.close()
    tz = MOSCOW
    clock = Clock(local(DAY, time(9, 0), tz))
    bot = await start(api, data_dir, clock, bots)
    promotion = await daily_promotion(bot.promotions, ALL_GUESTS_ID, at=TEN, starts_on=DAY)
    await bot.stop()
    occurrence = local(DAY, TEN, tz)
    clock.move_to(later(occurrence, minutes=5))  # grace is 30 minutes by default
    bot = await start(api, data_dir, clock, bots)
    assert bot.app is not None
    await wait_until(lambda: occurrence_rows(bot.app.db, promotion.id))
    (mailing,) = await MailingRepository(bot.app.db).of_promotion(promotion.id)
    await wait_status(bot.app.db, mailing.id, "completed")
    await bot.restart()
    assert bot.app is not None
    await bot.reconcile()
    assert await occurrence_rows(bot.app.db, promotion.id) == [
        (occurrence.isoformat(), "completed")
    ]
    assert [messages_to(api, i) for i in range(1, 3)] == [1, 1]


async def test_an_occurrence_missed_beyond_the_grace_is_recorded_and_the_author_told(
    api: FakeBotAPI, data_dir: Path, bots: list[ClockBot]
) -> None:
    db = await offline_db(data_dir)
    await add_guests(db, range(1, 3))
    await db.close()
    tz = MOSCOW
    clock = Clock(local(DAY, time(9, 0), tz))
    bot = await start(api, data_dir, clock, bots)
    promotion = await daily_promotion(bot.promotions, ALL_GUESTS_ID, at=TEN, starts_on=DAY)
    await bot.stop()
    occurrence = local(DAY, TEN, tz)
    clock.move_to(later(occurrence, hours=3))
    since = len(api.calls)
    bot = await start(api, data_dir, clock, bots)
    assert bot.app is not None
    await bot.expect(ADMIN, "Именинники дня", since)
    await bot.restart()
    assert bot.app is not None
    await bot.reconcile()
    assert await occurrence_rows(bot.app.db, promotion.id) == [(occurrence.isoformat(), "missed")]
    assert [messages_to(api, i) for i in range(1, 3)] == [0, 0]


async def test_two_bots_on_one_database_make_one_mailing_per_occurrence(
    api: FakeBotAPI, data_dir: Path, bots: list[ClockBot]
) -> None:
    db = await offline_db(data_dir)
    await add_guests(db, range(1, 6))
    await db.close()
    tz = MOSCOW
    clock = Clock(local(DAY, time(9, 0), tz))
    first = await start(api, data_dir, clock, bots)
    second = await start(api, data_dir, clock, bots)
    promotion = await daily_promotion(first.promotions, ALL_GUESTS_ID, at=TEN, starts_on=DAY)
    occurrence = local(DAY, TEN, tz)
    for _round in range(3):
        clock.move_to(later(occurrence, seconds=1 + _round))
        await asyncio.gather(first.reconcile(), second.reconcile(), first.reconcile())
    assert first.app is not None
    (mailing,) = await MailingRepository(first.app.db).of_promotion(promotion.id)
    await wait_status(first.app.db, mailing.id, "completed")
    await asyncio.sleep(0.5)
    assert await occurrence_rows(first.app.db, promotion.id) == [
        (occurrence.isoformat(), "completed")
    ]
    assert [messages_to(api, i) for i in range(1, 6)] == [1] * 5
