"""Step 10: the preview as a guest will see it, with counts; Confirm, Edit, Send test, Cancel."""

from __future__ import annotations

import uuid

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.delivery.base import short
from bot.mailings import Draft, MailingService, Preview
from bot.render import TELEGRAM_CAPTION_LIMIT, render_subject, telegram_text
from handlers.components.common import query_message, retire
from handlers.components.parts_preview import sample_recipient, send_draft
from handlers.components.texts import (
    channels_text,
    mode_name,
    moment_text,
    segment_title,
    zone_words,
)
from handlers.formatting import quote
from handlers.new_mailing.callbacks import (
    NavAction,
    NmConfirmCb,
    NmEditCb,
    NmNavCb,
    NmPreviewCb,
    PreviewAction,
)
from handlers.new_mailing.flow import applies, missing, show_step
from handlers.new_mailing.states import NewMailing


async def draft_key(state: FSMContext) -> str:
    """The draft's key, made when it first reaches the preview (it then stays with it)."""
    key = (await state.get_data()).get("draft_key")
    if not key:
        key = uuid.uuid4().hex
        await state.update_data(draft_key=key)
    return str(key)


def preview_markup(key: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Confirm"), callback_data=NmConfirmCb(draft_key=key))
    kb.button(text=_("✏️ Edit"), callback_data=NmPreviewCb(action=PreviewAction.EDIT))
    kb.button(text=_("🧪 Send test to me"), callback_data=NmPreviewCb(action=PreviewAction.TEST))
    kb.button(text=_("✖️ Cancel"), callback_data=NmNavCb(action=NavAction.CANCEL))
    kb.adjust(1, 2, 1)
    return kb.as_markup()


def plan_lines(preview: Preview) -> list[str]:
    """Who the run will reach, in the units of its progress and summary: guests per
    chosen channel as the send mode picks them, and guests no chosen channel reaches."""
    draft, audience = preview.draft, preview.audience
    total = audience.reach.total
    reached = total - audience.unreachable
    lines = [
        ngettext(
            "Will get it: {n} of {total} guest", "Will get it: {n} of {total} guests", total
        ).format(n=reached, total=total)
    ]
    if draft.uses_telegram:
        lines.append(
            ngettext(
                "Will get it in Telegram: {n} guest",
                "Will get it in Telegram: {n} guests",
                audience.telegram,
            ).format(n=audience.telegram)
        )
    if draft.uses_email:
        lines.append(
            ngettext(
                "Will get it by email: {n} guest",
                "Will get it by email: {n} guests",
                audience.email,
            ).format(n=audience.email)
        )
    lines.append(
        ngettext(
            "Unreachable by the chosen channels: {n} guest",
            "Unreachable by the chosen channels: {n} guests",
            audience.unreachable,
        ).format(n=audience.unreachable)
    )
    return lines


def summary_text(preview: Preview, mailings: MailingService) -> str:
    draft, audience = preview.draft, preview.audience
    reach = audience.reach
    if preview.guest is not None:
        shown = _("Above is the message as {guest} will see it.").format(
            guest=quote(preview.guest.full_name or preview.guest.phone)
        )
    else:
        shown = _(
            "Above is the message as a guest will see it (a sample guest: the segment is empty)."
        )
    when = (
        _("{moment} ({tz})").format(
            moment=moment_text(preview.scheduled_at), tz=zone_words(mailings.settings)
        )
        if preview.scheduled_at
        else _("now, at confirmation")
    )
    if draft.channels == ("email",):
        shown += " " + _("It goes by email only: send a test email to see the email itself.")
    lines = [
        _("<b>Preview of “{name}”</b>").format(name=quote(draft.name or "")),
        shown,
        "",
        ngettext(
            "Segment: {segment} — {n} guest", "Segment: {segment} — {n} guests", reach.total
        ).format(segment=segment_title(preview.segment), n=reach.total),
        _("When: {when}").format(when=when),
        _("Channels: {channels}").format(channels=channels_text(draft.channels)),
    ]
    if draft.both_channels:
        lines.append(_("Send mode: {mode}").format(mode=mode_name(draft.mode)))
    if draft.uses_email:
        subject = render_subject(draft.subject or "", preview.recipient, preview.ctx)
        lines.append(_("Email subject: {subject}").format(subject=quote(subject)))
    lines += [
        "",
        _("Reachable by Telegram: {n}").format(n=reach.telegram),
        _("Reachable by email: {n}").format(n=reach.email),
        _("Reachable by neither: {n}").format(n=reach.neither),
        "",
        *plan_lines(preview),
    ]
    if preview.nameless:
        lines.append(
            _(
                "ℹ️ Guests of the segment without a name the text uses: {n}. They get: «{text}»"
            ).format(
                n=preview.nameless, text=quote(short(telegram_text(preview.nameless_rendered), 120))
            )
        )
    if preview.lengths.split:
        lines.append(
            _(
                "ℹ️ The text is longer than a photo caption ({limit} characters): guests "
                "get the photo, then the text as a separate message."
            ).format(limit=TELEGRAM_CAPTION_LIMIT)
        )
    if not preview.lengths.ok:
        lines.append(
            _(
                "⚠️ For the longest names in this segment the text comes to {length} characters; "
                "Telegram allows {limit}. Edit the text before confirming."
            ).format(length=preview.lengths.length, limit=preview.lengths.limit)
        )
    return "\n".join(lines)


async def show_preview(target: Message, state: FSMContext, mailings: MailingService) -> None:
    """Render the draft for a real guest of the segment, send it, then the summary."""
    data = await state.get_data()
    step = missing(data)
    if step is not None:
        await show_step(target, state, step, mailings)
        return
    try:
        preview = await mailings.preview(Draft.from_data(data), sample_recipient())
    except LookupError:
        await target.answer(_("The chosen segment no longer exists. Choose another."))
        await state.update_data(segment_id=None, editing=True)
        await show_step(target, state, "segment", mailings)
        return
    await state.set_state(NewMailing.preview)
    await state.update_data(editing=False)
    await send_draft(target, state, preview, mailings)
    markup = preview_markup(await draft_key(state))
    await target.answer(summary_text(preview, mailings), reply_markup=markup)


def edit_markup(data: dict[str, object]) -> InlineKeyboardMarkup:
    draft = Draft.from_data(dict(data))
    labels = [
        ("name", _("Mailing name")), ("segment", _("Segment")), ("date", _("Date")),
        ("time", _("Time")),
        ("channels", _("Channels")), ("mode", _("Send mode")), ("subject", _("Subject")),
        ("text", _("Text")), ("image", _("Image")),
    ]  # fmt: skip
    kb = InlineKeyboardBuilder()
    for step, label in labels:
        if applies(step, draft):
            kb.button(text=label, callback_data=NmEditCb(step=step))
    kb.adjust(2)
    kb.row(
        InlineKeyboardButton(
            text=_("« Back to preview"), callback_data=NmPreviewCb(action=PreviewAction.SHOW).pack()
        )
    )
    return kb.as_markup()


def test_markup() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("📱 Telegram message to me"), callback_data=NmPreviewCb(action=PreviewAction.TEST_TG)
    )
    kb.button(
        text=_("📧 Email to an address"), callback_data=NmPreviewCb(action=PreviewAction.TEST_EMAIL)
    )
    kb.button(text=_("« Back to preview"), callback_data=NmPreviewCb(action=PreviewAction.SHOW))
    kb.adjust(1)
    return kb.as_markup()


