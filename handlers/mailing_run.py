"""Controls of a running mailing: Pause, Resume, Cancel, Resend unknown, Send a missed one now.

The buttons sit under the engine's progress message and its notices; the
mailing's card (history) shows the same ones through `run_controls`.
"""

from __future__ import annotations

from typing import Protocol

from aiogram import Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.delivery.engine import DeliveryEngine
from bot.scheduler import MailingScheduler
from handlers.filters import admin_router
from handlers.mailing_run_callbacks import RunCb


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
        if status == "running":
            kb.button(text=_("⏸ Pause"), callback_data=RunCb(action="pause", mailing_id=mailing_id))
        if status == "paused":
            kb.button(
                text=_("▶️ Resume"), callback_data=RunCb(action="resume", mailing_id=mailing_id)
            )
        if status == "missed":
            kb.button(
                text=_("🚀 Send now"), callback_data=RunCb(action="now", mailing_id=mailing_id)
            )
        if status in ("running", "paused", "missed"):
            kb.button(
                text=_("✖️ Cancel mailing"),
                callback_data=RunCb(action="cancel", mailing_id=mailing_id),
            )
        if unknown and status in ("running", "paused", "completed"):
            kb.button(
                text=_("🔁 Resend unknown ({count})").format(count=unknown),
                callback_data=RunCb(action="unknown", mailing_id=mailing_id),
            )
        kb.adjust(2, 1)
        markup = kb.as_markup()
        return markup if markup.inline_keyboard else None

    def send_now(self, mailing_id: int) -> InlineKeyboardMarkup:
        """The "Send now" (and Cancel) buttons under a missed mailing's notice."""
        markup = self.controls(mailing_id, "missed", 0)
        assert markup is not None
        return markup


def run_controls(mailing: MailingLike, unknown: int = 0) -> InlineKeyboardMarkup | None:
    """The run buttons for a mailing's card (None when there is nothing to control)."""
    return RunKeyboards().controls(mailing.id, mailing.status, unknown)


def _confirm(mailing_id: int) -> InlineKeyboardMarkup:
    """Yes / No for cancelling a mailing."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("Yes, cancel it"), callback_data=RunCb(action="cancel_yes", mailing_id=mailing_id)
    )
    kb.button(text=_("No"), callback_data=RunCb(action="cancel_no", mailing_id=mailing_id))
    return kb.as_markup()


async def on_run_button(
    query: CallbackQuery,
    callback_data: RunCb,
    engine: DeliveryEngine,
    scheduler: MailingScheduler | None = None,
) -> None:
    """Carry out a run control and say in a toast what happened."""
    action, mailing_id = callback_data.action, callback_data.mailing_id
    message = query.message if isinstance(query.message, Message) else None
    if action == "pause":
        ok = await engine.pause(mailing_id)
        await query.answer(_("Paused.") if ok else _("The mailing is not running."))
    elif action == "resume":
        ok = await engine.resume(mailing_id)
        await query.answer(_("Resumed.") if ok else _("There is nothing to resume."))
    elif action == "now":
        ok = await engine.launch(mailing_id, launched_by=query.from_user.id)
        await query.answer(_("Sending now.") if ok else _("The mailing cannot be started now."))
    elif action == "unknown":
        count = await engine.resend_unknown(mailing_id)
        await query.answer(
            _("{count} will be sent again.").format(count=count)
            if count
            else _("There is nothing to resend.")
        )
    elif action == "cancel":
        await query.answer()
        if message is not None:
            await message.answer(
                _("Cancel this mailing? Messages not sent yet will not be sent."),
                reply_markup=_confirm(mailing_id),
            )
    elif action == "cancel_yes":
        ok = await engine.cancel(mailing_id)
        if scheduler is not None:
            await scheduler.sync(mailing_id)
        await query.answer(_("Cancelled.") if ok else _("The mailing cannot be cancelled now."))
        if message is not None:
            await message.edit_text(
                _("The mailing is cancelled.") if ok else _("The mailing was not cancelled.")
            )
    elif action == "cancel_no":
        await query.answer()
        if message is not None:
            await message.edit_text(_("The mailing goes on."))
    else:
        await query.answer()


def create_router() -> Router:
    """The run controls' router (admins only)."""
    router = admin_router("mailing_run")
    router.callback_query.register(on_run_button, RunCb.filter())
    return router
