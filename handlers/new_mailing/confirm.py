"""Confirm: the draft becomes its one mailing (docs/architecture.md, "Engine invariants").

The draft's key rides on the Confirm button and is stored with the mailing under a
unique index, so two taps in one batch, a retry after a lost answer or a tap on an
old preview never make a second mailing: they are told what the draft became.
"""

from __future__ import annotations

import contextlib

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.mailings import NOW, Draft, MailingService, MomentPassedError
from bot.scheduler import MailingScheduler
from handlers.components.common import query_message
from handlers.components.parts_preview import sample_recipient
from handlers.components.texts import channels_text, moment_text, status_name, zone_words
from handlers.formatting import quote
from handlers.keyboards import main_menu
from handlers.new_mailing.callbacks import NmConfirmCb
from handlers.new_mailing.flow import show_step
from handlers.new_mailing.preview import draft_key
from storage.mailings import DraftTaken, Mailing
from storage.statuses import MailingStatus


async def on_confirm(
    query: CallbackQuery,
    callback_data: NmConfirmCb,
    state: FSMContext,
    mailings: MailingService,
    scheduler: MailingScheduler,
) -> None:
    """Confirm under a preview: the draft becomes its one mailing."""
    await _confirm(query, state, mailings, scheduler, callback_data.draft_key)


async def on_confirm_keyless(
    query: CallbackQuery, state: FSMContext, mailings: MailingService, scheduler: MailingScheduler
) -> None:
    """Confirm under a preview shown before drafts had keys (the open draft's key is used)."""
    await _confirm(query, state, mailings, scheduler, await draft_key(state))


async def on_confirm_again(
    query: CallbackQuery, callback_data: NmConfirmCb, mailings: MailingService
) -> None:
    """Confirm of a draft that is no longer open: say what it became."""
    await _tell_what_became(query, mailings, callback_data.draft_key)


async def _confirm(
    query: CallbackQuery,
    state: FSMContext,
    mailings: MailingService,
    scheduler: MailingScheduler,
    key: str,
) -> None:
    message = query_message(query)
    if message is None:
        await query.answer()
        return
    data = await state.get_data()
    # A repeated tap, or a retry after a lost answer: the draft is already a mailing.
    if data.get("draft_key") != key or await mailings.by_draft_key(key) is not None:
        await _tell_what_became(query, mailings, key)
        return
    draft = Draft.from_data(data)
    if not await _still_sendable(query, message, state, draft, mailings):
        return
    try:
        mailing = await mailings.create(draft, query.from_user.id)
    except DraftTaken:  # a second tap of the same draft got here at the same time
        await _tell_what_became(query, mailings, key)
        return
    except MomentPassedError:
        await query.answer()
        await _ask_moment_again(message, state, draft, mailings)
        return
    await state.clear()
    try:
        await _tell_created(query, message, draft, mailing, mailings)
    finally:
        # Its job is planned even if telling the admin failed; "now" launches it at once.
        await scheduler.sync(mailing.id)


async def _still_sendable(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    draft: Draft,
    mailings: MailingService,
) -> bool:
    """The text still fits and the channels are still on; else say so and go back."""
    preview = await mailings.preview(draft, sample_recipient())
    if not preview.lengths.ok:
        await query.answer(
            _("The text is too long for this segment. Edit the text first."), show_alert=True
        )
        return False
    # Another admin may have switched a channel off while this one was composing.
    enabled = (await mailings.channel_switches()).enabled
    switched_off = [c for c in draft.channels if c not in enabled]
    if not switched_off:
        return True
    await query.answer()
    channels = [c for c in draft.channels if c not in switched_off]
    await message.answer(
        _("{channels} was switched off in /settings meanwhile. Choose the channels again.").format(
            channels=channels_text(tuple(switched_off))
        )
    )
    await state.update_data(channels=channels, editing=True)
    await show_step(message, state, "channels", mailings)
    return False


async def _ask_moment_again(
    message: Message, state: FSMContext, draft: Draft, mailings: MailingService
) -> None:
    day_over = draft.day is not None and draft.day < mailings.today()
    await message.answer(
        _("The chosen day is over while we talked. Choose another date.")
        if day_over
        else _("The chosen time has already passed while we talked. Choose another time.")
    )
    if day_over:
        await state.update_data(day=None, at=None, editing=True)
    else:
        await state.update_data(at=None, editing=True)
    await show_step(message, state, "date" if day_over else "time", mailings)


async def _tell_created(
    query: CallbackQuery, message: Message, draft: Draft, mailing: Mailing, mailings: MailingService
) -> None:
    now = draft.at == NOW
    await query.answer(_("Sending starts now.") if now else _("Scheduled."))
    await message.edit_reply_markup(reply_markup=None)
    if now:
        text = _(
            "✅ The mailing “{name}” starts now. Its progress follows here; "
            "it can be paused or cancelled from its card in /history."
        ).format(name=quote(mailing.name))
    else:
        text = _("✅ The mailing “{name}” is scheduled for {moment} ({tz}).").format(
            name=quote(mailing.name),
            moment=moment_text(mailings.local(mailing.scheduled_at)),
            tz=zone_words(mailings.settings),
        )
        text += "\n" + _("It can be cancelled or moved in /history until it starts.")
    await message.answer(text, reply_markup=main_menu())


async def _tell_what_became(query: CallbackQuery, mailings: MailingService, key: str) -> None:
    """A popup saying which mailing the draft became (or that it was dropped)."""
    mailing = await mailings.by_draft_key(key)
    if mailing is None:
        await query.answer(
            _("This draft is finished or cancelled. /new starts a new mailing."), show_alert=True
        )
        return
    name = mailing.name if len(mailing.name) <= 40 else mailing.name[:39] + "…"
    if mailing.status == MailingStatus.SCHEDULED:
        text = _("This draft is already the mailing “{name}”, scheduled for {moment}.").format(
            name=name, moment=moment_text(mailings.local(mailing.scheduled_at))
        )
    else:
        text = _("This draft is already the mailing “{name}”: {status}.").format(
            name=name, status=status_name(mailing.status)
        )
    await query.answer(text + " " + _("Nothing was sent twice."), show_alert=True)
    message = query_message(query)
    if message is not None and message.reply_markup is not None:
        with contextlib.suppress(TelegramBadRequest):  # already taken off by the first tap
            await message.edit_reply_markup(reply_markup=None)
