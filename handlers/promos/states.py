"""The promotion editor's states. Their names ("PromoEditor:text"...) are stored in the FSM
table, so an editor resumes after a restart: keep them."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup

from handlers.components.states import PartsStates


class PromoEditor(StatesGroup):
    name = State()
    segment = State()
    kind = State()
    weekdays = State()
    month_day = State()
    every = State()
    time = State()
    channels = State()
    mode = State()
    subject = State()
    text = State()
    image = State()
    starts = State()
    ends = State()
    cap = State()
    preview = State()


# Where the shared message parts ask their questions in this conversation.
PARTS_STATES = PartsStates(
    channels=PromoEditor.channels,
    mode=PromoEditor.mode,
    subject=PromoEditor.subject,
    text=PromoEditor.text,
    image=PromoEditor.image,
)
