"""/new: the new-mailing conversation (DESIGN section 5), one module per group of steps."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter, or_f

from handlers.filters import admin_router
from handlers.new_mailing import channels, content, control, preview, preview_email, steps
from handlers.new_mailing.callbacks import (
    CalendarCb,
    NmChannelCb,
    NmEditCb,
    NmModeCb,
    NmNavCb,
    NmPreviewCb,
    NmSegmentCb,
    NmTimeCb,
)
from handlers.new_mailing.control import start_new
from handlers.new_mailing.flow import NewMailing

__all__ = ["NewMailing", "create_router", "start_new"]

_COMMAND = F.text.regexp(r"^/[A-Za-z0-9_]+(?:@\w+)?(?:\s|$)")


def create_router() -> Router:
    """The conversation's router; it must come before the others so that it hears any
    command mid-conversation: /cancel leaves, the others are answered with how to go on."""
    r = admin_router("new_mailing")
    m, c = r.message, r.callback_query
    s = NewMailing
    m.register(control.on_cancel_command, StateFilter(s), Command("cancel"))
    m.register(control.on_command_midway, StateFilter(s), _COMMAND)
    m.register(control.on_new, Command("new"))

    c.register(control.on_nav, NmNavCb.filter(F.action != "last_email"), StateFilter(s))
    c.register(control.on_nav, NmNavCb.filter(F.action.in_({"cancel", "restart"})))
    m.register(steps.on_name, s.name, F.text)
    c.register(steps.on_segment, NmSegmentCb.filter(), s.segment)
    m.register(steps.on_date_typed, s.date, F.text)
    c.register(steps.on_calendar, CalendarCb.filter(), s.date)
    m.register(steps.on_time_typed, s.time, F.text)
    c.register(steps.on_time_button, NmTimeCb.filter(), s.time)
    c.register(channels.on_channel, NmChannelCb.filter(), s.channels)
    c.register(channels.on_mode, NmModeCb.filter(), s.mode)
    m.register(channels.on_subject, s.subject, F.text)
    m.register(content.on_text, s.text, F.text)
    m.register(content.on_text_other, s.text)
    m.register(content.on_image, s.image, F.photo)
    m.register(content.on_image, s.image, F.document)  # Pillow decides what it really is
    m.register(content.on_image_other, s.image)
    c.register(
        preview.on_preview_button, NmPreviewCb.filter(), StateFilter(s.preview, s.test_email)
    )
    c.register(preview.on_edit_step, NmEditCb.filter(), s.preview)
    c.register(
        preview_email.on_last_address, NmNavCb.filter(F.action == "last_email"), s.test_email
    )
    m.register(preview_email.on_test_address, s.test_email, F.text)

    # Off-script: calendar labels, old buttons, input of the wrong kind.
    c.register(steps.on_calendar, CalendarCb.filter(F.action == "noop"))
    c.register(control.stale_button, StateFilter(s))
    finished = or_f(
        NmNavCb.filter(), NmSegmentCb.filter(), NmTimeCb.filter(), NmChannelCb.filter(),
        NmModeCb.filter(), NmPreviewCb.filter(), NmEditCb.filter(),
    )  # fmt: skip
    c.register(control.on_finished_button, finished, StateFilter(None))
    m.register(control.on_buttons_only, StateFilter(s.segment, s.channels, s.mode))
    m.register(control.on_preview_typed, s.preview)
    m.register(control.on_not_text, StateFilter(s))
    return r
