"""Search the base and open a guest's account card; stop or resume emails from it.

The card lists the guest's last deliveries, each opening its mailing, and has a
Back button to where the admin came from (a journal page, search results).
"""

from __future__ import annotations

import contextlib

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.guests import GuestService
from bot.journal import JournalService
from handlers import keyboards  # the module: see overview.py
from handlers.components.texts import channel_name
from handlers.formatting import card_text, phone_text, quote
from handlers.guests.callbacks import CardCb, GuestAction, GuestEmailCb, GuestsCb
from handlers.history.callbacks import HistoryAction, HistoryCb
from handlers.journal.texts import delivery_status, moment, reason
from storage.audit import AuditLog
from storage.guests import Guest
from storage.journal import GuestDelivery

SEARCH_LIMIT = 10
LAST_DELIVERIES = 10
_NAME = 24  # characters of a mailing's name on a button


async def on_search_query(
    message: Message,
    guests: GuestService,
    journal: JournalService,
    settings: Settings,
    state: FSMContext,
) -> None:
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
        await send_card(message, found[0], guests, journal, settings)
        return
    await state.update_data(search_query=query)  # Back on a card shows these results again
    await send_results(message, found)


async def send_results(message: Message, found: list[Guest]) -> None:
    """Search results: a button per guest opening the account card."""
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


async def on_card(
    query: CallbackQuery,
    callback_data: CardCb,
    guests: GuestService,
    journal: JournalService,
    settings: Settings,
    state: FSMContext,
) -> None:
    """A card from search results; Back shows the results again while they are known."""
    guest = await guests.get(callback_data.guest_id)
    if guest is None:
        await query.answer(_("This guest is no longer in the base."), show_alert=True)
        return
    await query.answer()
    back = None
    if (await state.get_data()).get("search_query"):
        back = InlineKeyboardButton(
            text=_("« Back to the results"),
            callback_data=GuestsCb(action=GuestAction.RESULTS).pack(),
        )
    if isinstance(query.message, Message):
        await send_card(query.message, guest, guests, journal, settings, back)


async def on_results(query: CallbackQuery, guests: GuestService, state: FSMContext) -> None:
    """Back from a card to the search results it was opened from."""
    text = (await state.get_data()).get("search_query")
    found = await guests.search(text, limit=SEARCH_LIMIT + 1) if text else []
    if not found:
        await query.answer(_("The search is over: search again from /guests."), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await send_results(query.message, found)


def deliveries_text(deliveries: list[GuestDelivery], settings: Settings) -> str:
    """The guest's last deliveries under the card, newest first."""
    if not deliveries:
        return _("No mailings have reached this guest yet.")
    lines = [_("<b>Last deliveries</b>")]
    for d in deliveries:
        state = delivery_status(d.status)
        why = reason(d.error_code, d.error) if d.status != "sent" else ""
        if why:
            state += f": {quote(why)}"
        when = moment(d.at, settings.tz)
        lines.append(f"{when} · {quote(d.mailing_name)} · {channel_name(d.channel)} · {state}")
    return "\n".join(lines)


def card_markup(
    guest: Guest,
    deliveries: list[GuestDelivery] | None = None,
    back: InlineKeyboardButton | None = None,
) -> InlineKeyboardMarkup | None:
    """Stop emails to a guest who asked (in the restaurant, by phone, by replying to an
    email), or resume them for one who asks again; then each last delivery's mailing,
    and Back."""
    kb = InlineKeyboardBuilder()
    if guest.email and guest.email_status == "active":
        kb.button(text=_("🔕 Stop emails"), callback_data=GuestEmailCb(guest_id=guest.id, on=False))
    elif guest.email and guest.email_status in ("unsubscribed", "bounced"):
        kb.button(
            text=_("🔔 Resume emails"), callback_data=GuestEmailCb(guest_id=guest.id, on=True)
        )
    seen: set[int] = set()
    for d in deliveries or []:
        if d.mailing_id in seen:  # both channels of one mailing: one button
            continue
        seen.add(d.mailing_id)
        name = d.mailing_name if len(d.mailing_name) <= _NAME else d.mailing_name[: _NAME - 1] + "…"
        kb.row(
            InlineKeyboardButton(
                text=f"📨 {name}",
                callback_data=HistoryCb(action=HistoryAction.OPEN, mailing_id=d.mailing_id).pack(),
            )
        )
    if back is not None:
        kb.row(back)
    markup = kb.as_markup()
    return markup if markup.inline_keyboard else None


async def card_view(
    guest: Guest,
    guests: GuestService,
    journal: JournalService,
    settings: Settings,
    back: InlineKeyboardButton | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The account card's text (details, then the last deliveries) and its buttons."""
    deliveries = await journal.of_guest(guest.id, LAST_DELIVERIES)
    text = card_text(guest, await guests.tags(guest.id))
    text += "\n\n" + deliveries_text(deliveries, settings)
    return text, card_markup(guest, deliveries, back)


async def send_card(
    target: Message,
    guest: Guest,
    guests: GuestService,
    journal: JournalService,
    settings: Settings,
    back: InlineKeyboardButton | None = None,
) -> None:
    """The account card with its buttons, as a new message."""
    text, markup = await card_view(guest, guests, journal, settings, back)
    await target.answer(text, reply_markup=markup)


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
        # The card's text keeps its deliveries; only the details and the switch change.
        details = card_text(guest, await guests.tags(guest.id))
        rest = (query.message.html_text or "").partition("\n\n")[2]
        text = f"{details}\n\n{rest}" if rest else details
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_text(text, reply_markup=_switched(query.message, guest))


def _switched(message: Message, guest: Guest) -> InlineKeyboardMarkup | None:
    """The card's buttons with the email switch redrawn, the others (mailings, Back) kept."""
    kept = [
        row
        for row in (message.reply_markup.inline_keyboard if message.reply_markup else [])
        if not any((b.callback_data or "").startswith(GuestEmailCb.__prefix__ + ":") for b in row)
    ]
    switch = card_markup(guest)
    rows = [*(switch.inline_keyboard if switch else []), *kept]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
