"""The time picker: quick times ("Now" only today) or a time typed like 18:30.

The host binds it to its time state, shows `time_rows` under its question, and is
called back with "HH:MM" or NOW; it answers True when the question is settled (it has
closed the question, buttons and all), False when the admin should try another time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from aiogram import F, Router
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _

from bot.mailings import NOW, MailingService
from bot.parsing import TimeError, parse_time
from handlers.components.callbacks import NmTimeCb
from handlers.components.common import query_message
from handlers.components.texts import day_text, time_error_text

# Called with "HH:MM" or NOW; True when the question is settled (and closed by the host).
TimeChosen = Callable[[Message, FSMContext, str, MailingService, dict[str, Any]], Awaitable[bool]]


def time_rows(mailings: MailingService, day: date | None) -> list[list[InlineKeyboardButton]]:
    """ "Now" (today only) and a few round times still ahead, three a row."""
    now_allowed, times = mailings.quick_times(day)
    buttons = []
    if now_allowed:
        buttons.append(
            InlineKeyboardButton(text=_("⚡ Now"), callback_data=NmTimeCb(value=NOW).pack())
        )
    for value in times:
        data_value = value.replace(":", "")
        buttons.append(
            InlineKeyboardButton(text=value, callback_data=NmTimeCb(value=data_value).pack())
        )
    return [buttons[i : i + 3] for i in range(0, len(buttons), 3)]


def passed_text(at: str, day: date, now: datetime, tz: str, *, now_offered: bool) -> str:
    """Why a time is refused: its moment on `day` is gone (`now` is the local time)."""
    text = (
        _(
            "{time} on {day} has already passed: it is {now} now ({tz}). "
            "Type a later time or press “Now”."
        )
        if now_offered
        else _("{time} on {day} has already passed: it is {now} now ({tz}). Type a later time.")
    )
    return text.format(time=at, day=day_text(day), now=now.strftime("%H:%M"), tz=tz)


def button_time(value: str) -> str | None:
    """A quick time's payload ("now" or HHMM) as "HH:MM" or NOW; None if it is no time."""
    if value == NOW:
        return NOW
    at = f"{value[:2]}:{value[2:]}"
    try:
        parse_time(at)
    except TimeError:
        return None
    return at


class TimePicker:
    """Ask for a time and call `chosen` with it."""

    def __init__(self, chosen: TimeChosen) -> None:
        self.chosen = chosen

    def register(self, router: Router, *when: Filter | State) -> None:
        """Hear the quick times and typed times in the host's time state (`when`)."""
        router.callback_query.register(self.on_button, NmTimeCb.filter(), *when)
        router.message.register(self.on_typed, *when, F.text)

    async def on_typed(
        self, message: Message, state: FSMContext, mailings: MailingService, **data: Any
    ) -> None:
        try:
            clock = parse_time(message.text or "")
        except TimeError as error:
            await message.answer(time_error_text(error))
            return
        await self.chosen(message, state, clock.strftime("%H:%M"), mailings, data)

    async def on_button(
        self, query: CallbackQuery, callback_data: NmTimeCb, state: FSMContext,
        mailings: MailingService, **data: Any,
    ) -> None:  # fmt: skip
        at = button_time(callback_data.value)
        if at is None:
            await query.answer(_("This button is out of date."), show_alert=True)
            return
        await query.answer()
        message = query_message(query)
        if message is not None:
            # A settled answer closes the question (its buttons go with it), so no edit here.
            await self.chosen(message, state, at, mailings, data)
