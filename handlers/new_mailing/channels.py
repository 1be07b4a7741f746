"""Steps 5-7: channels, send mode (both channels only) and the email subject (Email only)."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.mailings import MailingService
from bot.render import TemplateError, check_template
from handlers.formatting import quote
from handlers.new_mailing.callbacks import NmChannelCb, NmModeCb
from handlers.new_mailing.flow import (
    MODES,
    SUBJECT_MAX,
    channel_rows,
    go_next,
    nav_row,
    unavailable_reason,
)
from handlers.new_mailing.steps import retire
from handlers.new_mailing.texts import channels_text, mode_name, template_error_text


async def on_channel(
    query: CallbackQuery, callback_data: NmChannelCb, state: FSMContext, mailings: MailingService
) -> None:
    data = await state.get_data()
    chosen = [c for c in data.get("channels") or [] if c in ("telegram", "email")]
    switches = await mailings.channel_switches()
    enabled = set(switches.enabled)
    if callback_data.action == "off" and callback_data.channel not in enabled:
        await query.answer(
            await unavailable_reason(mailings, callback_data.channel), show_alert=True
        )
        return
    # An "unavailable" button whose channel was switched on meanwhile works as a toggle.
    if callback_data.action in ("toggle", "off"):
        channel = callback_data.channel
        if channel not in enabled:
            await query.answer(await unavailable_reason(mailings, channel), show_alert=True)
            return
        chosen = [c for c in chosen if c != channel] if channel in chosen else [*chosen, channel]
        await state.update_data(channels=chosen)
        await query.answer()
        if isinstance(query.message, Message):
            rows, _notes = await channel_rows(mailings, {**data, "channels": chosen})
            rows.append(nav_row("channels", data))
            await query.message.edit_reply_markup(
                reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
            )
        return
    usable = [c for c in chosen if c in enabled]
    if not usable:
        note = (
            _("Choose at least one channel.")
            if enabled
            else _("No channel is available: switch one on in /settings, or cancel.")
        )
        await query.answer(note, show_alert=True)
        return
    message = await retire(query)
    if message is None:
        return
    await state.update_data(channels=usable)
    await message.answer(_("Channels: {channels}").format(channels=channels_text(usable)))
    await go_next(message, state, "channels", mailings)


async def on_mode(
    query: CallbackQuery, callback_data: NmModeCb, state: FSMContext, mailings: MailingService
) -> None:
    if callback_data.mode not in MODES:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    message = await retire(query)
    if message is None:
        return
    await state.update_data(mode=callback_data.mode)
    await message.answer(_("Send mode: {mode}").format(mode=mode_name(callback_data.mode)))
    await go_next(message, state, "mode", mailings)


async def on_subject(message: Message, state: FSMContext, mailings: MailingService) -> None:
    raw = message.text or ""
    if "\n" in raw.strip():
        await message.answer(_("The subject must be one line. Type it again without line breaks."))
        return
    subject = " ".join(raw.split())
    if not subject:
        await message.answer(_("The subject cannot be empty."))
        return
    if len(subject) > SUBJECT_MAX:
        await message.answer(
            _("The subject is {n} characters long; the limit is {max}. Make it shorter.").format(
                n=len(subject), max=SUBJECT_MAX
            )
        )
        return
    try:
        check_template(subject)
    except TemplateError as error:
        await message.answer(template_error_text(error))
        return
    await state.update_data(subject=subject)
    await message.answer(_("Subject: {subject}").format(subject=quote(subject)))
    await go_next(message, state, "subject", mailings)
