"""/guests: the guest base at a glance, search, account card, import and export.

One module per part: overview (the menu and export), cards (search and the
account card), importing (a table sent as a file); callbacks and states apart.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from handlers.filters import admin_router
from handlers.guests.callbacks import CardCb, GuestAction, GuestEmailCb, GuestsCb
from handlers.guests.cards import on_card, on_email_switch, on_results, on_search_query
from handlers.guests.importing import on_document, on_not_a_document
from handlers.guests.overview import on_export, on_guests, on_import, on_search, show_overview
from handlers.guests.states import GuestsForm
from handlers.history.states import Browse

__all__ = ["create_router", "show_overview"]


def create_router() -> Router:
    router = admin_router("guests")
    router.message.register(on_guests, Command("guests"))
    router.callback_query.register(on_import, GuestsCb.filter(F.action == GuestAction.IMPORT))
    router.callback_query.register(on_search, GuestsCb.filter(F.action == GuestAction.SEARCH))
    router.callback_query.register(on_export, GuestsCb.filter(F.action == GuestAction.EXPORT))
    router.callback_query.register(on_results, GuestsCb.filter(F.action == GuestAction.RESULTS))
    router.callback_query.register(on_card, CardCb.filter())
    router.callback_query.register(on_email_switch, GuestEmailCb.filter())
    router.message.register(
        on_document,
        F.document,
        # Browsing the history is no dialog: a table sent then is imported too.
        StateFilter(None, GuestsForm.import_file, GuestsForm.search, Browse.open),
    )
    router.message.register(on_not_a_document, GuestsForm.import_file)
    router.message.register(on_search_query, GuestsForm.search, F.text)
    return router
