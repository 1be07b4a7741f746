"""/guests: the guest base at a glance, search, account card, import and export."""

from __future__ import annotations

import contextlib
import tempfile
import time
from datetime import date
from pathlib import Path

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, FSInputFile, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.guest_import import MAX_FILE_BYTES, ImportResult, TableError
from bot.guests import GuestService
from handlers.callbacks import CardCb, GuestEmailCb, GuestsCb
from handlers.filters import admin_router
from handlers.formatting import (
    card_text,
    export_headers,
    import_summary,
    quote,
    save_rejected,
    table_error_text,
)
from handlers.keyboards import cancel_only, guests_menu
from storage.audit import AuditLog
from storage.guests import Guest

# Progress of a long import is edited in place at most this often (Telegram
# rate-limits edits; a manager only needs to see it move).
PROGRESS_EVERY_S = 2.0
SEARCH_LIMIT = 10


class GuestsForm(StatesGroup):
    search = State()
    import_file = State()


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


async def on_action(
    query: CallbackQuery,
    callback_data: GuestsCb,
    state: FSMContext,
    guests: GuestService,
    bot: Bot,
    settings: Settings,
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if callback_data.action == "search":
        await state.set_state(GuestsForm.search)
        await query.message.answer(
            _("Type a phone number, card number or name to search for."),
            reply_markup=cancel_only(),
        )
    elif callback_data.action == "import":
        await state.set_state(GuestsForm.import_file)
        await query.message.answer(
            _(
                "Send the guest table as an .xlsx or .csv file (up to {size} MB).\n"
                "The first row holds the headers, in Russian or English, in any order; "
                "a phone column is required. Known columns: phone, email, last name, "
                "first name, middle name, sex, birthday, balance, card, group, tags, "
                "registration date, last visit, visits, total spent.\n"
                "Guests are matched by phone (then card number): existing ones are updated."
            ).format(size=MAX_FILE_BYTES // (1024 * 1024)),
            reply_markup=cancel_only(),
        )
    elif callback_data.action == "export":
        await send_export(query.message, guests, bot, settings)


async def send_export(message: Message, guests: GuestService, bot: Bot, settings: Settings) -> None:
    counts = await guests.counts()
    if counts.total == 0:
        await message.answer(_("The guest base is empty: there is nothing to export yet."))
        return
    await bot.send_chat_action(message.chat.id, "upload_document")
    with tempfile.TemporaryDirectory(dir=settings.data_dir) as tmp:
        path = Path(tmp) / f"guests-{date.today():%Y-%m-%d}.xlsx"
        await guests.export(path, export_headers())
        await message.answer_document(
            FSInputFile(path, filename=path.name),
            caption=_("Guest base: {total} guests.").format(total=counts.total),
        )


async def on_search_query(message: Message, guests: GuestService) -> None:
    query = (message.text or "").strip()
    if len(query) < 2:
        await message.answer(
            _("Type at least 2 characters: a phone, card number or name."),
            reply_markup=cancel_only(),
        )
        return
    found = await guests.search(query, limit=SEARCH_LIMIT + 1)
    if not found:
        await message.answer(
            _("Nobody found for “{query}”. Try another spelling or the phone number.").format(
                query=quote(query)
            ),
            reply_markup=cancel_only(),
        )
        return
    if len(found) == 1:
        await send_card(message, found[0], guests)
        return
    kb = InlineKeyboardBuilder()
    for guest in found[:SEARCH_LIMIT]:
        label = " ".join(p for p in (guest.last_name, guest.first_name) if p) or "—"
        kb.button(text=f"{label} · {guest.phone}", callback_data=CardCb(guest_id=guest.id))
    kb.adjust(1)
    more = len(found) > SEARCH_LIMIT
    text = (
        _("Found more than {n}; showing the first. Refine the search to narrow it.").format(
            n=SEARCH_LIMIT
        )
        if more
        else _("Found {n}. Choose a guest:").format(n=len(found))
    )
    await message.answer(text, reply_markup=kb.as_markup())


async def on_card(query: CallbackQuery, callback_data: CardCb, guests: GuestService) -> None:
    guest = await guests.get(callback_data.guest_id)
    if guest is None:
        await query.answer(_("This guest is no longer in the base."), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await send_card(query.message, guest, guests)


def card_markup(guest: Guest) -> InlineKeyboardMarkup | None:
    """Stop emails to a guest who asked (in the restaurant, by phone, by replying to an
    email), or resume them for one who asks again."""
    kb = InlineKeyboardBuilder()
    if guest.email and guest.email_status == "active":
        kb.button(text=_("🔕 Stop emails"), callback_data=GuestEmailCb(guest_id=guest.id, on=False))
    elif guest.email and guest.email_status in ("unsubscribed", "bounced"):
        kb.button(
            text=_("🔔 Resume emails"), callback_data=GuestEmailCb(guest_id=guest.id, on=True)
        )
    markup = kb.as_markup()
    return markup if markup.inline_keyboard else None


async def send_card(target: Message, guest: Guest, guests: GuestService) -> None:
    """The account card with its buttons."""
    await target.answer(
        card_text(guest, await guests.tags(guest.id)), reply_markup=card_markup(guest)
    )


async def on_email_switch(
    query: CallbackQuery, callback_data: GuestEmailCb, guests: GuestService, audit: AuditLog
) -> None:
    """Stop or resume emails to one guest; the card is redrawn."""
    guest = await guests.set_email_subscription(callback_data.guest_id, on=callback_data.on)
    if guest is None:
        await query.answer(_("This guest is no longer in the base."), show_alert=True)
        return
    state = "on" if callback_data.on else "off"
    await audit.record(query.from_user.id, f"guest.email_{state}", f"guest {guest.id}")
    await query.answer(_("Emails resumed.") if callback_data.on else _("Emails stopped."))
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_text(
                card_text(guest, await guests.tags(guest.id)), reply_markup=card_markup(guest)
            )


async def on_document(
    message: Message, state: FSMContext, guests: GuestService, bot: Bot, settings: Settings
) -> None:
    """A guest table sent in the import step or at any moment outside a dialog."""
    document = message.document
    if document is None:
        return
    name = document.file_name or "file"
    suffix = Path(name).suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        await message.answer(
            _("“{name}” is not a table I can read. Send an .xlsx or .csv file.").format(
                name=quote(name)
            )
        )
        return
    if document.file_size and document.file_size > MAX_FILE_BYTES:
        await message.answer(
            _(
                "The file is too large ({size} MB). The limit is {limit} MB: split it into parts."
            ).format(
                size=round(document.file_size / 1024 / 1024, 1),
                limit=MAX_FILE_BYTES // (1024 * 1024),
            )
        )
        return
    status = await message.answer(_("Importing “{name}”…").format(name=quote(name)))
    last_edit = time.monotonic()

    async def progress(done: int, total: int | None) -> None:
        nonlocal last_edit
        if time.monotonic() - last_edit < PROGRESS_EVERY_S:
            return
        last_edit = time.monotonic()
        text = (
            _("Importing “{name}”: {done} of {total} rows…").format(
                name=quote(name), done=done, total=total
            )
            if total
            else _("Importing “{name}”: {done} rows…").format(name=quote(name), done=done)
        )
        await status.edit_text(text)

    with tempfile.TemporaryDirectory(dir=settings.data_dir) as tmp:
        path = Path(tmp) / f"upload{suffix}"
        await bot.download(document, destination=path)
        try:
            result = await guests.import_file(path, name, progress=progress)
        except TableError as exc:
            await status.edit_text(table_error_text(exc, name))
            return
        await state.clear()
        await status.edit_text(import_summary(result, name))
        if result.rejected:
            await _send_rejected(message, result, Path(tmp), name)


async def _send_rejected(message: Message, result: ImportResult, tmp: Path, name: str) -> None:
    path = tmp / f"rejected-{Path(name).stem}.xlsx"
    await save_rejected(path, result)
    await message.answer_document(
        FSInputFile(path, filename=path.name),
        caption=_("Rows that were not imported, with the reason for each."),
    )


async def on_not_a_document(message: Message) -> None:
    await message.answer(
        _("Please send the table as a file (.xlsx or .csv), or /cancel."),
        reply_markup=cancel_only(),
    )


def create_router() -> Router:
    router = admin_router("guests")
    router.message.register(on_guests, Command("guests"))
    router.callback_query.register(on_action, GuestsCb.filter())
    router.callback_query.register(on_card, CardCb.filter())
    router.callback_query.register(on_email_switch, GuestEmailCb.filter())
    router.message.register(
        on_document, F.document, StateFilter(None, GuestsForm.import_file, GuestsForm.search)
    )
    router.message.register(on_not_a_document, GuestsForm.import_file)
    router.message.register(on_search_query, GuestsForm.search, F.text)
    return router
