"""/settings: the mailing channels and the SMTP server — overview, edit form, test email.

overview.py answers the /settings page, form.py the SMTP form, test_email.py the test email;
dialog.py holds the form's step machine and what every dialog button goes through.
The order the handlers are registered in is all here.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from handlers.filters import ButtonMessage, admin_router
from handlers.settings import form, inbox, limits, overview, test_email
from handlers.settings.callbacks import (
    FieldCb,
    FormAction,
    OverviewAction,
    SettingsCb,
    SmtpFormCb,
)
from handlers.settings.dialog import AtStep, on_cancel
from handlers.settings.states import EmailTestForm, SmtpForm


async def on_earlier_step(query: CallbackQuery) -> None:
    """A dialog button from a step the dialog has left."""
    await query.answer(_("This button belongs to an earlier step."), show_alert=True)


async def on_stale_button(query: CallbackQuery) -> None:
    """A dialog button pressed after the dialog ended."""
    await query.answer(_("This dialog is over. Open /settings again."), show_alert=True)


def _register_overview(router: Router) -> None:
    """The /settings command and its page's buttons."""
    page = router.callback_query
    on = SettingsCb.filter
    page.register(overview.on_edit_smtp, on(F.action == OverviewAction.SMTP), ButtonMessage())
    page.register(overview.on_test_email, on(F.action == OverviewAction.TEST), ButtonMessage())
    page.register(limits.on_open, on(F.action == OverviewAction.LIMITS), ButtonMessage())
    page.register(overview.on_change_field, FieldCb.filter(), ButtonMessage())
    switches = set(overview.SWITCHES)
    page.register(overview.on_channel_switch, on(F.action.in_(switches)), ButtonMessage())
    page.register(overview.on_page_gone, SettingsCb.filter())
    page.register(overview.on_page_gone, FieldCb.filter())


def _register_buttons(router: Router) -> None:
    """The dialogs' buttons: one handler per action, at the step it was shown in; then
    the ones from an earlier step, then the ones of a dialog already over."""
    buttons = router.callback_query
    at_test, at_form = AtStep(EmailTestForm), AtStep(SmtpForm)

    def press(action: FormAction) -> CallbackQueryFilter:
        return SmtpFormCb.filter(F.action == action)

    buttons.register(on_cancel, press(FormAction.CANCEL), at_test)
    buttons.register(test_email.on_test_to_sender, press(FormAction.TO_SENDER), at_test)
    buttons.register(test_email.on_test_retry, press(FormAction.RETRY), at_test)
    buttons.register(on_cancel, press(FormAction.CANCEL), at_form)
    buttons.register(form.on_back, press(FormAction.BACK), at_form)
    buttons.register(form.on_skip, press(FormAction.SKIP), at_form)
    buttons.register(form.on_set, press(FormAction.SET), at_form)
    buttons.register(form.on_clear, press(FormAction.CLEAR), at_form)
    buttons.register(form.on_login, press(FormAction.LOGIN), at_form)
    buttons.register(form.on_save, press(FormAction.SAVE), at_form)
    buttons.register(form.on_save, press(FormAction.RETRY), at_form)
    buttons.register(form.on_edit, press(FormAction.EDIT), at_form)
    buttons.register(form.on_field, press(FormAction.FIELD), at_form)
    buttons.register(on_earlier_step, SmtpFormCb.filter(), StateFilter(SmtpForm, EmailTestForm))
    buttons.register(on_stale_button, SmtpFormCb.filter())


def _register_typed(router: Router) -> None:
    """What the admin types in the dialogs."""
    typed = F.text & ~F.text.startswith("/")
    # Any text is a password, even one starting with "/"; it is deleted either way.
    router.message.register(form.on_password, SmtpForm.password)
    router.message.register(
        form.on_value,
        StateFilter(
            SmtpForm.host,
            SmtpForm.port,
            SmtpForm.username,
            SmtpForm.sender_email,
            SmtpForm.sender_name,
        ),
        typed,
    )
    router.message.register(form.on_use_buttons, StateFilter(SmtpForm.security, SmtpForm.confirm))
    router.message.register(test_email.on_test_address, EmailTestForm.address, typed)


def create_command_router() -> Router:
    """/settings, heard in any state before the other routers: a mailing draft open at
    that moment is put aside (Email may need the settings first) and offered back."""
    router = admin_router("settings_command")
    router.message.register(overview.on_settings, Command("settings"))
    return router


def create_router() -> Router:
    """The /settings router; admins only."""
    router = admin_router("settings")
    inbox.register(router)  # before the page's catch-all for buttons it no longer shows
    _register_overview(router)
    _register_buttons(router)
    _register_typed(router)
    limits.register(router)
    return router
