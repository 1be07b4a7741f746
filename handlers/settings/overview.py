"""/settings page: the command, and its buttons — edit the SMTP server, send a test email,
switch a channel. One handler per button (OverviewAction)."""

from __future__ import annotations

import contextlib

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.mailing_settings import MailingSettingsService, SmtpDraft
from handlers.components.parked import park_draft
from handlers.settings.callbacks import FieldCb, OverviewAction, SettingsCb
from handlers.settings.dialog import ask, ask_single, end_dialog
from handlers.settings.inbox_views import page_line as inbox_page_line
from handlers.settings.states import EmailTestForm, FormStep
from handlers.settings.views import (
    address_keyboard,
    overview_keyboard,
    overview_text,
)
from storage.statuses import Channel


async def on_settings(
    message: Message,
    state: FSMContext,
    mailing_settings: MailingSettingsService,
    settings: Settings,
) -> None:
    """/settings: leave any dialog (a mailing draft is put aside, not lost) and show the
    current mailing settings."""
    await park_draft(state)
    await end_dialog(message, state, mailing_settings, settings)


async def on_edit_smtp(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    mailing_settings: MailingSettingsService,
) -> None:
    """Set up or change the SMTP server: the form, starting from the settings in force."""
    await query.answer()
    draft = SmtpDraft.from_settings((await mailing_settings.current()).smtp)
    await state.set_data({"draft": draft.to_data()})
    await ask(message, state, FormStep.HOST, draft)


async def on_change_field(
    query: CallbackQuery,
    callback_data: FieldCb,
    message: Message,
    state: FSMContext,
    mailing_settings: MailingSettingsService,
) -> None:
    """ "Change: server / port / …" on the page: that field alone, starting from the settings
    in force, then verification before it takes force."""
    smtp = (await mailing_settings.current()).smtp
    if smtp is None:
        await query.answer(_("Set up and verify the SMTP server first."), show_alert=True)
        return
    await query.answer()
    await state.set_data({})
    await ask_single(message, state, callback_data.field, SmtpDraft.from_settings(smtp))


async def on_test_email(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    mailing_settings: MailingSettingsService,
) -> None:
    """Send a test email: ask for the address (the sender's own mailbox is one tap)."""
    smtp = (await mailing_settings.current()).smtp
    if smtp is None:
        await query.answer(_("Set up and verify the SMTP server first."), show_alert=True)
        return
    await query.answer()
    await state.set_state(EmailTestForm.address)
    await state.set_data({})
    await message.answer(
        _("Type the email address to send a test email to."),
        reply_markup=address_keyboard(smtp.sender_email),
    )


# The switch buttons: the channel each one switches, and whether on.
SWITCHES: dict[OverviewAction, tuple[Channel, bool]] = {
    OverviewAction.EMAIL_ON: (Channel.EMAIL, True),
    OverviewAction.EMAIL_OFF: (Channel.EMAIL, False),
    OverviewAction.TG_ON: (Channel.TELEGRAM, True),
    OverviewAction.TG_OFF: (Channel.TELEGRAM, False),
}


def _switched(channel: Channel, on: bool) -> str:
    """What a switch press answers."""
    if channel is Channel.EMAIL:
        return _("Email is on.") if on else _("Email is off.")
    return _("Telegram is on.") if on else _("Telegram is off.")


async def on_channel_switch(
    query: CallbackQuery,
    callback_data: SettingsCb,
    message: Message,
    mailing_settings: MailingSettingsService,
    settings: Settings,
) -> None:
    """Turn a channel on or off; Email is refused without verified SMTP settings."""
    channel, on = SWITCHES[callback_data.action]
    refusal = await mailing_settings.set_channel(channel, on, query.from_user.id)
    if refusal is not None:
        await query.answer(
            _("Email can be turned on only after the SMTP settings are saved and verified."),
            show_alert=True,
        )
        return
    await query.answer(_switched(channel, on))
    await _refresh_overview(message, mailing_settings, settings)


async def on_page_gone(query: CallbackQuery) -> None:
    """A button of a /settings page Telegram no longer gives back: nothing to answer under."""
    await query.answer()


async def _refresh_overview(
    target: Message, mailing_settings: MailingSettingsService, settings: Settings
) -> None:
    """Redraw the /settings page in place after a switch."""
    current = await mailing_settings.current()
    with contextlib.suppress(TelegramBadRequest):
        text = overview_text(current, settings) + await inbox_page_line(settings)
        await target.edit_text(text, reply_markup=overview_keyboard(current))
