"""Middlewares: who is asking, on every update (services come as the Dispatcher's workflow data)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from bot.telegram_session import answering_an_update


class AccessMiddleware(BaseMiddleware):
    """Marks every update, callbacks included, with whether its sender is an admin.

    Runs on the update itself, before any router: the admin routers' filter reads
    this flag, so no admin handler can be reached without the check.
    """

    def __init__(self, admin_ids: frozenset[int]) -> None:
        self.admin_ids = admin_ids

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        data["is_admin"] = user is not None and not user.is_bot and user.id in self.admin_ids
        # What the bot says while handling an update answers a person: it goes first in
        # the Telegram budget and is retried through faults (bot/telegram_session.py).
        with answering_an_update():
            return await handler(event, data)
