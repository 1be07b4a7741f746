"""Small helpers every conversation part uses."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _


def query_message(query: CallbackQuery) -> Message | None:
    """The message a button sits under (None when Telegram no longer gives it)."""
    return query.message if isinstance(query.message, Message) else None


async def retire(query: CallbackQuery, note: str | None = None) -> Message | None:
    """Answer a pressed button and take the keyboard off its message (it has done its job)."""
    await query.answer(note)
    message = query_message(query)
    if message is not None and message.reply_markup is not None:
        await message.edit_reply_markup(reply_markup=None)
    return message


async def show_in_place(
    message: Message, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Edit the message to `text`; one that already says so (a second tap) is left as is."""
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "message is not modified" not in exc.message:
            raise


# A conversation's current question (docs/architecture.md, "Conversations and shared
# components"): its message id and text, kept in the FSM data so that once it is answered it
# can show the answer and lose its buttons — only the newest question in the chat is live.
QUESTION_KEY = "question"


async def remember_question(state: FSMContext, message: Message, text: str) -> None:
    """The question just sent (or edited in place) is the conversation's live one."""
    await state.update_data({QUESTION_KEY: {"id": message.message_id, "text": text}})


async def live_question(state: FSMContext) -> int | None:
    """The message id of the conversation's live question, if it is known."""
    question = (await state.get_data()).get(QUESTION_KEY)
    found = question.get("id") if isinstance(question, dict) else None
    return found if isinstance(found, int) else None


async def close_question(target: Message, state: FSMContext, answer: str | None = None) -> bool:
    """The live question is done: with `answer`, it is edited to show it after a ✅; without,
    it only loses its buttons. False when no question is known (or it cannot be edited)."""
    question = (await state.get_data()).get(QUESTION_KEY)
    if not isinstance(question, dict) or target.bot is None:
        return False
    await state.update_data({QUESTION_KEY: None})
    message_id, text = question.get("id"), question.get("text")
    if not isinstance(message_id, int):
        return False
    try:
        if answer is not None and isinstance(text, str):
            await target.bot.edit_message_text(
                f"{text}\n\n✅ {answer}", chat_id=target.chat.id, message_id=message_id
            )
        else:
            await target.bot.edit_message_reply_markup(
                chat_id=target.chat.id, message_id=message_id
            )
    except TelegramBadRequest as exc:
        return "message is not modified" in exc.message
    return True


async def ask(
    target: Message,
    state: FSMContext,
    text: str,
    markup: InlineKeyboardMarkup,
    *,
    in_place: Message | None = None,
) -> None:
    """Ask the conversation's next question and make it the live one. With `in_place` (Back
    pressed on the live question), that message is edited into the new question; otherwise
    the question before loses its buttons and the new one is sent."""
    if in_place is not None and in_place.message_id == await live_question(state):
        try:
            await in_place.edit_text(text, reply_markup=markup)
        except TelegramBadRequest:
            pass  # too old to edit, or no text to edit: sent below instead
        else:
            await remember_question(state, in_place, text)
            return
    elif in_place is not None and in_place.reply_markup is not None:
        with contextlib.suppress(TelegramBadRequest):  # pressed on an older message
            await in_place.edit_reply_markup(reply_markup=None)
    await close_question(target, state)
    sent = await target.answer(text, reply_markup=markup)
    await remember_question(state, sent, text)


async def answered(target: Message, state: FSMContext, answer: str) -> None:
    """A step's answer, shown on its question (no echo message of its own); sent as a message
    only when the question is not known (a conversation that does not track its questions)."""
    if await close_question(target, state, answer):
        return
    if target.reply_markup is not None and target.from_user is not None and target.from_user.is_bot:
        with contextlib.suppress(TelegramBadRequest):
            await target.edit_reply_markup(reply_markup=None)
    await target.answer(answer)


def nav_row(
    button: Callable[[str, str], InlineKeyboardButton], *, back: bool, skip: bool = False
) -> list[InlineKeyboardButton]:
    """A guided conversation's row under its question: « Back (when there is a step before),
    Skip » (when the step may be skipped) and ✖️ Cancel; `button(text, action)` makes each
    with the conversation's own callback ("back", "skip", "cancel")."""
    row = []
    if back:
        row.append(button(_("« Back"), "back"))
    if skip:
        row.append(button(_("Skip »"), "skip"))
    row.append(button(_("✖️ Cancel"), "cancel"))
    return row
