"""A card's buttons: open, cancel, chart, duplicate as a new draft, resend failed rows."""

from __future__ import annotations

import asyncio

from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.charts import ChartData, StatusBar, render_chart
from bot.delivery.engine import DeliveryEngine
from bot.history import HistoryService
from bot.mailings import MailingService
from bot.scheduler import MailingScheduler
from handlers.components.common import query_message, show_in_place
from handlers.components.confirm import ask_confirm
from handlers.components.texts import channel_name, delivery_status_name, moment_text, status_name
from handlers.formatting import quote
from handlers.history.callbacks import HistoryAction, HistoryCb
from handlers.history.card import counts_of, show_card
from handlers.mailing_run import cancel_mailing
from handlers.new_mailing.flow import NAME_MAX, open_draft
from storage.mailings import Mailing
from storage.statuses import Channel, DeliveryStatus, MailingStatus, ModeChoice


async def pressed_on(
    query: CallbackQuery, callback_data: HistoryCb, mailings: MailingService
) -> tuple[Message, Mailing] | None:
    """The message and the mailing a card's button is about; None (answered) when gone."""
    message = query_message(query)
    if message is None:
        await query.answer()
        return None
    mailing = await mailings.get(callback_data.mailing_id)
    if mailing is None:
        await query.answer(_("This mailing no longer exists."), show_alert=True)
        return None
    return message, mailing


async def on_open(
    query: CallbackQuery,
    callback_data: HistoryCb,
    mailings: MailingService,
    history: HistoryService,
) -> None:
    found = await pressed_on(query, callback_data, mailings)
    if found is not None:
        await query.answer()
        message, mailing = found
        failed = 0
        if mailing.status == MailingStatus.COMPLETED:
            failed = await history.resendable_failed(mailing.id)
        await show_card(message, mailing, mailings, callback_data.page, failed)


async def on_ask(query: CallbackQuery, callback_data: HistoryCb, mailings: MailingService) -> None:
    """Cancel mailing: ask first; "No" opens the card again."""
    found = await pressed_on(query, callback_data, mailings)
    if found is None:
        return
    await query.answer()
    message, mailing = found
    await ask_confirm(
        message,
        _("Cancel the mailing “{name}”? Guests will not get it.").format(name=quote(mailing.name)),
        yes=HistoryCb(action=HistoryAction.CANCEL, mailing_id=mailing.id),
        no=HistoryCb(action=HistoryAction.OPEN, mailing_id=mailing.id),
        yes_text=_("Yes, cancel it"),
        no_text=_("No, keep it"),
    )


async def on_cancel(
    query: CallbackQuery,
    callback_data: HistoryCb,
    mailings: MailingService,
    engine: DeliveryEngine,
    scheduler: MailingScheduler,
) -> None:
    found = await pressed_on(query, callback_data, mailings)
    if found is None:
        return
    message, mailing = found
    cancelled, status = await cancel_mailing(mailing.id, engine, scheduler, mailings)
    if cancelled or status == MailingStatus.CANCELLED:
        await query.answer(_("Cancelled.") if cancelled else _("It is already cancelled."))
        await show_in_place(
            message, _("The mailing “{name}” is cancelled.").format(name=quote(mailing.name))
        )
    else:
        await query.answer(
            _("It can no longer be cancelled: it is {status}.").format(
                status=status_name(status or mailing.status)
            ),
            show_alert=True,
        )


async def on_chart(
    query: CallbackQuery,
    callback_data: HistoryCb,
    mailings: MailingService,
    history: HistoryService,
) -> None:
    """📊 Chart: deliveries per status and channel, and sends over time, as a picture."""
    found = await pressed_on(query, callback_data, mailings)
    if found is None:
        return
    await query.answer()
    message, mailing = found
    counts = await counts_of(mailings, mailing.id)
    data = ChartData(
        title=mailing.name,
        subtitle=f"{status_name(mailing.status)} · "
        f"{moment_text(history.local(mailing.scheduled_at))}",
        statuses_title=_("Deliveries by status"),
        statuses=[
            StatusBar(
                delivery_status_name(status).capitalize(),
                {c: counts.channel(c, status) for c in Channel if counts.channel(c, status)},
            )
            for status in DeliveryStatus
        ],
        channel_names={c: channel_name(c) for c in Channel if c in mailing.channels},
        time_title=_("Messages sent over time"),
        sends=await history.sends_over_time(mailing.id),
        nothing=_("Nothing to show yet."),
        peak=_("Highest bar: {count}"),
    )
    png = await asyncio.to_thread(render_chart, data)
    await message.answer_photo(
        BufferedInputFile(png, filename=f"chart-{mailing.id}.png"),
        caption=_("“{name}”: the outcome.").format(name=quote(mailing.name)),
    )


def copy_name(name: str) -> str:
    """ "<name> (copy)", cut to fit the name's limit."""
    suffix = _(" (copy)")
    return name[: NAME_MAX - len(suffix)] + suffix


async def on_copy(
    query: CallbackQuery, callback_data: HistoryCb, state: FSMContext, mailings: MailingService
) -> None:
    """📄 Duplicate: /new with the mailing's parts filled in, under a new name; the day and
    time are asked again (the original's moment has usually passed)."""
    found = await pressed_on(query, callback_data, mailings)
    if found is None:
        return
    await query.answer()
    message, mailing = found
    segment = await mailings.segment(mailing.segment_id)
    data = {
        "name": copy_name(mailing.name),
        "segment_id": segment.id if segment else None,
        "channels": [str(c) for c in mailing.channels],
        "mode": str(ModeChoice.of(mailing.send_mode, mailing.channels)),
        "subject": mailing.subject,
        "text_html": mailing.text_html,
        "image_path": mailing.image_path,
        "image_file_id": mailing.image_file_id,
    }
    await open_draft(message, state, {k: v for k, v in data.items() if v is not None}, mailings)


async def on_failed(
    query: CallbackQuery,
    callback_data: HistoryCb,
    mailings: MailingService,
    history: HistoryService,
    engine: DeliveryEngine,
) -> None:
    """🔁 Resend failed: a finished mailing's failed rows are sent again by the engine."""
    found = await pressed_on(query, callback_data, mailings)
    if found is None:
        return
    _message, mailing = found
    if mailing.status != MailingStatus.COMPLETED:
        await query.answer(_("Only a completed mailing's failed messages can be resent."),
                           show_alert=True)  # fmt: skip
        return
    moved = await history.failed_to_unknown(mailing.id)
    count = await engine.resend_unknown(mailing.id) if moved else 0
    await query.answer(
        ngettext(
            "{count} message will be sent again.", "{count} messages will be sent again.", count
        ).format(count=count)
        if count
        else _("There is nothing to resend.")
    )
