"""First contact: the admin opens the bot, a guest subscribes."""

from __future__ import annotations

from tests.conftest import ADMIN, GUEST, RunningBot


async def test_admin_start_shows_menu(bot: RunningBot) -> None:
    reply = await bot.say(ADMIN, "/start")
    assert "ProBonus Mailer" in (reply.plain_text or "")
    assert any("Guests" in text for text, _ in reply.buttons())


async def test_guest_start_asks_for_phone(bot: RunningBot) -> None:
    reply = await bot.say(GUEST, "/start")
    assert "phone" in (reply.plain_text or "")
    assert reply.reply_keyboard()[0].get("request_contact") is True
