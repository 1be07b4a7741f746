"""Callback data of /history (payloads well under 64 bytes)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class HistoryAction(StrEnum):
    PAGE = "page"  # a page of the list
    OPEN = "open"  # a mailing's card
    ASK = "ask"  # Cancel mailing: ask first
    CANCEL = "cancel"  # the cancellation confirmed
    MOVE = "move"  # Change time: the date picker
    TIME = "time"  # a quick time of buttons sent before the shared time picker (value HHMM)
    FILTER = "filter"  # a quick date range (value: bot.history.Preset)
    RESET = "reset"  # drop the search words
    EXPORT = "export"  # the list (mailing_id 0) or one mailing as XLSX
    CHART = "chart"  # the mailing's outcome as a picture
    COPY = "copy"  # duplicate as a new draft in /new
    FAILED = "failed"  # resend a finished mailing's failed rows


class HistoryCb(CallbackData, prefix="hist"):
    """History: the list, a card and its buttons."""

    action: HistoryAction
    mailing_id: int = 0
    page: int = 0
    value: str = ""