async def on_edit(query: CallbackQuery, state: FSMContext) -> None:
    """The Edit menu in place of the preview's buttons."""
    await _swap_buttons(query, edit_markup(await state.get_data()))


async def on_show(query: CallbackQuery, state: FSMContext) -> None:
    """Back from a menu to the preview's buttons."""
    await _swap_buttons(query, preview_markup(await draft_key(state)))


async def _swap_buttons(query: CallbackQuery, markup: InlineKeyboardMarkup) -> None:
    await query.answer()
    message = query_message(query)
    if message is not None:
        await message.edit_reply_markup(reply_markup=markup)


async def on_test(query: CallbackQuery, state: FSMContext, mailings: MailingService) -> None:
    """Send test to me: a choice when the mailing uses email, else the Telegram message."""
    if Draft.from_data(await state.get_data()).uses_email:
        await _swap_buttons(query, test_markup())
    else:
        await on_test_telegram(query, state, mailings)


async def on_test_telegram(
    query: CallbackQuery, state: FSMContext, mailings: MailingService
) -> None:
    await query.answer(_("Sending the test message…"))
    message = query_message(query)
    if message is None:
        return
    preview = await mailings.preview(Draft.from_data(await state.get_data()), sample_recipient())
    await send_draft(message, state, preview, mailings)
    await message.answer(
        _("⬆️ The test message: exactly what guests get. Confirm, edit or cancel:"),
        reply_markup=preview_markup(await draft_key(state)),
    )


async def on_test_email(query: CallbackQuery, state: FSMContext) -> None:
    """Ask for the address of the test email (the last one offered as a button)."""
    await query.answer()
    message = query_message(query)
    if message is None:
        return
    await state.set_state(NewMailing.test_email)
    last = (await state.get_data()).get("test_email")
    kb = InlineKeyboardBuilder()
    if last:
        kb.button(text=last, callback_data=NmNavCb(action=NavAction.LAST_EMAIL))
    kb.button(text=_("« Back to preview"), callback_data=NmPreviewCb(action=PreviewAction.SHOW_NEW))
    kb.adjust(1)
    await message.answer(
        _(
            "Type the email address to send the test to. "
            "It goes through the SMTP server set in /settings."
        ),
        reply_markup=kb.as_markup(),
    )


async def on_show_new(query: CallbackQuery, state: FSMContext, mailings: MailingService) -> None:
    await query.answer()
    message = query_message(query)
    if message is not None:
        await show_preview(message, state, mailings)


async def on_edit_step(
    query: CallbackQuery, callback_data: NmEditCb, state: FSMContext, mailings: MailingService
) -> None:
    message = await retire(query)
    if message is None:
        return
    await state.update_data(editing=True)
    await show_step(message, state, callback_data.step, mailings)
