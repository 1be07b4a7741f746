"""Quiet hours and the frequency cap end to end, through the fake Bot API."""

from __future__ import annotations

import asyncio
import time as monotonic
from collections import Counter
from datetime import UTC, datetime, time, timedelta

from bot.quiet_hours import Clock
from storage.limits import CapScope, LimitsRepository
from tests.conftest import ADMIN, BotFactory, RunningBot
from tests.delivery_world import (
    add_guests,
    chat_of,
    create_mailing,
    engine_of,
    journal,
    wait_status,
)
from tests.test_new_mailing_e2e import start_at, state


class FastClock(Clock):
    """Time that starts at `start` and runs `speed` times faster than the real one."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.start, self.speed, self.t0 = start, speed, monotonic.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(monotonic.monotonic() - self.t0) * self.speed)

    async def sleep_until(self, moment: datetime) -> None:
        await asyncio.sleep(max(0.0, (moment - self.now()).total_seconds() / self.speed))


def received(bot: RunningBot) -> Counter[int]:
    """Successful sends per guest chat (the admin's chat left out)."""
    return Counter(
        c.chat_id
        for c in bot.api.calls_of("sendMessage")
        if c.ok and c.chat_id is not None and c.chat_id != ADMIN
    )


async def test_the_cap_holds_back_a_guest_who_got_a_mailing_yesterday_and_lets_others_through(
    bot: RunningBot,
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, [1, 2])
    earlier = await create_mailing(db, name="Вчерашняя")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="milliseconds")
    await db.execute(
        "INSERT INTO deliveries (mailing_id, guest_id, channel, status, address, sent_at) "
        "VALUES (?, 1, 'telegram', 'sent', ?, ?)",
        (earlier.id, str(chat_of(1)), yesterday),
    )
    await LimitsRepository(db).set_cap(3, CapScope.ALL, ADMIN)
    mailing = await create_mailing(db)
    assert await engine_of(bot).launch(mailing.id)
    assert await wait_status(db, mailing.id, "completed") == "completed"
    assert received(bot) == {chat_of(2): 1}
    rows = {r["phone"]: r for r in await journal(db, mailing.id)}
    held = rows["+79000000001"]
    assert (held["status"], held["error_code"]) == ("skipped", "frequency_cap")
    assert "frequency cap" in held["error"] and "3 days" in held["error"]
    assert rows["+79000000002"]["status"] == "sent"


async def test_the_global_cap_for_promotions_only_lets_a_one_off_notice_through(
    bot: RunningBot,
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, [1])
    earlier = await create_mailing(db, name="Вчерашняя")
    await db.execute(
        "INSERT INTO deliveries (mailing_id, guest_id, channel, status, sent_at) "
        "VALUES (?, 1, 'telegram', 'sent', ?)",
        (earlier.id, datetime.now(UTC).isoformat(timespec="milliseconds")),
    )
    await LimitsRepository(db).set_cap(7, CapScope.PROMOTIONS, ADMIN)
    mailing = await create_mailing(db, name="Завтра закрыты")
    assert await engine_of(bot).launch(mailing.id)
    assert await wait_status(db, mailing.id, "completed") == "completed"
    assert received(bot) == {chat_of(1): 1}


async def test_a_run_reaching_quiet_hours_pauses_with_the_message_and_resumes_at_their_end(
    start_bot: BotFactory,
) -> None:
    bot = await start_bot(telegram_rate=5)
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 41))  # 8 s at 5/s: quiet hours come in the middle
    tz = bot.settings.tz
    today = datetime.now(tz).date()
    # 30x fast: quiet hours 22:00-22:02 begin 2 s after the run starts and last 4 s.
    engine_of(bot).clock = FastClock(datetime.combine(today, time(21, 59), tzinfo=tz), 30)
    await LimitsRepository(db).set_quiet((time(22, 0), time(22, 2)), ADMIN)
    mailing = await create_mailing(db)
    assert await engine_of(bot).launch(mailing.id, ADMIN)
    assert await wait_status(db, mailing.id, "paused", timeout=10) == "paused"
    message = await bot.expect(ADMIN, "Paused for quiet hours until 22:02 (Moscow time)", 0)
    assert message is not None
    left = await db.fetchval(
        "SELECT COUNT(*) FROM deliveries WHERE mailing_id = ? AND status = 'pending'",
        (mailing.id,),
    )
    assert left > 0  # the rest waits, pending
    assert await wait_status(db, mailing.id, "completed", timeout=30) == "completed"
    assert received(bot) == {chat_of(i): 1 for i in range(1, 41)}


