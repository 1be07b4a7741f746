"""A handler that fails answers the admin in plain words; the conversation stays where it was."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import ADMIN, RunningBot
from tests.test_new_mailing_e2e import compose, picture, seed, state


async def test_an_export_telegram_refuses_is_explained_and_logged(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    await seed(bot)
    bot.api.fail_next("sendDocument", status=400, description="Bad Request: file is too big")
    await bot.say(ADMIN, "/guests")
    await bot.press(ADMIN, "Export XLSX")
    await bot.settle()
    text = bot.last_text(ADMIN)
    assert "That did not work: Telegram did not accept the bot's message" in text
    assert "file is too big" not in text  # plain words, not the server's
    assert "Traceback" in caplog.text or any(r.exc_info for r in caplog.records)


async def test_a_preview_whose_photo_fails_keeps_the_draft_and_shows_again(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    await seed(bot)
    bot.api.fail_next("sendPhoto", status=400, description="Bad Request: IMAGE_PROCESS_FAILED")
    await compose(bot, image=picture())  # the preview's photo is refused
    assert "That did not work" in bot.last_text(ADMIN)
    assert await state(bot) == "NewMailing:preview"  # nothing entered is lost
    await bot.say(ADMIN, "/new")
    await bot.press(ADMIN, "Continue")
    assert "Confirm" in str(bot.api.last_message(ADMIN).buttons())
