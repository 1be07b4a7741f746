"""The order of the steps, the next step and each step's question (docs/architecture.md,
"A mailing's path").

Steps 5-9 are the shared message parts (handlers/components/parts.py), run in this
conversation's states through `NewMailingHost`.
"""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.mailings import Draft, MailingService
from handlers.components import parts
from handlers.components.calendar import calendar_rows
from handlers.components.common import ask, close_question
from handlers.components.common import nav_row as shared_nav_row
from handlers.components.parts import PART_STEPS, MessageParts
from handlers.components.states import FunctionsHost
from handlers.components.step_order import StepOrder
from handlers.components.texts import day_text, locale, segment_label, zone_words
from handlers.components.time_picker import time_rows
from handlers.formatting import quote
from handlers.new_mailing.callbacks import NavAction, NmNavCb, NmSegmentCb
from handlers.new_mailing.states import PARTS_STATES, NewMailing

NAME_MAX = 100
STEPS = ("name", "segment", "date", "time", *PART_STEPS)
_ANSWER_KEY = {"segment": "segment_id", "date": "day", "time": "at"}


def state_of(step: str) -> State:
    found = getattr(NewMailing, step)
    assert isinstance(found, State)
    return found


def step_of(state_name: str | None) -> str | None:
    """The step a stored FSM state stands for (None outside this conversation)."""
    if not state_name or not state_name.startswith(f"{NewMailing.__name__}:"):
        return None
    return state_name.split(":", 1)[1]


def applies(step: str, draft: Draft) -> bool:
    return parts.applies(step, draft)


def filled(step: str, data: dict[str, Any]) -> bool:
    """Whether the draft holds an answer for the step."""
    if step in PART_STEPS:
        return parts.filled(step, data)
    return bool(data.get(_ANSWER_KEY.get(step, step)))


ORDER = StepOrder(STEPS, lambda step, data: applies(step, Draft.from_data(data)), filled)
missing, next_step, previous_step = ORDER.missing, ORDER.next_step, ORDER.previous_step


def nav_button(text: str, action: NavAction) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=NmNavCb(action=action).pack())


def nav_row(step: str, data: dict[str, Any], *, skip: bool = False) -> list[InlineKeyboardButton]:
    return shared_nav_row(
        lambda text, action: nav_button(text, NavAction(action)),
        back=previous_step(step, data) is not None,
        skip=skip,
    )


async def show_step(
    target: Message,
    state: FSMContext,
    step: str,
    mailings: MailingService,
    *,
    in_place: Message | None = None,
) -> None:
    """Ask the step's question with its buttons and move the conversation there. With
    `in_place` (Back pressed on the live question), that message becomes the new question
    instead of a new one being sent, when nothing has to come between."""
    if step == "preview":
        from handlers.new_mailing.preview import show_preview

        await close_question(target, state)
        await show_preview(target, state, mailings)
        return
    await state.set_state(state_of(step))
    data = await state.get_data()
    if step in PART_STEPS:
        if PARTS.shows_current(step, data):
            in_place = None  # the current text goes first, so the question comes after it
        await PARTS.show_current(target, step, data)
        text, rows = await PARTS.question(step, data, mailings)
    else:
        text, rows = await _question(step, data, mailings)
    rows.append(nav_row(step, data, skip=parts.may_skip(step, data)))
    await ask(target, state, text, InlineKeyboardMarkup(inline_keyboard=rows), in_place=in_place)


async def _question(
    step: str, data: dict[str, Any], mailings: MailingService
) -> tuple[str, list[list[InlineKeyboardButton]]]:
    """The question of steps 1-4 (name, segment, date, time)."""
    if step == "name":
        text = _(
            "<b>New mailing</b>\nStep 1. Type a name for the mailing (up to {n} characters). "
            "Guests do not see it; it is for the history list."
        ).format(n=NAME_MAX)
        if data.get("name"):
            text += "\n" + _("Current: {value}").format(value=quote(data["name"]))
        return text, []
    if step == "segment":
        kb = InlineKeyboardBuilder()
        for segment, count in await mailings.segments_with_counts():
            mark = "✅ " if segment.id == data.get("segment_id") else ""
            kb.button(
                text=f"{mark}{segment_label(segment)} · {count}",
                callback_data=NmSegmentCb(segment_id=segment.id),
            )
        kb.adjust(1)
        return _("Step 2. Who gets it? Choose a segment (the number is its guests now)."), list(
            kb.export()
        )
    if step == "date":
        text = _("Step 3. Which day? Pick it in the calendar or type it like {example}.").format(
            example=day_text(mailings.today())
        )
        text += "\n" + _("Times are {tz}.").format(tz=zone_words(mailings.settings))
        return text, calendar_rows(mailings.today(), locale())
    day = Draft.from_data(data).day
    text = _("Step 4. At what time on {day} ({tz})? Type it like 18:30 or choose below.").format(
        day=day_text(day) if day else "—", tz=zone_words(mailings.settings)
    )
    return text, time_rows(mailings, day)


async def go_next(
    target: Message, state: FSMContext, current: str, mailings: MailingService
) -> None:
    await show_step(target, state, next_step(current, await state.get_data()), mailings)


PARTS = MessageParts(FunctionsHost(PARTS_STATES, nav_row, show_step, go_next))


async def open_draft(
    target: Message, state: FSMContext, data: dict[str, Any], mailings: MailingService
) -> None:
    """Open /new on a draft filled from elsewhere (a duplicated mailing): its first
    unanswered step, or the preview when nothing is missing; edited as a whole draft."""
    await state.clear()
    await state.set_data({**data, "editing": True})
    await show_step(target, state, missing(data) or "preview", mailings)
