"""Callback data of the new-mailing conversation (each payload well under 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class NmNavCb(CallbackData, prefix="nmn"):
    """Moving through the conversation: back, cancel, skip, resume, restart."""

    action: str


class NmSegmentCb(CallbackData, prefix="nms"):
    """A segment chosen."""

    segment_id: int


class CalendarCb(CallbackData, prefix="cal"):
    """The calendar: a day picked, another month shown, today, or a label (noop)."""

    action: str  # day, month, today, noop
    year: int = 0
    month: int = 0
    day: int = 0


class NmTimeCb(CallbackData, prefix="nmt"):
    """A quick time button: "now" or HHMM."""

    value: str


class NmChannelCb(CallbackData, prefix="nmc"):
    """Channels step: toggle a channel, an unavailable one pressed, or done."""

    action: str  # toggle, off, done
    channel: str = ""


class NmModeCb(CallbackData, prefix="nmm"):
    """Send mode: all, priority-telegram, priority-email."""

    mode: str


class NmPreviewCb(CallbackData, prefix="nmp"):
    """Preview buttons: confirm, edit, test, test_tg, test_email, show."""

    action: str


class NmEditCb(CallbackData, prefix="nme"):
    """Jump to a step from the preview's Edit menu."""

    step: str
