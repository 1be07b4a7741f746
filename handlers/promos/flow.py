"""The promotion editor's steps, their order and questions; the host of the shared parts.

Name, segment, schedule (kind and its parameter) and time come first, so the shared
message parts keep their step numbers 5-9; then the start and end dates, the frequency
cap, and the preview (docs/architecture.md, "Conversations and shared components").
"""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.mailings import Draft, MailingService
from bot.promotions.schedule import EVERY_MAX, Schedule, ScheduleError, ScheduleKind, parse_at
from bot.promotions.service import CAP_MAX, NAME_MAX
from handlers.components import parts
from handlers.components.calendar import calendar_rows
from handlers.components.callbacks import NmTimeCb
from handlers.components.common import ask, close_question
from handlers.components.common import nav_row as shared_nav_row
from handlers.components.parts import PART_STEPS, MessageParts
from handlers.components.states import FunctionsHost
from handlers.components.step_order import StepOrder
from handlers.components.texts import day_text, locale, segment_label, zone_words
from handlers.formatting import quote
from handlers.promos.callbacks import (
    EditorAction,
    PrCapCb,
    PrKindCb,
    PrNavCb,
    PrSegmentCb,
    PrWeekdayCb,
)
from handlers.promos.states import PARTS_STATES, PromoEditor
from handlers.promos.texts import weekday_short

STEPS = ("name", "segment", "kind", "param", "time", *PART_STEPS, "starts", "ends", "cap")
QUICK_TIMES = ("09:00", "10:00", "12:00", "15:00", "18:00", "19:00")
QUICK_CAPS = (1, 7, 14, 30)
_PARAM_STATE = {
    ScheduleKind.WEEKLY: PromoEditor.weekdays,
    ScheduleKind.MONTHLY: PromoEditor.month_day,
    ScheduleKind.EVERY_N_DAYS: PromoEditor.every,
}
_PARAM_KEY = {
    ScheduleKind.WEEKLY: "weekdays",
    ScheduleKind.MONTHLY: "month_day",
    ScheduleKind.EVERY_N_DAYS: "every",
}


def kind_of(data: dict[str, Any]) -> ScheduleKind | None:
    raw = data.get("kind")
    return ScheduleKind(raw) if raw in tuple(ScheduleKind) else None


def schedule_of(data: dict[str, Any]) -> dict[str, Any] | None:
    """The schedule's JSON from the editor's answers, or None while one is missing."""
    kind = kind_of(data)
    if kind is None or not data.get("at"):
        return None
    try:
        schedule = Schedule(
            kind,
            parse_at(data["at"]),
            tuple(data.get("weekdays") or ()) if kind is ScheduleKind.WEEKLY else (),
            int(data.get("month_day") or 0) if kind is ScheduleKind.MONTHLY else 0,
            int(data.get("every") or 0) if kind is ScheduleKind.EVERY_N_DAYS else 0,
        )
    except ScheduleError:
        return None
    return schedule.to_json()


def expand_schedule(raw: dict[str, Any]) -> dict[str, Any]:
    """A stored schedule's JSON as the editor's answers (to edit it)."""
    schedule = Schedule.from_json(raw)
    return {
        "kind": schedule.kind.value,
        "at": schedule.at.strftime("%H:%M"),
        "weekdays": list(schedule.weekdays),
        "month_day": schedule.day or None,
        "every": schedule.every or None,
    }


def state_of(step: str, data: dict[str, Any]) -> State:
    if step == "param":
        kind = kind_of(data)
        return _PARAM_STATE.get(kind, PromoEditor.kind) if kind else PromoEditor.kind
    found = getattr(PromoEditor, step)
    assert isinstance(found, State)
    return found


def applies(step: str, data: dict[str, Any]) -> bool:
    if step == "param":
        return kind_of(data) in _PARAM_STATE
    if step in PART_STEPS:
        return parts.applies(step, Draft.from_data(data))
    return True


def filled(step: str, data: dict[str, Any]) -> bool:
    """Whether the editor holds an answer for the step."""
    if step in PART_STEPS:
        return parts.filled(step, data)
    if step == "param":
        kind = kind_of(data)
        return kind is not None and bool(data.get(_PARAM_KEY.get(kind, "kind")))
    if step == "time":
        return bool(data.get("at"))
    if step == "segment":
        return bool(data.get("segment_id"))
    if step == "starts":
        return bool(data.get("starts_on"))
    if step == "ends":
        return bool(data.get("ends_on")) or bool(data.get("no_end"))
    if step == "cap":
        return bool(data.get("cap_days")) or bool(data.get("no_cap"))
    return bool(data.get(step))


ORDER = StepOrder(STEPS, applies, filled)
missing, next_step, previous_step = ORDER.missing, ORDER.next_step, ORDER.previous_step


def step_of(state_name: str | None) -> str | None:
    """The step a stored state stands for (None outside the editor)."""
    if not state_name or not state_name.startswith(f"{PromoEditor.__name__}:"):
        return None
    name = state_name.split(":", 1)[1]
    return "param" if name in ("weekdays", "month_day", "every") else name


def nav_button(text: str, action: EditorAction) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=PrNavCb(action=action).pack())


def nav_row(step: str, data: dict[str, Any], *, skip: bool = False) -> list[InlineKeyboardButton]:
    return shared_nav_row(
        lambda text, action: nav_button(text, EditorAction(action)),
        back=previous_step(step, data) is not None,
        skip=skip,
    )


Rows = list[list[InlineKeyboardButton]]


