"""What an admin hears when nothing else matched: how to go on, never silence."""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.filters import admin_router


async def on_unmatched_message(message: Message, state: FSMContext) -> None:
    if await state.get_state() is not None:
        await message.answer(
            _("Please answer the question above, or send /cancel to leave this dialog.")
        )
    elif message.text and message.text.startswith("/"):
        await message.answer(_("I don't know this command. /help lists what I can do."))
    else:
        await message.answer(
            _("I didn't understand that. /start opens the menu, /help lists what I can do.")
        )


async def on_unmatched_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is out of date. Open /start again."), show_alert=True)


def create_router() -> Router:
    router = admin_router("admin_fallback")
    router.message.register(on_unmatched_message)
    router.callback_query.register(on_unmatched_button)
    return router
