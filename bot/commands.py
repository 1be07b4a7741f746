"""The command menus Telegram shows: guests' by default, admins' in each admin's chat."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.config import LOCALES, Settings

log = logging.getLogger(__name__)


def guest_commands() -> list[BotCommand]:
    return [
        BotCommand(command="start", description=_("Subscribe to the news")),
        BotCommand(command="stop", description=_("Unsubscribe")),
    ]


def admin_commands() -> list[BotCommand]:
    return [
        BotCommand(command="start", description=_("Main menu")),
        BotCommand(command="new", description=_("New mailing")),
        BotCommand(command="history", description=_("Mailings: scheduled and sent")),
        BotCommand(command="segments", description=_("Segments: who gets a mailing")),
        BotCommand(command="promos", description=_("Segment promotions: mailings on a schedule")),
        BotCommand(command="guests", description=_("Guest base: import, search, export")),
        BotCommand(command="settings", description=_("Mailing settings: channels, SMTP server")),
        BotCommand(command="language", description=_("Interface language")),
        BotCommand(command="cancel", description=_("Leave the current dialog")),
        BotCommand(command="help", description=_("What the bot can do")),
    ]


async def set_command_menus(bot: Bot, settings: Settings, i18n: I18n) -> None:
    """Guests' menu for everyone (in each language), admins' menu in admins' chats.

    An admin who has never opened the bot has no chat yet; their menu is set
    again at their /start, so a failure here is only logged.
    """
    with i18n.context():
        for lang in LOCALES:
            with i18n.use_locale(lang):
                code = None if lang == settings.locale else lang
                await bot.set_my_commands(
                    guest_commands(), scope=BotCommandScopeDefault(), language_code=code
                )
        for admin_id in sorted(settings.admin_ids):
            await set_admin_menu(bot, admin_id, i18n, settings.locale)


async def set_admin_menu(bot: Bot, admin_id: int, i18n: I18n, locale: str) -> None:
    with i18n.context(), i18n.use_locale(locale):
        try:
            await bot.set_my_commands(admin_commands(), scope=BotCommandScopeChat(chat_id=admin_id))
        except TelegramAPIError as exc:
            log.warning("admin %s: command menu not set yet (%s)", admin_id, exc.message)
