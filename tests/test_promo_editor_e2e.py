"""/promos end to end: the admin builds a promotion by chatting (bad input at each step,
Back, Cancel), then switches it off, duplicates and deletes it; a stranger's forged
promotion buttons change nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest

from storage.guests import GuestRecord, GuestRepository
from storage.limits import LimitsRepository
from storage.promotions import PromotionRepository
from tests.conftest import ADMIN, STRANGER, RunningBot

# The conversations here are long: one chat's burst limit is not what they test.
pytestmark = pytest.mark.fake_api(chat_burst=1000)


async def seed(bot: RunningBot) -> None:
    assert bot.app is not None
    guests = GuestRepository(bot.app.db)
    await guests.upsert_many([GuestRecord(phone="+79160000001", first_name="Анна")])
    await guests.link_telegram("+79160000001", user_id=501, chat_id=501)


async def said(bot: RunningBot, text: str) -> str:
    """The bot's answer to the admin's text."""
    return (await bot.say(ADMIN, text)).plain_text or ""


def day(offset: int) -> str:
    moscow = datetime.now(UTC) + timedelta(hours=3, days=offset)
    return moscow.strftime("%d.%m.%Y")


async def test_a_promotion_built_in_the_chat_refuses_bad_input_at_each_step(
    bot: RunningBot,
) -> None:
    await seed(bot)
    assert bot.app is not None
    reply = await bot.say(ADMIN, "/promos")
    assert "None yet" in (reply.plain_text or "")
    await bot.press(ADMIN, "New promotion")
    assert "Step 1" in bot.last_text(ADMIN)

    assert "no visible characters" in await said(bot, "\u200b")
    # The name shows on its question after a ✅; no echo of its own.
    reply = await bot.say(ADMIN, "Именинники   дня")
    assert "Step 1" in (reply.plain_text or "") and "✅ Именинники дня" in (reply.plain_text or "")
    assert not reply.buttons()
    await bot.press(ADMIN, "All guests")
    assert "Use the buttons" in await said(bot, "monthly")
    await bot.press(ADMIN, "Once a month")
    assert "from 1 to 31" in await said(bot, "32")
    await bot.press(ADMIN, "Back")
    # Back turns the live question into the one before, in place (the refusal stays below).
    asking = [m for _, m in sorted(bot.api.messages[ADMIN].items()) if m.buttons()]
    assert "How often" in (asking[-1].plain_text or "") and asking[-1].edits >= 1
    await bot.press(ADMIN, "On chosen weekdays")
    answer = await bot.press(ADMIN, "Done")  # no day chosen yet
    assert "at least one day" in answer.params["text"]
    await bot.press(ADMIN, "Mon")
    await bot.press(ADMIN, "Fri")
    await bot.press(ADMIN, "Done")
    assert "no such time" in await said(bot, "25:00")
    reply = await bot.say(ADMIN, "12:00")
    assert "on Mondays and Fridays at 12:00 Moscow time" in (reply.plain_text or "")

    await bot.press(ADMIN, "Telegram")
    await bot.press(ADMIN, "Done")
    assert "not a variable" in await said(bot, "Hi {nickname}")
    await bot.say(ADMIN, "Hi {first_name}, today is {today}")
    await bot.press(ADMIN, "Skip")  # no image
    assert "Step 10" in bot.last_text(ADMIN)
    assert "passed" in await said(bot, "01.01.2020")
    await bot.say(ADMIN, day(2))
    assert "before the start date" in await said(bot, day(1))
    await bot.press(ADMIN, "No end date")
    assert "from 1 to 365" in await said(bot, "0")
    await bot.press(ADMIN, "7")

    summary = bot.last_text(ADMIN)
    assert "Promotion “Именинники дня”" in summary
    assert "on Mondays and Fridays at 12:00 Moscow time" in summary
    assert "at most one mailing every 7 days" in summary
    assert any("Hi Анна" in t for t in bot.api.sent_texts(ADMIN))  # a real guest
    await bot.press(ADMIN, "Save")
    assert "Saved" in " ".join(bot.api.sent_texts(ADMIN)[-2:])

    (promotion,) = await PromotionRepository(bot.app.db).all()
    assert json.loads(promotion.schedule) == {"kind": "weekly", "at": "12:00", "weekdays": [0, 4]}
    assert (promotion.cap_days, promotion.ends_on, promotion.enabled) == (7, None, True)
    assert promotion.starts_on.strftime("%d.%m.%Y") == day(2)
    jobs = bot.app.services.scheduler.promotion_jobs()
    assert set(jobs) == {promotion.id}

    # Save pressed again (a double tap arriving late) saves nothing twice.
    answer = await bot.api.answer_of(bot.api.press_forged(ADMIN, "prn:save"))
    assert "out of date" in answer.params["text"]
    assert len(await PromotionRepository(bot.app.db).all()) == 1


async def test_cancel_closes_the_editor_and_saves_nothing(bot: RunningBot) -> None:
    await seed(bot)
    assert bot.app is not None
    await bot.say(ADMIN, "/promos")
    await bot.press(ADMIN, "New promotion")
    await bot.say(ADMIN, "Черновик")
    reply = await bot.say(ADMIN, "/history")
    assert "promotion editor" in (reply.plain_text or "")
    await bot.press(ADMIN, "Cancel")
    assert "nothing was saved" in bot.last_text(ADMIN)
    # The segment question's button, pressed late, starts nothing again.
    await bot.api.answer_of(bot.api.press_forged(ADMIN, "prs:1"))
    await bot.settle()
    assert await PromotionRepository(bot.app.db).all() == []
    state = await bot.app.db.fetchval("SELECT COUNT(*) FROM fsm_state WHERE state IS NOT NULL")
    assert state == 0


async def make_promotion(bot: RunningBot) -> int:
    """A promotion saved through the chat (every day at 10:00, from the day after tomorrow)."""
    await bot.say(ADMIN, "/promos")
    await bot.press(ADMIN, "New promotion")
    await bot.say(ADMIN, "Утренний кофе")
    await bot.press(ADMIN, "All guests")
    await bot.press(ADMIN, "Every day")
    await bot.press(ADMIN, "10:00")
    await bot.press(ADMIN, "Telegram")
    await bot.press(ADMIN, "Done")
    await bot.say(ADMIN, "Кофе в подарок, {first_name}!")
    await bot.press(ADMIN, "Skip")
    await bot.say(ADMIN, day(2))
    await bot.press(ADMIN, "No end date")
    await bot.press(ADMIN, "No cap")
    await bot.press(ADMIN, "Save")
    assert bot.app is not None
    (promotion,) = await PromotionRepository(bot.app.db).all()
    return promotion.id


async def test_the_card_switches_off_duplicates_and_deletes(bot: RunningBot) -> None:
    await seed(bot)
    assert bot.app is not None
    repo = PromotionRepository(bot.app.db)
    pid = await make_promotion(bot)
    card = bot.last_text(ADMIN)
    assert "every day at 10:00 Moscow time" in card and "Last run: not yet" in card

    await bot.press(ADMIN, "Switch off")
    promotion = await repo.get(pid)
    assert promotion is not None and not promotion.enabled
    assert bot.app.services.scheduler.promotion_jobs() == {}
    await bot.press(ADMIN, "Switch on")
    assert bot.app.services.scheduler.promotion_jobs().keys() == {pid}

    await bot.press(ADMIN, "Duplicate")
    first, copy = await repo.all()
    assert copy.name == "Утренний кофе (copy)" and not copy.enabled
    await bot.press(ADMIN, "Delete")
    await bot.press(ADMIN, "Delete")  # the confirmation
    assert [p.id for p in await repo.all()] == [first.id]
    assert await repo.get(copy.id, deleted=True) is not None  # kept for its mailings

    await bot.press(ADMIN, first.name)  # the list's button opens the card
    await bot.press(ADMIN, "Preview")
    assert any("Кофе в подарок, Анна!" in t for t in bot.api.sent_texts(ADMIN))


async def test_a_strangers_forged_promotion_buttons_change_nothing(bot: RunningBot) -> None:
    await seed(bot)
    assert bot.app is not None
    pid = await make_promotion(bot)
    await bot.say(STRANGER, "/start")
    for payload in (f"pr:off:{pid}", f"pr:del_yes:{pid}", f"pr:run_yes:{pid}", f"pr:dup:{pid}"):
        query_id = bot.api.press_forged(STRANGER, payload)
        answer = await bot.api.answer_of(query_id)
        assert "not available" in answer.params.get("text", "")
    await bot.settle()
    promotions = await PromotionRepository(bot.app.db).all()
    assert [(p.id, p.enabled) for p in promotions] == [(pid, True)]
    count = await bot.app.db.fetchval("SELECT COUNT(*) FROM mailings")
    assert count == 0


async def test_a_promotion_time_inside_quiet_hours_is_refused_with_the_reason(
    bot: RunningBot,
) -> None:
    await seed(bot)
    assert bot.app is not None
    await LimitsRepository(bot.app.db).set_quiet((time(22, 0), time(9, 0)), ADMIN)
    await bot.say(ADMIN, "/promos")
    await bot.press(ADMIN, "New promotion")
    await bot.say(ADMIN, "Ночная акция")
    await bot.press(ADMIN, "All guests")
    await bot.press(ADMIN, "Every day")
    reply = await said(bot, "23:30")
    assert "23:30 falls in quiet hours (22:00–09:00, Moscow time)" in reply
    reply = await said(bot, "10:00")
    assert "every day at 10:00 Moscow time" in reply
