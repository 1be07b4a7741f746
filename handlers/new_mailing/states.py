"""The new-mailing conversation's states. Their names ("NewMailing:text"...) are stored
in the FSM table, so a conversation resumes after a restart or an upgrade: keep them."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup

from handlers.components.states import PartsStates


class NewMailing(StatesGroup):
    name = State()
    segment = State()
    date = State()
    time = State()
    channels = State()
    mode = State()
    subject = State()
    text = State()
    image = State()
    preview = State()
    test_email = State()


# Where the shared message parts ask their questions in this conversation.
PARTS_STATES = PartsStates(
    channels=NewMailing.channels,
    mode=NewMailing.mode,
    subject=NewMailing.subject,
    text=NewMailing.text,
    image=NewMailing.image,
)
