"""/promos: segment promotions — the list, a promotion's card, and its editor, a second
host of the shared conversation parts (docs/architecture.md, "Conversations and shared
components")."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter, or_f
from aiogram.filters.callback_data import CallbackQueryFilter

from handlers.components.callbacks import CalendarCb, NmChannelCb, NmModeCb, NmTimeCb
from handlers.filters import admin_router
from handlers.promos import cards, editor, steps
from handlers.promos.callbacks import (
    EditorAction,
    PrCapCb,
    PrEditCb,
    PrKindCb,
    PrNavCb,
    PromoAction,
    PromoCb,
    PrSegmentCb,
    PrWeekdayCb,
)
from handlers.promos.flow import PARTS
from handlers.promos.states import PromoEditor

__all__ = ["PromoEditor", "create_router"]

_COMMAND = F.text.regexp(r"^/[A-Za-z0-9_]+(?:@\w+)?(?:\s|$)")


def _nav(action: EditorAction) -> CallbackQueryFilter:
    return PrNavCb.filter(F.action == action)


def _card(action: PromoAction) -> CallbackQueryFilter:
    return PromoCb.filter(F.action == action)


def create_router() -> Router:
    """The promotions' router (admins only). In the editor it hears every command first:
    /cancel leaves, /promos starts over, the others are answered with how to go on."""
    r = admin_router("promos")
    m, c = r.message, r.callback_query
    s = PromoEditor
    m.register(editor.on_cancel_command, StateFilter(s), Command("cancel"))
    m.register(cards.on_promos, Command("promos"))
    m.register(editor.on_command_midway, StateFilter(s), _COMMAND)

    c.register(cards.on_list, _card(PromoAction.LIST))
    c.register(cards.on_open, _card(PromoAction.OPEN))
    c.register(cards.on_new, _card(PromoAction.NEW))
    c.register(cards.on_enable, _card(PromoAction.ENABLE))
    c.register(cards.on_disable, _card(PromoAction.DISABLE))
    c.register(cards.on_edit, _card(PromoAction.EDIT))
    c.register(cards.on_duplicate, _card(PromoAction.DUPLICATE))
    c.register(cards.on_delete, _card(PromoAction.DELETE))
    c.register(cards.on_delete_yes, _card(PromoAction.DELETE_YES))
    c.register(cards.on_run, _card(PromoAction.RUN))
    c.register(cards.on_run_yes, _card(PromoAction.RUN_YES))
    c.register(cards.on_preview, _card(PromoAction.PREVIEW))

    c.register(editor.on_cancel_button, _nav(EditorAction.CANCEL), StateFilter(s))
    c.register(editor.on_back, _nav(EditorAction.BACK), StateFilter(s))
    m.register(steps.on_name, s.name, F.text)
    c.register(steps.on_segment, PrSegmentCb.filter(), s.segment)
    c.register(steps.on_kind, PrKindCb.filter(), s.kind)
    c.register(steps.on_weekday, PrWeekdayCb.filter(), s.weekdays)
    c.register(steps.on_weekdays_done, _nav(EditorAction.WEEKDAYS_DONE), s.weekdays)
    m.register(steps.on_month_day, s.month_day, F.text)
    m.register(steps.on_every, s.every, F.text)
    steps.TIME.register(r, s.time)
    PARTS.register(r, skip=_nav(EditorAction.SKIP))
    steps.STARTS.register(r, s.starts)
    steps.ENDS.register(r, s.ends)
    c.register(steps.on_no_end, _nav(EditorAction.NO_END), s.ends)
    c.register(steps.on_cap_button, PrCapCb.filter(), s.cap)
    c.register(steps.on_no_cap, _nav(EditorAction.NO_CAP), s.cap)
    m.register(steps.on_cap, s.cap, F.text)
    c.register(editor.on_save, _nav(EditorAction.SAVE), s.preview)
    c.register(editor.on_edit_menu, _nav(EditorAction.EDIT), s.preview)
    c.register(editor.on_edit_back, _nav(EditorAction.PREVIEW), s.preview)
    c.register(editor.on_edit_step, PrEditCb.filter(), s.preview)

    # Off-script: old buttons (of the editor's own or the shared parts'), input of the
    # wrong kind.
    mine = or_f(
        PrNavCb.filter(), PrSegmentCb.filter(), PrKindCb.filter(), PrWeekdayCb.filter(),
        PrCapCb.filter(), PrEditCb.filter(), NmTimeCb.filter(), NmChannelCb.filter(),
        NmModeCb.filter(), CalendarCb.filter(),
    )  # fmt: skip
    c.register(editor.on_stale, StateFilter(s), mine)
    c.register(editor.on_stale, PrNavCb.filter(), StateFilter(None))
    m.register(editor.on_wrong_input, StateFilter(s))
    return r
