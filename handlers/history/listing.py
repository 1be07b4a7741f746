"""/history's list: open it, turn pages, narrow it by dates or words, export it as XLSX."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, FSInputFile, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.history import (
    HistoryFilter,
    HistoryService,
    Preset,
    RangeError,
    looks_like_dates,
    parse_range,
    preset_range,
    search_words,
)
from bot.mailings import MailingService
from handlers.components.common import query_message
from handlers.components.texts import channels_text, status_name
from handlers.history.callbacks import HistoryCb
from handlers.history.states import Browse
from handlers.history.views import kind_text, segment_text, show_history
from storage.guest_counts import GuestCounts
from storage.history import HistoryRow

FILTER_KEY = "history"  # the filter's place in the chat's FSM data


async def current_filter(state: FSMContext) -> HistoryFilter:
    return HistoryFilter.from_data((await state.get_data()).get(FILTER_KEY))


async def open_list(
    target: Message,
    state: FSMContext,
    mailings: MailingService,
    history: HistoryService,
    flt: HistoryFilter,
    page: int = 0,
) -> None:
    """Show a page and keep the list open: typed text now narrows it."""
    await state.set_state(Browse.open)
    await state.set_data({FILTER_KEY: flt.to_data()})
    await show_history(target, mailings, history, page, flt)


async def on_history(
    message: Message, state: FSMContext, mailings: MailingService, history: HistoryService
) -> None:
    await state.clear()
    await open_list(message, state, mailings, history, HistoryFilter())


async def on_page(
    query: CallbackQuery,
    callback_data: HistoryCb,
    state: FSMContext,
    mailings: MailingService,
    history: HistoryService,
) -> None:
    await query.answer()
    message = query_message(query)
    if message is not None:
        flt = await current_filter(state)
        await open_list(message, state, mailings, history, flt, max(0, callback_data.page))


async def on_filter(
    query: CallbackQuery,
    callback_data: HistoryCb,
    state: FSMContext,
    mailings: MailingService,
    history: HistoryService,
) -> None:
    """A quick period: today, 7 or 30 days, this month, all time (the words stay)."""
    await query.answer()
    message = query_message(query)
    try:
        preset = Preset(callback_data.value)
    except ValueError:
        preset = Preset.ALL
    if message is not None:
        flt = await current_filter(state)
        days = preset_range(preset, mailings.today())
        await open_list(
            message, state, mailings, history, HistoryFilter(days, flt.words, preset.value)
        )


async def on_reset(
    query: CallbackQuery, state: FSMContext, mailings: MailingService, history: HistoryService
) -> None:
    """Clear the search words (the period stays)."""
    await query.answer()
    message = query_message(query)
    if message is not None:
        flt = await current_filter(state)
        await open_list(message, state, mailings, history, HistoryFilter(flt.days, (), flt.preset))


def range_reason(error: RangeError) -> str:
    if error.code == "reversed":
        return _("The period is reversed: the first date is after the last one.")
    if error.code == "impossible":
        return _("There is no such date in the period.")
    return _("I could not read the period. Type it like 01.12.2026-31.12.2026, one date, "
             "or 01.12-15.12.")  # fmt: skip


async def on_typed(
    message: Message, state: FSMContext, mailings: MailingService, history: HistoryService
) -> None:
    """Typed while the list is open: a period (dates) or words of a name."""
    text = (message.text or "").strip()
    flt = await current_filter(state)
    if looks_like_dates(text):
        try:
            days = parse_range(text, mailings.today())
        except RangeError as error:
            await message.answer(range_reason(error))
            return
        flt = HistoryFilter(days, flt.words)
    else:
        flt = HistoryFilter(flt.days, search_words(text), flt.preset)
    await open_list(message, state, mailings, history, flt)


def export_headers() -> list[str]:
    return [
        _("Date and time"), _("Name"), _("Kind"), _("Segment"), _("Channels"), _("Status"),
        _("Guests in the mailing"), _("Reached"), _("Not delivered"), _("Not sent"),
        _("Email subject"),
    ]  # fmt: skip


def export_name(flt: HistoryFilter, today: date) -> str:
    """`Mailing_history_2026-12-01_2026-12-31.xlsx` in the interface language."""
    first, last = flt.days.first, flt.days.last
    stem = _("Mailing_history")
    if first and last:
        return f"{stem}_{first.isoformat()}_{last.isoformat()}.xlsx"
    return f"{stem}_{today.isoformat()}.xlsx"


async def send_export(
    message: Message,
    mailings: MailingService,
    service: HistoryService,
    flt: HistoryFilter,
    only: int | None = None,
) -> None:
    """The filter's mailings (or one mailing) as an XLSX document in the chat."""

    async def row_of(row: HistoryRow) -> list[Any]:
        mailing = row.mailing
        counts = (await mailings.guest_counts_many([mailing.id])).get(mailing.id, GuestCounts())
        return [
            service.local(mailing.scheduled_at),
            mailing.name,
            kind_text(row),
            segment_text(row),
            channels_text(mailing.channels),
            status_name(mailing.status),
            counts.recipients,  # guests, as on the card
            counts.reached,
            counts.failed,
            counts.skipped,
            mailing.subject or "",
        ]

    with tempfile.TemporaryDirectory(dir=mailings.settings.data_dir) as tmp:
        name = export_name(flt, mailings.today())
        if only is not None:
            name = _("Mailing_{id}.xlsx").format(id=only)
        path = Path(tmp) / name
        written = await service.export(
            flt, path, _("Mailing history"), export_headers(), row_of, only=only
        )
        await message.answer_document(
            FSInputFile(path, filename=name),
            caption=ngettext("{count} mailing.", "{count} mailings.", written).format(
                count=written
            ),
        )


async def on_export(
    query: CallbackQuery,
    callback_data: HistoryCb,
    state: FSMContext,
    mailings: MailingService,
    history: HistoryService,
) -> None:
    """📥 Export: the list as filtered (mailing_id 0) or one mailing's line."""
    await query.answer()
    message = query_message(query)
    if message is None:
        return
    if callback_data.mailing_id:
        await send_export(
            message, mailings, history, HistoryFilter(), only=callback_data.mailing_id
        )
    else:
        await send_export(message, mailings, history, await current_filter(state))
