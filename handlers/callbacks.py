"""Callback data factories (each under Telegram's 64-byte limit)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class MenuCb(CallbackData, prefix="menu"):
    """Main menu entries: guests, language, help."""

    action: str


class GuestsCb(CallbackData, prefix="gst"):
    """Guest base actions: import, search, export, overview."""

    action: str


class CardCb(CallbackData, prefix="card"):
    """Open a guest's account card."""

    guest_id: int


class GuestEmailCb(CallbackData, prefix="gem"):
    """On an account card: stop (or resume) emails to the guest, as they asked."""

    guest_id: int
    on: bool


class LangCb(CallbackData, prefix="lang"):
    locale: str


class NavCb(CallbackData, prefix="nav"):
    """Dialog navigation: cancel (and back, where a dialog has steps)."""

    action: str
