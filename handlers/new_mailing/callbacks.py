"""Callback data of the new-mailing conversation (each payload well under 64 bytes).

The calendar, quick times, channels and send mode are the shared components' own
(handlers/components/callbacks.py).
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class NavAction(StrEnum):
    BACK = "back"
    CANCEL = "cancel"
    SKIP = "skip"
    RESUME = "resume"  # ask the current question again
    RESTART = "restart"  # drop the unfinished draft and start over
    LAST_EMAIL = "last_email"  # the test email to the address used last time


class NmNavCb(CallbackData, prefix="nmn"):
    """Moving through the conversation."""

    action: NavAction


class NmSegmentCb(CallbackData, prefix="nms"):
    """A segment chosen."""

    segment_id: int


class PreviewAction(StrEnum):
    CONFIRM = "confirm"
    EDIT = "edit"  # the Edit menu under the preview
    TEST = "test"  # Send test to me: the choice, or the Telegram message when there is no email
    TEST_TG = "test_tg"
    TEST_EMAIL = "test_email"  # ask for the address
    SHOW = "show"  # the preview's buttons again, on the same message
    SHOW_NEW = "show_new"  # the whole preview again


class NmPreviewCb(CallbackData, prefix="nmp"):
    """Preview buttons."""

    action: PreviewAction


class NmConfirmCb(CallbackData, prefix="nmk"):
    """Confirm of one draft: its key tells, even after the draft is gone, which mailing
    it became (docs/architecture.md, "Engine invariants": one mailing per draft)."""

    draft_key: str


class EditStep(StrEnum):
    """The steps the preview's Edit menu goes back to (the NewMailing state names)."""

    NAME = "name"
    SEGMENT = "segment"
    DATE = "date"
    TIME = "time"
    CHANNELS = "channels"
    MODE = "mode"
    SUBJECT = "subject"
    TEXT = "text"
    IMAGE = "image"


class NmEditCb(CallbackData, prefix="nme"):
    """Jump to a step from the preview's Edit menu."""

    step: EditStep
