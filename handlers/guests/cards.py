"""Search the base and open a guest's account card; stop or resume emails from it."""

from __future__ import annotations

import contextlib

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.guests import GuestService
from handlers import keyboards  # the module: see overview.py
from handlers.formatting import card_text, phone_text, quote
from handlers.guests.callbacks import CardCb, GuestEmailCb
from storage.audit import AuditLog
from storage.guests import Guest

SEARCH_LIMIT = 10


async def on_search_query(message: Message, guests: GuestService) -> None:
    query = (message.text or "").strip()
    if len(query) < 2:
        await message.answer(
            _("Type at least 2 characters: a phone, card number or name."),
            reply_markup=keyboards.cancel_only(),
        )
        return
    found = await guests.search(query, limit=SEARCH_LIMIT + 1)
    if not found:
        await message.answer(
            _("Nobody found for “{query}”. Try another spelling or the phone number.").format(
                query=quote(query)
            ),
            reply_markup=keyboards.cancel_only(),
        )
        return
    if len(found) == 1:
        await send_card(message, found[0], guests)
        return
    kb = InlineKeyboardBuilder()
    for guest in found[:SEARCH_LIMIT]:
        label = " ".join(p for p in (guest.last_name, guest.first_name) if p) or "—"
        kb.button(
            text=f"{label} · {phone_text(guest.phone)}", callback_data=CardCb(guest_id=guest.id)
        )
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
