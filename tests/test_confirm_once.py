"""A draft becomes at most one mailing: double taps, lost answers and old previews."""

from __future__ import annotations

from tests.conftest import ADMIN, RunningBot
from tests.test_new_mailing_e2e import compose, mailings, seed, state


async def _answers(bot: RunningBot, *query_ids: str) -> list[str]:
    answers = [await bot.api.answer_of(q) for q in query_ids]
    await bot.settle()
    return [str(a.params.get("text", "")) for a in answers]


async def test_two_taps_on_confirm_in_one_batch_make_one_mailing(bot: RunningBot) -> None:
    await seed(bot)
    await compose(bot)
    confirm = bot.find_button(ADMIN, "Confirm")
    # Both presses are queued before the bot polls: they arrive in one getUpdates batch.
    first = bot.api.press_button(ADMIN, confirm)
    second = bot.api.press_button(ADMIN, confirm)
    texts = await _answers(bot, first, second)
    assert len(await mailings(bot)) == 1
    assert sorted(texts)[0] == "Scheduled."
    assert "already the mailing “Spring menu”, scheduled for" in sorted(texts)[1]
    assert "Nothing was sent twice." in sorted(texts)[1]
    assert await state(bot) is None


async def test_a_tap_after_the_draft_is_gone_says_what_it_became(bot: RunningBot) -> None:
    await seed(bot)
    await compose(bot)
    confirm = bot.find_button(ADMIN, "Confirm")
    await bot.press(ADMIN, "Confirm")
    [mailing] = await mailings(bot)
    # The same Confirm pressed again later: a client still showing the old keyboard.
    again = await bot.api.answer_of(bot.api.press_forged(ADMIN, confirm))
    assert "already the mailing “Spring menu”" in again.params["text"]
    assert again.params.get("show_alert") is True
    assert [m.id for m in await mailings(bot)] == [mailing.id]


async def test_a_confirm_whose_answer_was_lost_is_not_repeated_by_the_next_tap(
    bot: RunningBot,
) -> None:
    await seed(bot)
    await compose(bot)
    confirm = bot.find_button(ADMIN, "Confirm")
    # Telegram fails the popup once and the keyboard's removal for good: the mailing is
    # made, the button stays, and the admin presses it again.
    bot.api.fail_next("answerCallbackQuery", status=500)
    bot.api.fail_next("editMessageReplyMarkup", status=502, count=10)
    first = bot.api.press_button(ADMIN, confirm)
    await bot.api.answer_of(first)
    await bot.settle()
    assert len(await mailings(bot)) == 1
    again = await bot.api.answer_of(bot.api.press_button(ADMIN, confirm))
    assert "already the mailing" in again.params["text"]
    assert len(await mailings(bot)) == 1


async def test_a_mailing_sent_now_says_so_not_scheduled(bot: RunningBot) -> None:
    await seed(bot)
    await compose(bot, day="today", at="now")
    answer = await bot.press(ADMIN, "Confirm")
    assert answer.params.get("text") == "Sending starts now."
