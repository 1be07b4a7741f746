"""/settings end to end, what a loyalty manager tripped over: Email left off after the first
verified save, one wrong field costing the whole form, a test email claiming email works
while Email is off, and the Russian wording of the form.

Driven like the other /settings tests: through the fake Bot API, against real SMTP servers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.guests import GuestRecord, GuestRepository
from tests.conftest import ADMIN, BotFactory, RunningBot
from tests.settings_chat import (
    SENDER,
    SUCCESS,
    WRONG_PASSWORD,
    admin_bot,
    cert,
    fill_in,
    press,
    save,
    say,
    server,
    service_of,
)
from tests.smtp_servers import HOST, PASSWORD, USER, Certificate, RunningServer, closed_port

__all__ = ["admin_bot", "cert", "server"]  # fixtures

EMAIL_ON = "Email is on — mailings can go out by email"


def buttons(bot: RunningBot) -> list[str]:
    """The button texts under the bot's newest message."""
    return [text for text, _data in bot.api.last_message(ADMIN).buttons()]


async def walk_new_to_channels(bot: RunningBot) -> None:
    """/new up to the channels step: name, all guests (one guest, so not an empty segment),
    tomorrow, 18:30."""
    assert bot.app is not None
    await GuestRepository(bot.app.db).upsert_many([GuestRecord(phone="+79160000001")])
    tomorrow = datetime.now(bot.app.settings.tz).date() + timedelta(days=1)
    await say(bot, "/new")
    await say(bot, "Birthday")
    await press(bot, "All guests")
    await say(bot, tomorrow.strftime("%d.%m.%Y"))
    await say(bot, "18:30")
    assert "Which channels?" in bot.last_text(ADMIN), bot.api.dump()


# ------------------------------------------------------------------ 2. Email after the first save


async def test_the_first_verified_save_turns_email_on_and_later_saves_leave_the_switch(
    admin_bot: RunningBot, server: RunningServer
) -> None:
    bot = admin_bot
    answers = await fill_in(bot, server.port)
    assert any(SUCCESS in t and EMAIL_ON in t for t in answers)
    assert "Email: on" in bot.last_text(ADMIN)
    assert await service_of(bot).enabled_channels() == ["email", "telegram"]

    await bot.press(ADMIN, "Turn Email off")
    page = bot.last_text(ADMIN)
    assert "Email: off" in page and "until you turn it on with “Turn Email on”" in page
    await press(bot, "✏️ Sender name")
    await say(bot, "Пушкин")
    await bot.settle(quiet=0.3)
    texts = bot.api.sent_texts(ADMIN)
    assert any(SUCCESS in t for t in texts[-3:]), bot.api.dump()
    assert not any(EMAIL_ON in t for t in texts[-3:])
    assert "Email: off" in bot.last_text(ADMIN)
    assert await service_of(bot).enabled_channels() == ["telegram"]


async def test_an_unavailable_email_at_the_channel_step_says_how_to_fix_it(
    admin_bot: RunningBot, server: RunningServer
) -> None:
    bot = admin_bot
    await walk_new_to_channels(bot)
    question = bot.last_text(ADMIN)
    assert "/settings → “Set up the SMTP server”" in question
    await say(bot, "/cancel")

    await fill_in(bot, server.port)
    await bot.press(ADMIN, "Turn Email off")
    await walk_new_to_channels(bot)
    question = bot.last_text(ADMIN)
    assert "Email is set up but switched off in /settings" in question
    assert "“Turn Email on”" in question
    answer = await bot.press(ADMIN, "Email — unavailable")
    assert "switched off in /settings" in answer.params["text"]


# ------------------------------------------------------------------ 6. one field alone


async def test_a_wrong_password_is_fixed_by_changing_the_password_alone(
    admin_bot: RunningBot, server: RunningServer
) -> None:
    bot = admin_bot
    failure = (await fill_in(bot, server.port, password=WRONG_PASSWORD))[-1]
    assert "rejected the user name or password" in failure
    assert "Change the password" in str(buttons(bot))

    attempts = server.authenticator.attempts
    await press(bot, "Change the password")
    assert "Type the password" in bot.last_text(ADMIN)
    bot.api.send_message(ADMIN, PASSWORD)
    await bot.settle()
    assert any(SUCCESS in t for t in bot.api.sent_texts(ADMIN)[-4:]), bot.api.dump()
    assert server.authenticator.attempts == attempts + 1  # one check, with the new password
    smtp = (await service_of(bot).current()).smtp
    assert smtp is not None and smtp.port == server.port


async def test_a_refused_connection_offers_the_port_and_a_new_port_is_verified(
    admin_bot: RunningBot, server: RunningServer
) -> None:
    bot = admin_bot
    failure = (await fill_in(bot, closed_port()))[-1]
    assert "refused the connection" in failure
    offered = str(buttons(bot))
    assert "Change the port" in offered and "Change the server" in offered
    assert "Change the password" not in offered

    await press(bot, "Change the port")
    assert "Type the port" in bot.last_text(ADMIN)
    await say(bot, str(server.port))
    await bot.settle(quiet=0.3)
    answers = bot.api.sent_texts(ADMIN)[-4:]
    assert any(SUCCESS in t for t in answers), bot.api.dump()
    smtp = (await service_of(bot).current()).smtp
    assert smtp is not None and smtp.port == server.port


