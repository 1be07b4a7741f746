"""/history's pages: the list of mailings (scheduled first) and a mailing's card."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.mailings import MailingService
from handlers.components.texts import (
    channels_text,
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
from storage.mailings import Mailing
from storage.statuses import DeliveryStatus, MailingStatus, ModeChoice

PAGE = 10
_ICONS: dict[str, str] = {
    MailingStatus.SCHEDULED: "🕒", MailingStatus.RUNNING: "▶️", MailingStatus.PAUSED: "⏸",
    MailingStatus.COMPLETED: "✅", MailingStatus.CANCELLED: "✖️", MailingStatus.MISSED: "⚠️",
}  # fmt: skip


def _page_button(text: str, page: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=HistoryCb(action=HistoryAction.PAGE, page=page).pack()
    )


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
            callback_data=HistoryCb(action=HistoryAction.OPEN, mailing_id=mailing.id, page=page),
        )
    kb.adjust(1)
    nav = []
    if page > 0:
        nav.append(_page_button(_("‹ Newer"), page - 1))
    if (page + 1) * PAGE < total:
        nav.append(_page_button(_("Older ›"), page + 1))
    if nav:
        kb.row(*nav)
    await target.answer(
        _("<b>Mailings</b> ({total}): scheduled first, then the newest.").format(total=total),
        reply_markup=kb.as_markup(),
    )


async def card_text(mailing: Mailing, mailings: MailingService) -> str:
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
    return "\n".join(lines)


def card_markup(mailing: Mailing, page: int, unknown: int = 0) -> InlineKeyboardMarkup:
    """Change time / Cancel until it starts; then the run controls (Pause, Resume, ...)."""
    kb = InlineKeyboardBuilder()
    if mailing.status == MailingStatus.SCHEDULED:
        kb.button(
            text=_("🕒 Change time"),
            callback_data=HistoryCb(action=HistoryAction.MOVE, mailing_id=mailing.id),
        )
        kb.button(
            text=_("✖️ Cancel mailing"),
            callback_data=HistoryCb(action=HistoryAction.ASK, mailing_id=mailing.id),
        )
        kb.adjust(1)
    else:
        controls = run_controls(mailing, unknown)
        if controls is not None:
            for row in controls.inline_keyboard:
                kb.row(*row)
    kb.row(journal_button(mailing.id))
    kb.row(_page_button(_("« Back to the list"), page))
    return kb.as_markup()


async def show_card(target: Message, mailing: Mailing, mailings: MailingService, page: int) -> None:
    unknown = (await mailings.delivery_counts(mailing.id)).total(DeliveryStatus.UNKNOWN)
    await target.answer(
        await card_text(mailing, mailings), reply_markup=card_markup(mailing, page, unknown)
    )
