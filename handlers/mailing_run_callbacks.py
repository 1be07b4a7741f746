"""Callback data of a running mailing's controls (payloads well under Telegram's 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class RunCb(CallbackData, prefix="run"):
    """A control of a mailing run.

    action: pause, resume, cancel (asks first), cancel_yes, cancel_no, unknown
    (resend the unknown rows), now (send a missed mailing now).
    """

    action: str
    mailing_id: int
