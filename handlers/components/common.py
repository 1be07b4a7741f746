"""Small helpers every conversation part uses."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message


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
