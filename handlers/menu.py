"""Admin's main menu: /start, /help, /cancel, /language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.commands import set_admin_menu
from bot.config import Settings
from bot.guests import GuestService
from bot.history import HistoryFilter, HistoryService
from bot.i18n import LocaleMiddleware
from bot.mailing_settings import MailingSettingsService
from bot.mailings import MailingService
from bot.promotions.service import PromotionService
from bot.segments import SegmentService
from handlers.callbacks import LangCb, MenuAction, MenuCb, NavAction, NavCb
from handlers.filters import ButtonMessage, admin_router
from handlers.guests import show_overview
from handlers.history import open_list as open_history
from handlers.history import show_history
from handlers.history.states import Browse
from handlers.keyboards import languages, main_menu
from handlers.new_mailing import start_new
from handlers.promos.cards import list_view as promotions_view
from handlers.segments.views import show_list as show_segments
from handlers.settings.views import show_overview as show_settings
from storage.audit import AuditLog
from storage.prefs import AdminPrefsRepository


def menu_text() -> str:
    return _("<b>ProBonus Mailer</b>\nMailings for your loyalty programme's guests. Choose:")


def help_text() -> str:
    return _(
        "<b>What I can do</b>\n"
        "/new — compose a mailing: segment, date and time, channels, text, image\n"
        "/history — scheduled and sent mailings, their journals, XLSX reports\n"
        "/segments — segments of guests: conditions, live counts\n"
        "/promos — segment promotions: mailings that repeat on a schedule\n"
        "/guests — the guest base: import a table (.xlsx, .xls, .ods or .csv), search, "
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
    if await state.get_state() in (None, Browse.open.state):
        await message.answer(_("There is nothing to cancel."), reply_markup=main_menu())
        return
    await state.clear()
    await message.answer(_("Cancelled."), reply_markup=main_menu())


async def on_cancel_button(query: CallbackQuery, state: FSMContext) -> None:
    if await state.get_state() is None:
        # The dialog under this button has already ended (an import that finished, a
        # dialog left by /cancel): say so, and take the button away.
        await query.answer(_("There is nothing to cancel."))
        if isinstance(query.message, Message) and query.message.reply_markup is not None:
            await query.message.edit_reply_markup(reply_markup=None)
        return
    await state.clear()
    await query.answer(_("Cancelled."))
    if isinstance(query.message, Message):
        await query.message.edit_text(_("Cancelled."))
        await query.message.answer(menu_text(), reply_markup=main_menu())


async def on_language(message: Message) -> None:
    await message.answer(_("Choose the interface language:"), reply_markup=languages())


# Main menu buttons: one handler per entry (MenuAction), each acknowledging the press first.


async def on_menu_new(
    query: CallbackQuery, message: Message, state: FSMContext, mailings: MailingService
) -> None:
    await query.answer()
    await start_new(message, state, mailings)


async def on_menu_history(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    mailings: MailingService,
    history: HistoryService,
) -> None:
    await query.answer()
    if await state.get_state() is None:
        # Typed text filters it.
        await open_history(message, state, mailings, history, HistoryFilter())
    else:  # a dialog is open: the list is shown, the dialog left as it was
        await show_history(message, mailings, history)


async def on_menu_segments(
    query: CallbackQuery, message: Message, segments: SegmentService
) -> None:
    await query.answer()
    await show_segments(message, segments)


async def on_menu_promos(
    query: CallbackQuery, message: Message, promotions: PromotionService
) -> None:
    await query.answer()
    text, markup = await promotions_view(promotions)
    await message.answer(text, reply_markup=markup)


async def on_menu_guests(query: CallbackQuery, message: Message, guests: GuestService) -> None:
    await query.answer()
    await show_overview(message, guests)


async def on_menu_settings(
    query: CallbackQuery,
    message: Message,
    mailing_settings: MailingSettingsService,
    settings: Settings,
) -> None:
    await query.answer()
    await show_settings(message, mailing_settings, settings)


async def on_menu_language(query: CallbackQuery, message: Message) -> None:
    await query.answer()
    await message.answer(_("Choose the interface language:"), reply_markup=languages())


async def on_menu_help(query: CallbackQuery, message: Message) -> None:
    await query.answer()
    await message.answer(help_text())


async def on_menu_gone(query: CallbackQuery) -> None:
    """A menu button whose message Telegram no longer gives back: nothing to answer under."""
    await query.answer()


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
    router.callback_query.register(on_cancel_button, NavCb.filter(F.action == NavAction.CANCEL))
    entries: dict[MenuAction, Callable[..., Awaitable[None]]] = {
        MenuAction.NEW: on_menu_new,
        MenuAction.HISTORY: on_menu_history,
        MenuAction.SEGMENTS: on_menu_segments,
        MenuAction.PROMOS: on_menu_promos,
        MenuAction.GUESTS: on_menu_guests,
        MenuAction.SETTINGS: on_menu_settings,
        MenuAction.LANGUAGE: on_menu_language,
        MenuAction.HELP: on_menu_help,
    }
    assert set(entries) == set(MenuAction), "every menu entry needs its handler"
    for action, handler in entries.items():
        router.callback_query.register(handler, MenuCb.filter(F.action == action), ButtonMessage())
    router.callback_query.register(on_menu_gone, MenuCb.filter())
    router.callback_query.register(on_language_chosen, LangCb.filter())
    return router
