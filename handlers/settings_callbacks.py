"""Callback data factories of /settings (each payload well under Telegram's 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class SettingsCb(CallbackData, prefix="cfg"):
    """/settings overview: edit the SMTP server, send a test email, switch a channel."""

    action: str


class SmtpFormCb(CallbackData, prefix="smtp"):
    """A button of a settings dialog, tied to the step it was shown in (stale ones refused)."""

    step: str
    action: str
    value: str = ""
