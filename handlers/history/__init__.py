"""/history: the mailings, scheduled first; a card each, cancelled or moved until it starts."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackQueryFilter

from handlers.filters import admin_router
from handlers.history import card, reschedule
from handlers.history.callbacks import HistoryAction, HistoryCb
from handlers.history.states import Reschedule
from handlers.history.views import show_history

__all__ = ["create_router", "show_history"]


def _on(action: HistoryAction) -> CallbackQueryFilter:
    return HistoryCb.filter(F.action == action)


def create_router() -> Router:
    router = admin_router("history")
    c = router.callback_query
    router.message.register(card.on_history, Command("history"))
    c.register(card.on_page, _on(HistoryAction.PAGE))
    c.register(card.on_open, _on(HistoryAction.OPEN))
    c.register(card.on_ask, _on(HistoryAction.ASK))
    c.register(card.on_cancel, _on(HistoryAction.CANCEL))
    c.register(reschedule.on_move, _on(HistoryAction.MOVE))
    c.register(reschedule.on_old_time_button, _on(HistoryAction.TIME))
    reschedule.DATE.register(router, Reschedule.date)
    reschedule.TIME.register(router, Reschedule.time)
    router.message.register(reschedule.on_wrong_input, Reschedule.date)
    router.message.register(reschedule.on_wrong_input, Reschedule.time)
    return router
