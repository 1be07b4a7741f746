"""The guest base at a glance and its menu: import, search, export."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, FSInputFile, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.guest_import import MAX_FILE_BYTES
from bot.guests import GuestService
from handlers.formatting import export_headers
from handlers.guests.callbacks import GuestAction, GuestsCb
from handlers.guests.states import GuestsForm
from handlers.keyboards import cancel_only


def guests_menu() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📥 Import a file"), callback_data=GuestsCb(action=GuestAction.IMPORT))
    kb.button(text=_("🔎 Search"), callback_data=GuestsCb(action=GuestAction.SEARCH))
    kb.button(text=_("📤 Export XLSX"), callback_data=GuestsCb(action=GuestAction.EXPORT))
    kb.adjust(1, 2)
    return kb.as_markup()


async def show_overview(message: Message, guests: GuestService) -> None:
    """Counts of the base and what can be done with it."""
    counts = await guests.counts()
    await message.answer(
        _(
            "<b>Guest base</b>\n"
            "Guests: {total}\n"
            "Reachable by Telegram: {telegram}\n"
            "Reachable by email: {email}"
        ).format(
            total=counts.total, telegram=counts.telegram_reachable, email=counts.email_reachable
        ),
        reply_markup=guests_menu(),
    )


async def on_guests(message: Message, state: FSMContext, guests: GuestService) -> None:
    await state.clear()
    await show_overview(message, guests)


async def on_search(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    await state.set_state(GuestsForm.search)
    await query.message.answer(
        _("Type a phone number, card number or name to search for."),
        reply_markup=cancel_only(),
    )


async def on_import(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    await state.set_state(GuestsForm.import_file)
    prompt = await query.message.answer(
        _(
            "Send the guest table as an .xlsx, .xls, .ods or .csv file (up to {size} MB).\n"
            "The first row holds the headers, in Russian or English, in any order; "
            "a phone column is required. Known columns: phone, email, last name, "
            "first name, middle name, sex, birthday, balance, card, group, tags, "
            "registration date, last visit, visits, total spent.\n"
            "Guests are matched by phone (then card number): existing ones are updated."
        ).format(size=MAX_FILE_BYTES // (1024 * 1024)),
        reply_markup=cancel_only(),
    )
    await state.update_data(import_prompt_id=prompt.message_id)


async def on_export(
    query: CallbackQuery, guests: GuestService, bot: Bot, settings: Settings
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await send_export(query.message, guests, bot, settings)


async def send_export(message: Message, guests: GuestService, bot: Bot, settings: Settings) -> None:
    counts = await guests.counts()
    if counts.total == 0:
        await message.answer(_("The guest base is empty: there is nothing to export yet."))
        return
    await bot.send_chat_action(message.chat.id, "upload_document")
    with tempfile.TemporaryDirectory(dir=settings.data_dir) as tmp:
        path = Path(tmp) / _("Guests {day}.xlsx").format(day=f"{date.today():%d.%m.%Y}")
        await guests.export(path, export_headers(), sheet_title=_("Guests"))
        await message.answer_document(
            FSInputFile(path, filename=path.name),
            caption=ngettext(
                "Guest base: {total} guest.", "Guest base: {total} guests.", counts.total
            ).format(total=counts.total),
        )
