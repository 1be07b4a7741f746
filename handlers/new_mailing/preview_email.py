"""Step 10, "Send test to me" → "Email to an address": the draft's email, rendered for
the preview's guest, through the SMTP settings in force; failures in plain words."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.mailing_settings import MailingSettingsService
from bot.mailings import Draft, MailingService
from bot.secrets import SecretDecryptError
from bot.validators import InputError, parse_email
from handlers.components.parts_preview import sample_recipient
from handlers.formatting import quote
from handlers.new_mailing.preview import draft_key, preview_markup, show_preview
from handlers.new_mailing.states import NewMailing
from handlers.settings.views import failure_reason


async def on_test_address(
    message: Message,
    state: FSMContext,
    mailings: MailingService,
    mailing_settings: MailingSettingsService,
) -> None:
    try:
        address = parse_email(message.text or "")
    except InputError:
        await message.answer(
            _("This does not look like an email address. Type it like name@example.com.")
        )
        return
    await _send_test_email(message, state, mailings, mailing_settings, address)


async def on_last_address(
    query: CallbackQuery,
    state: FSMContext,
    mailings: MailingService,
    mailing_settings: MailingSettingsService,
) -> None:
    await query.answer()
    address = (await state.get_data()).get("test_email")
    if isinstance(query.message, Message) and address:
        await _send_test_email(query.message, state, mailings, mailing_settings, address)


async def _send_test_email(
    message: Message,
    state: FSMContext,
    mailings: MailingService,
    mailing_settings: MailingSettingsService,
    address: str,
) -> None:
    await state.update_data(test_email=address)
    try:
        config = await mailing_settings.smtp_config()
    except SecretDecryptError:
        config = None
    if config is None:
        await message.answer(_("Email is not set up: verify the SMTP settings in /settings first."))
        await show_preview(message, state, mailings)
        return
    draft = Draft.from_data(await state.get_data())
    preview = await mailings.preview(draft, sample_recipient())
    result = await mailings.send_test_email(draft, preview.recipient, address, config)
    if not result.ok:
        reason = failure_reason(result, config, config.timeout, recipient=address)
        text = _("The test email to {address} was not sent: {reason}").format(
            address=quote(address), reason=reason
        )
    else:
        text = _("📧 The test email was sent to {address}.").format(address=quote(address))
    await state.set_state(NewMailing.preview)
    await message.answer(text, reply_markup=preview_markup(await draft_key(state)))
