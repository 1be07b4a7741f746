"""Guests link their Telegram by sharing their own phone, unsubscribe and come back."""

from __future__ import annotations

from storage.guests import Guest, GuestRecord, GuestRepository
from tests.conftest import GUEST, STRANGER, RunningBot

# The whole confirmation: "subscribed" alone is also in "unsubscribed" and "not subscribed".
SUBSCRIBED = "Thank you! You are subscribed: news and offers will come here. /stop to unsubscribe."


def subscribed(name: str) -> str:
    """The confirmation to a guest whose card has a name: they are called by it."""
    return SUBSCRIBED.replace("Thank you!", f"Thank you, {name}!")


def repo(bot: RunningBot) -> GuestRepository:
    assert bot.app is not None
    return GuestRepository(bot.app.db)


async def guest_of(bot: RunningBot, user_id: int) -> Guest | None:
    return await repo(bot).by_tg_user(user_id)


async def test_sharing_own_contact_links_the_existing_account(bot: RunningBot) -> None:
    await repo(bot).upsert_many(
        [GuestRecord(phone="+79161234567", first_name="Анна", last_name="Петрова")]
    )
    await bot.say(GUEST, "/start")
    reply = await bot._act(
        GUEST,
        lambda: bot.api.send_contact(GUEST, "79161234567", contact_user_id=GUEST),
    )
    assert reply.plain_text == subscribed("Анна")
    guest = await guest_of(bot, GUEST)
    assert guest is not None
    assert guest.phone == "+79161234567"
    assert guest.first_name == "Анна"  # the account from the base, not a new one
    assert guest.tg_status == "active"
    assert (await repo(bot).counts()).total == 1


async def test_a_new_phone_registers_a_new_account_with_the_telegram_name(
    bot: RunningBot,
) -> None:
    await bot._act(
        GUEST,
        lambda: bot.api.send_contact(
            GUEST, "+7 (903) 111-22-33", contact_user_id=GUEST, first_name="Иван", last_name="Ли"
        ),
    )
    guest = await guest_of(bot, GUEST)
    assert guest is not None
    assert (guest.phone, guest.first_name, guest.last_name) == ("+79031112233", "Иван", "Ли")


async def test_someone_elses_contact_is_refused_and_asked_again(bot: RunningBot) -> None:
    reply = await bot._act(
        GUEST, lambda: bot.api.send_contact(GUEST, "+79031112233", contact_user_id=STRANGER)
    )
    assert "someone else's contact" in (reply.plain_text or "")
    assert reply.reply_keyboard()[0].get("request_contact") is True
    reply = await bot._act(
        GUEST, lambda: bot.api.send_contact(GUEST, "+79031112233", contact_user_id=None)
    )
    assert "someone else's contact" in (reply.plain_text or "")
    assert await guest_of(bot, GUEST) is None
    assert (await repo(bot).counts()).total == 0


async def test_a_typed_phone_gets_the_button_again(bot: RunningBot) -> None:
    reply = await bot.say(GUEST, "+79161234567")
    assert "button" in (reply.plain_text or "")
    assert reply.reply_keyboard()[0].get("request_contact") is True
    assert await guest_of(bot, GUEST) is None


async def test_stop_unsubscribes_and_start_resubscribes(bot: RunningBot) -> None:
    await bot._act(
        GUEST, lambda: bot.api.send_contact(GUEST, "+79031112233", contact_user_id=GUEST)
    )
    reply = await bot.say(GUEST, "/stop")
    assert "unsubscribed" in (reply.plain_text or "")
    guest = await guest_of(bot, GUEST)
    assert guest is not None and guest.tg_status == "unsubscribed"

    reply = await bot.say(GUEST, "/stop")
    assert "not subscribed" in (reply.plain_text or "")

    reply = await bot.say(GUEST, "/start")
    assert "You are subscribed" in (reply.plain_text or "")
    guest = await guest_of(bot, GUEST)
    assert guest is not None and guest.tg_status == "active"


async def test_stop_before_subscribing_says_so(bot: RunningBot) -> None:
    reply = await bot.say(GUEST, "/stop")
    assert "not subscribed" in (reply.plain_text or "")


async def test_blocking_the_bot_marks_the_guest_blocked(bot: RunningBot) -> None:
    await bot._act(
        GUEST, lambda: bot.api.send_contact(GUEST, "+79031112233", contact_user_id=GUEST)
    )
    bot.api.block_bot(GUEST)
    await bot.settle()
    guest = await guest_of(bot, GUEST)
    assert guest is not None and guest.tg_status == "blocked"
    # Coming back with /start makes them reachable again.
    bot.api.unblock_bot(GUEST)
    await bot.say(GUEST, "/start")
    guest = await guest_of(bot, GUEST)
    assert guest is not None and guest.tg_status == "active"


async def test_a_second_telegram_account_with_the_same_phone_takes_over(bot: RunningBot) -> None:
    await bot._act(
        GUEST, lambda: bot.api.send_contact(GUEST, "+79031112233", contact_user_id=GUEST)
    )
    await bot._act(
        STRANGER, lambda: bot.api.send_contact(STRANGER, "89031112233", contact_user_id=STRANGER)
    )
    assert await guest_of(bot, GUEST) is None
    guest = await guest_of(bot, STRANGER)
    assert guest is not None and guest.phone == "+79031112233"


async def test_a_foreign_number_from_telegram_links_too(bot: RunningBot) -> None:
    """Telegram sends contacts without "+": 380... is Ukraine, not a Russian number."""
    await repo(bot).upsert_many([GuestRecord(phone="+380501234567", first_name="Олена")])
    await bot.say(GUEST, "/start")
    reply = await bot._act(
        GUEST, lambda: bot.api.send_contact(GUEST, "380501234567", contact_user_id=GUEST)
    )
    assert reply.plain_text == subscribed("Олена")
    guest = await guest_of(bot, GUEST)
    assert guest is not None and guest.first_name == "Олена"
    assert guest.phone == "+380501234567"
