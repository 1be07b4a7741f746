"""Callback data factories (each under Telegram's 64-byte limit)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class MenuCb(CallbackData, prefix="menu"):
    """Main menu entries: guests, language, help."""

    action: str


class LangCb(CallbackData, prefix="lang"):
    locale: str


class NavCb(CallbackData, prefix="nav"):
    """Dialog navigation: cancel (and back, where a dialog has steps)."""

    action: str
