"""/settings → SMTP server: the form's typed values and buttons, then save and verify.

"Save and verify" puts the draft in force only when the server accepts it. Each button
action (FormAction) has its own handler; they run only at the step the button was shown in
(AtStep), after the press is acknowledged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from html import escape

from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, User
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
from handlers.settings.callbacks import SmtpFormCb
from handlers.settings.dialog import (
    ask,
    ask_single,
    end_dialog,
    load_draft,
    next_step,
    previous_step,
    refusal,
    single_field,
    single_next,
    store_draft,
    take_button,
)
from handlers.settings.failures import failure_fields, failure_reason, seconds_text
from handlers.settings.states import ORDER, FormStep, SmtpForm, step_of_state
from handlers.settings.views import failure_keyboard
from storage.mailing_settings import SECURITY_MODES

# The steps answered by typing, and how each typed value is checked.
PARSERS: dict[FormStep, Callable[[str], str | int]] = {
    FormStep.HOST: parse_host,
    FormStep.PORT: parse_port,
    FormStep.USERNAME: parse_username,
    FormStep.SENDER_EMAIL: parse_email,
    FormStep.SENDER_NAME: parse_sender_name,
}


async def _current_step(state: FSMContext) -> FormStep:
    """The step the form is at (the handlers' state filters guarantee there is one)."""
    step = step_of_state(await state.get_state())
    assert step is not None
    return step


async def _advance(
    message: Message,
    state: FSMContext,
    step: FormStep,
    change: tuple[SmtpDraft, SmtpDraft],
    mailing_settings: MailingSettingsService,
    settings: Settings,
    user: User,
) -> None:
    """Keep the draft (`change`: before and after this step) and ask the step after `step`;
    when one field is changed alone, the draft goes to verification once it is answered."""
    before, draft = change
    await store_draft(state, draft)
    if await single_field(state) is None:
        await ask(message, state, next_step(step, draft), draft)
        return
    follow = single_next(step, before, draft)
    if follow is not None:
        await ask(message, state, follow, draft)
        return
    await state.set_state(SmtpForm.confirm)
    await _checked_save(message, state, mailing_settings, settings, user.id)


# ------------------------------------------------------------------ typed values


async def on_value(
    message: Message,
    state: FSMContext,
    mailing_settings: MailingSettingsService,
    settings: Settings,
    event_from_user: User,
) -> None:
    """A typed value for the current step: checked, kept in the draft, next step."""
    step = await _current_step(state)
    draft = await load_draft(state)
    try:
        value = PARSERS[step](message.text or "")
    except InputError as exc:
        await ask(message, state, step, draft, error=refusal(exc, step))
        return
    change = (draft, draft.replace(**{step.value: value}))
    await _advance(message, state, step, change, mailing_settings, settings, event_from_user)


async def on_password(
    message: Message,
    state: FSMContext,
    mailing_settings: MailingSettingsService,
    settings: Settings,
    event_from_user: User,
) -> None:
    """The password: deleted from the chat at once, encrypted into the draft, never echoed."""
    if message.text is None:
        draft = await load_draft(state)
        await ask(message, state, FormStep.PASSWORD, draft, error=_("Send the password as text."))
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
        await ask(message, state, FormStep.PASSWORD, draft, error=refusal(exc, FormStep.PASSWORD))
        return
    await message.answer(notice + "\n" + _("The password is kept encrypted."))
    change = (draft, draft.replace(password_encrypted=sealed))
    await _advance(
        message, state, FormStep.PASSWORD, change, mailing_settings, settings, event_from_user
    )


async def on_use_buttons(message: Message, state: FSMContext) -> None:
    """Typed text where a button is expected: say so and ask again."""
    step = await _current_step(state)
    await ask(message, state, step, await load_draft(state), error=_("Use the buttons below."))


# ------------------------------------------------------------------ buttons


async def on_back(
    query: CallbackQuery,
    message: Message,
    step: FormStep,
    state: FSMContext,
    mailing_settings: MailingSettingsService,
    settings: Settings,
) -> None:
    """Back: the previous step, or the /settings page from the first one; from a field
    changed alone, the summary of the draft."""
    await take_button(query, message)
    draft = await load_draft(state)
    if step is await single_field(state):
        await state.update_data(single=None)
        await ask(message, state, FormStep.CONFIRM, draft)
        return
    before = previous_step(step, draft)
    if before is None:
        await end_dialog(message, state, mailing_settings, settings)
    else:
        await ask(message, state, before, draft)


# What a button does to the draft at its step, given the button's value.
DraftChange = Callable[[FormStep, SmtpDraft, str], SmtpDraft]
ButtonHandler = Callable[
    [CallbackQuery, SmtpFormCb, Message, FormStep, FSMContext, MailingSettingsService, Settings],
    Awaitable[None],
]


def _draft_button(change: DraftChange) -> ButtonHandler:
    """The handler of a button that changes the draft, then asks the next step."""

    async def on_press(
        query: CallbackQuery,
        callback_data: SmtpFormCb,
        message: Message,
        step: FormStep,
        state: FSMContext,
        mailing_settings: MailingSettingsService,
        settings: Settings,
    ) -> None:
        await take_button(query, message)
        draft = await load_draft(state)
        changed = (draft, change(step, draft, callback_data.value))
        await _advance(message, state, step, changed, mailing_settings, settings, query.from_user)

    return on_press


def _keep(step: FormStep, draft: SmtpDraft, value: str) -> SmtpDraft:
    """Skip: the current value stays."""
    return draft


def _choose(step: FormStep, draft: SmtpDraft, value: str) -> SmtpDraft:
    """A choice button: the security mode, or the usual port for it."""
    if step is FormStep.SECURITY:
        mode = next((m for m in SECURITY_MODES if m == value), None)
        return draft.replace(security=mode) if mode else draft
    if step is FormStep.PORT:
        with contextlib.suppress(InputError):
            return draft.replace(port=parse_port(value))
    return draft


def _clear(step: FormStep, draft: SmtpDraft, value: str) -> SmtpDraft:
    """The "No login" button (the password goes with it) or "No name"."""
    if step is FormStep.USERNAME:
        return draft.replace(username=None, password_encrypted=None)
    if step is FormStep.SENDER_NAME:
        return draft.replace(sender_name=None)
    return draft


def _login(step: FormStep, draft: SmtpDraft, value: str) -> SmtpDraft:
    """The "Use <login>" button: the login, a mailbox address, becomes the sender address."""
    if step is FormStep.SENDER_EMAIL and draft.username:
        with contextlib.suppress(InputError):
            return draft.replace(sender_email=parse_email(draft.username))
    return draft


on_skip = _draft_button(_keep)
on_set = _draft_button(_choose)
on_clear = _draft_button(_clear)
on_login = _draft_button(_login)


async def on_edit(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    """After a failed check, "Change the settings": the form again from the first step."""
    await take_button(query, message)
    await state.update_data(single=None)
    await ask(message, state, FormStep.HOST, await load_draft(state))


async def on_field(
    query: CallbackQuery, callback_data: SmtpFormCb, message: Message, state: FSMContext
) -> None:
    """After a failed check, "Change the password" (or the field the failure points to):
    that field alone, then verification again."""
    field = next((step for step in ORDER if step == callback_data.value), FormStep.HOST)
    await take_button(query, message)
    await ask_single(message, state, field, await load_draft(state))


async def on_save(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    mailing_settings: MailingSettingsService,
    settings: Settings,
) -> None:
    """Save and verify, or Try again after a failed check; a second tap meanwhile only says
    that the check is under way (one verification, one answer)."""
    user_id = query.from_user.id
    if not mailing_settings.begin_check(user_id):
        await query.answer(_("These settings are being checked: the answer follows here."))
        return
    try:
        await take_button(query, message)
        await _save(message, state, await load_draft(state), mailing_settings, settings, user_id)
    finally:
        mailing_settings.end_check(user_id)


async def _checked_save(
    message: Message,
    state: FSMContext,
    mailing_settings: MailingSettingsService,
    settings: Settings,
    user_id: int,
) -> None:
    """Save and verify after a field changed alone; one check per admin at a time (while
    one is under way, its answer is the one that counts)."""
    if not mailing_settings.begin_check(user_id):
        await message.answer(_("These settings are being checked: the answer follows here."))
        return
    try:
        await _save(message, state, await load_draft(state), mailing_settings, settings, user_id)
    finally:
        mailing_settings.end_check(user_id)


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
        first = FormStep(missing[0])
        await ask(message, state, first, draft, error=_("This value is required."))
        return
    status = await message.answer(
        _("⏳ Checking {server}… This takes up to {seconds} s.").format(
            server=escape(f"{draft.host}:{draft.port}"),
            seconds=seconds_text(mailing_settings.smtp_timeout),
        )
    )
    email_was_on = await mailing_settings.email_enabled()
    result = await mailing_settings.save_and_verify(draft, user_id)
    if result.ok:
        text = "✅ " + _("Mailing settings saved and verified")
        if not email_was_on and await mailing_settings.email_enabled():
            text += "\n" + _("Email is on — mailings can go out by email.")
        await status.edit_text(text)
        # The dialog ends as every dialog does: the page, then a draft put aside, if any.
        await end_dialog(message, state, mailing_settings, settings)
        return
    await state.update_data(single=None)
    reason = failure_reason(result, draft, mailing_settings.smtp_timeout)
    await status.edit_text(
        "❌ "
        + _("The settings could not be verified: {reason}").format(reason=reason)
        + "\n"
        + _("The settings in force did not change."),
        reply_markup=failure_keyboard(FormStep.CONFIRM, failure_fields(result, draft)),
    )
