"""/history end to end: the admin sees the mailings, opens one, cancels it or moves it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.mailings import Mailing, MailingRepository
from tests.conftest import ADMIN, BotFactory, RunningBot
from tests.delivery_world import (
    add_guests,
    chat_of,
    journal_counts,
    press_now,
    wait_status,
    wait_until,
)


def repo(bot: RunningBot) -> MailingRepository:
    assert bot.app is not None
    return MailingRepository(bot.app.db)


async def make(bot: RunningBot, name: str, hours: float, **kwargs: object) -> Mailing:
    return await repo(bot).create(
        name=name,
        segment_id=1,
        scheduled_at=datetime.now(UTC) + timedelta(hours=hours),
        channels=kwargs.pop("channels", ("telegram",)),  # type: ignore[arg-type]
        text_html="Hi {first_name}",
        created_by=ADMIN,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_an_empty_history_says_how_to_start(bot: RunningBot) -> None:
    reply = await bot.say(ADMIN, "/history")
    assert "no mailings yet" in (reply.plain_text or "")


async def test_scheduled_mailings_come_first_and_open_as_cards(bot: RunningBot) -> None:
    done = await make(bot, "Old news", -48)
    await repo(bot).set_status(done.id, "completed")
    await make(bot, "Later", 72)
    await make(bot, "Soon", 30, channels=("email", "telegram"), send_mode="priority",
               subject="Hi")  # fmt: skip
    reply = await bot.say(ADMIN, "/history")
    assert "Mailings (3)" in (reply.plain_text or "")
    labels = [text for text, _ in reply.buttons()]
    assert [label.split(" · ")[-1] for label in labels] == ["Soon", "Later", "Old news"]
    assert labels[0].startswith("🕒") and labels[2].startswith("✅")
    await bot.press(ADMIN, "Soon")
    card = bot.last_text(ADMIN)
    assert "Mailing “Soon”" in card and "Status: scheduled" in card
    assert "Segment: All guests" in card and "Email first, then Telegram" in card
    assert "(Moscow time)" in card and "Email subject: Hi" in card
    buttons = [text for text, _ in bot.api.last_message(ADMIN).buttons()]
    assert any("Change time" in b for b in buttons) and any("Cancel mailing" in b for b in buttons)
    await bot.press(ADMIN, "Back to the list")
    await bot.press(ADMIN, "Old news")
    assert "Status: completed" in bot.last_text(ADMIN)
    buttons = [text for text, _ in bot.api.last_message(ADMIN).buttons()]
    assert not any("Cancel mailing" in b or "Change time" in b for b in buttons)


async def test_cancel_a_scheduled_mailing_after_confirmation(bot: RunningBot) -> None:
    mailing = await make(bot, "Promo", 30)
    await bot.say(ADMIN, "/history")
    await bot.press(ADMIN, "Promo")
    await bot.press(ADMIN, "Cancel mailing")
    assert "Guests will not get it" in bot.last_text(ADMIN)
    await bot.press(ADMIN, "No, keep it")
    assert (await repo(bot).get(mailing.id)).status == "scheduled"  # type: ignore[union-attr]
    await bot.press(ADMIN, "Cancel mailing")
    await bot.press(ADMIN, "Yes, cancel it")
    assert "is cancelled" in bot.last_text(ADMIN)
    assert (await repo(bot).get(mailing.id)).status == "cancelled"  # type: ignore[union-attr]


async def test_a_mailing_that_has_finished_can_no_longer_be_cancelled(bot: RunningBot) -> None:
    mailing = await make(bot, "Finished", 30)
    await bot.say(ADMIN, "/history")
    await bot.press(ADMIN, "Finished")
    await repo(bot).set_status(mailing.id, "completed")
    await bot.press(ADMIN, "Cancel mailing")
    answer = await bot.press(ADMIN, "Yes, cancel it")
    assert "can no longer be cancelled" in answer.params["text"]
    assert (await repo(bot).get(mailing.id)).status == "completed"  # type: ignore[union-attr]


async def test_a_running_mailing_is_paused_resumed_and_cancelled_from_its_card(
    start_bot: BotFactory,
) -> None:
    bot = await start_bot(telegram_rate=5)
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 61))
    mailing = await make(bot, "Weekend", 30)
    # "Change time" -> Today -> Now starts it at once, not at the next scheduler pass.
    await bot.say(ADMIN, "/history")
    await bot.press(ADMIN, "Weekend")
    await bot.press(ADMIN, "Change time")
    await bot.press(ADMIN, "Today")
    await press_now(bot, ADMIN, "Now")
    assert await wait_status(db, mailing.id, "running", timeout=5) == "running"
    await bot.api.wait_for("sendMessage", chat_id=chat_of(1), timeout=5)

    await bot.say(ADMIN, "/history")
    await press_now(bot, ADMIN, "Weekend")
    await wait_until(lambda: "Status: sending" in bot.last_text(ADMIN), what="the card")
    buttons = [text for text, _ in bot.api.last_message(ADMIN).buttons()]
    assert any("Pause" in b for b in buttons) and any("Cancel mailing" in b for b in buttons)
    assert not any("Change time" in b for b in buttons)
    await press_now(bot, ADMIN, "Pause")
    assert await wait_status(db, mailing.id, "paused") == "paused"

    await bot.say(ADMIN, "/history")
    await press_now(bot, ADMIN, "Weekend")
    await wait_until(lambda: "Status: paused" in bot.last_text(ADMIN), what="the card")
    buttons = [text for text, _ in bot.api.last_message(ADMIN).buttons()]
    assert any("Resume" in b for b in buttons) and not any("Pause" in b for b in buttons)
    await press_now(bot, ADMIN, "Cancel mailing")
    await press_now(bot, ADMIN, "Yes, cancel it")
    assert await wait_status(db, mailing.id, "cancelled") == "cancelled"
    counts = await journal_counts(db, mailing.id)
    assert counts[("telegram", "sent")] + counts[("telegram", "skipped")] == 60
    assert counts[("telegram", "skipped")] > 0


async def test_change_the_time_of_a_scheduled_mailing(bot: RunningBot) -> None:
    mailing = await make(bot, "Movable", 30)
    await bot.say(ADMIN, "/history")
    await bot.press(ADMIN, "Movable")
    await bot.press(ADMIN, "Change time")
    assert "New date for “Movable”" in bot.last_text(ADMIN)
    reply = await bot.say(ADMIN, "31.02.2030")
    assert "no such date" in (reply.plain_text or "")
    day = datetime.now(bot.settings.tz).date() + timedelta(days=3)
    await bot.say(ADMIN, day.strftime("%d.%m.%Y"))
    assert "At what time on" in bot.last_text(ADMIN)
    reply = await bot.say(ADMIN, "25:00")
    assert "no such time" in (reply.plain_text or "")
    reply = await bot.say(ADMIN, "9:15")
    assert "moved to" in (reply.plain_text or "")
    moved = await repo(bot).get(mailing.id)
    assert moved is not None
    local = moved.scheduled_at.astimezone(bot.settings.tz)
    assert (local.date(), local.hour, local.minute) == (day, 9, 15)


async def test_change_the_time_to_now_from_the_calendar(bot: RunningBot) -> None:
    mailing = await make(bot, "Hurry", 30)
    await bot.say(ADMIN, "/history")
    await bot.press(ADMIN, "Hurry")
    await bot.press(ADMIN, "Change time")
    await bot.press(ADMIN, "Today")
    before = datetime.now(UTC).replace(microsecond=0)
    since = bot.api.mark()
    await bot.press(ADMIN, "Now")
    # The time question shows the outcome and keeps no buttons; nothing failed on the way.
    question = await bot.expect(ADMIN, "starts now", since)
    assert "At what time on" in (question.plain_text or "") and not question.buttons()
    assert not any(call.status >= 400 for call in bot.api.calls[since:]), bot.api.dump()
    # Launched at once, well before the scheduler's next pass: the engine's report follows
    # (nobody to send to here).
    await bot.expect(ADMIN, "is complete", since, timeout=15)
    moved = await repo(bot).get(mailing.id)
    assert moved is not None and moved.scheduled_at >= before
    assert moved.scheduled_at <= datetime.now(UTC) + timedelta(seconds=1)


async def test_the_main_menu_opens_a_new_mailing_and_the_history(bot: RunningBot) -> None:
    await bot.say(ADMIN, "/start")
    await bot.press(ADMIN, "History")
    assert "no mailings yet" in bot.last_text(ADMIN)
    await bot.press(ADMIN, "New mailing")
    assert "Type a name for the mailing" in bot.last_text(ADMIN)
    await bot.say(ADMIN, "/cancel")
    await bot.press(ADMIN, "Settings")
    page = bot.last_text(ADMIN)
    assert "Mailing settings" in page and "SMTP server" in page and "Not set up yet" in page


async def test_two_taps_on_yes_cancel_say_cancelled_then_already_cancelled(
    bot: RunningBot,
) -> None:
    mailing = await make(bot, "Twice", 30)
    await bot.say(ADMIN, "/history")
    await bot.press(ADMIN, "Twice")
    await bot.press(ADMIN, "Cancel mailing")
    yes = bot.find_button(ADMIN, "Yes, cancel it")
    first = bot.api.press_button(ADMIN, yes)
    second = bot.api.press_button(ADMIN, yes)  # same getUpdates batch
    texts = sorted([str((await bot.api.answer_of(q)).params.get("text")) for q in (first, second)])
    await bot.settle()
    assert texts == ["Cancelled.", "It is already cancelled."]
    assert "is cancelled" in bot.last_text(ADMIN)
    assert (await repo(bot).get(mailing.id)).status == "cancelled"  # type: ignore[union-attr]
