"""What /segments shows: the list with counts, a segment's card, the builder's pages."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.segments import BUILDER_OPS, SegmentService, groups_from_data
from handlers.components.common import ask
from handlers.components.texts import segment_label, segment_title
from handlers.formatting import quote
from handlers.segments.callbacks import BuildAction, BuildCb, FieldCb, OpCb, SegAction, SegCb
from handlers.segments.words import (
    describe_groups,
    feb29_note,
    field_name,
    op_name,
    problem_words,
    reach_words,
)
from storage.segments import Segment


def _button(text: str, data: Any) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def nav_row(back: bool = True) -> list[InlineKeyboardButton]:
    row = [_button(_("✖️ Cancel"), BuildCb(action=BuildAction.CANCEL))]
    if back:
        row.insert(0, _button(_("« Back"), BuildCb(action=BuildAction.BACK)))
    return row


async def show_list(message: Message, segments: SegmentService) -> None:
    """Every segment with its guests now; a button opens its card."""
    rows = []
    for segment, reach in await segments.list_with_reach():
        mark = "⚠️ " if segment.problem else ""
        rows.append(
            [
                _button(
                    f"{mark}{segment_label(segment)} · {reach.total}",
                    SegCb(action=SegAction.OPEN, segment_id=segment.id),
                )
            ]
        )
    rows.append([_button(_("➕ New segment"), SegCb(action=SegAction.NEW))])
    await message.answer(
        _("<b>Segments</b>: who gets a mailing. The number is the segment's guests now."),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


async def show_card(message: Message, segment: Segment, segments: SegmentService) -> None:
    """A segment's conditions in words, its guests per channel, and what can be done."""
    reach = await segments.reach(segment)
    lines = [f"<b>{segment_title(segment)}</b>"]
    if segment.problem:
        lines.append(problem_words(segment))
    else:
        lines.append(describe_groups(segment.groups))
    lines.append(reach_words(reach))
    if segment.is_all_guests:
        lines.append(_("This segment is built in: it cannot be changed or deleted."))
        rows = []
    else:
        sid = segment.id
        rows = [
            [
                _button(_("Edit conditions"), SegCb(action=SegAction.EDIT, segment_id=sid)),
                _button(_("Rename"), SegCb(action=SegAction.RENAME, segment_id=sid)),
            ],
            [
                _button(_("Duplicate"), SegCb(action=SegAction.DUPLICATE, segment_id=sid)),
                _button(_("Delete"), SegCb(action=SegAction.DELETE, segment_id=sid)),
            ],
        ]
    rows.append([_button(_("« All segments"), SegCb(action=SegAction.LIST))])
    await message.answer(
        "\n\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


async def show_builder(
    message: Message, state: FSMContext, data: dict[str, Any], segments: SegmentService
) -> None:
    """The draft's conditions in words and its live count, after every change."""
    groups = groups_from_data(data.get("groups"))
    reach = await segments.draft_reach(groups)
    text = (
        _("<b>Segment «{name}»</b>").format(name=quote(str(data.get("name", ""))))
        + "\n\n"
        + describe_groups(groups)
        + "\n\n"
        + reach_words(reach)
    )
    if any(c.field in ("birthday", "age") for g in groups for c in g):
        text += "\n" + feb29_note()
    raw = data.get("groups") or [[]]
    rows = [[_button(_("➕ Add a condition"), BuildCb(action=BuildAction.ADD))]]
    if raw[-1]:
        rows.append([_button(_("➕ Or another group…"), BuildCb(action=BuildAction.OR))])
    if any(raw):
        rows.append([_button(_("↩️ Remove the last condition"), BuildCb(action=BuildAction.UNDO))])
    rows.append([_button(_("💾 Save"), BuildCb(action=BuildAction.SAVE))])
    rows.append(nav_row(back=False))
    if len(raw) > 1 and not raw[-1]:
        text += "\n\n" + _("A new group: its conditions are joined to the ones above by OR.")
    await ask(message, state, text, InlineKeyboardMarkup(inline_keyboard=rows))


async def ask_field(message: Message, state: FSMContext) -> None:
    fields = list(BUILDER_OPS)
    rows = [
        [_button(field_name(f), FieldCb(field=f)) for f in fields[i : i + 3]]
        for i in range(0, len(fields), 3)
    ]
    rows.append(nav_row())
    text = _("Which field does the condition check?")
    await ask(message, state, text, InlineKeyboardMarkup(inline_keyboard=rows))


async def ask_op(message: Message, state: FSMContext, field: str) -> None:
    rows = [[_button(op_name(field, op), OpCb(op=op))] for op in BUILDER_OPS[field]]
    rows.append(nav_row())
    text = _("{field}: which condition?").format(field=field_name(field))
    if field == "birthday":
        text += "\n" + feb29_note()
    await ask(message, state, text, InlineKeyboardMarkup(inline_keyboard=rows))
