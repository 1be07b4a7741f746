"""A channel switched off in /settings after a mailing was scheduled: nothing goes out on it
until an admin switches it on again and presses Resume."""

from __future__ import annotations

from storage.mailing_settings import MailingSettingsRepository
from tests.conftest import ADMIN, RunningBot
from tests.delivery_world import (
    add_guests,
    create_mailing,
    engine_of,
    journal_counts,
    press_now,
    wait_status,
    wait_until,
)


async def test_a_switched_off_channel_pauses_at_once_and_resume_sends_after_it_is_on(
    bot: RunningBot,
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 6))
    mailing = await create_mailing(db)
    switches = MailingSettingsRepository(db)
    await switches.set_channel("telegram", False, ADMIN)
    await engine_of(bot).launch(mailing.id)
    await wait_status(db, mailing.id, "paused")
    await wait_until(
        lambda: any("switched off in /settings" in t for t in bot.api.sent_texts(ADMIN)),
        what="the notice",
    )
    guests_reached = [c for c in bot.api.calls_of("sendMessage") if c.chat_id != ADMIN]
    assert guests_reached == []
    assert await journal_counts(db, mailing.id) == {("telegram", "pending"): 5}

    await switches.set_channel("telegram", True, ADMIN)
    await press_now(bot, ADMIN, "Resume")
    assert await wait_status(db, mailing.id, "completed") == "completed"
    assert await journal_counts(db, mailing.id) == {("telegram", "sent"): 5}
