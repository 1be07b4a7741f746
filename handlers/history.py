"""/history: the mailings, scheduled first; a card each, cancelled or moved until it starts."""

from __future__ import annotations

from datetime import date

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.delivery.engine import DeliveryEngine
from bot.mailings import NOW, MailingService, MomentPassedError
from bot.parsing import DateError, TimeError, parse_date, parse_time
from bot.scheduler import MailingScheduler
from handlers.callbacks import NavCb
from handlers.filters import admin_router
from handlers.formatting import quote
from handlers.mailing_run import run_controls
from handlers.new_mailing.calendar import calendar_markup, in_range
from handlers.new_mailing.callbacks import CalendarCb
from handlers.new_mailing.texts import (
    channels_text,
    date_error_text,
    day_text,
    locale,
    mode_name,
    moment_text,
    segment_title,
    time_error_text,
)
from storage.mailings import Mailing

PAGE = 10
_ICONS = {"scheduled": "🕒", "running": "▶️", "paused": "⏸", "completed": "✅",
          "cancelled": "✖️", "missed": "⚠️"}  # fmt: skip


class HistoryCb(CallbackData, prefix="hist"):
    """History: list page, open a card, cancel (ask, confirm), change time, a quick time."""

    action: str
    mailing_id: int = 0
    page: int = 0
    value: str = ""


class Reschedule(StatesGroup):
    date = State()
    time = State()


def status_name(status: str) -> str:
    return {
        "scheduled": _("scheduled"),
        "running": _("sending"),
        "paused": _("paused"),
        "completed": _("completed"),
        "cancelled": _("cancelled"),
        "missed": _("missed (the bot was down at its time)"),
    }.get(status, status)


async def show_history(target: Message, mailings: MailingService, page: int = 0) -> None:
    found, total = await mailings.recent(limit=PAGE, offset=page * PAGE)
    if total == 0:
        await target.answer(_("There are no mailings yet. /new creates one."))
        return
    kb = InlineKeyboardBuilder()
    for mailing in found:
        when = mailings.local(mailing.scheduled_at).strftime("%d.%m %H:%M")
        name = mailing.name if len(mailing.name) <= 32 else mailing.name[:31] + "…"
        kb.button(
            text=f"{_ICONS.get(mailing.status, '•')} {when} · {name}",
            callback_data=HistoryCb(action="open", mailing_id=mailing.id, page=page),
        )
    kb.adjust(1)
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(
            text=_("‹ Newer"), callback_data=HistoryCb(action="page", page=page - 1).pack()
        ))  # fmt: skip
    if (page + 1) * PAGE < total:
        nav.append(InlineKeyboardButton(
            text=_("Older ›"), callback_data=HistoryCb(action="page", page=page + 1).pack()
        ))  # fmt: skip
    if nav:
        kb.row(*nav)
    await target.answer(
        _("<b>Mailings</b> ({total}): scheduled first, then the newest.").format(total=total),
        reply_markup=kb.as_markup(),
    )


async def card_text(mailing: Mailing, mailings: MailingService) -> str:
    segment = await mailings.segment(mailing.segment_id)
    mode = "all"
    if mailing.send_mode == "priority":
        mode = f"priority-{mailing.channels[0]}"
    channels = channels_text(mailing.channels)
    if len(mailing.channels) == 2:
        channels += f" · {mode_name(mode)}"
    lines = [
        _("<b>Mailing “{name}”</b>").format(name=quote(mailing.name)),
        _("Status: {status}").format(status=status_name(mailing.status)),
        _("When: {when}").format(
            when=f"{moment_text(mailings.local(mailing.scheduled_at))} "
            f"({mailings.settings.timezone})"
        ),
        _("Segment: {segment}").format(segment=segment_title(segment) if segment else "—"),
        _("Channels: {channels}").format(channels=channels),
    ]
    if mailing.subject:
        lines.append(_("Email subject: {subject}").format(subject=quote(mailing.subject)))
    lines.append(_("Image: {answer}").format(answer=_("yes") if mailing.image_path else _("no")))
    return "\n".join(lines)


