"""/settings → quiet hours and the frequency cap: a small dialog of its own.

Quiet hours are typed ("22:00-09:00", or "off"), then the global cap ("7" days,
or "off") and, with a cap, which mailings it holds back. Each value is saved as
soon as it is accepted; refused input gets its reason and the step stays.
"""

from __future__ import annotations

import contextlib

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.mailing_settings import MailingSettingsService
from bot.quiet_hours import CAP_DAYS_MAX, LimitsService, parse_cap, parse_window
from bot.zones import zone_words
from handlers.settings.callbacks import LimitsAction, LimitsCb
from handlers.settings.dialog import end_dialog
from handlers.settings.limits_views import cap_line, quiet_line
from handlers.settings.states import LimitsForm
from storage.limits import CapScope, Limits

QUIET, CAP, SCOPE = "quiet", "cap", "scope"

# ------------------------------------------------------------------ texts


def _keyboard(step: str, *actions: tuple[str, LimitsAction]) -> InlineKeyboardMarkup:
    """The step's buttons, then Cancel."""
    kb = InlineKeyboardBuilder()
    for text, action in (*actions, (_("✖️ Cancel"), LimitsAction.CANCEL)):
        kb.button(text=text, callback_data=LimitsCb(step=step, action=action))
    kb.adjust(1)
    return kb.as_markup()


async def _ask_quiet(message: Message, state: FSMContext, limits: Limits, zone: str) -> None:
    await state.set_state(LimitsForm.quiet)
    await message.answer(
        _(
            "{now}\n\nQuiet hours: no mailing is sent then. A mailing that reaches them "
            "pauses and continues when they end; a time inside them is refused.\n"
            "Type them as <code>22:00-09:00</code> ({zone}), or “off”."
        ).format(now=quiet_line(limits, zone), zone=zone_words(zone)),
        reply_markup=_keyboard(
            QUIET, (_("Keep as is"), LimitsAction.KEEP), (_("Turn off"), LimitsAction.OFF)
        ),
    )


async def _ask_cap(message: Message, state: FSMContext, limits: Limits) -> None:
    await state.set_state(LimitsForm.cap)
    await message.answer(
        _(
            "{now}\n\nFrequency cap: the same guest gets at most one mailing every N days; "
            "guests held back are listed in the journal as skipped.\n"
            "Type N (from 1 to {max}), or “off”."
        ).format(now=cap_line(limits), max=CAP_DAYS_MAX),
        reply_markup=_keyboard(
            CAP, (_("Keep as is"), LimitsAction.KEEP), (_("Turn off"), LimitsAction.OFF)
        ),
    )


async def _ask_scope(message: Message, state: FSMContext) -> None:
    await state.set_state(LimitsForm.scope)
    await message.answer(
        _(
            "Which mailings does the cap hold back? With “promotions only”, a one-off "
            "mailing (“we are closed tomorrow”) always gets through."
        ),
        reply_markup=_keyboard(
            SCOPE,
            (_("Promotions only"), LimitsAction.PROMOTIONS),
            (_("All mailings"), LimitsAction.ALL),
        ),
    )


# ------------------------------------------------------------------ handlers


async def on_open(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    limits: LimitsService,
    settings: Settings,
) -> None:
    """The page's "Quiet hours and frequency cap" button: the first question."""
    await query.answer()
    await state.set_data({})
    await _ask_quiet(message, state, await limits.current(), settings.timezone)


async def on_quiet_typed(
    message: Message, state: FSMContext, limits: LimitsService, settings: Settings
) -> None:
    """Typed quiet hours: saved, then the cap; refused with the reason."""
    try:
        window = parse_window(message.text or "")
    except ValueError as error:
        reasons = {
            "range": _("Hours go from 00 to 23 and minutes from 00 to 59."),
            "empty": _("The start and the end are the same: the window would be empty."),
        }
        reason = reasons.get(str(error), _("This is not a time window."))
        await message.answer(reason + " " + _("Type it as <code>22:00-09:00</code>, or “off”."))
        return
    await limits.set_quiet(window, message.from_user.id if message.from_user else None)
    current = await limits.current()
    await message.answer(quiet_line(current, settings.timezone))
    await _ask_cap(message, state, current)


async def on_cap_typed(
    message: Message,
    state: FSMContext,
    limits: LimitsService,
    mailing_settings: MailingSettingsService,
    settings: Settings,
) -> None:
    """A typed cap: with days, the scope comes next; "off" ends the dialog."""
    try:
        days = parse_cap(message.text or "")
    except ValueError:
        await message.answer(
            _("Type a whole number of days from 1 to {max}, e.g. 7, or “off”.").format(
                max=CAP_DAYS_MAX
            )
        )
        return
    user = message.from_user.id if message.from_user else None
    if days is None:
        await limits.set_cap(None, (await limits.current()).cap_scope, user)
        await end_dialog(message, state, mailing_settings, settings, _("Frequency cap: off."))
        return
    await state.update_data(cap_days=days)
    await _ask_scope(message, state)


async def on_button(
    query: CallbackQuery,
    callback_data: LimitsCb,
    state: FSMContext,
    limits: LimitsService,
    mailing_settings: MailingSettingsService,
    settings: Settings,
) -> None:
    """A button of the step the dialog is at (one step, one handler below)."""
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    await query.answer()
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_reply_markup(reply_markup=None)
    user = query.from_user.id
    action, step = callback_data.action, callback_data.step
    if action is LimitsAction.CANCEL:
        await end_dialog(message, state, mailing_settings, settings)
    elif step == QUIET:
        if action is LimitsAction.OFF:
            await limits.set_quiet(None, user)
        await _ask_cap(message, state, await limits.current())
    elif step == CAP:
        if action is LimitsAction.OFF:
            await limits.set_cap(None, (await limits.current()).cap_scope, user)
        await end_dialog(message, state, mailing_settings, settings)
    else:
        days = (await state.get_data()).get("cap_days")
        scope = CapScope.ALL if action is LimitsAction.ALL else CapScope.PROMOTIONS
        if isinstance(days, int):
            await limits.set_cap(days, scope, user)
        await end_dialog(message, state, mailing_settings, settings, _("Limits saved."))


async def on_stale(query: CallbackQuery) -> None:
    """A button of a step the dialog has left, or of a dialog that is over."""
    await query.answer(_("This button belongs to an earlier step."), show_alert=True)


async def on_use_buttons(message: Message) -> None:
    """Text at the scope step, which takes a button."""
    await message.answer(_("Choose with the buttons above."))


def register(router: Router) -> None:
    """The dialog's handlers, on the /settings router."""
    typed = F.text & ~F.text.startswith("/")
    router.message.register(on_quiet_typed, LimitsForm.quiet, typed)
    router.message.register(on_cap_typed, LimitsForm.cap, typed)
    router.message.register(on_use_buttons, LimitsForm.scope)
    at = {QUIET: LimitsForm.quiet, CAP: LimitsForm.cap, SCOPE: LimitsForm.scope}
    for step, form_state in at.items():
        router.callback_query.register(on_button, LimitsCb.filter(F.step == step), form_state)
    router.callback_query.register(on_stale, LimitsCb.filter(), StateFilter("*"))