async def test_a_paused_run_waiting_for_quiet_hours_is_woken_after_a_restart(
    start_bot: BotFactory,
) -> None:
    bot = await start_bot()
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, [1, 2])
    tz = bot.settings.tz
    now = datetime.now(tz)
    start = (now - timedelta(minutes=1)).time().replace(second=0, microsecond=0)
    end = (now + timedelta(minutes=1)).time().replace(second=0, microsecond=0)
    await LimitsRepository(db).set_quiet((start, end), ADMIN)
    mailing = await create_mailing(db)
    assert await engine_of(bot).launch(mailing.id, ADMIN)
    assert await wait_status(db, mailing.id, "paused") == "paused"
    # The progress message says so once the pause is written down.
    await bot.expect(ADMIN, "quiet hours", 0, timeout=10)
    until = await db.fetchval(
        "SELECT quiet_until FROM mailing_runs WHERE mailing_id = ?", (mailing.id,)
    )
    assert until is not None  # the database says why and until when
    await bot.restart()
    assert bot.app is not None
    db = bot.app.db
    # The restarted engine planned the wake-up from the database: end quiet hours now.
    engine = engine_of(bot)
    await engine.stop()
    await db.execute(
        "UPDATE mailing_runs SET quiet_until = ? WHERE mailing_id = ?",
        (datetime.now(UTC).isoformat(), mailing.id),
    )
    await LimitsRepository(db).set_quiet(None, ADMIN)
    await engine.start()
    assert await wait_status(db, mailing.id, "completed") == "completed"
    assert received(bot) == {chat_of(1): 1, chat_of(2): 1}


async def test_new_refuses_a_time_inside_quiet_hours_with_the_reason_and_keeps_the_step(
    bot: RunningBot,
) -> None:
    assert bot.app is not None
    await LimitsRepository(bot.app.db).set_quiet((time(22, 0), time(9, 0)), ADMIN)
    await start_at(bot, "time")
    reply = (await bot.say(ADMIN, "23:30")).plain_text or ""
    assert "23:30 falls in quiet hours (22:00–09:00, Moscow time)" in reply
    assert "from 09:00" in reply
    assert await state(bot) == "NewMailing:time"
    await bot.say(ADMIN, "10:00")
    assert await state(bot) == "NewMailing:channels"


async def test_settings_limits_dialog_refuses_bad_input_and_keeps_the_step(
    bot: RunningBot,
) -> None:
    assert bot.app is not None
    await bot.say(ADMIN, "/settings")
    await bot.press(ADMIN, "Quiet hours and frequency cap")
    assert await state(bot) == "LimitsForm:quiet"
    for bad, reason in [
        ("25:00-09:00", "Hours go from 00 to 23"),
        ("22:00-22:00", "the window would be empty"),
        ("at night", "This is not a time window"),
    ]:
        reply = (await bot.say(ADMIN, bad)).plain_text or ""
        assert reason in reply, reply
        assert await state(bot) == "LimitsForm:quiet"
    await bot.say(ADMIN, "22:00-09:00")
    assert await state(bot) == "LimitsForm:cap"
    reply = (await bot.say(ADMIN, "0.5")).plain_text or ""
    assert "whole number of days from 1 to 365" in reply
    assert await state(bot) == "LimitsForm:cap"
    await bot.say(ADMIN, "7")
    assert await state(bot) == "LimitsForm:scope"
    await bot.press(ADMIN, "All mailings")
    assert await state(bot) is None
    page = bot.last_text(ADMIN)
    assert "Quiet hours: 22:00–09:00 (Moscow time)" in page
    assert "at most one mailing every 7 days (every mailing)" in page
    limits = await LimitsRepository(bot.app.db).get()
    assert limits.quiet == (time(22, 0), time(9, 0))
    assert (limits.cap_days, limits.cap_scope) == (7, CapScope.ALL)


async def test_resume_inside_quiet_hours_says_when_the_mailing_goes_on(
    start_bot: BotFactory,
) -> None:
    bot = await start_bot()
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, [1, 2])
    now = datetime.now(bot.settings.tz)
    start = (now - timedelta(minutes=1)).time().replace(second=0, microsecond=0)
    end = (now + timedelta(minutes=2)).time().replace(second=0, microsecond=0)
    await LimitsRepository(db).set_quiet((start, end), ADMIN)
    mailing = await create_mailing(db)
    assert await engine_of(bot).launch(mailing.id, ADMIN)
    assert await wait_status(db, mailing.id, "paused") == "paused"
    await bot.expect(ADMIN, "Paused for quiet hours", 0)
    answer = await bot.press(ADMIN, "Resume")
    text = answer.params.get("text", "")
    assert f"continues at {end:%H:%M} (Moscow time), when quiet hours end" in text, text
    assert received(bot) == Counter()  # nothing went out inside quiet hours
