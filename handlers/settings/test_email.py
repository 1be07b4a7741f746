"""/settings → "Send a test email": to a typed address (or the sender's own mailbox)
through the settings in force, reported like a verification."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.mailing_settings import MailingSettingsService
from bot.validators import InputError, parse_email
from handlers.settings.dialog import refusal, take_button
from handlers.settings.failures import failure_reason
from handlers.settings.states import FormStep
from handlers.settings.views import (
    address_keyboard,
    failure_keyboard,
    switch_email_on_keyboard,
)
from storage.mailing_settings import SmtpSettings

# ------------------------------------------------------------------ buttons (FormStep.TEST)

# Where a test email button sends to, given the settings in force and the dialog's data.
Recipient = Callable[[SmtpSettings, dict[str, Any]], str]
ButtonHandler = Callable[
    [CallbackQuery, Message, FSMContext, MailingSettingsService], Awaitable[None]
]


def _send_button(recipient: Recipient) -> ButtonHandler:
    """The handler of a button that sends the test email to `recipient`."""

    async def on_press(
        query: CallbackQuery,
        message: Message,
        state: FSMContext,
        mailing_settings: MailingSettingsService,
    ) -> None:
        await take_button(query, message)
        smtp = await _smtp_in_force(message, state, mailing_settings)
        if smtp is not None:
            to = recipient(smtp, await state.get_data())
            await send_test(message, state, to, mailing_settings, query.from_user.id)

    return on_press


# The "Send to <sender>" button: the test email to the sender's own mailbox.
on_test_to_sender = _send_button(lambda smtp, data: smtp.sender_email)
# Try again: the test email once more, to the address it last went to.
on_test_retry = _send_button(lambda smtp, data: str(data.get("test_to") or smtp.sender_email))


async def _smtp_in_force(
    message: Message, state: FSMContext, mailing_settings: MailingSettingsService
) -> SmtpSettings | None:
    """The SMTP settings a test email goes through; without any, the dialog ends and says so."""
    smtp = (await mailing_settings.current()).smtp
    if smtp is None:
        await state.clear()
        await message.answer(_("Set up and verify the SMTP server first."))
    return smtp


# ------------------------------------------------------------------ the address and the email


def _test_body(email_on: bool) -> str:
    """The test email's text; it promises guests' mail only when Email is on."""
    if email_on:
        return _(
            "This is a test email from ProBonus Mailer.\n"
            "If you are reading it, email mailings will reach guests this way."
        )
    return _(
        "This is a test email from ProBonus Mailer.\n"
        "The server works; mailings will use it once Email is switched on in /settings."
    )


async def on_test_address(
    message: Message, state: FSMContext, mailing_settings: MailingSettingsService
) -> None:
    """The address typed for a test email: checked, then the email is sent."""
    try:
        to = parse_email(message.text or "")
    except InputError as exc:
        smtp = (await mailing_settings.current()).smtp
        markup = address_keyboard(smtp.sender_email) if smtp else None
        await message.answer(
            f"❗ {refusal(exc)}\n\n" + _("Type the email address to send a test email to."),
            reply_markup=markup,
        )
        return
    user_id = message.from_user.id if message.from_user else None
    await send_test(message, state, to, mailing_settings, user_id)


async def send_test(
    message: Message,
    state: FSMContext,
    to: str,
    mailing_settings: MailingSettingsService,
    user_id: int | None,
) -> None:
    """Send the test email through the settings in force and report like a verification."""
    await state.update_data(test_to=to)
    status = await message.answer(_("⏳ Sending a test email to {to}…").format(to=escape(to)))
    email_on = await mailing_settings.email_enabled()
    result = await mailing_settings.send_test(
        to,
        user_id,
        subject=_("Test email: checking the mailing settings"),
        body=_test_body(email_on),
    )
    if result.ok:
        await state.clear()
        sent = _(
            "The test email to {to} was sent. If it is not in the inbox within a few "
            "minutes, look in the spam folder."
        ).format(to=escape(to))
        if email_on:
            await status.edit_text("✅ " + sent)
            return
        # The server works, but mailings do not use it: say so, and offer the switch here.
        off = _(
            "⚠️ Email is off in /settings: mailings do not use email until it is switched on. "
            "Turn it on with the button below."
        )
        await status.edit_text(f"✅ {sent}\n\n{off}", reply_markup=switch_email_on_keyboard())
        return
    smtp = (await mailing_settings.current()).smtp
    reason = failure_reason(result, smtp, mailing_settings.smtp_timeout, recipient=to)
    await status.edit_text(
        "❌ " + _("The test email was not sent: {reason}").format(reason=reason),
        reply_markup=failure_keyboard(FormStep.TEST),
    )
