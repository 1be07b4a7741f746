"""/settings → Mailbox for unsubscribes and bounces: the dialog, then save = a real login.

The draft starts from the mailbox in force, else from the SMTP settings (usually the same
mailbox). It lives in the FSM data, the password only as ciphertext; a typed password is
deleted from the chat at once and never shown again. A failed check keeps the dialog at
its last step with buttons to change what the failure points to.
"""

from __future__ import annotations

import contextlib
from html import escape

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Filter, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.inbox.imap import DEFAULT_PORTS
from bot.inbox.service import InboxDraft, InboxService
from bot.mailing_settings import MailingSettingsService
from bot.validators import InputError, parse_host, parse_password, parse_port, parse_username
from handlers.filters import ButtonMessage
from handlers.settings.callbacks import InboxAction, InboxCb, OverviewAction, SettingsCb
from handlers.settings.dialog import end_dialog, refusal, take_button
from handlers.settings.inbox_views import (
    failure_keyboard,
    failure_reason,
    step_keyboard,
    step_prompt,
)
from handlers.settings.states import INBOX_ORDER, FormStep, InboxForm, InboxStep
from storage.inbox import IMAP_SECURITY_MODES, ImapSecurity

_PARSERS = {
    InboxStep.HOST: parse_host,
    InboxStep.PORT: parse_port,
    InboxStep.USERNAME: parse_username,
}
# Refusal reasons are worded for the SMTP form's steps of the same names.
_AS_FORM_STEP = {InboxStep.PASSWORD: FormStep.PASSWORD}


def _state(step: InboxStep) -> str:
    return str(getattr(InboxForm, step.value).state)


def _step_of(raw_state: str | None) -> InboxStep | None:
    return next((step for step in InboxStep if _state(step) == raw_state), None)


def _next(step: InboxStep) -> InboxStep:
    at = INBOX_ORDER.index(step)
    return INBOX_ORDER[at + 1] if at + 1 < len(INBOX_ORDER) else InboxStep.CONFIRM


async def _draft(state: FSMContext) -> InboxDraft:
    return InboxDraft.from_data((await state.get_data()).get("inbox") or {})


async def _ask(
    target: Message,
    state: FSMContext,
    step: InboxStep,
    draft: InboxDraft,
    inbox: InboxService,
    error: str | None = None,
) -> None:
    """Keep the draft, enter a step and ask its question (a refusal reason first)."""
    await state.update_data(inbox=draft.to_data())
    await state.set_state(getattr(InboxForm, step.value))
    text = step_prompt(step, draft)
    if error:
        text = f"❗ {error}\n\n{text}"
    in_force = (await inbox.status()).settings is not None
    await target.answer(text, reply_markup=step_keyboard(step, draft, in_force=in_force))


class AtInboxStep(Filter):
    """A mailbox dialog button shown at the step the dialog is at now."""

    async def __call__(
        self, query: CallbackQuery, callback_data: InboxCb, raw_state: str | None = None
    ) -> bool | dict[str, object]:
        step = _step_of(raw_state)
        if step is None or callback_data.step != step or not isinstance(query.message, Message):
            return False
        return {"step": step, "message": query.message}


async def on_open(
    query: CallbackQuery, message: Message, state: FSMContext, inbox: InboxService
) -> None:
    """The page's button: the dialog, from the mailbox in force or the SMTP settings."""
    await query.answer()
    await state.set_data({})
    await _ask(message, state, InboxStep.HOST, await inbox.draft(), inbox)


async def on_value(message: Message, state: FSMContext, inbox: InboxService) -> None:
    """A typed server, port or login: checked, kept, next step."""
    step = _step_of(await state.get_state())
    assert step is not None
    draft = await _draft(state)
    try:
        value = _PARSERS[step](message.text or "")
    except InputError as exc:
        await _ask(message, state, step, draft, inbox, error=refusal(exc))
        return
    await _ask(message, state, _next(step), draft.replace(**{step.value: value}), inbox)


async def on_password(message: Message, state: FSMContext, inbox: InboxService) -> None:
    """The password: deleted from the chat at once, encrypted into the draft, never echoed."""
    draft = await _draft(state)
    if message.text is None:
        await _ask(
            message, state, InboxStep.PASSWORD, draft, inbox, _("Send the password as text.")
        )
        return
    try:
        await message.delete()
        notice = _("🔒 I deleted your message with the password from the chat.")
    except TelegramAPIError:
        notice = _("⚠️ I could not delete your message with the password: please delete it.")
    try:
        sealed = inbox.seal_password(parse_password(message.text))
    except InputError as exc:
        await message.answer(notice)
        error = refusal(exc, FormStep.PASSWORD)
        await _ask(message, state, InboxStep.PASSWORD, draft, inbox, error)
        return
    await message.answer(notice + "\n" + _("The password is kept encrypted."))
    await _ask(message, state, InboxStep.CONFIRM, draft.replace(password_encrypted=sealed), inbox)


