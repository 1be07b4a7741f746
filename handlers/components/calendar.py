"""The date picker's keyboard, our own: Babel's month and weekday names, past days not offered."""

from __future__ import annotations

import calendar
from datetime import date

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date, get_day_names

from handlers.components.callbacks import CalendarAction, CalendarCb

# How many months ahead the calendar goes (typed dates have the same horizon).
MONTHS_AHEAD = 12
_BLANK = " "


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def _noop(text: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=CalendarCb(action=CalendarAction.NOOP).pack()
    )


def month_title(year: int, month: int, locale: str) -> str:
    title = format_date(date(year, month, 1), "LLLL yyyy", locale=locale)
    return title[:1].upper() + title[1:]


def in_range(year: int, month: int, today: date) -> bool:
    """Whether the month lies between this month and MONTHS_AHEAD months ahead."""
    months = (year - today.year) * 12 + (month - today.month)
    return 0 <= months <= MONTHS_AHEAD


def calendar_rows(
    today: date, locale: str, year: int | None = None, month: int | None = None
) -> list[list[InlineKeyboardButton]]:
    """A month's grid (Monday first): navigation, weekday names, days from today on."""
    year, month = year or today.year, month or today.month
    if not in_range(year, month, today):
        year, month = today.year, today.month
    prev_y, prev_m = _shift(year, month, -1)
    next_y, next_m = _shift(year, month, 1)
    nav = [
        InlineKeyboardButton(
            text="‹",
            callback_data=CalendarCb(action=CalendarAction.MONTH, year=prev_y, month=prev_m).pack(),
        )
        if in_range(prev_y, prev_m, today)
        else _noop(_BLANK),
        _noop(month_title(year, month, locale)),
        InlineKeyboardButton(
            text="›",
            callback_data=CalendarCb(action=CalendarAction.MONTH, year=next_y, month=next_m).pack(),
        )
        if in_range(next_y, next_m, today)
        else _noop(_BLANK),
    ]
    names = get_day_names("abbreviated", "stand-alone", locale=locale)
    rows = [nav, [_noop(str(names[i])) for i in range(7)]]
    for week in calendar.Calendar(firstweekday=0).monthdayscalendar(year, month):
        row = []
        for day in week:
            if day == 0 or date(year, month, day) < today:
                row.append(_noop(_BLANK if day == 0 else "·"))
                continue
            text = f"[{day}]" if date(year, month, day) == today else str(day)
            data = CalendarCb(action=CalendarAction.DAY, year=year, month=month, day=day)
            row.append(InlineKeyboardButton(text=text, callback_data=data.pack()))
        rows.append(row)
    rows.append(
        [
            InlineKeyboardButton(
                text=_("📅 Today"), callback_data=CalendarCb(action=CalendarAction.TODAY).pack()
            )
        ]
    )
    return rows


def calendar_markup(
    today: date,
    locale: str,
    year: int | None = None,
    month: int | None = None,
    extra: list[list[InlineKeyboardButton]] | None = None,
) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[*calendar_rows(today, locale, year, month), *(extra or [])]
    )
