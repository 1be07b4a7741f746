"""/segments: who gets a mailing. The list with counts, a segment's card, and the
condition builder (one module each); callbacks, states and words apart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from handlers.filters import ButtonMessage, admin_router
from handlers.segments import builder, manage
from handlers.segments.callbacks import (
    BuildAction,
    BuildCb,
    FieldCb,
    OpCb,
    SegAction,
    SegCb,
    ValueCb,
)
from handlers.segments.states import SegmentForm as S

__all__ = ["create_router"]


def create_router() -> Router:
    router = admin_router("segments")
    router.message.register(manage.on_segments, Command("segments"))
    c = router.callback_query
    card: dict[SegAction, Callable[..., Awaitable[None]]] = {
        SegAction.LIST: manage.on_list,
        SegAction.OPEN: manage.on_open,
        SegAction.NEW: manage.on_new,
        SegAction.EDIT: manage.on_edit,
        SegAction.RENAME: manage.on_rename,
        SegAction.DUPLICATE: manage.on_duplicate,
        SegAction.DELETE: manage.on_delete,
        SegAction.DELETE_YES: manage.on_delete_yes,
    }
    assert set(card) == set(SegAction), "every segment action needs its handler"
    for action, handler in card.items():
        c.register(handler, SegCb.filter(F.action == action), ButtonMessage())
    steps = (S.build, S.field, S.op, S.value, S.missing, S.name, S.rename)
    c.register(builder.on_cancel, BuildCb.filter(F.action == BuildAction.CANCEL), ButtonMessage())
    c.register(
        builder.on_add, BuildCb.filter(F.action == BuildAction.ADD), ButtonMessage(), S.build
    )
    c.register(builder.on_or, BuildCb.filter(F.action == BuildAction.OR), ButtonMessage(), S.build)
    c.register(
        builder.on_undo, BuildCb.filter(F.action == BuildAction.UNDO), ButtonMessage(), S.build
    )
    c.register(
        builder.on_save, BuildCb.filter(F.action == BuildAction.SAVE), ButtonMessage(), S.build
    )
    c.register(
        builder.on_back, BuildCb.filter(F.action == BuildAction.BACK), ButtonMessage(),
        StateFilter(S.field, S.op, S.value, S.missing),
    )  # fmt: skip
    c.register(builder.on_field, FieldCb.filter(), ButtonMessage(), S.field)
    c.register(builder.on_op, OpCb.filter(), ButtonMessage(), S.op)
    c.register(builder.on_value_button, ValueCb.filter(), ButtonMessage(), S.value)
    c.register(builder.on_missing, ValueCb.filter(), ButtonMessage(), S.missing)
    c.register(builder.on_stale, BuildCb.filter())
    c.register(builder.on_stale, FieldCb.filter())
    c.register(builder.on_stale, OpCb.filter())
    c.register(builder.on_stale, ValueCb.filter())
    m = router.message
    m.register(manage.on_name, S.name, F.text)
    m.register(manage.on_renamed, S.rename, F.text)
    m.register(builder.on_value_text, S.value, F.text)
    m.register(builder.on_buttons_only, StateFilter(*steps))
    return router
