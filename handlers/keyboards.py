"""Inline keyboards shared by several features."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.callbacks import LangCb, MenuAction, MenuCb, NavAction, NavCb


def main_menu() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✉️ New mailing"), callback_data=MenuCb(action=MenuAction.NEW))
    kb.button(text=_("📜 History"), callback_data=MenuCb(action=MenuAction.HISTORY))
    kb.button(text=_("🎯 Segments"), callback_data=MenuCb(action=MenuAction.SEGMENTS))
    kb.button(text=_("🔁 Promotions"), callback_data=MenuCb(action=MenuAction.PROMOS))
    kb.button(text=_("👥 Guests"), callback_data=MenuCb(action=MenuAction.GUESTS))
    kb.button(text=_("⚙️ Settings"), callback_data=MenuCb(action=MenuAction.SETTINGS))
    kb.button(text=_("🌐 Language"), callback_data=MenuCb(action=MenuAction.LANGUAGE))
    kb.button(text=_("❓ Help"), callback_data=MenuCb(action=MenuAction.HELP))
    kb.adjust(2, 2, 2, 2)
    return kb.as_markup()


def cancel_only() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✖️ Cancel"), callback_data=NavCb(action=NavAction.CANCEL))
    return kb.as_markup()


def languages() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="🇷🇺 Русский", callback_data=LangCb(locale="ru"))
    kb.button(text="🇬🇧 English", callback_data=LangCb(locale="en"))
    return kb.as_markup()
