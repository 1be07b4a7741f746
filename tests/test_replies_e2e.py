"""An admin's reply is never dropped: a 429 is waited out, a 5xx or a lost connection retried."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN, RunningBot


@pytest.mark.parametrize(
    ("status", "retry_after"),
    [(429, 1), (502, None), (500, None), (0, None)],  # 0: the connection drops unanswered
)
async def test_a_reply_to_a_typed_step_survives_a_fault(
    bot: RunningBot, status: int, retry_after: int | None
) -> None:
    await bot.say(ADMIN, "/new")
    assert "Type a name" in bot.last_text(ADMIN)
    bot.api.fail_next("sendMessage", status=status, retry_after=retry_after, chat_id=ADMIN)
    since = bot.api.mark()
    bot.api.send_message(ADMIN, "Spring menu")
    # The name's question shows the answer at once; the next question is the reply that
    # meets the fault and must still come.
    question = await bot.expect(ADMIN, "Choose a segment", since, timeout=10)
    await bot.settle()
    assert question.message_id == bot.api.last_message(ADMIN).message_id
    failed = [c for c in bot.api.calls[since:] if c.method == "sendMessage" and not c.ok]
    assert len(failed) == 1  # the fault happened, and the answer still came


async def test_a_button_answer_lost_once_is_answered_on_the_retry(bot: RunningBot) -> None:
    await bot.say(ADMIN, "/start")
    bot.api.fail_next("answerCallbackQuery", status=500)
    query_id = bot.api.press_button(ADMIN, bot.find_button(ADMIN, "Help"))
    await bot.api.wait_for(
        "answerCallbackQuery",
        lambda c: c.params.get("callback_query_id") == query_id and c.ok,
        timeout=5,
    )
    answers = [
        c for c in bot.api.calls_of("answerCallbackQuery")
        if c.params.get("callback_query_id") == query_id
    ]  # fmt: skip
    assert [c.ok for c in answers] == [False, True]