async def show_step(
    target: Message,
    state: FSMContext,
    step: str,
    mailings: MailingService,
    *,
    in_place: Message | None = None,
) -> None:
    """Ask the step's question with its buttons and move the editor there (with `in_place`,
    Back pressed on the live question: that message becomes the question)."""
    if step == "preview":
        from handlers.promos.editor import show_preview

        await close_question(target, state)
        await show_preview(target, state, mailings)
        return
    data = await state.get_data()
    await state.set_state(state_of(step, data))
    if step in PART_STEPS:
        if PARTS.shows_current(step, data):
            in_place = None  # the current text goes first, so the question comes after it
        await PARTS.show_current(target, step, data)
        text, rows = await PARTS.question(step, data, mailings)
    else:
        text, rows = await _question(step, data, mailings)
    rows.append(nav_row(step, data, skip=parts.may_skip(step, data)))
    await ask(target, state, text, InlineKeyboardMarkup(inline_keyboard=rows), in_place=in_place)


def _current(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return "\n" + _("Current: {value}").format(value=quote(str(value))) if value else ""


async def _question(step: str, data: dict[str, Any], mailings: MailingService) -> tuple[str, Rows]:
    """The questions of the editor's own steps."""
    if step == "name":
        title = (
            _("<b>Editing the promotion</b>")
            if data.get("promotion_id")
            else _("<b>New segment promotion</b>")
        )
        text = _(
            "Step 1. Type a name for the promotion (up to {n} characters). Guests do not see "
            "it; the promotions list and the history show it."
        ).format(n=NAME_MAX)
        return f"{title}\n{text}{_current(data, 'name')}", []
    if step == "segment":
        kb = InlineKeyboardBuilder()
        for segment, count in await mailings.segments_with_counts():
            mark = "✅ " if segment.id == data.get("segment_id") else ""
            kb.button(
                text=f"{mark}{segment_label(segment)} · {count}",
                callback_data=PrSegmentCb(segment_id=segment.id),
            )
        kb.adjust(1)
        text = _(
            "Step 2. Who gets it? Choose a segment (the number is its guests today). "
            "It is evaluated at each run, so “birthday today” reaches different guests each day."
        )
        return text, list(kb.export())
    if step == "kind":
        return _("Step 3. How often should it run?"), _kind_rows(kind_of(data))
    if step == "param":
        return _param_question(data)
    if step == "time":
        text = _("Step 4. At what time ({tz})? Type it like 10:00 or choose below.").format(
            tz=zone_words(mailings.settings)
        )
        buttons = [
            InlineKeyboardButton(
                text=("✅ " if value == data.get("at") else "") + value,
                callback_data=NmTimeCb(value=value.replace(":", "")).pack(),
            )
            for value in QUICK_TIMES
        ]
        return text, [buttons[:3], buttons[3:]]
    if step == "starts":
        text = _("Step 10. From which day does it run? Pick it or type it like {example}.").format(
            example=day_text(mailings.today())
        )
        return text, calendar_rows(mailings.today(), locale())
    if step == "ends":
        text = _(
            "Step 11. Until which day does it run (that day included)? Pick it, type it, "
            "or press “No end date”."
        )
        rows = calendar_rows(mailings.today(), locale())
        rows.append([nav_button(_("♾ No end date"), EditorAction.NO_END)])
        return text, rows
    text = _(
        "Step 12. Frequency cap: the same guest gets at most one mailing of this promotion "
        "every N days. Type N (1 to {max}) or choose below; “No cap” sends at every run."
    ).format(max=CAP_MAX)
    buttons = [
        InlineKeyboardButton(text=str(n), callback_data=PrCapCb(days=n).pack()) for n in QUICK_CAPS
    ]
    return text, [buttons, [nav_button(_("No cap"), EditorAction.NO_CAP)]]


def _kind_rows(current: ScheduleKind | None) -> Rows:
    names = {
        ScheduleKind.DAILY: _("Every day"),
        ScheduleKind.WEEKLY: _("On chosen weekdays"),
        ScheduleKind.MONTHLY: _("Once a month"),
        ScheduleKind.EVERY_N_DAYS: _("Every N days"),
    }
    return [
        [
            InlineKeyboardButton(
                text=("✅ " if kind is current else "") + name,
                callback_data=PrKindCb(kind=kind).pack(),
            )
        ]
        for kind, name in names.items()
    ]


def weekday_rows(chosen: list[int]) -> Rows:
    buttons = [
        InlineKeyboardButton(
            text=("✅ " if d in chosen else "") + weekday_short(d),
            callback_data=PrWeekdayCb(day=d).pack(),
        )
        for d in range(7)
    ]
    return [buttons[:4], buttons[4:], [nav_button(_("Done"), EditorAction.WEEKDAYS_DONE)]]


def _param_question(data: dict[str, Any]) -> tuple[str, Rows]:
    kind = kind_of(data)
    if kind is ScheduleKind.WEEKLY:
        text = _("Step 3. On which days of the week? Tap to switch them on or off, then Done.")
        return text, weekday_rows(list(data.get("weekdays") or []))
    if kind is ScheduleKind.MONTHLY:
        text = _(
            "Step 3. On which day of the month? Type a number from 1 to 31. In a month "
            "without that day it runs on the last day."
        )
        return text + _current(data, "month_day"), []
    text = _(
        "Step 3. Every how many days? Type a number from 1 to {max}. Days are counted "
        "from the start date."
    ).format(max=EVERY_MAX)
    return text + _current(data, "every"), []


async def go_next(
    target: Message, state: FSMContext, current: str, mailings: MailingService
) -> None:
    await show_step(target, state, next_step(current, await state.get_data()), mailings)


PARTS = MessageParts(FunctionsHost(PARTS_STATES, nav_row, show_step, go_next))
