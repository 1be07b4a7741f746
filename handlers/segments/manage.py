"""/segments outside the builder: the list, a segment's card, new, rename, duplicate, delete."""

from __future__ import annotations

import contextlib

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.segments import SegmentNameTaken, SegmentService, ValueRefused, groups_to_data, parse_name
from handlers.components.confirm import ask_confirm
from handlers.components.texts import segment_label
from handlers.formatting import quote
from handlers.segments.callbacks import SegAction, SegCb
from handlers.segments.states import SegmentForm
from handlers.segments.views import nav_row, show_builder, show_card, show_list
from storage.segments import Segment


async def on_segments(message: Message, state: FSMContext, segments: SegmentService) -> None:
    await state.clear()
    await show_list(message, segments)


async def on_list(query: CallbackQuery, message: Message, segments: SegmentService) -> None:
    await query.answer()
    await show_list(message, segments)


async def _custom(
    query: CallbackQuery, callback_data: SegCb, segments: SegmentService
) -> Segment | None:
    """The pressed segment, when it exists and may be changed (else the press is answered)."""
    segment = await segments.get(callback_data.segment_id)
    if segment is None:
        await query.answer(_("This segment no longer exists."), show_alert=True)
        return None
    if segment.is_builtin:
        await query.answer(_("«All guests» is built in: it cannot be changed."), show_alert=True)
        return None
    return segment


async def on_open(
    query: CallbackQuery, message: Message, callback_data: SegCb, segments: SegmentService
) -> None:
    segment = await segments.get(callback_data.segment_id)
    if segment is None:
        await query.answer(_("This segment no longer exists."), show_alert=True)
        return
    await query.answer()
    await show_card(message, segment, segments)


async def on_new(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    await query.answer()
    await state.clear()
    await state.set_state(SegmentForm.name)
    await message.answer(
        _("Name of the new segment (for example, «Birthdays this week»):"),
        reply_markup=_cancel_only(),
    )


def _cancel_only() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[nav_row(back=False)])


async def _typed_name(message: Message, segments: SegmentService, other: int | None) -> str | None:
    """The typed name, or None after saying why it is refused."""
    try:
        name = parse_name(message.text or "")
    except ValueRefused as refused:
        await message.answer(_("Not accepted: {reason}").format(reason=refused))
        return None
    taken = {
        segment_label(s).casefold() for s, _r in await segments.list_with_reach() if s.id != other
    }
    if name.casefold() in taken:
        await message.answer(_("Not accepted: a segment with this name already exists."))
        return None
    return name


async def on_name(message: Message, state: FSMContext, segments: SegmentService) -> None:
    name = await _typed_name(message, segments, None)
    if name is None:
        return
    await state.update_data(seg_id=None, name=name, groups=[[]])
    await state.set_state(SegmentForm.build)
    await show_builder(message, state, await state.get_data(), segments)


async def on_edit(
    query: CallbackQuery,
    message: Message,
    callback_data: SegCb,
    state: FSMContext,
    segments: SegmentService,
) -> None:
    segment = await _custom(query, callback_data, segments)
    if segment is None:
        return
    await query.answer()
    await state.clear()
    groups = groups_to_data(segment.groups) or [[]]
    await state.update_data(seg_id=segment.id, name=segment.name, groups=groups)
    await state.set_state(SegmentForm.build)
    await show_builder(message, state, await state.get_data(), segments)


async def on_rename(
    query: CallbackQuery,
    message: Message,
    callback_data: SegCb,
    state: FSMContext,
    segments: SegmentService,
) -> None:
    segment = await _custom(query, callback_data, segments)
    if segment is None:
        return
    await query.answer()
    await state.clear()
    await state.update_data(seg_id=segment.id)
    await state.set_state(SegmentForm.rename)
    await message.answer(
        _("New name for «{name}»:").format(name=quote(segment.name)), reply_markup=_cancel_only()
    )


async def on_renamed(message: Message, state: FSMContext, segments: SegmentService) -> None:
    segment_id = int((await state.get_data()).get("seg_id") or 0)
    name = await _typed_name(message, segments, segment_id)
    if name is None:
        return
    try:
        await segments.rename(segment_id, name)
    except SegmentNameTaken:
        await message.answer(_("Not accepted: a segment with this name already exists."))
        return
    await state.clear()
    segment = await segments.get(segment_id)
    if segment is not None:
        await show_card(message, segment, segments)


async def on_duplicate(
    query: CallbackQuery, message: Message, callback_data: SegCb, segments: SegmentService
) -> None:
    segment = await _custom(query, callback_data, segments)
    if segment is None:
        return
    copy = await segments.duplicate(segment, _("{name} (copy)").format(name=segment.name))
    await query.answer(_("Duplicated."))
    await show_card(message, copy, segments)


async def on_delete(
    query: CallbackQuery, message: Message, callback_data: SegCb, segments: SegmentService
) -> None:
    """Delete: asked first (a segment is built condition by condition; a slip costs it)."""
    segment = await _custom(query, callback_data, segments)
    if segment is None:
        return
    await query.answer()
    await ask_confirm(
        message,
        _("Delete the segment «{name}»? Mailings already sent to it stay in the history.").format(
            name=quote(segment.name)
        ),
        yes=SegCb(action=SegAction.DELETE_YES, segment_id=segment.id),
        no=SegCb(action=SegAction.OPEN, segment_id=segment.id),
        yes_text=_("🗑 Yes, delete"),
        no_text=_("« No, keep it"),
    )


async def on_delete_yes(
    query: CallbackQuery, message: Message, callback_data: SegCb, segments: SegmentService
) -> None:
    segment = await _custom(query, callback_data, segments)
    if segment is None:
        return
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_reply_markup(reply_markup=None)  # one answer per question
    usage = await segments.delete(segment.id)
    if usage:
        await query.answer()
        names = [_("mailing «{name}»").format(name=quote(n)) for n in usage.mailings]
        names += [_("promotion «{name}»").format(name=quote(n)) for n in usage.promotions]
        await message.answer(
            _("Not deleted: «{segment}» is used by {names}. Cancel or change them first.").format(
                segment=quote(segment.name), names=", ".join(names)
            )
        )
        return
    await query.answer(_("Deleted."))
    await message.answer(_("Segment «{name}» deleted.").format(name=quote(segment.name)))
    await show_list(message, segments)
