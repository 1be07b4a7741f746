"""The date picker: a day from the calendar, or typed like 31.12.2030; past days refused.

The host binds it to its date state, asks with `ask`, and is called back with the day.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from aiogram import F, Router
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.mailings import MailingService
from bot.parsing import DateError, parse_date
from handlers.components.calendar import calendar_markup, in_range
from handlers.components.callbacks import CalendarAction, CalendarCb
from handlers.components.common import query_message, retire
from handlers.components.texts import date_error_text, locale

# The host's rows under the calendar (Back, Cancel...), built from the conversation's state.
ExtraRows = Callable[[FSMContext], Awaitable[list[list[InlineKeyboardButton]]]]
# Called with the chosen day, the admin's message to answer on, and the handler's data.
DayChosen = Callable[[Message, FSMContext, date, MailingService, dict[str, Any]], Awaitable[None]]


async def on_label(query: CallbackQuery) -> None:
    """A month title, weekday or past day: nothing to do."""
    await query.answer()


class DatePicker:
    """Ask for a day and call `chosen` with it."""

    def __init__(self, chosen: DayChosen, extra: ExtraRows) -> None:
        self.chosen = chosen
        self.extra_rows = extra

    def register(self, router: Router, *when: Filter | State) -> None:
        """Hear the calendar and typed dates in the host's date state (`when`)."""
        c = router.callback_query
        c.register(on_label, CalendarCb.filter(F.action == CalendarAction.NOOP))
        c.register(self.on_month, CalendarCb.filter(F.action == CalendarAction.MONTH), *when)
        c.register(self.on_today, CalendarCb.filter(F.action == CalendarAction.TODAY), *when)
        c.register(self.on_day, CalendarCb.filter(F.action == CalendarAction.DAY), *when)
        router.message.register(self.on_typed, *when, F.text)

    async def markup(
        self, state: FSMContext, mailings: MailingService, year: int = 0, month: int = 0
    ) -> InlineKeyboardMarkup:
        rows = await self.extra_rows(state)
        return calendar_markup(mailings.today(), locale(), year or None, month or None, rows)

    async def ask(
        self, target: Message, state: FSMContext, mailings: MailingService, question: str
    ) -> None:
        await target.answer(question, reply_markup=await self.markup(state, mailings))

    async def on_month(
        self, query: CallbackQuery, callback_data: CalendarCb, state: FSMContext,
        mailings: MailingService,
    ) -> None:  # fmt: skip
        await query.answer()
        message = query_message(query)
        if message is not None and in_range(callback_data.year, callback_data.month,
                                            mailings.today()):  # fmt: skip
            markup = await self.markup(state, mailings, callback_data.year, callback_data.month)
            await message.edit_reply_markup(reply_markup=markup)

    async def on_today(
        self, query: CallbackQuery, state: FSMContext, mailings: MailingService, **data: Any
    ) -> None:
        await self._picked(query, state, mailings.today(), mailings, data)

    async def on_day(
        self, query: CallbackQuery, callback_data: CalendarCb, state: FSMContext,
        mailings: MailingService, **data: Any,
    ) -> None:  # fmt: skip
        try:
            day = date(callback_data.year, callback_data.month, callback_data.day)
        except ValueError:
            await query.answer(_("There is no such date."), show_alert=True)
            return
        if day < mailings.today():
            await query.answer(
                _("This day has already passed. Choose today or later."), show_alert=True
            )
            return
        await self._picked(query, state, day, mailings, data)

    async def _picked(
        self, query: CallbackQuery, state: FSMContext, day: date, mailings: MailingService,
        data: dict[str, Any],
    ) -> None:  # fmt: skip
        message = await retire(query)
        if message is not None:
            await self.chosen(message, state, day, mailings, data)

    async def on_typed(
        self, message: Message, state: FSMContext, mailings: MailingService, **data: Any
    ) -> None:
        today = mailings.today()
        try:
            day = parse_date(message.text or "", today)
        except DateError as error:
            await message.answer(
                date_error_text(error, today), reply_markup=await self.markup(state, mailings)
            )
            return
        await self.chosen(message, state, day, mailings, data)
