"""A mailing's card: its outcome, a chart, a duplicate in /new, failed rows resent, and
always as the mailing stands now."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from PIL import Image

from storage.mailings import Mailing, MailingRepository
from storage.statuses import MailingStatus
from tests.conftest import ADMIN, RunningBot
from tests.delivery_world import add_guests, journal_counts, wait_status


def repo(bot: RunningBot) -> MailingRepository:
    assert bot.app is not None
    return MailingRepository(bot.app.db)


async def finished_with_rows(bot: RunningBot, sent: int, failed: int) -> Mailing:
    """A completed Telegram mailing whose journal holds `sent` sent and `failed` failed rows."""
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, sent + failed + 1))
    mailing = await repo(bot).create(
        name="Weekend", segment_id=1, scheduled_at=datetime.now(UTC) - timedelta(hours=1),
        channels=("telegram",), text_html="Hi <b>{first_name}</b>", created_by=ADMIN,
    )  # fmt: skip
    await repo(bot).set_status(mailing.id, MailingStatus.RUNNING)
    await repo(bot).set_status(mailing.id, MailingStatus.COMPLETED)
    guests = await db.fetchall("SELECT id, tg_chat_id FROM guests ORDER BY id")
    start = datetime.now(UTC) - timedelta(minutes=30)
    rows = [
        (mailing.id, g[0], "telegram", str(g[1]), "sent" if i < sent else "failed",
         (start + timedelta(minutes=i % 20)).isoformat(timespec="milliseconds")
         if i < sent else None)
        for i, g in enumerate(guests)
    ]  # fmt: skip
    await db.executemany(
        "INSERT INTO deliveries (mailing_id, guest_id, channel, address, status, sent_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    found = await repo(bot).get(mailing.id)
    assert found is not None
    return found


async def test_the_card_shows_the_outcome_and_the_text(bot: RunningBot) -> None:
    await finished_with_rows(bot, sent=7, failed=3)
    await bot.say(ADMIN, "/history")
    await bot.press(ADMIN, "Weekend")
    card = bot.last_text(ADMIN)
    # In guests, the units of the preview and the progress message.
    assert "Status: completed" in card and "Reached: 7 of 10 guests" in card, card
    assert "Got it in Telegram: 7 guests" in card
    assert "Failed (no channel delivered): 3 guests" in card
    assert "Took " in card and "guests/s" in card
    assert "Hi {first_name}" in card
    buttons = [t for t, _ in bot.api.last_message(ADMIN).buttons()]
    for label in ("Resend failed (3)", "Chart", "Export", "Duplicate", "Back to the list"):
        assert any(label in b for b in buttons), label
    assert not any("Change time" in b or "Pause" in b for b in buttons)


async def test_the_chart_is_a_phone_sized_png(bot: RunningBot) -> None:
    await finished_with_rows(bot, sent=40, failed=5)
    await bot.say(ADMIN, "/history")
    await bot.press(ADMIN, "Weekend")
    since = bot.api.mark()
    await bot.press(ADMIN, "Chart")
    await bot.expect(ADMIN, "the outcome", since)
    photos = [c for c in bot.api.calls_of("sendPhoto", ADMIN) if c.ok]
    assert photos, "no chart was sent"
    content = photos[-1].files["photo"][1]
    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(content))
    image.verify()
    assert image.format == "PNG" and image.size == (1080, 1350)
    assert "the outcome" in str(photos[-1].params.get("caption"))


async def test_failed_rows_are_resent_from_the_card(bot: RunningBot) -> None:
    mailing = await finished_with_rows(bot, sent=4, failed=2)
    assert bot.app is not None
    await bot.say(ADMIN, "/history")
    await bot.press(ADMIN, "Weekend")
    answer = await bot.press(ADMIN, "Resend failed")
    assert "2 messages will be sent again" in answer.params["text"]
    assert await wait_status(bot.app.db, mailing.id, "completed") == "completed"
    counts = await journal_counts(bot.app.db, mailing.id)
    assert counts[("telegram", "sent")] == 6 and counts[("telegram", "failed")] == 0, counts


async def test_duplicate_opens_new_with_the_parts_filled_in(bot: RunningBot) -> None:
    mailing = await repo(bot).create(
        name="Weekend", segment_id=1, scheduled_at=datetime.now(UTC) + timedelta(days=2),
        channels=("email", "telegram"), send_mode="priority", subject="Hello",
        text_html="Hi {first_name}", created_by=ADMIN,
    )  # fmt: skip
    await bot.say(ADMIN, "/history")
    await bot.press(ADMIN, "Weekend")
    since = bot.api.mark()
    await bot.press(ADMIN, "Duplicate")
    await bot.expect(ADMIN, "Which day?", since)
    assert bot.app is not None
    app = bot.app
    context = app.dispatcher.fsm.get_context(bot=app.bot, chat_id=ADMIN, user_id=ADMIN)
    assert await context.get_state() == "NewMailing:date"
    data = await context.get_data()
    assert data["name"] == "Weekend (copy)" and data["segment_id"] == 1
    assert sorted(data["channels"]) == ["email", "telegram"]
    assert data["mode"] == "priority-email" and data["subject"] == "Hello"
    assert data["text_html"] == "Hi {first_name}" and data["editing"] is True
    assert "day" not in data and "draft_key" not in data
    assert (await repo(bot).get(mailing.id)) is not None


async def test_a_changed_card_is_shown_fresh(bot: RunningBot) -> None:
    mailing = await repo(bot).create(
        name="Movable", segment_id=1, scheduled_at=datetime.now(UTC) + timedelta(days=2),
        channels=("telegram",), text_html="Hi", created_by=ADMIN,
    )  # fmt: skip
    await bot.say(ADMIN, "/history")
    await bot.press(ADMIN, "Movable")
    assert "Status: scheduled" in bot.last_text(ADMIN)
    later = datetime.now(UTC) + timedelta(days=5)
    await repo(bot).reschedule(mailing.id, later)
    await repo(bot).set_status(mailing.id, MailingStatus.CANCELLED)
    await bot.press(ADMIN, "Back to the list")
    await bot.press(ADMIN, "Movable")
    card = bot.last_text(ADMIN)
    assert "Status: cancelled" in card
    assert later.astimezone(bot.settings.tz).strftime("%d.%m.%Y %H:%M") in card
