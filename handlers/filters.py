"""Filters shared by routers."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject


class IsAdmin(Filter):
    """True for updates whose sender is in ADMIN_IDS (flag set by AccessMiddleware)."""

    async def __call__(self, event: TelegramObject, is_admin: bool = False) -> bool:
        return is_admin


class ButtonMessage(Filter):
    """A button whose message the bot can still answer and edit; the handler gets it as
    `message` (a message too old for Telegram to give back does not match)."""

    async def __call__(self, query: CallbackQuery) -> bool | dict[str, Message]:
        if isinstance(query.message, Message):
            return {"message": query.message}
        return False


def admin_router(name: str) -> Router:
    """A Router whose messages and callbacks are all guarded by IsAdmin."""
    router = Router(name=name)
    router.message.filter(IsAdmin())
    router.callback_query.filter(IsAdmin())
    return router
