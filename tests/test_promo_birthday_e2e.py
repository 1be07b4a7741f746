"""End to end: a daily "birthday today" promotion, built in the chat, over three simulated
days reaches exactly the guests whose birthday each day is, with {today} of that day."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from storage.mailings import MailingRepository
from storage.promotions import PromotionRepository
from tests.conftest import ADMIN, make_settings
from tests.delivery_world import add_guests, chat_of, offline_db, wait_status
from tests.fakes.botapi import FakeBotAPI
from tests.promo_world import Clock, ClockBot, birthday_segment, local

pytestmark = pytest.mark.fake_api(chat_burst=1000)

# Three days ahead of the real clock (the start date is picked like a person would).
FIRST = (datetime.now(UTC) + timedelta(hours=3)).date() + timedelta(days=3)
DAYS = [FIRST + timedelta(days=k) for k in range(3)]
# Guest index -> birthday (a year long past); 4 shares day 2 with 2, 5 and 6 are elsewhere.
BIRTHDAYS = {
    1: DAYS[0],
    2: DAYS[1],
    3: DAYS[2],
    4: DAYS[1],
    5: DAYS[2] + timedelta(days=2),
}


@pytest.fixture
async def bot(api: FakeBotAPI, data_dir: Path) -> AsyncIterator[ClockBot]:
    db = await offline_db(data_dir)
    await add_guests(db, range(1, 7))
    for index, birthday in BIRTHDAYS.items():
        born = birthday.replace(year=1992)  # a leap year: any day of the year exists
        await db.execute(
            "UPDATE guests SET birthday = ? WHERE tg_user_id = ?", (born.isoformat(), index)
        )
    await birthday_segment(db)
    await db.close()
    settings = make_settings(api, data_dir)
    clock = Clock(local(DAYS[0], time(8, 0), settings.tz))
    running = await ClockBot(api, settings, clock=clock).start()
    yield running
    await running.stop()


def birthday_messages(api: FakeBotAPI, index: int) -> list[str]:
    return [t for t in api.sent_texts(chat_of(index)) if "С днём рождения" in t]


async def test_a_daily_birthday_promotion_reaches_each_days_birthday_guests(
    bot: ClockBot,
) -> None:
    assert bot.app is not None
    await bot.say(ADMIN, "/promos")
    await bot.press(ADMIN, "New promotion")
    await bot.say(ADMIN, "Именинники дня")
    await bot.press(ADMIN, "Именинники")
    await bot.press(ADMIN, "Every day")
    await bot.press(ADMIN, "10:00")
    await bot.press(ADMIN, "Telegram")
    await bot.press(ADMIN, "Done")
    await bot.say(ADMIN, "С днём рождения, {first_name}! Сегодня {today}, подарок ждёт вас.")
    await bot.press(ADMIN, "Skip")
    await bot.say(ADMIN, DAYS[0].strftime("%d.%m.%Y"))
    await bot.press(ADMIN, "No end date")
    await bot.press(ADMIN, "No cap")
    await bot.press(ADMIN, "Save")
    (promotion,) = await PromotionRepository(bot.app.db).all()

    expected = {0: {1}, 1: {2, 4}, 2: {3}}
    for k, day in enumerate(DAYS):
        bot.clock.move_to(local(day, time(10, 0), bot.settings.tz) + timedelta(seconds=5))
        await bot.reconcile()
        mailings = await MailingRepository(bot.app.db).of_promotion(promotion.id)
        assert len(mailings) == k + 1
        await wait_status(bot.app.db, mailings[0].id, "completed")
        await bot.settle()
        got = {i for i in range(1, 7) if len(birthday_messages(bot.api, i)) > 0}
        assert got == set().union(*(expected[j] for j in range(k + 1)))
        for index in expected[k]:
            (text,) = birthday_messages(bot.api, index)
            assert f"Сегодня {day.strftime('%d.%m.%Y')}" in text

    assert [len(birthday_messages(bot.api, i)) for i in range(1, 7)] == [1, 1, 1, 1, 0, 0]
    rows = await bot.app.db.fetchall(
        "SELECT kind, occurrence_at FROM mailings WHERE promotion_id = ? ORDER BY id",
        (promotion.id,),
    )
    assert [(r[0], r[1]) for r in rows] == [
        ("promotion", local(day, time(10, 0), bot.settings.tz).isoformat()) for day in DAYS
    ]
