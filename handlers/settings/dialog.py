"""The /settings dialogs' mechanics: the SMTP form's step machine, its draft, asking a step,
and what every dialog button goes through (the step check, then acknowledging the press).

The draft lives in the FSM data (the password only as ciphertext).
"""

from __future__ import annotations

import contextlib

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.mailing_settings import MailingSettingsService, SmtpDraft
from bot.validators import TYPED_WHITESPACE, InputError
from handlers.components.parked import offer_parked
from handlers.settings.callbacks import SmtpFormCb
from handlers.settings.states import ORDER, STATE_OF_STEP, FormStep, step_of_state
from handlers.settings.views import reason_text, show_overview, step_keyboard, step_prompt

# ------------------------------------------------------------------ step machine


def next_step(step: FormStep, draft: SmtpDraft) -> FormStep:
    """The step after `step`; the password is asked only when there is a login."""
    if step == ORDER[-1]:
        return FormStep.CONFIRM
    following = ORDER[ORDER.index(step) + 1]
    if following is FormStep.PASSWORD and not draft.username:
        return next_step(FormStep.PASSWORD, draft)
    return following


def previous_step(step: FormStep, draft: SmtpDraft) -> FormStep | None:
    """The step before `step` (None before the first one)."""
    index = len(ORDER) if step is FormStep.CONFIRM else ORDER.index(step)
    if index == 0:
        return None
    before = ORDER[index - 1]
    if before is FormStep.PASSWORD and not draft.username:
        return previous_step(FormStep.PASSWORD, draft)
    return before


def single_next(step: FormStep, before: SmtpDraft, after: SmtpDraft) -> FormStep | None:
    """When one field is changed alone: the field that has to come with `step` (a new
    security mode usually means another port; a new login, its password), or None when the
    draft goes to verification."""
    if step is FormStep.SECURITY:
        return FormStep.PORT
    new_login = after.username != before.username or not after.password_encrypted
    if step is FormStep.USERNAME and after.username and new_login:
        return FormStep.PASSWORD
    return None


async def single_field(state: FSMContext) -> FormStep | None:
    """The field being changed alone (None when the whole form is walked)."""
    value = (await state.get_data()).get("single")
    return next((step for step in ORDER if step == value), None)


async def ask_single(target: Message, state: FSMContext, step: FormStep, draft: SmtpDraft) -> None:
    """Ask one field alone: its answer goes straight to verification."""
    await state.update_data(draft=draft.to_data(), single=step.value)
    await ask(target, state, step, draft)


async def load_draft(state: FSMContext) -> SmtpDraft:
    """The draft kept in the FSM data."""
    return SmtpDraft.from_data((await state.get_data()).get("draft") or {})


async def store_draft(state: FSMContext, draft: SmtpDraft) -> None:
    """Keep the draft in the FSM data (JSON; the password only as ciphertext)."""
    await state.update_data(draft=draft.to_data())


def refusal(error: InputError, step: FormStep | None = None) -> str:
    """Why a typed value was refused, in words; a refused character only by its code point,
    never echoed (it may be an escape sequence, or part of a password)."""
    if error.reason == "control_char" and error.char not in TYPED_WHITESPACE:
        return _(
            "The value contains a control character ({code}); type it again without it."
        ).format(code=error.code_point)
    if error.reason == "invisible_char":
        return _(
            "The value contains an invisible character ({code}), probably copied along with "
            "it; type it again without it."
        ).format(code=error.code_point)
    if error.reason == "invisible" and step is FormStep.PASSWORD:
        # Refused rather than confirmed: Telegram trims spaces at the ends of a message,
        # so a password of spaces only cannot arrive as typed; it is a slip.
        return _(
            "The password is only spaces or invisible characters. Telegram apps trim spaces "
            "at the ends of a message, so such a password cannot reach me as typed; most "
            "likely it is a slip. Type the password again."
        )
    if error.reason == "invisible":
        return _("The value has no visible characters.")
    return reason_text(error.reason)


async def ask(
    target: Message, state: FSMContext, step: FormStep, draft: SmtpDraft, error: str | None = None
) -> None:
    """Enter a step and ask its question; a refusal reason goes first when there is one."""
    await _close_question(target, state, step, draft)
    await state.set_state(STATE_OF_STEP[step])
    text = step_prompt(step, draft)
    if error:
        text = f"❗ {error}\n\n{text}"
    sent = await target.answer(text, reply_markup=step_keyboard(step, draft))
    await state.update_data(question={"id": sent.message_id, "step": step.value})


async def _close_question(
    target: Message, state: FSMContext, step: FormStep, draft: SmtpDraft
) -> None:
    """The question asked before `step` leaves the chat's live part: answered (the dialog
    moved on), it shows the answer instead of "Current: …"; asked again or left by Back, it
    loses its buttons (only the newest question has live ones)."""
    question = (await state.get_data()).get("question")
    if not isinstance(question, dict) or target.bot is None:
        return
    await state.update_data(question=None)
    asked = next((s for s in (*ORDER, FormStep.CONFIRM) if s.value == question.get("step")), None)
    chat_id, message_id = target.chat.id, question.get("id")
    if asked is None or not isinstance(message_id, int):
        return
    moved_on = asked is not FormStep.CONFIRM and (
        step is FormStep.CONFIRM or ORDER.index(step) > ORDER.index(asked)
    )
    with contextlib.suppress(TelegramBadRequest):
        if moved_on:
            text = step_prompt(asked, draft, answered=True)
            await target.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        else:
            await target.bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)


# ------------------------------------------------------------------ dialog buttons


class AtStep(Filter):
    """A button of `dialog` shown at the step the dialog is at now. The handler gets that
    `step` and the `message` the button is under; a button from an earlier step does not match
    (nor one whose message Telegram no longer gives back)."""

    def __init__(self, dialog: type[StatesGroup]) -> None:
        self.dialog = dialog

    async def __call__(
        self, query: CallbackQuery, callback_data: SmtpFormCb, raw_state: str | None = None
    ) -> bool | dict[str, object]:
        step = step_of_state(raw_state)
        if raw_state not in self.dialog or step is None or callback_data.step != step:
            return False
        if not isinstance(query.message, Message):
            return False
        return {"step": step, "message": query.message}


async def take_button(query: CallbackQuery, message: Message) -> None:
    """Acknowledge a dialog button and take its keyboard away, so a second press cannot
    repeat the action."""
    await query.answer()
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_reply_markup(reply_markup=None)


async def end_dialog(
    target: Message,
    state: FSMContext,
    mailing_settings: MailingSettingsService,
    settings: Settings,
    notice: str | None = None,
) -> None:
    """Leave any dialog (a draft is dropped, the settings in force stay) for the /settings
    page, saying `notice` first when there is one."""
    await state.clear()
    if notice:
        await target.answer(notice)
    await show_overview(target, mailing_settings, settings)
    await offer_parked(target, state)


async def on_cancel(
    query: CallbackQuery,
    message: Message,
    step: FormStep,
    state: FSMContext,
    mailing_settings: MailingSettingsService,
    settings: Settings,
) -> None:
    """Cancel in either dialog: back to the /settings page; the form says its edits are gone."""
    await take_button(query, message)
    in_form = step is not FormStep.TEST
    notice = _("Editing cancelled. The settings in force did not change.") if in_form else None
    await end_dialog(message, state, mailing_settings, settings, notice)
