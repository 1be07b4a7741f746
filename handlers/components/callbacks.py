"""Callback data of the shared conversation parts (each payload well under 64 bytes).

The prefixes are those the parts had inside /new, so buttons already in chats keep working.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from storage.statuses import Channel, ModeChoice


class CalendarAction(StrEnum):
    DAY = "day"  # a day picked
    MONTH = "month"  # another month shown
    TODAY = "today"
    NOOP = "noop"  # a label: month title, weekday, a blank or past day


class CalendarCb(CallbackData, prefix="cal"):
    """The calendar of the date picker."""

    action: CalendarAction
    year: int = 0
    month: int = 0
    day: int = 0


class NmTimeCb(CallbackData, prefix="nmt"):
    """A quick time of the time picker: "now" or HHMM."""

    value: str


class ChannelAction(StrEnum):
    TOGGLE = "toggle"
    OFF = "off"  # an unavailable channel pressed: say why
    DONE = "done"


class NmChannelCb(CallbackData, prefix="nmc"):
    """The channels step of the message parts."""

    action: ChannelAction
    channel: Channel | None = None


class NmModeCb(CallbackData, prefix="nmm"):
    """The send-mode step of the message parts."""

    mode: ModeChoice
