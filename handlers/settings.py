"""/settings: the mailing channels and the SMTP server — overview, edit dialog, test email.

The edit dialog keeps a draft in the FSM data (the password only as ciphertext);
"Save and verify" puts it in force only when the server accepts it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from html import escape

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.mailing_settings import MailingSettingsService, SmtpDraft
from bot.validators import (
    InputError,
    parse_email,
    parse_host,
    parse_password,
    parse_port,
    parse_sender_name,
    parse_username,
)
from handlers.filters import admin_router
from handlers.settings_callbacks import SettingsCb, SmtpFormCb
from handlers.settings_test_email import EmailTestForm, on_test_address, on_test_button
from handlers.settings_views import (
    ORDER,
    address_keyboard,
    failure_keyboard,
    failure_reason,
    overview_keyboard,
    overview_text,
    reason_text,
    seconds_text,
    show_overview,
    step_keyboard,
    step_prompt,
)
from storage.mailing_settings import SECURITY_MODES


class SmtpForm(StatesGroup):
    """Editing the SMTP settings, one value per step, then save and verify."""

    host = State()
    security = State()
    port = State()
    username = State()
    password = State()
    sender_email = State()
    sender_name = State()
    confirm = State()


STEPS: dict[str, State] = {name: getattr(SmtpForm, name) for name in (*ORDER, "confirm")}
STEPS["test"] = EmailTestForm.address
STEP_OF_STATE: dict[str, str] = {str(state.state): name for name, state in STEPS.items()}

PARSERS: dict[str, Callable[[str], str | int]] = {
    "host": parse_host,
    "port": parse_port,
    "username": parse_username,
    "sender_email": parse_email,
    "sender_name": parse_sender_name,
}


# ------------------------------------------------------------------ dialog mechanics


def next_step(step: str, draft: SmtpDraft) -> str:
    """The step after `step`; the password is asked only when there is a login."""
    if step == ORDER[-1]:
        return "confirm"
    following = ORDER[ORDER.index(step) + 1]
    if following == "password" and not draft.username:
        return next_step("password", draft)
    return following


def previous_step(step: str, draft: SmtpDraft) -> str | None:
    """The step before `step` (None before the first one)."""
    index = len(ORDER) if step == "confirm" else ORDER.index(step)
    if index == 0:
        return None
    before = ORDER[index - 1]
    if before == "password" and not draft.username:
        return previous_step("password", draft)
    return before


async def load_draft(state: FSMContext) -> SmtpDraft:
    """The draft kept in the FSM data."""
    return SmtpDraft.from_data((await state.get_data()).get("draft") or {})


async def store_draft(state: FSMContext, draft: SmtpDraft) -> None:
    """Keep the draft in the FSM data (JSON; the password only as ciphertext)."""
    await state.update_data(draft=draft.to_data())


async def ask(
    target: Message, state: FSMContext, step: str, draft: SmtpDraft, error: str | None = None
) -> None:
    """Enter a step and ask its question; a refusal reason goes first when there is one."""
    await state.set_state(STEPS[step])
    text = step_prompt(step, draft)
    if error:
        text = f"❗ {error}\n\n{text}"
    await target.answer(text, reply_markup=step_keyboard(step, draft))


async def _refresh_overview(
    target: Message, mailing_settings: MailingSettingsService, settings: Settings
) -> None:
    """Redraw the /settings page in place after a switch."""
    current = await mailing_settings.current()
    with contextlib.suppress(TelegramBadRequest):
        await target.edit_text(
            overview_text(current, settings), reply_markup=overview_keyboard(current)
        )


# ------------------------------------------------------------------ handlers


async def on_settings(
    message: Message,
    state: FSMContext,
    mailing_settings: MailingSettingsService,
    settings: Settings,
) -> None:
    """/settings: leave any dialog and show the current mailing settings."""
    await state.clear()
    await show_overview(message, mailing_settings, settings)


async def on_overview_button(
    query: CallbackQuery,
    callback_data: SettingsCb,
    state: FSMContext,
    mailing_settings: MailingSettingsService,
    settings: Settings,
) -> None:
    """A button of the /settings page: start editing, test email, or a channel switch."""
    message = query.message if isinstance(query.message, Message) else None
    action, user_id = callback_data.action, query.from_user.id
    if message is None:
        await query.answer()
        return
    if action == "smtp":
        await query.answer()
        draft = SmtpDraft.from_settings((await mailing_settings.current()).smtp)
        await state.set_data({"draft": draft.to_data()})
        await ask(message, state, "host", draft)
    elif action == "test":
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
    elif action in ("email_on", "email_off"):
        refusal = await mailing_settings.set_email_enabled(action == "email_on", user_id)
        if refusal is not None:
            await query.answer(
                _("Email can be turned on only after the SMTP settings are saved and verified."),
                show_alert=True,
            )
            return
        await query.answer(_("Email is on.") if action == "email_on" else _("Email is off."))
        await _refresh_overview(message, mailing_settings, settings)
    elif action in ("tg_on", "tg_off"):
        await mailing_settings.set_telegram_enabled(action == "tg_on", user_id)
        await query.answer(_("Telegram is on.") if action == "tg_on" else _("Telegram is off."))
        await _refresh_overview(message, mailing_settings, settings)
    else:
        await query.answer()


async def on_value(message: Message, state: FSMContext) -> None:
    """A typed value for the current step: checked, kept in the draft, next step."""
    step = STEP_OF_STATE[str(await state.get_state())]
    draft = await load_draft(state)
    try:
        value = PARSERS[step](message.text or "")
    except InputError as exc:
        await ask(message, state, step, draft, error=reason_text(exc.reason))
        return
    draft = draft.replace(**{step: value})
    await store_draft(state, draft)
    await ask(message, state, next_step(step, draft), draft)


async def on_password(
    message: Message, state: FSMContext, mailing_settings: MailingSettingsService
) -> None:
    """The password: deleted from the chat at once, encrypted into the draft, never echoed."""
    if message.text is None:
        draft = await load_draft(state)
        await ask(message, state, "password", draft, error=_("Send the password as text."))
        return
    try:
        await message.delete()
        notice = _("🔒 I deleted your message with the password from the chat.")
    except TelegramAPIError:
        notice = _("⚠️ I could not delete your message with the password: please delete it.")
    draft = await load_draft(state)
    try:
        sealed = mailing_settings.seal_password(parse_password(message.text))
    except InputError as exc:
        await message.answer(notice)
        await ask(message, state, "password", draft, error=reason_text(exc.reason))
        return
    draft = draft.replace(password_encrypted=sealed)
    await store_draft(state, draft)
    await message.answer(notice + "\n" + _("The password is kept encrypted."))
    await ask(message, state, next_step("password", draft), draft)


async def on_use_buttons(message: Message, state: FSMContext) -> None:
    """Typed text where a button is expected: say so and ask again."""
    step = STEP_OF_STATE[str(await state.get_state())]
    await ask(message, state, step, await load_draft(state), error=_("Use the buttons below."))


async def on_form_button(
    query: CallbackQuery,
    callback_data: SmtpFormCb,
    state: FSMContext,
    mailing_settings: MailingSettingsService,
    settings: Settings,
) -> None:
    """A button of the SMTP dialog or the test email; one from an earlier step is refused."""
    step = STEP_OF_STATE.get(str(await state.get_state()))
    message = query.message if isinstance(query.message, Message) else None
    if callback_data.step != step or message is None:
        await query.answer(_("This button belongs to an earlier step."), show_alert=True)
        return
    await query.answer()
    # The pressed keyboard goes away, so a second press cannot repeat the action.
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_reply_markup(reply_markup=None)
    if step == "test":
        await on_test_button(message, state, callback_data, mailing_settings, settings, query)
        return
    draft = await load_draft(state)
    action = callback_data.action
    if action == "cancel":
        await state.clear()
        await message.answer(_("Editing cancelled. The settings in force did not change."))
        await show_overview(message, mailing_settings, settings)
    elif action == "back":
        before = previous_step(step, draft)
        if before is None:
            await state.clear()
            await show_overview(message, mailing_settings, settings)
        else:
            await ask(message, state, before, draft)
    elif action == "skip":
        await ask(message, state, next_step(step, draft), draft)
    elif action in ("set", "clear", "login"):
        draft = _apply_button(step, action, callback_data.value, draft)
        await store_draft(state, draft)
        await ask(message, state, next_step(step, draft), draft)
    elif action in ("save", "retry"):
        await _save(message, state, draft, mailing_settings, settings, query.from_user.id)
    elif action == "edit":
        await ask(message, state, "host", draft)


def _apply_button(step: str, action: str, value: str, draft: SmtpDraft) -> SmtpDraft:
    """The draft after a choice button: security mode, usual port, login as sender, clear."""
    if step == "security":
        mode = next((m for m in SECURITY_MODES if m == value), None)
        return draft.replace(security=mode) if mode else draft
    if step == "port":
        with contextlib.suppress(InputError):
            return draft.replace(port=parse_port(value))
    if step == "username" and action == "clear":
        return draft.replace(username=None, password_encrypted=None)
    if step == "sender_email" and action == "login" and draft.username:
        with contextlib.suppress(InputError):
            return draft.replace(sender_email=parse_email(draft.username))
    if step == "sender_name" and action == "clear":
        return draft.replace(sender_name=None)
    return draft


async def _save(
    message: Message,
    state: FSMContext,
    draft: SmtpDraft,
    mailing_settings: MailingSettingsService,
    settings: Settings,
    user_id: int,
) -> None:
    """Save = verify: the draft goes in force only if the server accepts it."""
    missing = draft.missing()
    if missing:
        await ask(message, state, missing[0], draft, error=_("This value is required."))
        return
    assert draft.host and draft.port and draft.security and draft.sender_email
    status = await message.answer(
        _("⏳ Checking {server}… This takes up to {seconds} s.").format(
            server=escape(f"{draft.host}:{draft.port}"),
            seconds=seconds_text(mailing_settings.smtp_timeout),
        )
    )
    result = await mailing_settings.save_and_verify(draft, user_id)
    if result.ok:
        await state.clear()
        await status.edit_text("✅ " + _("Mailing settings saved and verified"))
        await show_overview(message, mailing_settings, settings)
        return
    reason = failure_reason(
        result,
        host=draft.host,
        port=draft.port,
        security=draft.security,
        sender=draft.sender_email,
        timeout=mailing_settings.smtp_timeout,
    )
    await status.edit_text(
        "❌ "
        + _("The settings could not be verified: {reason}").format(reason=reason)
        + "\n"
        + _("The settings in force did not change."),
        reply_markup=failure_keyboard("confirm"),
    )


async def on_stale_button(query: CallbackQuery) -> None:
    """A dialog button pressed after the dialog ended."""
    await query.answer(_("This dialog is over. Open /settings again."), show_alert=True)


def create_router() -> Router:
    """The /settings router; admins only."""
    router = admin_router("settings")
    typed = F.text & ~F.text.startswith("/")
    router.message.register(on_settings, Command("settings"))
    router.callback_query.register(on_overview_button, SettingsCb.filter())
    router.callback_query.register(
        on_form_button, SmtpFormCb.filter(), StateFilter(SmtpForm, EmailTestForm)
    )
    router.callback_query.register(on_stale_button, SmtpFormCb.filter())
    # Any text is a password, even one starting with "/"; it is deleted either way.
    router.message.register(on_password, SmtpForm.password)
    router.message.register(
        on_value,
        StateFilter(
            SmtpForm.host,
            SmtpForm.port,
            SmtpForm.username,
            SmtpForm.sender_email,
            SmtpForm.sender_name,
        ),
        typed,
    )
    router.message.register(on_use_buttons, StateFilter(SmtpForm.security, SmtpForm.confirm))
    router.message.register(on_test_address, EmailTestForm.address, typed)
    return router
