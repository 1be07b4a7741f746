"""The Bot API calls of a start: required ones retried through a hiccup, optional ones skipped.

A Telegram 5xx, a 429 or a network error at start is often a passing fault (a proxy
restarting, a local Bot API server still starting). `getMe` is required: it is
retried with backoff for STARTUP_WAIT_SECONDS, then the start ends with one line.
The command menus are optional: a server that lacks setMyCommands, or answers it
with an error, is logged and the bot starts without them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import User
from aiogram.utils.i18n import I18n

from bot.commands import set_command_menus
from bot.config import ConfigError, Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

# Faults worth waiting out at start; anything else (a 401, a 404) will not pass by itself.
TRANSIENT = (TelegramNetworkError, TelegramServerError, TelegramRetryAfter)
FIRST_DELAY = 0.5
MAX_DELAY = 8.0


async def with_retries(call: Callable[[], Awaitable[T]], wait_seconds: float, what: str) -> T:
    """`call()`, again after a transient fault with doubling delays, for up to `wait_seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    delay = FIRST_DELAY
    while True:
        try:
            return await call()
        except TRANSIENT as exc:
            pause = exc.retry_after if isinstance(exc, TelegramRetryAfter) else delay
            if loop.time() + pause > deadline:
                raise
            log.warning("%s failed (%s); trying again in %.1f s", what, exc.message, pause)
            await asyncio.sleep(pause)
            delay = min(delay * 2, MAX_DELAY)


async def check_token(bot: Bot, settings: Settings) -> User:
    """Ask the Bot API who we are; a rejected token or a server that stays away ends the start."""
    try:
        return await with_retries(bot.get_me, settings.startup_wait_seconds, "getMe")
    except TelegramUnauthorizedError:
        raise ConfigError(
            "BOT_TOKEN was rejected by Telegram (401 Unauthorized); "
            "copy the token again from @BotFather"
        ) from None
    except TelegramNetworkError as exc:
        raise ConfigError(
            f"TELEGRAM_API_URL {settings.telegram_api_url} cannot be reached: {exc.message}"
        ) from None
    except TelegramAPIError as exc:
        raise ConfigError(
            f"TELEGRAM_API_URL {settings.telegram_api_url} answered getMe with an error: "
            f"{exc.message}"
        ) from None


async def set_menus_if_possible(bot: Bot, settings: Settings, i18n: I18n) -> None:
    """The command menus, or a warning: the bot works without them (commands still typed)."""
    try:
        await with_retries(
            lambda: set_command_menus(bot, settings, i18n),
            min(settings.startup_wait_seconds, 10.0),
            "setMyCommands",
        )
    except TelegramAPIError as exc:
        log.warning("command menus not set (%s); the bot starts without them", exc.message)