def card_markup(mailing: Mailing, page: int, unknown: int = 0) -> InlineKeyboardMarkup:
    """Change time / Cancel until it starts; then the run controls (Pause, Resume, ...)."""
    kb = InlineKeyboardBuilder()
    if mailing.status == "scheduled":
        kb.button(
            text=_("🕒 Change time"), callback_data=HistoryCb(action="move", mailing_id=mailing.id)
        )
        kb.button(
            text=_("✖️ Cancel mailing"), callback_data=HistoryCb(action="ask", mailing_id=mailing.id)
        )
        kb.adjust(1)
    else:
        controls = run_controls(mailing, unknown)
        if controls is not None:
            for row in controls.inline_keyboard:
                kb.row(*row)
    kb.row(
        InlineKeyboardButton(
            text=_("« Back to the list"), callback_data=HistoryCb(action="page", page=page).pack()
        )
    )
    return kb.as_markup()


async def on_history(message: Message, state: FSMContext, mailings: MailingService) -> None:
    await state.clear()
    await show_history(message, mailings)


async def on_button(
    query: CallbackQuery,
    callback_data: HistoryCb,
    state: FSMContext,
    mailings: MailingService,
    engine: DeliveryEngine,
    scheduler: MailingScheduler,
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    action = callback_data.action
    if action == "page":
        await query.answer()
        await show_history(message, mailings, max(0, callback_data.page))
        return
    if action == "time":
        await query.answer()
        await _move(message, state, mailings, scheduler, callback_data.value)
        return
    mailing = await mailings.get(callback_data.mailing_id)
    if mailing is None:
        await query.answer(_("This mailing no longer exists."), show_alert=True)
        return
    if action == "open":
        await query.answer()
        unknown = (await engine.repo.counts(mailing.id)).total("unknown")
        await message.answer(
            await card_text(mailing, mailings),
            reply_markup=card_markup(mailing, callback_data.page, unknown),
        )
    elif action == "ask":
        await query.answer()
        kb = InlineKeyboardBuilder()
        kb.button(
            text=_("Yes, cancel it"),
            callback_data=HistoryCb(action="cancel", mailing_id=mailing.id),
        )
        kb.button(
            text=_("No, keep it"), callback_data=HistoryCb(action="open", mailing_id=mailing.id)
        )
        await message.answer(
            _("Cancel the mailing “{name}”? Guests will not get it.").format(
                name=quote(mailing.name)
            ),
            reply_markup=kb.as_markup(),
        )
    elif action == "cancel":
        cancelled = await engine.cancel(mailing.id)
        await scheduler.sync(mailing.id)
        if cancelled:
            await query.answer(_("Cancelled."))
            await message.edit_text(
                _("The mailing “{name}” is cancelled.").format(name=quote(mailing.name))
            )
        else:
            await query.answer(
                _("It can no longer be cancelled: it is {status}.").format(
                    status=status_name(mailing.status)
                ),
                show_alert=True,
            )
    elif action == "move":
        if mailing.status != "scheduled":
            await query.answer(
                _("The time can no longer be changed: it is {status}.").format(
                    status=status_name(mailing.status)
                ),
                show_alert=True,
            )
            return
        await query.answer()
        await state.set_state(Reschedule.date)
        await state.set_data({"mailing_id": mailing.id})
        await message.answer(
            _("New date for “{name}”: pick a day or type it like {example}.").format(
                name=quote(mailing.name), example=day_text(mailings.today())
            ),
            reply_markup=_calendar(mailings),
        )
    else:
        await query.answer(_("This button is out of date."), show_alert=True)


def _cancel_row() -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=_("✖️ Cancel"), callback_data=NavCb(action="cancel").pack())]


def _calendar(
    mailings: MailingService, year: int | None = None, month: int | None = None
) -> InlineKeyboardMarkup:
    return calendar_markup(mailings.today(), locale(), year, month, extra=[_cancel_row()])


