"""Callback data factories (each under Telegram's 64-byte limit)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class MenuAction(StrEnum):
    """A main menu entry (the value is what the button carries)."""

    NEW = "new"
    HISTORY = "history"
    GUESTS = "guests"
    SETTINGS = "settings"
    LANGUAGE = "language"
    HELP = "help"


class MenuCb(CallbackData, prefix="menu"):
    """A main menu entry; each action has its own handler in handlers/menu.py."""

    action: MenuAction


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


class NavAction(StrEnum):
    """Navigation shared by dialogs without steps of their own."""

    CANCEL = "cancel"


class NavCb(CallbackData, prefix="nav"):
    """Dialog navigation: cancel, wherever a dialog offers it."""

    action: NavAction
