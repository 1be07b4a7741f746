"""/history: the mailings, scheduled first, filtered by dates and words, exported as XLSX;
a card each with its outcome, chart and actions."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackQueryFilter

from handlers.filters import admin_router
from handlers.history import actions, listing, reschedule
from handlers.history.callbacks import HistoryAction, HistoryCb
from handlers.history.listing import open_list
from handlers.history.states import Browse, Reschedule
from handlers.history.views import show_history

__all__ = ["create_router", "open_list", "show_history"]


def _on(action: HistoryAction) -> CallbackQueryFilter:
    return HistoryCb.filter(F.action == action)


def create_router() -> Router:
    router = admin_router("history")
    c = router.callback_query
    router.message.register(listing.on_history, Command("history"))
    c.register(listing.on_page, _on(HistoryAction.PAGE))
    c.register(listing.on_filter, _on(HistoryAction.FILTER))
    c.register(listing.on_reset, _on(HistoryAction.RESET))
    c.register(listing.on_export, _on(HistoryAction.EXPORT))
    c.register(actions.on_open, _on(HistoryAction.OPEN))
    c.register(actions.on_ask, _on(HistoryAction.ASK))
    c.register(actions.on_cancel, _on(HistoryAction.CANCEL))
    c.register(actions.on_chart, _on(HistoryAction.CHART))
    c.register(actions.on_copy, _on(HistoryAction.COPY))
    c.register(actions.on_failed, _on(HistoryAction.FAILED))
    c.register(reschedule.on_move, _on(HistoryAction.MOVE))
    c.register(reschedule.on_old_time_button, _on(HistoryAction.TIME))
    reschedule.DATE.register(router, Reschedule.date)
    reschedule.TIME.register(router, Reschedule.time)
    router.message.register(reschedule.on_wrong_input, Reschedule.date)
    router.message.register(reschedule.on_wrong_input, Reschedule.time)
    # Typed while the list is open: a period or words (commands go their own way).
    router.message.register(listing.on_typed, Browse.open, F.text, ~F.text.startswith("/"))
    return router
