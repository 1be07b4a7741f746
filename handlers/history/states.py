"""States of /history: the list open (typed text filters it); moving a scheduled mailing."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class Browse(StatesGroup):
    open = State()  # a typed date range or words narrow the list


class Reschedule(StatesGroup):
    date = State()
    time = State()
