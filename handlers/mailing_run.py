"""Controls of a running mailing: Pause, Resume, Cancel, Resend unknown, Send a missed one now.

The buttons sit under the engine's progress message and its notices; the
mailing's card (history) shows the same ones through `run_controls`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.delivery.engine import DeliveryEngine
from bot.mailings import MailingService
from bot.quiet_hours import LimitsService
from bot.scheduler import MailingScheduler
from bot.zones import zone_words
from handlers.components.common import query_message, show_in_place
from handlers.components.confirm import ask_confirm
from handlers.filters import admin_router
from handlers.mailing_run_callbacks import RunAction, RunCb
from storage.statuses import MailingStatus


class MailingLike(Protocol):
    """What the controls need of a mailing."""

    @property
    def id(self) -> int:
        """The mailing's id."""

    @property
    def status(self) -> str:
        """The mailing's status."""


class RunKeyboards:
    """The engine's buttons (bot.delivery.progress.RunKeyboards), built here in the handlers."""

    def controls(self, mailing_id: int, status: str, unknown: int) -> InlineKeyboardMarkup | None:
        """Pause/Cancel while running, Resume/Cancel when paused, Resend unknown when done."""
        kb = InlineKeyboardBuilder()

        def button(text: str, action: RunAction) -> None:
            kb.button(text=text, callback_data=RunCb(action=action, mailing_id=mailing_id))

        if status == MailingStatus.RUNNING:
            button(_("⏸ Pause"), RunAction.PAUSE)
        if status == MailingStatus.PAUSED:
            button(_("▶️ Resume"), RunAction.RESUME)
        if status == MailingStatus.MISSED:
            button(_("🚀 Send now"), RunAction.NOW)
        if status in (MailingStatus.RUNNING, MailingStatus.PAUSED, MailingStatus.MISSED):
            button(_("✖️ Cancel mailing"), RunAction.CANCEL)
        if unknown and status in (
            MailingStatus.RUNNING, MailingStatus.PAUSED, MailingStatus.COMPLETED,
        ):  # fmt: skip
            button(_("🔁 Resend unknown ({count})").format(count=unknown), RunAction.UNKNOWN)
        kb.adjust(2, 1)
        markup = kb.as_markup()
        return markup if markup.inline_keyboard else None

    def send_now(self, mailing_id: int) -> InlineKeyboardMarkup:
        """The "Send now" (and Cancel) buttons under a missed mailing's notice."""
        markup = self.controls(mailing_id, MailingStatus.MISSED, 0)
        assert markup is not None
        return markup


def run_controls(mailing: MailingLike, unknown: int = 0) -> InlineKeyboardMarkup | None:
    """The run buttons for a mailing's card (None when there is nothing to control)."""
    return RunKeyboards().controls(mailing.id, mailing.status, unknown)


async def on_pause(query: CallbackQuery, callback_data: RunCb, engine: DeliveryEngine) -> None:
    ok = await engine.pause(callback_data.mailing_id)
    await query.answer(_("Paused.") if ok else _("The mailing is not running."))


async def on_resume(
    query: CallbackQuery, callback_data: RunCb, engine: DeliveryEngine, limits: LimitsService
) -> None:
    ok = await engine.resume(callback_data.mailing_id)
    if not ok:
        await query.answer(_("There is nothing to resume."))
        return
    now = datetime.now(UTC)
    quiet = await limits.quiet_hours()
    if quiet is not None and quiet.contains(now):
        # It would pause again at once: say when it really goes on.
        end = quiet.end_after(now).astimezone(quiet.tz)
        await query.answer(
            _("Resumed: it continues at {time} ({zone}), when quiet hours end.").format(
                time=f"{end:%H:%M}", zone=zone_words(str(quiet.tz))
            ),
            show_alert=True,
        )
        return
    await query.answer(_("Resumed."))


async def on_send_now(query: CallbackQuery, callback_data: RunCb, engine: DeliveryEngine) -> None:
    ok = await engine.launch(callback_data.mailing_id, launched_by=query.from_user.id)
    await query.answer(_("Sending now.") if ok else _("The mailing cannot be started now."))


async def on_resend_unknown(
    query: CallbackQuery, callback_data: RunCb, engine: DeliveryEngine
) -> None:
    count = await engine.resend_unknown(callback_data.mailing_id)
    await query.answer(
        ngettext(
            "{count} message will be sent again.", "{count} messages will be sent again.", count
        ).format(count=count)
        if count
        else _("There is nothing to resend.")
    )


async def on_cancel(query: CallbackQuery, callback_data: RunCb) -> None:
    """Cancel mailing: ask first."""
    await query.answer()
    message = query_message(query)
    if message is not None:
        mailing_id = callback_data.mailing_id
        await ask_confirm(
            message,
            _("Cancel this mailing? Messages not sent yet will not be sent."),
            yes=RunCb(action=RunAction.CANCEL_YES, mailing_id=mailing_id),
            no=RunCb(action=RunAction.CANCEL_NO, mailing_id=mailing_id),
            yes_text=_("Yes, cancel it"),
            no_text=_("No"),
        )


async def cancel_mailing(
    mailing_id: int,
    engine: DeliveryEngine,
    scheduler: MailingScheduler,
    mailings: MailingService,
) -> tuple[bool, str | None]:
    """Cancel the mailing: (True, None) when this press cancelled it, else (False, the status
    that stands now), so a second "Yes, cancel" says "already cancelled", not "scheduled"."""
    cancelled = await engine.cancel(mailing_id)
    await scheduler.sync(mailing_id)
    if cancelled:
        return True, None
    mailing = await mailings.get(mailing_id)
    return False, None if mailing is None else mailing.status


async def on_cancel_confirmed(
    query: CallbackQuery,
    callback_data: RunCb,
    engine: DeliveryEngine,
    scheduler: MailingScheduler,
    mailings: MailingService,
) -> None:
    ok, status = await cancel_mailing(callback_data.mailing_id, engine, scheduler, mailings)
    already = status == MailingStatus.CANCELLED
    if ok or already:
        await query.answer(_("Cancelled.") if ok else _("It is already cancelled."))
    else:
        await query.answer(_("The mailing cannot be cancelled now."))
    message = query_message(query)
    if message is not None:
        await show_in_place(
            message,
            _("The mailing is cancelled.")
            if ok or already
            else _("The mailing was not cancelled."),
        )


async def on_cancel_declined(query: CallbackQuery) -> None:
    await query.answer()
    message = query_message(query)
    if message is not None:
        await message.edit_text(_("The mailing goes on."))


def _on(action: RunAction) -> CallbackQueryFilter:
    return RunCb.filter(F.action == action)


def create_router() -> Router:
    """The run controls' router (admins only)."""
    router = admin_router("mailing_run")
    c = router.callback_query
    c.register(on_pause, _on(RunAction.PAUSE))
    c.register(on_resume, _on(RunAction.RESUME))
    c.register(on_send_now, _on(RunAction.NOW))
    c.register(on_resend_unknown, _on(RunAction.UNKNOWN))
    c.register(on_cancel, _on(RunAction.CANCEL))
    c.register(on_cancel_confirmed, _on(RunAction.CANCEL_YES))
    c.register(on_cancel_declined, _on(RunAction.CANCEL_NO))
    return router
