"""Callback data of a running mailing's controls (payloads well under Telegram's 64 bytes)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class RunAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"  # asks first
    CANCEL_YES = "cancel_yes"
    CANCEL_NO = "cancel_no"
    UNKNOWN = "unknown"  # resend the rows left unknown by a crash
    NOW = "now"  # send a missed mailing now


class RunCb(CallbackData, prefix="run"):
    """A control of a mailing run."""

    action: RunAction
    mailing_id: int
