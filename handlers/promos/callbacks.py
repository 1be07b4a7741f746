"""Callback data of /promos (each payload well under 64 bytes).

The calendar, quick times, channels and send mode are the shared components' own
(handlers/components/callbacks.py).
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.promotions.schedule import ScheduleKind


class PromoAction(StrEnum):
    LIST = "list"
    OPEN = "open"
    NEW = "new"
    ENABLE = "on"
    DISABLE = "off"
    EDIT = "edit"
    DUPLICATE = "dup"
    DELETE = "del"  # asks first
    DELETE_YES = "del_yes"
    RUN = "run"  # asks first
    RUN_YES = "run_yes"
    PREVIEW = "show"  # the message as a real guest of its segment gets it


class PromoCb(CallbackData, prefix="pr"):
    """The list and a promotion's card."""

    action: PromoAction
    promotion_id: int = 0


class EditorAction(StrEnum):
    BACK = "back"
    CANCEL = "cancel"
    SKIP = "skip"
    WEEKDAYS_DONE = "wd_done"
    NO_END = "no_end"
    NO_CAP = "no_cap"
    SAVE = "save"
    EDIT = "edit"  # the preview's Edit menu
    PREVIEW = "preview"  # back to the preview from the Edit menu


class PrNavCb(CallbackData, prefix="prn"):
    """Moving through the promotion's editor."""

    action: EditorAction


class PrSegmentCb(CallbackData, prefix="prs"):
    segment_id: int


class PrKindCb(CallbackData, prefix="prf"):
    kind: ScheduleKind


class PrWeekdayCb(CallbackData, prefix="prw"):
    """A weekday switched on or off (0 = Monday)."""

    day: int


class PrCapCb(CallbackData, prefix="prc"):
    """A quick frequency cap, in days."""

    days: int


class EditStep(StrEnum):
    """The steps the preview's Edit menu goes back to (PromoEditor state names)."""

    NAME = "name"
    SEGMENT = "segment"
    KIND = "kind"
    TIME = "time"
    CHANNELS = "channels"
    TEXT = "text"
    IMAGE = "image"
    STARTS = "starts"
    ENDS = "ends"
    CAP = "cap"


class PrEditCb(CallbackData, prefix="pre"):
    step: EditStep
