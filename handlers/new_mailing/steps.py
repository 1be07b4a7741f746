"""Steps 1-4: name, segment, date and time."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.mailings import NOW, Draft, MailingService, MomentPassedError
from bot.parsing import DateError, TimeError, parse_date, parse_time
from handlers.new_mailing.calendar import calendar_markup, in_range
from handlers.new_mailing.callbacks import CalendarCb, NmSegmentCb, NmTimeCb
from handlers.new_mailing.flow import NAME_MAX, go_next, nav_row
from handlers.new_mailing.texts import (
    date_error_text,
    day_text,
    locale,
    segment_title,
    time_error_text,
)


async def retire(query: CallbackQuery, note: str | None = None) -> Message | None:
    """Answer a pressed button and take the keyboard off its message (it has done its job)."""
    await query.answer(note)
    if not isinstance(query.message, Message):
        return None
    if query.message.reply_markup is not None:
        await query.message.edit_reply_markup(reply_markup=None)
    return query.message


async def on_name(message: Message, state: FSMContext, mailings: MailingService) -> None:
    name = " ".join((message.text or "").split())
    if not name:
        await message.answer(_("The name cannot be empty. Type a few words, e.g. “Spring menu”."))
        return
    if len(name) > NAME_MAX:
        await message.answer(
            _("The name is {n} characters long; the limit is {max}. Make it shorter.").format(
                n=len(name), max=NAME_MAX
            )
        )
        return
    await state.update_data(name=name)
    await go_next(message, state, "name", mailings)


async def on_segment(
    query: CallbackQuery, callback_data: NmSegmentCb, state: FSMContext, mailings: MailingService
) -> None:
    segment = await mailings.segment(callback_data.segment_id)
    if segment is None:
        await query.answer(_("This segment no longer exists. Choose another."), show_alert=True)
        return
    message = await retire(query)
    if message is None:
        return
    await message.answer(_("Segment: {name}").format(name=segment_title(segment)))
    await state.update_data(segment_id=segment.id)
    await go_next(message, state, "segment", mailings)


async def _set_day(target: Message, state: FSMContext, day: date, mailings: MailingService) -> None:
    data = await state.get_data()
    update: dict[str, Any] = {"day": day.isoformat()}
    # A time that no longer fits the new day (gone by, or "now" on another day) is asked again.
    at = data.get("at")
    if at == NOW and day != mailings.today():
        update["at"] = None
    elif at and at != NOW:
        try:
            mailings.moment(day, at)
        except MomentPassedError:
            update["at"] = None
    await state.update_data(**update)
    await target.answer(_("Date: {day}").format(day=day_text(day)))
    await go_next(target, state, "date", mailings)


async def on_date_typed(message: Message, state: FSMContext, mailings: MailingService) -> None:
    today = mailings.today()
    try:
        day = parse_date(message.text or "", today)
    except DateError as error:
        data = await state.get_data()
        await message.answer(
            date_error_text(error, today),
            reply_markup=calendar_markup(today, locale(), extra=[nav_row("date", data)]),
        )
        return
    await _set_day(message, state, day, mailings)


async def on_calendar(
    query: CallbackQuery, callback_data: CalendarCb, state: FSMContext, mailings: MailingService
) -> None:
    today = mailings.today()
    if callback_data.action == "noop":
        await query.answer()
        return
    if callback_data.action == "month":
        await query.answer()
        if isinstance(query.message, Message) and in_range(
            callback_data.year, callback_data.month, today
        ):
            data = await state.get_data()
            await query.message.edit_reply_markup(
                reply_markup=calendar_markup(
                    today,
                    locale(),
                    callback_data.year,
                    callback_data.month,
                    extra=[nav_row("date", data)],
                )
            )
        return
    if callback_data.action == "today":
        day = today
    else:
        try:
            day = date(callback_data.year, callback_data.month, callback_data.day)
        except ValueError:
            await query.answer(_("There is no such date."), show_alert=True)
            return
        if day < today:
            await query.answer(
                _("This day has already passed. Choose today or later."), show_alert=True
            )
            return
    message = await retire(query)
    if message is not None:
        await _set_day(message, state, day, mailings)


async def _set_time(target: Message, state: FSMContext, at: str, mailings: MailingService) -> bool:
    """Keep the time if its moment is still ahead (or "now"); else say why. True if kept."""
    draft = Draft.from_data(await state.get_data())
    day = draft.day or mailings.today()
    if at == NOW and day != mailings.today():
        await target.answer(
            _("“Now” is only for today. Type a time for {day}.").format(day=day_text(day))
        )
        return False
    try:
        mailings.moment(day, at)
    except MomentPassedError as passed:
        await target.answer(
            _(
                "{time} on {day} has already passed: it is {now} now ({tz}). "
                "Type a later time or press “Now”."
            ).format(
                time=at,
                day=day_text(day),
                now=passed.now.strftime("%H:%M"),
                tz=mailings.settings.timezone,
            )
        )
        return False
    await state.update_data(at=at)
    shown = _("now (at confirmation)") if at == NOW else at
    await target.answer(_("Time: {time}").format(time=shown))
    await go_next(target, state, "time", mailings)
    return True


async def on_time_typed(message: Message, state: FSMContext, mailings: MailingService) -> None:
    try:
        clock: time = parse_time(message.text or "")
    except TimeError as error:
        await message.answer(time_error_text(error))
        return
    await _set_time(message, state, clock.strftime("%H:%M"), mailings)


async def on_time_button(
    query: CallbackQuery, callback_data: NmTimeCb, state: FSMContext, mailings: MailingService
) -> None:
    value = callback_data.value
    at = NOW if value == NOW else f"{value[:2]}:{value[2:]}"
    if at != NOW:
        try:
            parse_time(at)
        except TimeError:
            await query.answer(_("This button is out of date."), show_alert=True)
            return
    await query.answer()
    message = query.message
    if isinstance(message, Message) and await _set_time(message, state, at, mailings):
        await message.edit_reply_markup(reply_markup=None)
