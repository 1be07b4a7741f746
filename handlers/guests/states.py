"""Conversation steps of /guests."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class GuestsForm(StatesGroup):
    search = State()
    import_file = State()
