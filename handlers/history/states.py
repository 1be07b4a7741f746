"""States of /history: moving a scheduled mailing to another day and time."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class Reschedule(StatesGroup):
    date = State()
    time = State()