async def _ask_time(
    target: Message, state: FSMContext, mailings: MailingService, day: date
) -> None:
    await state.update_data(day=day.isoformat())
    await state.set_state(Reschedule.time)
    kb = InlineKeyboardBuilder()
    now_allowed, times = mailings.quick_times(day)
    if now_allowed:
        kb.button(text=_("⚡ Now"), callback_data=HistoryCb(action="time", value=NOW))
    for value in times:
        kb.button(text=value, callback_data=HistoryCb(action="time", value=value.replace(":", "")))
    kb.adjust(3)
    kb.row(*_cancel_row())
    await target.answer(
        _("New time on {day}? Type it like 18:30 or choose below ({tz}).").format(
            day=day_text(day), tz=mailings.settings.timezone
        ),
        reply_markup=kb.as_markup(),
    )


async def on_date_typed(message: Message, state: FSMContext, mailings: MailingService) -> None:
    try:
        day = parse_date(message.text or "", mailings.today())
    except DateError as error:
        await message.answer(
            date_error_text(error, mailings.today()), reply_markup=_calendar(mailings)
        )
        return
    await _ask_time(message, state, mailings, day)


async def on_calendar(
    query: CallbackQuery, callback_data: CalendarCb, state: FSMContext, mailings: MailingService
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    today = mailings.today()
    if callback_data.action == "month" and in_range(callback_data.year, callback_data.month, today):
        await query.message.edit_reply_markup(
            reply_markup=_calendar(mailings, callback_data.year, callback_data.month)
        )
        return
    if callback_data.action not in ("day", "today"):
        return
    try:
        day = (
            today
            if callback_data.action == "today"
            else date(callback_data.year, callback_data.month, callback_data.day)
        )
    except ValueError:
        return
    if day < today:
        await query.message.answer(_("This day has already passed. Choose today or later."))
        return
    await query.message.edit_reply_markup(reply_markup=None)
    await _ask_time(query.message, state, mailings, day)


async def on_time_typed(
    message: Message, state: FSMContext, mailings: MailingService, scheduler: MailingScheduler
) -> None:
    try:
        clock = parse_time(message.text or "")
    except TimeError as error:
        await message.answer(time_error_text(error))
        return
    await _move(message, state, mailings, scheduler, clock.strftime("%H%M"))


async def _move(
    target: Message,
    state: FSMContext,
    mailings: MailingService,
    scheduler: MailingScheduler,
    value: str,
) -> None:
    data = await state.get_data()
    if await state.get_state() != Reschedule.time.state or "mailing_id" not in data:
        await target.answer(_("This button is out of date."))
        return
    at = NOW if value == NOW else f"{value[:2]}:{value[2:]}"
    if at != NOW:
        try:
            parse_time(at)
        except TimeError:
            await target.answer(_("This button is out of date."))
            return
    day = date.fromisoformat(data["day"])
    try:
        when = await mailings.reschedule(int(data["mailing_id"]), day, at)
    except MomentPassedError as passed:
        await target.answer(
            _(
                "{time} on {day} has already passed: it is {now} now ({tz}). Type a later time."
            ).format(
                time=at,
                day=day_text(day),
                now=passed.now.strftime("%H:%M"),
                tz=mailings.settings.timezone,
            )
        )
        return
    except (LookupError, ValueError):
        await state.clear()
        await target.answer(
            _("The time can no longer be changed: the mailing has started or was cancelled.")
        )
        return
    await state.clear()
    text = (
        _("The mailing starts now.")
        if at == NOW
        else _("The mailing is moved to {moment} ({tz}).").format(
            moment=moment_text(mailings.local(when)), tz=mailings.settings.timezone
        )
    )
    await target.answer(text)
    # The job moves with it; "now" launches at once.
    await scheduler.sync(int(data["mailing_id"]))


async def on_wrong_input(message: Message) -> None:
    await message.answer(
        _("Please type the date or time, or choose with the buttons; /cancel leaves.")
    )


def create_router() -> Router:
    router = admin_router("history")
    router.message.register(on_history, Command("history"))
    router.callback_query.register(on_button, HistoryCb.filter())
    router.callback_query.register(on_calendar, CalendarCb.filter(), Reschedule.date)
    router.message.register(on_date_typed, Reschedule.date, F.text)
    router.message.register(on_time_typed, Reschedule.time, F.text)
    router.message.register(on_wrong_input, Reschedule.date)
    router.message.register(on_wrong_input, Reschedule.time)
    return router
