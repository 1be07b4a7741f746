"""/history's buttons: pages of the list, a card, and cancelling a scheduled mailing."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.delivery.engine import DeliveryEngine
from bot.mailings import MailingService
from bot.scheduler import MailingScheduler
from handlers.components.common import query_message, show_in_place
from handlers.components.confirm import ask_confirm
from handlers.formatting import quote
from handlers.history.callbacks import HistoryAction, HistoryCb
from handlers.history.views import show_card, show_history, status_name
from handlers.mailing_run import cancel_mailing
from storage.mailings import Mailing
from storage.statuses import MailingStatus


async def on_history(message: Message, state: FSMContext, mailings: MailingService) -> None:
    await state.clear()
    await show_history(message, mailings)


async def on_page(query: CallbackQuery, callback_data: HistoryCb, mailings: MailingService) -> None:
    await query.answer()
    message = query_message(query)
    if message is not None:
        await show_history(message, mailings, max(0, callback_data.page))


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


async def on_open(query: CallbackQuery, callback_data: HistoryCb, mailings: MailingService) -> None:
    found = await pressed_on(query, callback_data, mailings)
    if found is not None:
        await query.answer()
        await show_card(found[0], found[1], mailings, callback_data.page)


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
