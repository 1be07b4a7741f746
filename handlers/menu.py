"""Admin's main menu: /start, /help, /cancel, /language."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.commands import set_admin_menu
from bot.config import Settings
from bot.guests import GuestService
from bot.i18n import LocaleMiddleware
from bot.mailing_settings import MailingSettingsService
from bot.mailings import MailingService
from handlers.callbacks import LangCb, MenuCb, NavCb
from handlers.filters import admin_router
from handlers.guests import show_overview
from handlers.history import show_history
from handlers.keyboards import languages, main_menu
from handlers.new_mailing import start_new
from handlers.settings_views import show_overview as show_settings
from storage.audit import AuditLog
from storage.prefs import AdminPrefsRepository


def menu_text() -> str:
    return _("<b>ProBonus Mailer</b>\nMailings for your loyalty programme's guests. Choose:")


def help_text() -> str:
    return _(
        "<b>What I can do</b>\n"
        "/new — compose a mailing: segment, date and time, channels, text, image\n"
        "/history — scheduled and sent mailings, their journals, XLSX reports\n"
        "/guests — the guest base: import a table (.xlsx or .csv), search, "
        "open an account card, export to XLSX\n"
        "/settings — mailing channels and your SMTP server\n"
        "/language — interface language\n"
        "/cancel — leave the current dialog\n\n"
        "You can also send a guest table at any moment outside a dialog: "
        "I will import it."
    )


async def on_start(message: Message, bot: Bot, state: FSMContext, i18n: I18n) -> None:
    await state.clear()
    # The admin's chat exists now, so their command menu can be set for sure.
    if message.from_user:
        await set_admin_menu(bot, message.from_user.id, i18n, i18n.current_locale)
    await message.answer(menu_text(), reply_markup=main_menu())


async def on_help(message: Message) -> None:
    await message.answer(help_text())


async def on_cancel(message: Message, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer(_("There is nothing to cancel."), reply_markup=main_menu())
        return
    await state.clear()
    await message.answer(_("Cancelled."), reply_markup=main_menu())


async def on_cancel_button(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await query.answer(_("Cancelled."))
    if isinstance(query.message, Message):
        await query.message.edit_text(_("Cancelled."))
        await query.message.answer(menu_text(), reply_markup=main_menu())


async def on_language(message: Message) -> None:
    await message.answer(_("Choose the interface language:"), reply_markup=languages())


async def on_menu(
    query: CallbackQuery,
    callback_data: MenuCb,
    guests: GuestService,
    state: FSMContext,
    mailings: MailingService,
    mailing_settings: MailingSettingsService,
    settings: Settings,
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if callback_data.action == "language":
        await query.message.answer(_("Choose the interface language:"), reply_markup=languages())
    elif callback_data.action == "help":
        await query.message.answer(help_text())
    elif callback_data.action == "guests":
        await show_overview(query.message, guests)
    elif callback_data.action == "new":
        await start_new(query.message, state, mailings)
    elif callback_data.action == "history":
        await show_history(query.message, mailings)
    elif callback_data.action == "settings":
        await show_settings(query.message, mailing_settings, settings)


async def on_language_chosen(
    query: CallbackQuery,
    callback_data: LangCb,
    bot: Bot,
    i18n: I18n,
    i18n_middleware: LocaleMiddleware,
    prefs: AdminPrefsRepository,
    audit: AuditLog,
) -> None:
    if callback_data.locale not in i18n.available_locales:
        await query.answer(_("This language is not available."), show_alert=True)
        return
    user_id = query.from_user.id
    await prefs.set_locale(user_id, callback_data.locale)
    i18n_middleware.remember(user_id, callback_data.locale)
    await audit.record(user_id, "language", callback_data.locale)
    with i18n.use_locale(callback_data.locale):
        await query.answer()
        await set_admin_menu(bot, user_id, i18n, callback_data.locale)
        if isinstance(query.message, Message):
            await query.message.edit_text(_("Interface language: English."))
            await query.message.answer(menu_text(), reply_markup=main_menu())


def create_router() -> Router:
    router = admin_router("menu")
    router.message.register(on_start, CommandStart())
    router.message.register(on_help, Command("help"))
    router.message.register(on_cancel, Command("cancel"))
    router.message.register(on_language, Command("language"))
    router.callback_query.register(on_cancel_button, NavCb.filter(F.action == "cancel"))
    router.callback_query.register(on_menu, MenuCb.filter())
    router.callback_query.register(on_language_chosen, LangCb.filter())
    return router
