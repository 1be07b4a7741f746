"""A mailing draft put aside while the admin fixes the settings it needs, then taken back.

At the channel step Email may be unavailable until /settings has a verified server.
Sending /settings mid-draft parks the draft (its step and answers) under a second
FSM key of the same chat, so the settings dialog can use the chat's own state; when
the admin is done, "Continue the mailing" puts the draft back where it was.
"""

from __future__ import annotations

from dataclasses import replace

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.formatting import quote

PARKED = "parked"  # the FSM destiny that holds a parked draft
DRAFT_STATES = "NewMailing:"  # the mailing conversation's stored state names


class ParkedCb(CallbackData, prefix="prk"):
    """Continue the mailing draft that was put aside."""


def _parked(state: FSMContext) -> FSMContext:
    return FSMContext(storage=state.storage, key=replace(state.key, destiny=PARKED))


async def park_draft(state: FSMContext) -> None:
    """Put an open mailing draft aside and leave the chat's state free (other dialogs are
    simply left, as any command leaves them)."""
    current = await state.get_state()
    if current is None or not current.startswith(DRAFT_STATES):
        return
    parked = _parked(state)
    await parked.set_state(await state.get_state())
    await parked.set_data(await state.get_data())
    await state.clear()


async def unpark(state: FSMContext) -> bool:
    """Bring the parked draft back as the chat's conversation; False when there is none."""
    parked = _parked(state)
    step = await parked.get_state()
    if step is None:
        return False
    await state.set_state(step)
    await state.set_data(await parked.get_data())
    await parked.clear()
    return True


async def offer_parked(target: Message, state: FSMContext) -> None:
    """Remind the admin of a parked draft, with the button that takes it back."""
    parked = _parked(state)
    if await parked.get_state() is None:
        return
    name = (await parked.get_data()).get("name")
    kb = InlineKeyboardBuilder()
    kb.button(text=_("▶️ Continue the mailing"), callback_data=ParkedCb())
    text = (
        _("Your mailing draft “{name}” is waiting where you left it.").format(name=quote(name))
        if name
        else _("Your mailing draft is waiting where you left it.")
    )
    await target.answer(text, reply_markup=kb.as_markup())
