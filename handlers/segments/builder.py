"""The condition builder: field, operator, value (and for dates: guests with no date in
or out), then the page with the conditions in words and the live count."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.segments import (
    BUILDER_OPS,
    DATE_FIELDS,
    Kind,
    SegmentNameTaken,
    SegmentService,
    ValueRefused,
    groups_from_data,
    parse_value,
    value_kind,
)
from handlers.components.common import ask, close_question
from handlers.segments.callbacks import BuildCb, FieldCb, OpCb, ValueCb
from handlers.segments.states import SegmentForm
from handlers.segments.views import _button, ask_field, ask_op, nav_row, show_builder, show_card
from handlers.segments.views import show_list as show_segments
from handlers.segments.words import month_name
from storage.segment_conditions import MAX_CONDITIONS, ConditionError, parse_condition


def _hint(kind: Kind) -> str:
    hints = {
        Kind.DAYS: _("Type the number of days, like 7."),
        Kind.NUMBER: _("Type a whole number, like 3; for «between» two: 3-10."),
        Kind.MONEY: _("Type an amount in roubles, like 500; for «between» two: 500-1000."),
        Kind.DATE: _("Type a date like 31.12.2025."),
        Kind.NAMES: _("Type the names separated by commas, like VIP, Gold."),
    }
    return hints.get(kind, "")


async def ask_value(message: Message, state: FSMContext, field: str, op: str) -> None:
    kind = value_kind(field, op)
    rows = []
    if kind is Kind.SEX:
        rows.append(
            [
                _button(_("men"), ValueCb(value="male")),
                _button(_("women"), ValueCb(value="female")),
            ]
        )
    elif kind is Kind.MONTH:
        rows = [
            [_button(month_name(m), ValueCb(value=str(m))) for m in range(r, r + 3)]
            for r in range(1, 13, 3)
        ]
    rows.append(nav_row())
    text = _hint(kind) or _("Choose:")
    await ask(message, state, text, InlineKeyboardMarkup(inline_keyboard=rows))


async def ask_missing(message: Message, state: FSMContext) -> None:
    rows = [
        [_button(_("Include guests with no date"), ValueCb(value="in"))],
        [_button(_("Leave guests with no date out"), ValueCb(value="out"))],
        nav_row(),
    ]
    text = _("Some guests have no such date. Are they in the segment?")
    await ask(message, state, text, InlineKeyboardMarkup(inline_keyboard=rows))


async def _add(
    message: Message, state: FSMContext, segments: SegmentService, missing: bool | None
) -> None:
    """The finished condition joins the current group; back to the builder page."""
    data = await state.get_data()
    raw = {"field": data["field"], "op": data["op"], "value": data.get("value")}
    if missing is not None:
        raw["missing"] = missing
    condition = parse_condition(raw)  # checked once more: FSM data came through storage
    groups = data.get("groups") or [[]]
    groups[-1].append(condition.to_json())
    await state.update_data(groups=groups, field=None, op=None, value=None)
    await state.set_state(SegmentForm.build)
    await show_builder(message, state, await state.get_data(), segments)


async def on_add(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    if sum(len(g) for g in data.get("groups") or []) >= MAX_CONDITIONS:
        await query.answer(_("That is as many conditions as a segment can have."), show_alert=True)
        return
    await query.answer()
    await state.set_state(SegmentForm.field)
    await ask_field(message, state)


async def on_or(
    query: CallbackQuery, message: Message, state: FSMContext, segments: SegmentService
) -> None:
    await query.answer()
    groups = (await state.get_data()).get("groups") or [[]]
    if groups[-1]:
        groups.append([])
    await state.update_data(groups=groups)
    await show_builder(message, state, await state.get_data(), segments)


async def on_undo(
    query: CallbackQuery, message: Message, state: FSMContext, segments: SegmentService
) -> None:
    await query.answer()
    groups = (await state.get_data()).get("groups") or [[]]
    while len(groups) > 1 and not groups[-1]:
        groups.pop()
    if groups[-1]:
        groups[-1].pop()
    await state.update_data(groups=groups or [[]])
    await show_builder(message, state, await state.get_data(), segments)


async def on_save(
    query: CallbackQuery, message: Message, state: FSMContext, segments: SegmentService
) -> None:
    data = await state.get_data()
    try:
        groups = groups_from_data(data.get("groups"))
    except ConditionError:
        await query.answer(_("The conditions could not be read; build them again."), True)
        return
    if data.get("seg_id"):
        await segments.update(int(data["seg_id"]), groups)
        segment = await segments.get(int(data["seg_id"]))
    else:
        try:
            segment = await segments.create(str(data.get("name")), groups)
        except SegmentNameTaken:
            await query.answer(_("A segment with this name already exists."), show_alert=True)
            return
    await query.answer(_("Saved."))
    await close_question(message, state)
    await state.clear()
    if segment is None:
        await show_segments(message, segments)
    else:
        await show_card(message, segment, segments)


async def on_cancel(
    query: CallbackQuery, message: Message, state: FSMContext, segments: SegmentService
) -> None:
    await query.answer(_("Cancelled."))
    await close_question(message, state)
    await state.clear()
    await message.answer(_("Cancelled: nothing was changed."))
    await show_segments(message, segments)


async def on_back(
    query: CallbackQuery, message: Message, state: FSMContext, segments: SegmentService
) -> None:
    await query.answer()
    current = await state.get_state()
    data = await state.get_data()
    if current == SegmentForm.op.state:
        await state.set_state(SegmentForm.field)
        await ask_field(message, state)
    elif current == SegmentForm.value.state:
        await state.set_state(SegmentForm.op)
        await ask_op(message, state, data["field"])
    elif current == SegmentForm.missing.state:
        await state.set_state(SegmentForm.value)
        await ask_value(message, state, data["field"], data["op"])
    else:
        await state.set_state(SegmentForm.build)
        await show_builder(message, state, data, segments)


async def on_field(
    query: CallbackQuery, message: Message, callback_data: FieldCb, state: FSMContext
) -> None:
    if callback_data.field not in BUILDER_OPS:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await query.answer()
    await state.update_data(field=callback_data.field)
    await state.set_state(SegmentForm.op)
    await ask_op(message, state, callback_data.field)


async def on_op(
    query: CallbackQuery,
    message: Message,
    callback_data: OpCb,
    state: FSMContext,
    segments: SegmentService,
) -> None:
    field = (await state.get_data()).get("field", "")
    if callback_data.op not in BUILDER_OPS.get(field, ()):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await query.answer()
    await state.update_data(op=callback_data.op)
    if value_kind(field, callback_data.op) is Kind.NONE:
        await _add(message, state, segments, None)
        return
    await state.set_state(SegmentForm.value)
    await ask_value(message, state, field, callback_data.op)


async def _value_chosen(
    message: Message, state: FSMContext, segments: SegmentService, value: Any
) -> None:
    await state.update_data(value=value)
    if (await state.get_data())["field"] in DATE_FIELDS:
        await state.set_state(SegmentForm.missing)
        await ask_missing(message, state)
    else:
        await _add(message, state, segments, None)


async def on_value_button(
    query: CallbackQuery,
    message: Message,
    callback_data: ValueCb,
    state: FSMContext,
    segments: SegmentService,
) -> None:
    data = await state.get_data()
    kind = value_kind(data.get("field", ""), data.get("op", ""))
    value: Any = callback_data.value
    if kind is Kind.MONTH and value.isdigit() and 1 <= int(value) <= 12:
        value = int(value)
    elif not (kind is Kind.SEX and value in ("male", "female")):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await query.answer()
    await _value_chosen(message, state, segments, value)


async def on_value_text(message: Message, state: FSMContext, segments: SegmentService) -> None:
    data = await state.get_data()
    field, op = data.get("field", ""), data.get("op", "")
    if value_kind(field, op) in (Kind.SEX, Kind.MONTH):
        await message.answer(_("Please choose with the buttons."))
        return
    try:
        value = parse_value(field, op, message.text or "")
    except ValueRefused as refused:
        await message.answer(_("Not accepted: {reason}").format(reason=refused))
        return
    await _value_chosen(message, state, segments, value)


async def on_missing(
    query: CallbackQuery,
    message: Message,
    callback_data: ValueCb,
    state: FSMContext,
    segments: SegmentService,
) -> None:
    if callback_data.value not in ("in", "out"):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await query.answer()
    await _add(message, state, segments, callback_data.value == "in")


async def on_buttons_only(message: Message) -> None:
    await message.answer(_("Please choose with the buttons (or /cancel)."))


__all__ = ["BuildCb"]


async def on_stale(query: CallbackQuery) -> None:
    """A builder button from a finished or abandoned build."""
    await query.answer(_("This button is out of date."), show_alert=True)