async def test_one_field_changed_from_the_page_is_verified_before_it_takes_force(
    admin_bot: RunningBot, server: RunningServer
) -> None:
    bot = admin_bot
    await fill_in(bot, server.port)
    before = (await service_of(bot).current()).smtp
    for field in ("Server", "Port", "Security", "Login", "Password", "Sender address"):
        assert any(field in b for b in buttons(bot)), field

    await press(bot, "✏️ Password")
    assert "Type the password" in bot.last_text(ADMIN)
    bot.api.send_message(ADMIN, WRONG_PASSWORD)
    await bot.settle()
    failure = bot.last_text(ADMIN)
    assert "could not be verified" in failure and "did not change" in failure, bot.api.dump()
    assert (await service_of(bot).current()).smtp == before

    await press(bot, "Cancel")
    await press(bot, "✏️ Sender address")
    assert "Type the sender address" in bot.last_text(ADMIN)
    await say(bot, "promo@probonus.test")
    await bot.settle(quiet=0.3)
    assert any(SUCCESS in t for t in bot.api.sent_texts(ADMIN)[-4:]), bot.api.dump()
    smtp = (await service_of(bot).current()).smtp
    assert smtp is not None and smtp.sender_email == "promo@probonus.test"
    assert before is not None and smtp.password_encrypted == before.password_encrypted


# ------------------------------------------------------------------ 9. the test email's honesty


async def test_a_test_email_while_email_is_off_says_mailings_do_not_use_it(
    admin_bot: RunningBot, server: RunningServer
) -> None:
    bot = admin_bot
    await fill_in(bot, server.port)
    if "Turn Email off" in str(buttons(bot)):
        await bot.press(ADMIN, "Turn Email off")
    await press(bot, "Send a test email")
    await say(bot, "manager@example.com")
    result = bot.last_text(ADMIN)
    assert "was sent" in result and "mailings do not use email until it is switched on" in result
    assert "Turn Email on" in str(buttons(bot))
    await bot.press(ADMIN, "Turn Email on")
    assert await service_of(bot).enabled_channels() == ["email", "telegram"]

    await say(bot, "/settings")
    await press(bot, "Send a test email")
    await say(bot, "manager@example.com")
    assert "was sent" in bot.last_text(ADMIN)
    assert "mailings do not use email" not in bot.last_text(ADMIN)
    assert len(server.received) == 2


# ------------------------------------------------------------------ Russian wording


async def test_the_russian_form_says_use_587_and_moscow_time(
    start_bot: BotFactory, cert: Certificate, server: RunningServer
) -> None:
    bot = await start_bot(locale="ru")
    service_of(bot).tls_context = cert.client_context()
    await say(bot, "/settings")
    await press(bot, "SMTP")
    await say(bot, HOST)
    await press(bot, "STARTTLS")
    assert "Использовать 587" in str(buttons(bot)) and "Взять" not in str(buttons(bot))
    await say(bot, str(server.port))
    for answer in (USER, PASSWORD, SENDER, "Ресторан"):
        await say(bot, answer)
    answers = await save(bot, "Сохранить и проверить")
    assert any("Email включён — рассылки могут уходить по почте" in t for t in answers)
    page = bot.last_text(ADMIN)
    assert "по московскому времени" in page and "Europe/Moscow" not in page


async def test_settings_opened_mid_draft_keep_the_draft_for_when_email_is_on(
    bot: RunningBot,
) -> None:
    from tests.test_new_mailing_e2e import enable_email, start_at, state

    await start_at(bot, "channels")
    await bot.say(ADMIN, "/settings")
    await bot.settle()
    texts = bot.api.sent_texts(ADMIN)
    assert any("Email:" in t for t in texts[-3:]), texts[-3:]  # the settings page itself
    assert "Your mailing draft “Example” is waiting" in texts[-1]
    assert await state(bot) is None  # the chat is free for the settings dialog
    await enable_email(bot)  # as a verified save does
    await bot.press(ADMIN, "Continue the mailing")
    assert await state(bot) == "NewMailing:channels"
    assert "Which channels?" in bot.last_text(ADMIN)
    buttons = [text for text, _ in bot.api.last_message(ADMIN).buttons()]
    assert not any("unavailable" in b for b in buttons), buttons


async def test_answered_form_questions_show_the_answer_and_keep_no_buttons(
    admin_bot: RunningBot, server: RunningServer
) -> None:
    bot = admin_bot
    await say(bot, "/settings")
    await press(bot, "SMTP server")
    host_question = bot.api.last_message(ADMIN).message_id
    await say(bot, "smtp..bad")  # refused: the question is asked again below the reason
    refused_question = bot.api.last_message(ADMIN).message_id
    assert refused_question != host_question
    await say(bot, HOST)
    await press(bot, "STARTTLS")
    await say(bot, str(server.port))
    chat = bot.api.messages[ADMIN]
    # Only the newest question has buttons; an answered one shows its answer, not
    # "Current: not set".
    assert chat[host_question].buttons() == []
    answered = chat[refused_question]
    assert answered.buttons() == [] and f"✅ {HOST}" in (answered.plain_text or "")
    assert "Current: not set" not in (answered.plain_text or "")
    live = [m for m in chat.values() if m.buttons()]
    assert [m.message_id for m in live][-1] == bot.api.last_message(ADMIN).message_id
    assert all("SMTP server, step" not in (m.plain_text or "") for m in live[:-1]), [
        m.plain_text for m in live
    ]
