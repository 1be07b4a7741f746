"""/new: the new-mailing conversation, one module per group of steps.

The steps and their order: docs/architecture.md, "A mailing's path".
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter, or_f
from aiogram.filters.callback_data import CallbackQueryFilter

from handlers.components.callbacks import NmChannelCb, NmModeCb, NmTimeCb
from handlers.components.parked import ParkedCb
from handlers.filters import admin_router
from handlers.new_mailing import confirm, control, preview, preview_email, steps
from handlers.new_mailing.callbacks import (
    NavAction,
    NmConfirmCb,
    NmEditCb,
    NmNavCb,
    NmPreviewCb,
    NmSegmentCb,
    PreviewAction,
)
from handlers.new_mailing.control import start_new
from handlers.new_mailing.flow import PARTS
from handlers.new_mailing.states import NewMailing

__all__ = ["NewMailing", "create_router", "start_new"]

_COMMAND = F.text.regexp(r"^/[A-Za-z0-9_]+(?:@\w+)?(?:\s|$)")


def _nav(action: NavAction) -> CallbackQueryFilter:
    return NmNavCb.filter(F.action == action)


def _preview(action: PreviewAction) -> CallbackQueryFilter:
    return NmPreviewCb.filter(F.action == action)


def create_router() -> Router:
    """The conversation's router; it must come before the others so that it hears any
    command mid-conversation: /cancel leaves, the others are answered with how to go on."""
    r = admin_router("new_mailing")
    m, c = r.message, r.callback_query
    s = NewMailing
    m.register(control.on_cancel_command, StateFilter(s), Command("cancel"))
    m.register(control.on_command_midway, StateFilter(s), _COMMAND)
    m.register(control.on_new, Command("new"))

    c.register(control.on_cancel_button, _nav(NavAction.CANCEL))
    c.register(control.on_restart, _nav(NavAction.RESTART))
    c.register(control.on_resume, _nav(NavAction.RESUME), StateFilter(s))
    c.register(control.on_unpark, ParkedCb.filter())
    c.register(control.on_back, _nav(NavAction.BACK), StateFilter(s))
    m.register(steps.on_name, s.name, F.text)
    c.register(steps.on_segment, NmSegmentCb.filter(), s.segment)
    steps.DATE.register(r, s.date)
    steps.TIME.register(r, s.time)
    PARTS.register(r, skip=_nav(NavAction.SKIP))
    preview_states = StateFilter(s.preview, s.test_email)
    c.register(confirm.on_confirm, NmConfirmCb.filter(), preview_states)
    c.register(confirm.on_confirm_keyless, _preview(PreviewAction.CONFIRM), preview_states)
    c.register(confirm.on_confirm_again, NmConfirmCb.filter())
    c.register(preview.on_edit, _preview(PreviewAction.EDIT), preview_states)
    c.register(preview.on_show, _preview(PreviewAction.SHOW), preview_states)
    c.register(preview.on_show_new, _preview(PreviewAction.SHOW_NEW), preview_states)
    c.register(preview.on_test, _preview(PreviewAction.TEST), preview_states)
    c.register(preview.on_test_telegram, _preview(PreviewAction.TEST_TG), preview_states)
    c.register(preview.on_test_email, _preview(PreviewAction.TEST_EMAIL), preview_states)
    c.register(preview.on_edit_step, NmEditCb.filter(), s.preview)
    c.register(preview_email.on_last_address, _nav(NavAction.LAST_EMAIL), s.test_email)
    m.register(preview_email.on_test_address, s.test_email, F.text)

    # Off-script: old buttons, input of the wrong kind.
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
