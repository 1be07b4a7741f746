"""A mailing's journal: a page of its deliveries, filtered, each row opening the guest's
account card; the whole journal (or the filtered part) as XLSX."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackQueryFilter

from handlers.filters import admin_router
from handlers.journal.callbacks import JournalAction, JournalCb, journal_button

__all__ = ["create_router", "journal_button"]


def _on(action: JournalAction) -> CallbackQueryFilter:
    return JournalCb.filter(F.action == action)


def create_router() -> Router:
    # Imported here: the account card (handlers.guests) uses this package's texts.
    from handlers.journal import pages

    router = admin_router("journal")
    c = router.callback_query
    c.register(
        pages.on_page, JournalCb.filter(F.action.in_({JournalAction.PAGE, JournalAction.PREV}))
    )
    c.register(pages.on_filters, _on(JournalAction.FILTERS))
    c.register(pages.on_row, _on(JournalAction.ROW))
    c.register(pages.on_export, _on(JournalAction.EXPORT))
    return router
