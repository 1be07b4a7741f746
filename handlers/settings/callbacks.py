"""Callback data factories of /settings (each payload well under Telegram's 64 bytes).

The actions' values are what buttons already sent to chats carry: never rename them.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from handlers.settings.states import FormStep, InboxStep


class OverviewAction(StrEnum):
    """A button of the /settings page."""

    SMTP = "smtp"  # set up or change the SMTP server
    TEST = "test"  # send a test email
    EMAIL_ON = "email_on"
    EMAIL_OFF = "email_off"
    TG_ON = "tg_on"
    TG_OFF = "tg_off"
    LIMITS = "limits"  # quiet hours and the frequency cap (handlers/settings/limits.py)
    INBOX = "inbox"  # the mailbox read for unsubscribes and bounces


class SettingsCb(CallbackData, prefix="cfg"):
    """/settings overview: edit the SMTP server, send a test email, switch a channel."""

    action: OverviewAction


class FormAction(StrEnum):
    """A button of the SMTP form or the test email dialog."""

    SET = "set"  # a choice: the security mode or the usual port, in `value`
    CLEAR = "clear"  # no login / no sender name
    LOGIN = "login"  # the login is the sender address
    SKIP = "skip"  # keep the current value
    BACK = "back"
    CANCEL = "cancel"
    SAVE = "save"
    RETRY = "retry"  # after a failed check or test email
    EDIT = "edit"  # after a failed check: change the settings
    FIELD = "field"  # after a failed check: change the one field in `value`, then verify
    TO_SENDER = "to_sender"  # the test email to the sender's own mailbox


class SmtpFormCb(CallbackData, prefix="smtp"):
    """A button of a settings dialog, tied to the step it was shown in (stale ones refused)."""

    step: FormStep
    action: FormAction
    value: str = ""


class FieldCb(CallbackData, prefix="cfgf"):
    """/settings overview: change one field of the SMTP settings in force, then verify."""

    field: FormStep


class LimitsAction(StrEnum):
    """A button of the quiet hours and frequency cap dialog."""

    KEEP = "keep"  # keep the value in force, go on
    OFF = "off"  # turn it off
    PROMOTIONS = "promotions"  # the global cap holds back promotions only
    ALL = "all"  # the global cap holds back every mailing
    CANCEL = "cancel"


class LimitsCb(CallbackData, prefix="lim"):
    """A button of the limits dialog, tied to the step it was shown in."""

    step: str
    action: LimitsAction


class InboxAction(StrEnum):
    """A button of the mailbox dialog."""

    KEEP = "keep"  # take the value shown (the current or the proposed one)
    SET = "set"  # the security mode or the usual port, in `value`
    SAVE = "save"  # save and verify (also "Try again")
    FIELD = "field"  # after a failed check: ask the step in `value` again
    OFF = "off"  # stop reading the mailbox
    CANCEL = "cancel"


class InboxCb(CallbackData, prefix="inbox"):
    """A button of the mailbox dialog, tied to the step it was shown in."""

    step: InboxStep
    action: InboxAction
    value: str = ""
