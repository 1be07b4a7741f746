"""Buttons of /guests: the base's actions, a guest's account card, emails on the card.

Prefixes and packed payloads are those of earlier versions: buttons already in
chats keep working ("gst:import", "card:12", "gem:12:0").
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class GuestAction(StrEnum):
    """What the guest base menu offers."""

    IMPORT = "import"
    SEARCH = "search"
    EXPORT = "export"
    RESULTS = "results"  # Back from an account card to the search results


class GuestsCb(CallbackData, prefix="gst"):
    """Guest base actions: import, search, export."""

    action: GuestAction


class CardCb(CallbackData, prefix="card"):
    """Open a guest's account card."""

    guest_id: int


class GuestEmailCb(CallbackData, prefix="gem"):
    """On an account card: stop (or resume) emails to the guest, as they asked."""

    guest_id: int
    on: bool
