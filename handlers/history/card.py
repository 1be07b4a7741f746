"""A mailing's card: everything about it, read fresh each time it is opened, and its buttons."""

from __future__ import annotations

import contextlib

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import FSInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.mailings import MailingService
from handlers.components.texts import (
    channels_text,
    guest_counts_text,
    mode_name,
    moment_text,
    segment_title,
    status_name,
    zone_words,
)
from handlers.formatting import quote
from handlers.history.callbacks import HistoryAction, HistoryCb
from handlers.journal.callbacks import journal_button
from handlers.mailing_run import run_controls
from storage.deliveries import Counts
from storage.mailings import Mailing
from storage.statuses import DeliveryStatus, MailingStatus, ModeChoice

__all__ = ["card_markup", "card_text", "counts_of", "extra_rows", "show_card", "status_name"]

TEXT_SHOWN = 1500  # of the message's text on the card (Telegram's 4096 hold the rest)


async def counts_of(mailings: MailingService, mailing_id: int) -> Counts:
    """The mailing's rows by status and channel: what the card's buttons offer (Resend
    unknown (N)) and the chart draw; the numbers people read are in guests."""
    return await mailings.delivery_counts(mailing_id)


async def card_text(mailing: Mailing, mailings: MailingService, counts: Counts) -> str:
    segment = await mailings.segment(mailing.segment_id)
    channels = channels_text(mailing.channels)
    if len(mailing.channels) == 2:
        channels += f" · {mode_name(ModeChoice.of(mailing.send_mode, mailing.channels))}"
    lines = [
        _("<b>Mailing “{name}”</b>").format(name=quote(mailing.name)),
        _("Status: {status}").format(status=status_name(mailing.status)),
        _("When: {when}").format(
            when=_("{moment} ({tz})").format(
                moment=moment_text(mailings.local(mailing.scheduled_at)),
                tz=zone_words(mailings.settings),
            )
        ),
        _("Segment: {segment}").format(segment=segment_title(segment) if segment else "—"),
        _("Channels: {channels}").format(channels=channels),
    ]
    if mailing.subject:
        lines.append(_("Email subject: {subject}").format(subject=quote(mailing.subject)))
    lines.append(_("Image: {answer}").format(answer=_("yes") if mailing.image_path else _("no")))
    if mailing.started_at is not None:  # in guests, as the preview, progress and summary
        guests = await mailings.guest_counts(mailing.id)
        # A paused run's clock stopped when it paused (its last change).
        paused = mailing.updated_at if mailing.status == MailingStatus.PAUSED else None
        lines += ["", guest_counts_text(guests, mailing.started_at, mailing.finished_at or paused)]
    text = mailing.text_html or ""
    if text:
        shown = text if len(text) <= TEXT_SHOWN else quote(text[:TEXT_SHOWN]) + "…"
        title = _("<b>Text</b> (each guest gets it with their own data in the variables):")
        lines += ["", title, shown]
    return "\n".join(lines)


def _button(text: str, action: HistoryAction, mailing: Mailing) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=HistoryCb(action=action, mailing_id=mailing.id).pack()
    )


def extra_rows(mailing: Mailing) -> list[list[InlineKeyboardButton]]:
    """Rows other features add to a card: the journal, once the mailing's time has come."""
    if mailing.status == MailingStatus.SCHEDULED:
        return []
    return [[journal_button(mailing.id)]]


def card_markup(
    mailing: Mailing, page: int, unknown: int = 0, failed: int = 0
) -> InlineKeyboardMarkup:
    """Change time / Cancel until it starts; then the run controls (Pause, Resume, ...);
    for any: Duplicate, Chart, Export; the way back to the list."""
    kb = InlineKeyboardBuilder()
    if mailing.status == MailingStatus.SCHEDULED:
        kb.row(_button(_("🕒 Change time"), HistoryAction.MOVE, mailing))
        kb.row(_button(_("✖️ Cancel mailing"), HistoryAction.ASK, mailing))
    else:
        controls = run_controls(mailing, unknown)
        if controls is not None:
            for row in controls.inline_keyboard:
                kb.row(*row)
    if failed and mailing.status == MailingStatus.COMPLETED:
        label = _("🔁 Resend failed ({count})").format(count=failed)
        kb.row(_button(label, HistoryAction.FAILED, mailing))
    kb.row(
        _button(_("📊 Chart"), HistoryAction.CHART, mailing),
        _button(_("📥 Export"), HistoryAction.EXPORT, mailing),
    )
    kb.row(_button(_("📄 Duplicate"), HistoryAction.COPY, mailing))
    for row in extra_rows(mailing):
        kb.row(*row)
    back = HistoryCb(action=HistoryAction.PAGE, page=page).pack()
    kb.row(InlineKeyboardButton(text=_("« Back to the list"), callback_data=back))
    return kb.as_markup()


async def show_card(
    target: Message, mailing: Mailing, mailings: MailingService, page: int, failed: int = 0
) -> None:
    """The card as a new message, read from the database now (never a stale copy); the
    image first when the mailing has one."""
    counts = await counts_of(mailings, mailing.id)
    if mailing.image_file_id or mailing.image_path:
        photo = mailing.image_file_id or FSInputFile(mailings.image_file(mailing.image_path or ""))
        with contextlib.suppress(TelegramBadRequest, OSError):  # a lost image hides no card
            await target.answer_photo(photo)
    await target.answer(
        await card_text(mailing, mailings, counts),
        reply_markup=card_markup(mailing, page, counts.total(DeliveryStatus.UNKNOWN), failed),
    )
