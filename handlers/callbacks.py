"""Callback data factories (each under Telegram's 64-byte limit)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class MenuAction(StrEnum):
    """A main menu entry (the value is what the button carries)."""

    NEW = "new"
    HISTORY = "history"
    SEGMENTS = "segments"
    PROMOS = "promos"
    GUESTS = "guests"
    SETTINGS = "settings"
    LANGUAGE = "language"
    HELP = "help"


class MenuCb(CallbackData, prefix="menu"):
    """A main menu entry; each action has its own handler in handlers/menu.py."""

    action: MenuAction


class LangCb(CallbackData, prefix="lang"):
    locale: str


class NavAction(StrEnum):
    """Navigation shared by dialogs without steps of their own."""

    CANCEL = "cancel"


class NavCb(CallbackData, prefix="nav"):
    """Dialog navigation: cancel, wherever a dialog offers it."""

    action: NavAction
