"""The editor's own steps: name, segment, schedule, time, dates and the frequency cap."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.mailings import NOW, MailingService
from bot.promotions.schedule import EVERY_MAX, Schedule
from bot.promotions.service import CAP_MAX, NAME_MAX
from bot.quiet_hours import LimitsService
from handlers.components.common import answered, query_message, retire
from handlers.components.date_picker import DatePicker
from handlers.components.names import typed_name
from handlers.components.texts import day_text, segment_title
from handlers.components.time_picker import TimePicker
from handlers.formatting import quote
from handlers.promos.callbacks import EditorAction, PrCapCb, PrKindCb, PrSegmentCb, PrWeekdayCb
from handlers.promos.flow import go_next, nav_button, nav_row, schedule_of, weekday_rows
from handlers.promos.texts import schedule_words


async def _remember(state: FSMContext, **values: Any) -> None:
    """Keep answers and the schedule they make."""
    await state.update_data(**values)
    data = await state.get_data()
    await state.update_data(schedule=schedule_of(data))


async def on_name(message: Message, state: FSMContext, mailings: MailingService) -> None:
    name = await typed_name(message, NAME_MAX)
    if name is None:
        return
    await state.update_data(name=name)
    await answered(message, state, quote(name))
    await go_next(message, state, "name", mailings)


async def on_segment(
    query: CallbackQuery, callback_data: PrSegmentCb, state: FSMContext, mailings: MailingService
) -> None:
    segment = await mailings.segment(callback_data.segment_id)
    if segment is None:
        await query.answer(_("This segment no longer exists. Choose another."), show_alert=True)
        return
    await query.answer()
    message = query_message(query)
    if message is None:
        return
    await answered(message, state, _("Segment: {name}").format(name=segment_title(segment)))
    await state.update_data(segment_id=segment.id)
    await go_next(message, state, "segment", mailings)


async def on_kind(
    query: CallbackQuery, callback_data: PrKindCb, state: FSMContext, mailings: MailingService
) -> None:
    message = await retire(query)
    if message is None:
        return
    await _remember(state, kind=callback_data.kind.value)
    await go_next(message, state, "kind", mailings)


async def on_weekday(query: CallbackQuery, callback_data: PrWeekdayCb, state: FSMContext) -> None:
    if not 0 <= callback_data.day <= 6:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await query.answer()
    chosen = set((await state.get_data()).get("weekdays") or [])
    chosen ^= {callback_data.day}
    await _remember(state, weekdays=sorted(chosen))
    message = query_message(query)
    if message is not None:
        data = await state.get_data()
        rows = [*weekday_rows(sorted(chosen)), nav_row("param", data)]
        await message.edit_reply_markup(reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def on_weekdays_done(
    query: CallbackQuery, state: FSMContext, mailings: MailingService
) -> None:
    if not (await state.get_data()).get("weekdays"):
        await query.answer(_("Choose at least one day of the week."), show_alert=True)
        return
    message = await retire(query)
    if message is not None:
        await go_next(message, state, "param", mailings)


def _number(text: str, low: int, high: int) -> int | None:
    value = text.strip()
    if not value.isdigit() or not low <= int(value) <= high:
        return None
    return int(value)


async def on_month_day(message: Message, state: FSMContext, mailings: MailingService) -> None:
    day = _number(message.text or "", 1, 31)
    if day is None:
        await message.answer(_("Type a day of the month as a number from 1 to 31, e.g. 15."))
        return
    await _remember(state, month_day=day)
    await go_next(message, state, "param", mailings)


async def on_every(message: Message, state: FSMContext, mailings: MailingService) -> None:
    every = _number(message.text or "", 1, EVERY_MAX)
    if every is None:
        await message.answer(
            _("Type how many days as a number from 1 to {max}, e.g. 3.").format(max=EVERY_MAX)
        )
        return
    await _remember(state, every=every)
    await go_next(message, state, "param", mailings)


async def set_time(
    target: Message, state: FSMContext, at: str, mailings: MailingService, _data: dict[str, Any]
) -> bool:
    """The time picker's answer: any time of day ("now" is no time of a schedule)."""
    if at == NOW:
        await target.answer(_("A promotion runs at a time of day. Type it like 10:00."))
        return False
    # A time inside quiet hours would only wait every time: refused with the reason.
    limits: LimitsService = _data["limits"]
    clock = datetime.combine(mailings.today(), time.fromisoformat(at), tzinfo=mailings.settings.tz)
    refusal = await limits.refusal(clock)
    if refusal is not None:
        await target.answer(refusal)
        return False
    await _remember(state, at=at)
    data = await state.get_data()
    if data.get("schedule"):
        words = schedule_words(Schedule.from_json(data["schedule"]), mailings.settings)
        await answered(target, state, _("Schedule: {words}").format(words=words))
    await go_next(target, state, "time", mailings)
    return True


