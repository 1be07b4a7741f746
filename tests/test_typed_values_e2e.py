"""Invisible and control characters typed by the admin: refused with the reason, the step
kept, and the character never sent back, whether in /new or in /settings."""

from __future__ import annotations

import json

from tests.conftest import ADMIN, BotFactory, RunningBot
from tests.smtp_servers import HOST, USER
from tests.test_new_mailing_e2e import enable_email, seed, state, tomorrow


def everything_sent(bot: RunningBot) -> str:
    """Every request the bot made to Telegram, as one text (characters as they are)."""
    return "\n".join(json.dumps(call.params, ensure_ascii=False) for call in bot.api.calls)


async def walk_to(bot: RunningBot, channel: str, step: str) -> None:
    """/new: a name, all guests, tomorrow 18:30, one channel; stops at `step`."""
    await seed(bot)
    await bot.say(ADMIN, "/new")
    await bot.say(ADMIN, "Spring menu")
    await bot.press(ADMIN, "All guests")
    await bot.say(ADMIN, tomorrow(bot))
    await bot.say(ADMIN, "18:30")
    await bot.press(ADMIN, channel)
    await bot.press(ADMIN, "Done")
    assert await state(bot) == f"NewMailing:{step}", bot.api.dump()


# ------------------------------------------------------------------ /new


async def test_a_name_of_zero_width_characters_is_refused_and_the_name_is_asked_again(
    bot: RunningBot,
) -> None:
    await bot.say(ADMIN, "/new")
    reply = await bot.say(ADMIN, "\u200b\u200c\u200d\u2060\ufeff")
    assert "The name has no visible characters" in (reply.plain_text or "")
    assert await state(bot) == "NewMailing:name"
    await bot.say(ADMIN, "Spring menu")
    assert await state(bot) == "NewMailing:segment"


async def test_a_name_with_an_escape_is_refused_by_its_code_point_and_never_echoed(
    bot: RunningBot,
) -> None:
    await bot.say(ADMIN, "/new")
    reply = await bot.say(ADMIN, "Spring\x1b[31m menu")
    assert "control character (U+001B)" in (reply.plain_text or "")
    assert await state(bot) == "NewMailing:name"
    assert "\x1b" not in everything_sent(bot)


async def test_a_subject_with_a_nul_is_refused_with_the_reason_and_the_step_kept(
    bot: RunningBot,
) -> None:
    await enable_email(bot)
    await walk_to(bot, "Email", "subject")
    reply = await bot.say(ADMIN, "News\x00 for {first_name}")
    assert "The subject contains a control character (U+0000); type it again without it." in (
        reply.plain_text or ""
    )
    assert await state(bot) == "NewMailing:subject"
    assert "\x00" not in everything_sent(bot)
    reply = await bot.say(ADMIN, " \u200b ")
    assert "The subject has no visible characters" in (reply.plain_text or "")
    assert await state(bot) == "NewMailing:subject"
    await bot.say(ADMIN, "News for {first_name}")
    assert await state(bot) == "NewMailing:text"


async def test_a_mailing_text_with_a_control_character_is_refused_but_line_breaks_are_kept(
    bot: RunningBot,
) -> None:
    await walk_to(bot, "Telegram", "text")
    reply = await bot.say(ADMIN, "Hello,\x07 {first_name}!")
    assert "control character (U+0007)" in (reply.plain_text or "")
    assert await state(bot) == "NewMailing:text"
    reply = await bot.say(ADMIN, "\u2060\u200b")
    assert "The text has no visible characters" in (reply.plain_text or "")
    assert await state(bot) == "NewMailing:text"
    await bot.say(ADMIN, "Hello, {first_name}!\n\tSee you tonight.")
    assert await state(bot) == "NewMailing:image"
    assert "\x07" not in everything_sent(bot)


async def test_the_refusals_are_in_russian_too(start_bot: BotFactory) -> None:
    bot = await start_bot(locale="ru")
    await bot.say(ADMIN, "/new")
    reply = await bot.say(ADMIN, "\u200b")
    assert "В названии нет ни одного видимого символа" in (reply.plain_text or "")
    reply = await bot.say(ADMIN, "Меню\x1b")
    assert "служебный символ (U+001B)" in (reply.plain_text or "")


# ------------------------------------------------------------------ /settings


async def walk_to_login(bot: RunningBot) -> None:
    await bot.say(ADMIN, "/settings")
    await bot.press(ADMIN, "SMTP server")
    await bot.say(ADMIN, HOST)
    await bot.press(ADMIN, "STARTTLS")
    await bot.say(ADMIN, "587")
    assert await state(bot) == "SmtpForm:username", bot.api.dump()


async def test_a_password_of_spaces_only_is_refused_with_the_reason_and_asked_again(
    bot: RunningBot,
) -> None:
    await walk_to_login(bot)
    await bot.say(ADMIN, USER)
    assert await state(bot) == "SmtpForm:password"
    answers = await bot.texts_after(ADMIN, lambda: bot.api.send_message(ADMIN, "    "))
    assert any("The password is only spaces" in text for text in answers), answers
    assert await state(bot) == "SmtpForm:password"
    await bot.say(ADMIN, "secret with spaces")
    assert await state(bot) == "SmtpForm:sender_email"


async def test_a_zero_width_login_and_an_escape_in_the_sender_name_are_refused(
    bot: RunningBot,
) -> None:
    await walk_to_login(bot)
    reply = await bot.say(ADMIN, "\u200b")
    assert "The value has no visible characters" in (reply.plain_text or "")
    assert await state(bot) == "SmtpForm:username"
    reply = await bot.say(ADMIN, "bonus\u200b@restaurant.ru")
    assert "invisible character (U+200B)" in (reply.plain_text or "")
    assert await state(bot) == "SmtpForm:username"
    await bot.say(ADMIN, USER)
    await bot.say(ADMIN, "password")
    await bot.say(ADMIN, "bonus@probonus.test")
    assert await state(bot) == "SmtpForm:sender_name"
    reply = await bot.say(ADMIN, "Ресторан\x9b «Пушкин»")
    assert "control character (U+009B)" in (reply.plain_text or "")
    assert await state(bot) == "SmtpForm:sender_name"
    assert "\x9b" not in everything_sent(bot) and "\u200b" not in everything_sent(bot)
