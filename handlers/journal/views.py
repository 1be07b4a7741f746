"""A journal page: ten rows, each opening the guest's account card; filter, pages, export."""

from __future__ import annotations

from datetime import tzinfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.journal import JournalService
from handlers.components.texts import channel_name
from handlers.formatting import phone_text, quote
from handlers.history.callbacks import HistoryAction, HistoryCb
from handlers.journal.callbacks import (
    ANY,
    CHANNEL_CODES,
    STATUS_CODES,
    JournalAction,
    JournalCb,
    pack_filter,
)
from handlers.journal.texts import EMPTY, delivery_status, filter_text, guest_name, moment, reason
from storage.journal import JournalFilter, JournalPage, JournalRow
from storage.mailings import Mailing
from storage.statuses import DeliveryStatus

_LABEL = 28  # characters of a name on a row's button


def _line(number: int, row: JournalRow, tz: tzinfo) -> str:
    phone = phone_text(row.phone) if row.phone else EMPTY
    head = f"{number}. {quote(guest_name(row))} · {quote(phone)}"
    state = f"{channel_name(row.channel)} · {delivery_status(row.status)}"
    why = reason(row.error_code, row.error) if row.status != DeliveryStatus.SENT else ""
    if why:
        state += f": {quote(why)}"
    return f"{head}\n    {state} · {moment(row.at, tz)}"


def page_text(mailing: Mailing, flt: JournalFilter, page: JournalPage, tz: tzinfo) -> str:
    lines = [
        _("<b>Journal of “{name}”</b>").format(name=quote(mailing.name)),
        _("Shown: {filter}").format(filter=filter_text(flt)),
        "",
    ]
    if not page.rows:
        lines.append(_("No deliveries match this filter yet."))
    lines += [_line(i + 1, row, tz) for i, row in enumerate(page.rows)]
    return "\n".join(lines)


def page_markup(mailing_id: int, flt: JournalFilter, page: JournalPage) -> InlineKeyboardMarkup:
    code = pack_filter(flt)
    kb = InlineKeyboardBuilder()
    here = page.rows[0].id - 1 if page.rows else 0  # the cursor that shows this page again
    for i, row in enumerate(page.rows):
        name = guest_name(row)
        name = name if len(name) <= _LABEL else name[: _LABEL - 1] + "…"
        kb.button(
            text=f"{i + 1}. {name}",
            callback_data=JournalCb(
                action=JournalAction.ROW, m=mailing_id, f=code, c=here, g=row.guest_id
            ),
        )
    kb.adjust(2)
    nav = []
    if page.has_prev:
        cb = JournalCb(action=JournalAction.PREV, m=mailing_id, f=code, c=page.rows[0].id)
        nav.append(InlineKeyboardButton(text=_("‹ Previous"), callback_data=cb.pack()))
    if page.has_next:
        cb = JournalCb(action=JournalAction.PAGE, m=mailing_id, f=code, c=page.rows[-1].id)
        nav.append(InlineKeyboardButton(text=_("Next ›"), callback_data=cb.pack()))
    if nav:
        kb.row(*nav)
    kb.row(
        InlineKeyboardButton(
            text=_("🔎 Filter"),
            callback_data=JournalCb(action=JournalAction.FILTERS, m=mailing_id, f=code).pack(),
        ),
        InlineKeyboardButton(
            text=_("⬇️ XLSX"),
            callback_data=JournalCb(action=JournalAction.EXPORT, m=mailing_id, f=code).pack(),
        ),
    )
    kb.row(
        InlineKeyboardButton(
            text=_("« Back to the mailing"),
            callback_data=HistoryCb(action=HistoryAction.OPEN, mailing_id=mailing_id).pack(),
        )
    )
    return kb.as_markup()


def filters_markup(mailing_id: int, flt: JournalFilter) -> InlineKeyboardMarkup:
    """A status row and a channel row; the current choice is marked."""
    code = pack_filter(flt)
    status_code, channel_code = code[0], code[1]

    def button(text: str, code: str, chosen: bool) -> InlineKeyboardButton:
        cb = JournalCb(action=JournalAction.PAGE, m=mailing_id, f=code)
        return InlineKeyboardButton(text=("• " if chosen else "") + text, callback_data=cb.pack())

    statuses = [button(_("All statuses"), ANY + channel_code, status_code == ANY)]
    statuses += [
        button(delivery_status(s), c + channel_code, status_code == c)
        for s, c in STATUS_CODES.items()
    ]
    channels = [button(_("All channels"), status_code + ANY, channel_code == ANY)]
    channels += [
        button(channel_name(ch), status_code + c, channel_code == c)
        for ch, c in CHANNEL_CODES.items()
    ]
    kb = InlineKeyboardBuilder()
    kb.row(*statuses[:3])
    kb.row(*statuses[3:])
    kb.row(*channels)
    return kb.as_markup()


async def render(
    journal: JournalService,
    mailing: Mailing,
    flt: JournalFilter,
    tz: tzinfo,
    *,
    after: int | None = None,
    before: int | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    page = await journal.page(mailing.id, flt, after=after, before=before)
    return page_text(mailing, flt, page, tz), page_markup(mailing.id, flt, page)
