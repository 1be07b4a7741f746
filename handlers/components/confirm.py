"""A yes/no question whose answers are the host's own buttons.

The host passes the callback data of Yes and No and handles both like any button of
its own: the question holds no state, so a confirmation survives a restart.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder


def confirm_markup(
    yes: CallbackData, no: CallbackData, *, yes_text: str, no_text: str
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=yes_text, callback_data=yes)
    kb.button(text=no_text, callback_data=no)
    return kb.as_markup()


async def ask_confirm(
    target: Message,
    question: str,
    *,
    yes: CallbackData,
    no: CallbackData,
    yes_text: str,
    no_text: str,
) -> None:
    """Ask `question` with Yes / No under it."""
    await target.answer(
        question, reply_markup=confirm_markup(yes, no, yes_text=yes_text, no_text=no_text)
    )
