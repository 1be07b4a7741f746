"""Callback data of a mailing's journal, packed short (well under Telegram's 64 bytes).

A page is "the rows after id c" (or before it), so a button carries the keyset
cursor, not a page number; the filter is two letters, status then channel
("-" for any): "ft" is failed on Telegram. A row's button carries the cursor of
its page too, so Back on the account card returns to that very page.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _

from storage.journal import JournalFilter
from storage.statuses import Channel, DeliveryStatus

ANY = "-"
STATUS_CODES: dict[DeliveryStatus, str] = {
    DeliveryStatus.SENT: "s",
    DeliveryStatus.FAILED: "f",
    DeliveryStatus.SKIPPED: "k",
    DeliveryStatus.UNKNOWN: "u",
    DeliveryStatus.PENDING: "p",
}
CHANNEL_CODES: dict[Channel, str] = {Channel.TELEGRAM: "t", Channel.EMAIL: "e"}
_STATUS_OF = {v: k for k, v in STATUS_CODES.items()}
_CHANNEL_OF = {v: k for k, v in CHANNEL_CODES.items()}


class JournalAction(StrEnum):
    PAGE = "p"  # the rows after the cursor (0: the first page)
    PREV = "b"  # the rows before the cursor
    FILTERS = "f"  # choose a status and a channel
    EXPORT = "x"  # the journal as shown (filter kept) as XLSX
    ROW = "r"  # a row's account card


class JournalCb(CallbackData, prefix="jr"):
    action: JournalAction
    m: int  # mailing id
    f: str = ANY + ANY  # filter: status code, channel code
    c: int = 0  # cursor: a delivery id
    g: int = 0  # guest id (ROW)


def pack_filter(flt: JournalFilter) -> str:
    status = STATUS_CODES[flt.status] if flt.status is not None else ANY
    channel = CHANNEL_CODES[flt.channel] if flt.channel is not None else ANY
    return status + channel


def unpack_filter(code: str) -> JournalFilter:
    """The filter of a button; anything unknown (an old or forged button) means "any"."""
    status = _STATUS_OF.get(code[:1])
    channel = _CHANNEL_OF.get(code[1:2])
    return JournalFilter(status, channel)


def journal_button(mailing_id: int) -> InlineKeyboardButton:
    """The mailing card's way into its journal."""
    return InlineKeyboardButton(
        text=_("📋 Journal"),
        callback_data=JournalCb(action=JournalAction.PAGE, m=mailing_id).pack(),
    )