async def set_start(
    target: Message, state: FSMContext, day: date, mailings: MailingService, _data: dict[str, Any]
) -> None:
    """The start date; an end date before it is asked again."""
    data = await state.get_data()
    update: dict[str, Any] = {"starts_on": day.isoformat()}
    if data.get("ends_on") and date.fromisoformat(data["ends_on"]) < day:
        update["ends_on"] = None
    await state.update_data(**update)
    await answered(target, state, _("Starts on: {day}").format(day=day_text(day)))
    await go_next(target, state, "starts", mailings)


async def set_end(
    target: Message, state: FSMContext, day: date, mailings: MailingService, _data: dict[str, Any]
) -> None:
    starts = (await state.get_data()).get("starts_on")
    if starts and day < date.fromisoformat(starts):
        await target.answer(
            _("The end date is before the start date ({start}). Choose {start} or later.").format(
                start=day_text(date.fromisoformat(starts))
            )
        )
        return
    await state.update_data(ends_on=day.isoformat(), no_end=False)
    await answered(target, state, _("Runs until: {day}").format(day=day_text(day)))
    await go_next(target, state, "ends", mailings)


async def on_no_end(query: CallbackQuery, state: FSMContext, mailings: MailingService) -> None:
    await query.answer()
    message = query_message(query)
    if message is None:
        return
    await state.update_data(ends_on=None, no_end=True)
    await answered(message, state, _("No end date."))
    await go_next(message, state, "ends", mailings)


async def _set_cap(
    message: Message, state: FSMContext, days: int | None, mailings: MailingService
) -> None:
    await state.update_data(cap_days=days, no_cap=days is None)
    await go_next(message, state, "cap", mailings)


async def on_cap(message: Message, state: FSMContext, mailings: MailingService) -> None:
    days = _number(message.text or "", 1, CAP_MAX)
    if days is None:
        await message.answer(
            _("Type the number of days from 1 to {max}, e.g. 7, or press “No cap”.").format(
                max=CAP_MAX
            )
        )
        return
    await _set_cap(message, state, days, mailings)


async def on_cap_button(
    query: CallbackQuery, callback_data: PrCapCb, state: FSMContext, mailings: MailingService
) -> None:
    if not 1 <= callback_data.days <= CAP_MAX:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    message = await retire(query)
    if message is not None:
        await _set_cap(message, state, callback_data.days, mailings)


async def on_no_cap(query: CallbackQuery, state: FSMContext, mailings: MailingService) -> None:
    message = await retire(query)
    if message is not None:
        await _set_cap(message, state, None, mailings)


async def _date_extra(state: FSMContext, step: str) -> list[list[InlineKeyboardButton]]:
    return [nav_row(step, await state.get_data())]


async def starts_extra(state: FSMContext) -> list[list[InlineKeyboardButton]]:
    return await _date_extra(state, "starts")


async def ends_extra(state: FSMContext) -> list[list[InlineKeyboardButton]]:
    no_end = [nav_button(_("♾ No end date"), EditorAction.NO_END)]
    return [no_end, *await _date_extra(state, "ends")]


STARTS = DatePicker(set_start, starts_extra)
ENDS = DatePicker(set_end, ends_extra)
TIME = TimePicker(set_time)
