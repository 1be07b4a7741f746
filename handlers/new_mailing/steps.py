"""Steps 1-4: name, segment, and the date and time through the shared pickers."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _

from bot.mailings import NOW, Draft, MailingService, MomentPassedError
from bot.quiet_hours import LimitsService
from bot.segments import SegmentService
from handlers.components.common import answered, query_message
from handlers.components.date_picker import DatePicker
from handlers.components.names import typed_name
from handlers.components.texts import day_text, segment_title, zone_words
from handlers.components.time_picker import TimePicker, passed_text
from handlers.formatting import quote
from handlers.new_mailing.callbacks import NmSegmentCb
from handlers.new_mailing.flow import NAME_MAX, go_next, nav_row


async def on_name(message: Message, state: FSMContext, mailings: MailingService) -> None:
    name = await typed_name(message, NAME_MAX)
    if name is None:
        return
    await state.update_data(name=name)
    await answered(message, state, quote(name))
    await go_next(message, state, "name", mailings)


async def on_segment(
    query: CallbackQuery,
    callback_data: NmSegmentCb,
    state: FSMContext,
    mailings: MailingService,
    segments: SegmentService,
) -> None:
    segment = await mailings.segment(callback_data.segment_id)
    if segment is None:
        await query.answer(_("This segment no longer exists. Choose another."), show_alert=True)
        return
    # An empty segment is chosen only by pressing it again after the warning.
    warned = (await state.get_data()).get("empty_segment_warned")
    if warned != segment.id and (await segments.reach(segment)).total == 0:
        await state.update_data(empty_segment_warned=segment.id)
        await query.answer(
            _(
                "No guest is in this segment now: a mailing to it would reach nobody "
                "(unless guests join it before the send). Press it again to choose it anyway."
            ),
            show_alert=True,
        )
        return
    await query.answer()
    message = query_message(query)
    if message is None:
        return
    await answered(message, state, _("Segment: {name}").format(name=segment_title(segment)))
    await state.update_data(segment_id=segment.id)
    await go_next(message, state, "segment", mailings)


async def set_day(
    target: Message, state: FSMContext, day: date, mailings: MailingService, _data: dict[str, Any]
) -> None:
    """The date picker's answer: keep the day; a time that no longer fits it is asked again."""
    data = await state.get_data()
    update: dict[str, Any] = {"day": day.isoformat()}
    at = data.get("at")
    if at == NOW and day != mailings.today():
        update["at"] = None
    elif at and at != NOW:
        try:
            mailings.moment(day, at)
        except MomentPassedError:
            update["at"] = None
    await state.update_data(**update)
    await answered(target, state, _("Date: {day}").format(day=day_text(day)))
    await go_next(target, state, "date", mailings)


async def date_extra(state: FSMContext) -> list[list[InlineKeyboardButton]]:
    """Back and Cancel under the calendar."""
    return [nav_row("date", await state.get_data())]


async def set_time(
    target: Message, state: FSMContext, at: str, mailings: MailingService, data: dict[str, Any]
) -> bool:
    """The time picker's answer: kept if its moment is still ahead (or "now"); else why not."""
    draft = Draft.from_data(await state.get_data())
    day = draft.day or mailings.today()
    if at == NOW and day != mailings.today():
        await target.answer(
            _("“Now” is only for today. Type a time for {day}.").format(day=day_text(day))
        )
        return False
    try:
        moment = mailings.moment(day, at)
    except MomentPassedError as passed:
        tz = zone_words(mailings.settings)
        await target.answer(passed_text(at, day, passed.now, tz, now_offered=True))
        return False
    # "Now" inside quiet hours is refused like a typed time: the run would only wait.
    limits: LimitsService = data["limits"]
    refusal = await limits.refusal(moment or mailings.now_local())
    if refusal is not None:
        await target.answer(refusal)
        return False
    await state.update_data(at=at)
    shown = _("now (at confirmation)") if at == NOW else at
    await answered(target, state, _("Time: {time}").format(time=shown))
    await go_next(target, state, "time", mailings)
    return True


DATE = DatePicker(set_day, date_extra)
TIME = TimePicker(set_time)
