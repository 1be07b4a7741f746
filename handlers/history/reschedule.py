"""/history's "Change time": a scheduled mailing moved with the shared date and time pickers."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.mailings import NOW, MailingService, MomentPassedError
from bot.scheduler import MailingScheduler
from handlers.components.common import answered, ask, query_message
from handlers.components.date_picker import DatePicker
from handlers.components.texts import day_text, moment_text, status_name, zone_words
from handlers.components.time_picker import TimePicker, button_time, passed_text, time_rows
from handlers.formatting import quote
from handlers.history.actions import pressed_on
from handlers.history.callbacks import HistoryCb
from handlers.history.states import Reschedule
from handlers.keyboards import cancel_only
from storage.statuses import MailingStatus


async def _cancel_rows(_state: FSMContext) -> list[list[InlineKeyboardButton]]:
    return cancel_only().inline_keyboard


async def ask_time(
    target: Message, state: FSMContext, day: date, mailings: MailingService, _data: dict[str, Any]
) -> None:
    """The date picker's answer: ask the time on that day."""
    await state.update_data(day=day.isoformat())
    await state.set_state(Reschedule.time)
    rows = [*time_rows(mailings, day), *cancel_only().inline_keyboard]
    question = _("At what time on {day} ({tz})? Type it like 18:30 or choose below.").format(
        day=day_text(day), tz=zone_words(mailings.settings)
    )
    # The live question: once a time is settled it shows the outcome and loses its buttons.
    await ask(target, state, question, InlineKeyboardMarkup(inline_keyboard=rows))


async def move_to(
    target: Message, state: FSMContext, at: str, mailings: MailingService, data: dict[str, Any]
) -> bool:
    """The time picker's answer: move the mailing. False while the admin may try another time."""
    scheduler: MailingScheduler = data["scheduler"]
    draft = await state.get_data()
    if "mailing_id" not in draft:
        await answered(target, state, _("This button is out of date."))
        return True
    mailing_id, day = int(draft["mailing_id"]), date.fromisoformat(draft["day"])
    try:
        when = await mailings.reschedule(mailing_id, day, at)
    except MomentPassedError as passed:
        tz = zone_words(mailings.settings)
        await target.answer(passed_text(at, day, passed.now, tz, now_offered=False))
        return False
    except (LookupError, ValueError):
        await answered(
            target,
            state,
            _("The time can no longer be changed: the mailing has started or was cancelled."),
        )
        await state.clear()
        return True
    text = (
        _("The mailing starts now.")
        if at == NOW
        else _("The mailing is moved to {moment} ({tz}).").format(
            moment=moment_text(mailings.local(when)), tz=zone_words(mailings.settings)
        )
    )
    await answered(target, state, text)
    await state.clear()
    # The job moves with it; "now" launches at once.
    await scheduler.sync(mailing_id)
    return True


DATE = DatePicker(ask_time, _cancel_rows)
TIME = TimePicker(move_to)


async def on_move(
    query: CallbackQuery, callback_data: HistoryCb, state: FSMContext, mailings: MailingService
) -> None:
    """Change time: only while the mailing is scheduled."""
    found = await pressed_on(query, callback_data, mailings)
    if found is None:
        return
    message, mailing = found
    if mailing.status != MailingStatus.SCHEDULED:
        await query.answer(
            _("The time can no longer be changed: it is {status}.").format(
                status=status_name(mailing.status)
            ),
            show_alert=True,
        )
        return
    await query.answer()
    await state.set_state(Reschedule.date)
    await state.set_data({"mailing_id": mailing.id})
    question = _("New date for “{name}”: pick a day or type it like {example}.").format(
        name=quote(mailing.name), example=day_text(mailings.today())
    )
    await DATE.ask(message, state, mailings, question)


async def on_old_time_button(
    query: CallbackQuery,
    callback_data: HistoryCb,
    state: FSMContext,
    mailings: MailingService,
    scheduler: MailingScheduler,
) -> None:
    """A quick time from before the shared time picker ("hist:time:…"), still in a chat."""
    await query.answer()
    message = query_message(query)
    if message is None:
        return
    at = button_time(callback_data.value)
    if at is None or await state.get_state() != Reschedule.time.state:
        await message.answer(_("This button is out of date."))
        return
    await move_to(message, state, at, mailings, {"scheduler": scheduler})


async def on_wrong_input(message: Message) -> None:
    await message.answer(
        _("Please type the date or time, or choose with the buttons; /cancel leaves.")
    )
