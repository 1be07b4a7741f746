"""Message parts, steps channels, send mode (both channels only) and email subject (Email only)."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.mailings import MailingService
from bot.render import TemplateError, check_template
from bot.validators import InputError, check_typed
from handlers.components.callbacks import ChannelAction, NmChannelCb, NmModeCb
from handlers.components.common import answered, query_message
from handlers.components.states import PartsHost
from handlers.components.texts import channel_name, channels_text, mode_name, template_error_text
from handlers.formatting import quote
from storage.statuses import Channel

SUBJECT_MAX = 200


async def unavailable_reason(mailings: MailingService, channel: str) -> str:
    """Why a channel cannot be chosen, and the fix in words (where in /settings)."""
    if channel == Channel.EMAIL and not await mailings.smtp_configured():
        return _(
            "Email is unavailable: the SMTP server is not set up. Set it up in "
            "/settings → “Set up the SMTP server”; Email goes on once the server is verified."
        )
    if channel == Channel.EMAIL:
        return _("Email is set up but switched off in /settings: press “Turn Email on” there.")
    return _("Telegram is switched off in /settings: press “Turn Telegram on” there.")


async def channel_rows(
    mailings: MailingService, data: dict[str, Any]
) -> tuple[list[list[InlineKeyboardButton]], list[str]]:
    """Toggle buttons for the channels, unavailable ones marked; and the reasons shown."""
    switches = await mailings.channel_switches()
    chosen = set(data.get("channels") or [])
    rows: list[list[InlineKeyboardButton]] = []
    notes: list[str] = []
    for channel, enabled in (
        (Channel.TELEGRAM, switches.telegram_enabled),
        (Channel.EMAIL, switches.email_enabled),
    ):
        name = channel_name(channel)
        if not enabled:
            off = NmChannelCb(action=ChannelAction.OFF, channel=channel)
            text = _("🚫 {channel} — unavailable").format(channel=name)
            rows.append([InlineKeyboardButton(text=text, callback_data=off.pack())])
            notes.append(await unavailable_reason(mailings, channel))
            continue
        mark = "✅" if channel in chosen else "⬜"
        toggle = NmChannelCb(action=ChannelAction.TOGGLE, channel=channel)
        rows.append([InlineKeyboardButton(text=f"{mark} {name}", callback_data=toggle.pack())])
    done = NmChannelCb(action=ChannelAction.DONE)
    rows.append([InlineKeyboardButton(text=_("Done ✔️"), callback_data=done.pack())])
    return rows, notes


def subject_refusal(error: InputError) -> str:
    """Why a typed subject is refused: the reason, never the refused character itself."""
    if error.reason == "control_char":
        return _(
            "The subject contains a control character ({code}); type it again without it."
        ).format(code=error.code_point)
    if error.reason == "invisible":
        return _("The subject has no visible characters. Type the subject of the email.")
    return _("The subject cannot be empty.")


class ChannelSteps:
    """Handlers of the channels, send-mode and subject steps, for one host conversation."""

    def __init__(self, host: PartsHost) -> None:
        self.host = host

    async def on_toggle(
        self, query: CallbackQuery, callback_data: NmChannelCb, state: FSMContext,
        mailings: MailingService,
    ) -> None:  # fmt: skip
        """A channel switched on or off; an "unavailable" one switched on meanwhile toggles too."""
        channel = callback_data.channel
        if channel is None or channel not in (await mailings.channel_switches()).enabled:
            reason = await unavailable_reason(mailings, channel or "")
            await query.answer(reason, show_alert=True)
            return
        data = await state.get_data()
        chosen = [c for c in data.get("channels") or [] if c in tuple(Channel)]
        chosen = [c for c in chosen if c != channel] if channel in chosen else [*chosen, channel]
        await state.update_data(channels=chosen)
        await query.answer()
        message = query_message(query)
        if message is not None:
            rows, _notes = await channel_rows(mailings, {**data, "channels": chosen})
            rows.append(self.host.nav_row("channels", data))
            await message.edit_reply_markup(reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    async def on_done(
        self, query: CallbackQuery, state: FSMContext, mailings: MailingService
    ) -> None:
        enabled = set((await mailings.channel_switches()).enabled)
        data = await state.get_data()
        usable = [c for c in data.get("channels") or [] if c in tuple(Channel) and c in enabled]
        if not usable:
            note = (
                _("Choose at least one channel.")
                if enabled
                else _("No channel is available: switch one on in /settings, or cancel.")
            )
            await query.answer(note, show_alert=True)
            return
        await query.answer()
        message = query_message(query)
        if message is None:
            return
        await state.update_data(channels=usable)
        channels = channels_text(usable)
        await answered(message, state, _("Channels: {channels}").format(channels=channels))
        await self.host.go_next(message, state, "channels", mailings)

    async def on_mode(
        self, query: CallbackQuery, callback_data: NmModeCb, state: FSMContext,
        mailings: MailingService,
    ) -> None:  # fmt: skip
        await query.answer()
        message = query_message(query)
        if message is None:
            return
        await state.update_data(mode=callback_data.mode.value)
        await answered(
            message, state, _("Send mode: {mode}").format(mode=mode_name(callback_data.mode))
        )
        await self.host.go_next(message, state, "mode", mailings)

    async def on_subject(
        self, message: Message, state: FSMContext, mailings: MailingService
    ) -> None:
        raw = message.text or ""
        try:
            check_typed(raw)
        except InputError as error:
            await message.answer(subject_refusal(error))
            return
        if "\n" in raw.strip():
            await message.answer(
                _("The subject must be one line. Type it again without line breaks.")
            )
            return
        subject = " ".join(raw.split())
        if not subject:
            await message.answer(_("The subject cannot be empty."))
            return
        if len(subject) > SUBJECT_MAX:
            await message.answer(
                _(
                    "The subject is {n} characters long; the limit is {max}. Make it shorter."
                ).format(n=len(subject), max=SUBJECT_MAX)
            )
            return
        try:
            check_template(subject)
        except TemplateError as error:
            await message.answer(template_error_text(error))
            return
        await state.update_data(subject=subject)
        await answered(message, state, _("Subject: {subject}").format(subject=quote(subject)))
        await self.host.go_next(message, state, "subject", mailings)
