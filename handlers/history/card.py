"""A mailing's card: everything about it, read fresh each time it is opened, and its buttons."""

from __future__ import annotations

import contextlib
from datetime import datetime

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import FSInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.mailings import MailingService
from handlers.components.texts import (
    channel_name,
    channels_text,
    mode_name,
    moment_text,
    segment_title,
    status_name,
    zone_words,
)
from handlers.formatting import quote
from handlers.history.callbacks import HistoryAction, HistoryCb
from handlers.mailing_run import run_controls
from storage.deliveries import Counts
from storage.mailings import Mailing
from storage.statuses import Channel, DeliveryStatus, MailingStatus, ModeChoice

__all__ = ["card_markup", "card_text", "counts_of", "extra_rows", "show_card", "status_name"]

TEXT_SHOWN = 1500  # of the message's text on the card (Telegram's 4096 hold the rest)


async def counts_of(mailings: MailingService, mailing_id: int) -> Counts:
    """The mailing's delivery counts. Per mailing until MailingService.guest_counts_many
    (counts in guests, from a snapshot) is merged; then the list asks for a page at once."""
    return await mailings.delivery_counts(mailing_id)


def status_label(status: str) -> str:
    names: dict[str, str] = {
        DeliveryStatus.PENDING: _("waiting"),
        DeliveryStatus.SENDING: _("being sent"),
        DeliveryStatus.SENT: _("sent"),
        DeliveryStatus.FAILED: _("failed"),
        DeliveryStatus.SKIPPED: _("skipped"),
        DeliveryStatus.UNKNOWN: _("unknown"),
    }
    return names.get(status, status)


def counts_lines(counts: Counts) -> list[str]:
    """The card's counts: per status, then per channel (the one place they are written)."""
    if not counts.total():
        return [_("Deliveries: none yet.")]
    lines = [_("Deliveries: {total}").format(total=counts.total())]
    for status in DeliveryStatus:
        if counts.total(status):
            lines.append(f"  {status_label(status)}: {counts.total(status)}")
    for channel in Channel:
        per = counts.by_channel.get(channel)
        if per:
            parts = ", ".join(f"{status_label(s)} {per[s]}" for s in DeliveryStatus if per.get(s))
            lines.append(f"  {channel_name(channel)}: {parts}")
    return lines


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("{h} h {m} min").format(h=hours, m=minutes)
    if minutes:
        return _("{m} min {s} s").format(m=minutes, s=secs)
    return _("{s} s").format(s=secs)


def pace_lines(mailing: Mailing, counts: Counts) -> list[str]:
    """How long it has been sending and how fast (messages sent per minute)."""
    if mailing.started_at is None:
        return []
    end = mailing.finished_at or datetime.now(mailing.started_at.tzinfo)
    seconds = max((end - mailing.started_at).total_seconds(), 1.0)
    sent = counts.total(DeliveryStatus.SENT)
    return [
        _("Duration: {duration}").format(duration=_duration(seconds)),
        _("Rate: {rate} messages a minute").format(rate=round(sent * 60 / seconds, 1)),
    ]


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
    lines.append("")
    lines.extend(counts_lines(counts))
    lines.extend(pace_lines(mailing, counts))
    text = mailing.text_html or ""
    if text:
        shown = text if len(text) <= TEXT_SHOWN else quote(text[:TEXT_SHOWN]) + "…"
        lines += ["", _("<b>Text</b> (as guests see it, with their data in the variables):"), shown]
    return "\n".join(lines)


def _button(text: str, action: HistoryAction, mailing: Mailing) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=HistoryCb(action=action, mailing_id=mailing.id).pack()
    )


def extra_rows(mailing: Mailing) -> list[list[InlineKeyboardButton]]:
    """Rows other features add to a card (the journal's button); none yet."""
    return []


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