async def on_use_buttons(message: Message, state: FSMContext, inbox: InboxService) -> None:
    """Typed text where a button is expected."""
    step = _step_of(await state.get_state()) or InboxStep.CONFIRM
    await _ask(message, state, step, await _draft(state), inbox, error=_("Use the buttons below."))


async def on_keep(
    query: CallbackQuery, message: Message, step: InboxStep, state: FSMContext, inbox: InboxService
) -> None:
    """Keep the value shown; next step."""
    await take_button(query, message)
    await _ask(message, state, _next(step), await _draft(state), inbox)


async def on_set(
    query: CallbackQuery,
    callback_data: InboxCb,
    message: Message,
    step: InboxStep,
    state: FSMContext,
    inbox: InboxService,
) -> None:
    """A choice: the security mode (the port follows it when it was the usual one), or the
    usual port."""
    await take_button(query, message)
    draft = await _draft(state)
    if step is InboxStep.SECURITY:
        mode: ImapSecurity = next(
            (m for m in IMAP_SECURITY_MODES if m == callback_data.value), "tls"
        )
        usual_before = draft.port is None or draft.port in DEFAULT_PORTS.values()
        port = DEFAULT_PORTS[mode] if usual_before else draft.port
        draft = draft.replace(security=mode, port=port)
    elif step is InboxStep.PORT:
        with contextlib.suppress(InputError):
            draft = draft.replace(port=parse_port(callback_data.value))
    await _ask(message, state, _next(step), draft, inbox)


async def on_field(
    query: CallbackQuery,
    callback_data: InboxCb,
    message: Message,
    state: FSMContext,
    inbox: InboxService,
) -> None:
    """After a failed check: ask one step again (the password, the login, or from the start)."""
    await take_button(query, message)
    step = next((s for s in INBOX_ORDER if s == callback_data.value), InboxStep.HOST)
    await _ask(message, state, step, await _draft(state), inbox)


async def on_save(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    inbox: InboxService,
    mailing_settings: MailingSettingsService,
    settings: Settings,
) -> None:
    """Save and verify (or Try again): the settings take force only if the login works."""
    await take_button(query, message)
    draft = await _draft(state)
    if draft.missing():
        first = InboxStep(draft.missing()[0].replace("password_encrypted", "password"))
        await _ask(message, state, first, draft, inbox, error=_("This value is required."))
        return
    status = await message.answer(
        _("⏳ Checking {server}…").format(server=escape(f"{draft.host}:{draft.port}"))
    )
    error = await inbox.save_and_verify(draft, query.from_user.id)
    if error is None:
        await status.edit_text(
            "✅ "
            + _(
                "The mailbox is verified. I will read it every few minutes: unsubscribe "
                "requests and bounce reports are handled and marked read; other mail stays unread."
            )
        )
        await end_dialog(message, state, mailing_settings, settings)
        return
    await status.edit_text(
        "❌ "
        + _("The mailbox could not be opened: {reason}").format(reason=failure_reason(error, draft))
        + "\n"
        + _("The settings in force did not change."),
        reply_markup=failure_keyboard(error),
    )


async def on_off(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    inbox: InboxService,
    mailing_settings: MailingSettingsService,
    settings: Settings,
) -> None:
    """Stop reading the mailbox."""
    await take_button(query, message)
    await inbox.turn_off(query.from_user.id)
    notice = _("I no longer read the mailbox.")
    await end_dialog(message, state, mailing_settings, settings, notice)


async def on_cancel(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    mailing_settings: MailingSettingsService,
    settings: Settings,
) -> None:
    await take_button(query, message)
    notice = _("Editing cancelled. The settings in force did not change.")
    await end_dialog(message, state, mailing_settings, settings, notice)


async def on_stale(query: CallbackQuery) -> None:
    """A button of this dialog from an earlier step, or after it ended."""
    await query.answer(_("This dialog is over. Open /settings again."), show_alert=True)


def register(router: Router) -> None:
    """The page's button, the dialog's buttons (at their step), then what is typed."""
    cb = router.callback_query
    cb.register(on_open, SettingsCb.filter(F.action == OverviewAction.INBOX), ButtonMessage())
    at = AtInboxStep()

    def press(action: InboxAction) -> CallbackQueryFilter:
        return InboxCb.filter(F.action == action)

    cb.register(on_cancel, press(InboxAction.CANCEL), at)
    cb.register(on_keep, press(InboxAction.KEEP), at)
    cb.register(on_set, press(InboxAction.SET), at)
    cb.register(on_field, press(InboxAction.FIELD), at)
    cb.register(on_save, press(InboxAction.SAVE), at)
    cb.register(on_off, press(InboxAction.OFF), at)
    cb.register(on_stale, InboxCb.filter())
    typed = F.text & ~F.text.startswith("/")
    router.message.register(on_password, InboxForm.password)
    router.message.register(
        on_value, StateFilter(InboxForm.host, InboxForm.port, InboxForm.username), typed
    )
    router.message.register(
        on_use_buttons, StateFilter(InboxForm.security, InboxForm.confirm), typed
    )
