"""Conversation steps of /segments; the builder's draft lives in FSM data, so a
restart mid-build loses nothing."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class SegmentForm(StatesGroup):
    name = State()  # a new segment's name
    rename = State()
    build = State()  # the builder page: conditions so far and the live count
    field = State()
    op = State()
    value = State()
    missing = State()  # dates: are guests with no date in?
