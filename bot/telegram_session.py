"""Every Bot API call that sends or edits a message takes a slot of the bot's one budget.

A request middleware of the aiogram session (docs/architecture.md, "Engine
invariants"): the Telegram limit (about 30 messages a second) is per bot, so the
admins' replies, the progress message and its edits, the notices and the broadcast
all draw on one RateLimiter. Replies to an admin's update go first and are retried
through a 429 (after the time Telegram asks) and through 5xx and network faults (with
backoff), so an admin never waits for an answer that was dropped.

Broadcast sends pace themselves (they must look at Cancel after their slot, and their
outcome is the journal's business): they run inside `paced_by_caller()` and pass
through untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Protocol

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

log = logging.getLogger(__name__)

# The methods Telegram counts towards a bot's messages per second.
SENDING_METHODS = frozenset(
    {
        "sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "sendAnimation",
        "sendVideo", "sendAudio", "sendVoice", "sendSticker", "copyMessage", "copyMessages",
        "forwardMessage", "forwardMessages", "editMessageText", "editMessageCaption",
        "editMessageReplyMarkup", "editMessageMedia",
    }
)  # fmt: skip
# An interactive reply is tried this many times through 5xx and network faults...
FAULT_ATTEMPTS = 4
FIRST_BACKOFF = 0.5
# ...and waits out 429s as long as Telegram asks, up to this in total.
MAX_RETRY_WAIT = 120.0

_interactive: ContextVar[bool] = ContextVar("interactive", default=False)
_paced: ContextVar[bool] = ContextVar("paced", default=False)


class Pacer(Protocol):
    """The bot's one rate limiter as this middleware uses it."""

    async def acquire(self, *, priority: bool = False) -> None: ...

    def pause(self, seconds: float) -> None: ...


@contextlib.contextmanager
def _flagged(flag: ContextVar[bool]) -> Iterator[None]:
    """`flag` is set for the calls made inside."""
    token = flag.set(True)
    try:
        yield
    finally:
        flag.reset(token)


def paced_by_caller() -> contextlib.AbstractContextManager[None]:
    """Calls made inside took their slot already (broadcast sends): no second slot, no retry."""
    return _flagged(_paced)


def answering_an_update() -> contextlib.AbstractContextManager[None]:
    """Calls made inside answer a person: they go first and are retried through faults."""
    return _flagged(_interactive)


def detached() -> contextvars.Context:
    """A context for work that outlives the update that started it (a mailing's run):
    what it sends is not a reply, so it neither goes first nor is retried here."""
    context = contextvars.copy_context()
    context.run(_interactive.set, False)
    return context


class BudgetMiddleware(BaseRequestMiddleware):
    """Paces sending methods through the shared limiter; retries an admin's replies."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if _paced.get():
            return await make_request(bot, method)
        sending = method.__api_method__ in SENDING_METHODS
        interactive = _interactive.get()
        waited, faults = 0.0, 0
        while True:
            if sending:
                await self.pacer.acquire(priority=interactive)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                self.pacer.pause(exc.retry_after)
                waited += exc.retry_after
                if not interactive or waited > MAX_RETRY_WAIT:
                    raise
                log.info("%s: Telegram asked to wait %s s", method.__api_method__, exc.retry_after)
                await asyncio.sleep(exc.retry_after)
            except (TelegramServerError, TelegramNetworkError) as exc:
                faults += 1
                if not interactive or faults >= FAULT_ATTEMPTS:
                    raise
                delay = FIRST_BACKOFF * 2 ** (faults - 1)
                log.info("%s failed (%s); again in %.1f s", method.__api_method__, exc, delay)
                await asyncio.sleep(delay)


def install(bot: Bot, pacer: Pacer) -> BudgetMiddleware:
    """Put the budget in front of every request `bot` makes."""
    middleware = BudgetMiddleware(pacer)
    bot.session.middleware(middleware)
    return middleware


__all__ = [
    "SENDING_METHODS",
    "Pacer",
    "answering_an_update",
    "detached",
    "install",
    "paced_by_caller",
]
