"""Moving around the conversation: /new, resume, Back, Cancel, Skip, and what is off-script."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.mailings import MailingService
from handlers.components.common import query_message
from handlers.components.parked import unpark
from handlers.formatting import quote
from handlers.keyboards import main_menu
from handlers.new_mailing.callbacks import NavAction, NmNavCb
from handlers.new_mailing.flow import previous_step, show_step, step_of
from handlers.new_mailing.preview import show_preview


def step_title(step: str) -> str:
    return {
        "name": _("name"),
        "segment": _("segment"),
        "date": _("date"),
        "time": _("time"),
        "channels": _("channels"),
        "mode": _("send mode"),
        "subject": _("email subject"),
        "text": _("text"),
        "image": _("image"),
        "preview": _("preview"),
        "test_email": _("test email"),
    }.get(step, step)


def _resume_markup(*, restart: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("▶️ Continue"), callback_data=NmNavCb(action=NavAction.RESUME))
    if restart:
        kb.button(text=_("🆕 Start over"), callback_data=NmNavCb(action=NavAction.RESTART))
    kb.button(text=_("✖️ Cancel"), callback_data=NmNavCb(action=NavAction.CANCEL))
    kb.adjust(1)
    return kb.as_markup()


async def _where(state: FSMContext) -> str:
    data = await state.get_data()
    step = step_of(await state.get_state()) or "name"
    name = data.get("name")
    if name:
        return _("You are composing the mailing “{name}” (step: {step}).").format(
            name=quote(name), step=step_title(step)
        )
    return _("You are composing a new mailing (step: {step}).").format(step=step_title(step))


async def start_new(target: Message, state: FSMContext, mailings: MailingService) -> None:
    """/new: offer to resume an unfinished draft, else begin with the name."""
    if step_of(await state.get_state()) is not None:
        await target.answer(
            await _where(state) + "\n" + _("Continue it, or start a new one?"),
            reply_markup=_resume_markup(restart=True),
        )
        return
    await state.clear()
    await show_step(target, state, "name", mailings)


async def on_new(message: Message, state: FSMContext, mailings: MailingService) -> None:
    await start_new(message, state, mailings)


async def resume(target: Message, state: FSMContext, mailings: MailingService) -> None:
    """Ask the current step's question again (after a restart, a stray command...)."""
    step = step_of(await state.get_state())
    if step is None:
        await target.answer(_("There is no mailing draft. /new starts one."))
    elif step in ("preview", "test_email"):
        await show_preview(target, state, mailings)
    else:
        await show_step(target, state, step, mailings)


async def on_cancel_button(query: CallbackQuery, state: FSMContext) -> None:
    """Cancel under a step (heard in any state: the draft may be gone already)."""
    await query.answer(_("Cancelled."))
    message = query_message(query)
    if message is None:
        return
    await message.edit_reply_markup(reply_markup=None)
    await state.clear()
    await message.answer(_("The mailing draft is cancelled."), reply_markup=main_menu())


async def on_restart(query: CallbackQuery, state: FSMContext, mailings: MailingService) -> None:
    """Start over: the unfinished draft is dropped."""
    await query.answer()
    message = query_message(query)
    if message is not None:
        await state.clear()
        await show_step(message, state, "name", mailings)


async def on_resume(query: CallbackQuery, state: FSMContext, mailings: MailingService) -> None:
    await query.answer()
    message = query_message(query)
    if message is not None:
        await resume(message, state, mailings)


async def on_back(query: CallbackQuery, state: FSMContext, mailings: MailingService) -> None:
    step = step_of(await state.get_state()) or "name"
    target = previous_step(step, await state.get_data()) if step != "test_email" else "preview"
    if target is None:
        await query.answer(_("This is the first step."), show_alert=True)
        return
    await query.answer()
    message = query_message(query)
    if message is not None:
        await show_step(message, state, target, mailings, in_place=message)


async def on_cancel_command(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("Cancelled. The mailing draft is dropped."), reply_markup=main_menu())


async def on_unpark(query: CallbackQuery, state: FSMContext, mailings: MailingService) -> None:
    """Continue the mailing: the parked draft comes back at its step."""
    message = query_message(query)
    if not await unpark(state):
        await query.answer(
            _("This draft is finished or cancelled. /new starts a new mailing."), show_alert=True
        )
        return
    await query.answer()
    if message is not None:
        await resume(message, state, mailings)


async def on_command_midway(message: Message, state: FSMContext) -> None:
    """Any command but /cancel during the conversation: how to go on or leave."""
    is_new = (message.text or "").split(maxsplit=1)[0].split("@")[0] == "/new"
    text = (
        await _where(state)
        + "\n"
        + _(
            "Answer the question above, or press Continue to see it again. /cancel drops the draft."
        )
    )
    await message.answer(text, reply_markup=_resume_markup(restart=is_new))


async def stale_button(query: CallbackQuery, state: FSMContext, mailings: MailingService) -> None:
    """A button from an earlier step: say so and ask the current question again."""
    await query.answer(_("This button belongs to an earlier step. The current question is below."))
    message = query_message(query)
    if message is not None:
        await resume(message, state, mailings)


async def on_finished_button(query: CallbackQuery) -> None:
    await query.answer(
        _("This draft is finished or cancelled. /new starts a new mailing."), show_alert=True
    )


async def on_buttons_only(message: Message, state: FSMContext, mailings: MailingService) -> None:
    """Typed input where the step wants a button press."""
    await message.answer(_("Please choose with the buttons."))
    await resume(message, state, mailings)


async def on_preview_typed(message: Message) -> None:
    await message.answer(
        _("Use the buttons under the preview: Confirm, Edit, Send test to me or Cancel.")
    )


async def on_not_text(message: Message) -> None:
    await message.answer(_("Please type your answer as a text message."))
