"""The journal's buttons: pages, the filter, a row's account card, the XLSX export."""

from __future__ import annotations

import contextlib
import tempfile
from datetime import datetime
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, FSInputFile, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.config import Settings
from bot.guests import GuestService
from bot.journal import ExportSpec, JournalService, file_stem
from bot.mailings import MailingService
from handlers.guests.cards import card_view
from handlers.journal.callbacks import JournalAction, JournalCb, unpack_filter
from handlers.journal.texts import export_headers, export_values
from handlers.journal.views import filters_markup, render
from storage.mailings import Mailing


async def _opened(
    query: CallbackQuery, callback_data: JournalCb, mailings: MailingService
) -> tuple[Message, Mailing] | None:
    """The message pressed on and the journal's mailing; None (answered) when gone."""
    mailing = await mailings.get(callback_data.m)
    if mailing is None:
        await query.answer(_("This mailing no longer exists."), show_alert=True)
        return None
    if not isinstance(query.message, Message):
        await query.answer()
        return None
    return query.message, mailing


async def _show(message: Message, text: str, markup: object, *, edit: bool) -> None:
    """Redraw the journal's message in place (a new one when it is not ours to edit)."""
    if edit:
        with contextlib.suppress(TelegramBadRequest):  # "message is not modified"
            await message.edit_text(text, reply_markup=markup)  # type: ignore[arg-type]
        return
    await message.answer(text, reply_markup=markup)  # type: ignore[arg-type]


async def on_page(
    query: CallbackQuery,
    callback_data: JournalCb,
    mailings: MailingService,
    journal: JournalService,
    settings: Settings,
) -> None:
    """A page after the cursor (‹ Previous: before it); opened from the mailing card
    (cursor 0, nothing to edit) it comes as a new message."""
    opened = await _opened(query, callback_data, mailings)
    if opened is None:
        return
    message, mailing = opened
    await query.answer()
    flt = unpack_filter(callback_data.f)
    if callback_data.action == JournalAction.PREV:
        before, after = max(callback_data.c, 1), None
    else:
        before, after = None, (callback_data.c if callback_data.c > 0 else None)
    text, markup = await render(journal, mailing, flt, settings.tz, after=after, before=before)
    from_journal = bool(message.reply_markup) and any(
        (b.callback_data or "").startswith(JournalCb.__prefix__ + ":")
        for row in message.reply_markup.inline_keyboard  # type: ignore[union-attr]
        for b in row
    )
    await _show(message, text, markup, edit=from_journal)


async def on_filters(
    query: CallbackQuery, callback_data: JournalCb, mailings: MailingService
) -> None:
    opened = await _opened(query, callback_data, mailings)
    if opened is None:
        return
    message, mailing = opened
    await query.answer()
    await _show(
        message,
        _("Which deliveries of “{name}” to show?").format(name=mailing.name),
        filters_markup(mailing.id, unpack_filter(callback_data.f)),
        edit=True,
    )


async def on_row(
    query: CallbackQuery,
    callback_data: JournalCb,
    mailings: MailingService,
    guests: GuestService,
    journal: JournalService,
    settings: Settings,
) -> None:
    """A row's account card in place of the page; its Back shows the same page again."""
    opened = await _opened(query, callback_data, mailings)
    if opened is None:
        return
    message, _mailing = opened
    guest = await guests.get(callback_data.g)
    if guest is None:
        await query.answer(_("This guest is no longer in the base."), show_alert=True)
        return
    await query.answer()
    back = JournalCb(action=JournalAction.PAGE, m=callback_data.m, f=callback_data.f,
                     c=callback_data.c)  # fmt: skip
    button = InlineKeyboardButton(text=_("« Back to the journal"), callback_data=back.pack())
    text, markup = await card_view(guest, guests, journal, settings, button)
    await _show(message, text, markup, edit=True)


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return _("{n} MB").format(n=limit // (1024 * 1024))
    return _("{n} KB").format(n=max(1, limit // 1024))


async def on_export(
    query: CallbackQuery,
    callback_data: JournalCb,
    mailings: MailingService,
    journal: JournalService,
    settings: Settings,
    bot: Bot,
) -> None:
    """The journal as shown (its filter kept) as XLSX; in parts when over Telegram's limit."""
    opened = await _opened(query, callback_data, mailings)
    if opened is None:
        return
    message, mailing = opened
    await query.answer(_("Preparing the file…"))
    await bot.send_chat_action(message.chat.id, "upload_document")
    today = datetime.now(settings.tz).date().isoformat()
    spec = ExportSpec(
        stem=file_stem(_("Journal"), mailing.name, today),
        sheet_title=_("Journal"),
        headers=export_headers(),
        values=export_values,
        tz=settings.tz,
        part_name=lambda part, parts: _("part_{part}_of_{parts}").format(part=part, parts=parts),
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.data_dir) as tmp:
        done = await journal.export(mailing.id, unpack_filter(callback_data.f), Path(tmp), spec)
        if done.split:
            await message.answer(
                _(
                    "The journal is larger than Telegram's {size} limit for a file, "
                    "so it comes in {parts} parts."
                ).format(size=_size(journal.limit), parts=len(done.files))
            )
        for path in done.files:
            await message.answer_document(
                FSInputFile(path, filename=path.name),
                caption=ngettext(
                    "Journal of “{name}”: {n} row.", "Journal of “{name}”: {n} rows.", done.rows
                ).format(name=mailing.name, n=done.rows),
                parse_mode=None,
            )
