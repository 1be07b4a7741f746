"""/history's list: a page of mailings (scheduled first), its date filter and search."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.history import PAGE, HistoryFilter, HistoryPage, HistoryService, Preset
from bot.mailings import MailingService
from handlers.components.texts import channels_text, status_name
from handlers.formatting import quote
from handlers.history.callbacks import HistoryAction, HistoryCb
from handlers.history.card import card_markup, card_text, show_card
from storage.guest_counts import GuestCounts
from storage.history import HistoryRow
from storage.statuses import MailingStatus

__all__ = ["card_markup", "card_text", "show_card", "show_history", "status_name"]

_ICONS: dict[str, str] = {
    MailingStatus.SCHEDULED: "🕒", MailingStatus.RUNNING: "▶️", MailingStatus.PAUSED: "⏸",
    MailingStatus.COMPLETED: "✅", MailingStatus.CANCELLED: "✖️", MailingStatus.MISSED: "⚠️",
}  # fmt: skip


def preset_names() -> dict[Preset, str]:
    return {
        Preset.TODAY: _("Just today"),
        Preset.WEEK: _("Last 7 days"),
        Preset.MONTH30: _("Last 30 days"),
        Preset.THIS_MONTH: _("This month"),
        Preset.ALL: _("All time"),
    }


def kind_text(row: HistoryRow) -> str:
    """One-off, or the promotion's name."""
    if row.promotion_name is None:
        return _("one-off")
    return _("promotion “{name}”").format(name=row.promotion_name)


def segment_text(row: HistoryRow) -> str:
    if row.segment_name is None:
        return "—"
    return _("All guests") if row.segment_builtin else row.segment_name


def filter_text(flt: HistoryFilter) -> str:
    """The filter in words ("" when the whole history shows)."""
    parts = []
    first, last = flt.days.first, flt.days.last
    if first and last:
        period = f"{first:%d.%m.%Y}" if first == last else f"{first:%d.%m.%Y}–{last:%d.%m.%Y}"
        parts.append(_("Period: {period}").format(period=period))
    if flt.words:
        parts.append(_("Search: {words}").format(words=quote(" ".join(flt.words))))
    return " · ".join(parts)


def _line(number: int, row: HistoryRow, counts: GuestCounts, service: HistoryService) -> str:
    mailing = row.mailing
    when = service.local(mailing.scheduled_at).strftime("%d.%m.%Y %H:%M")
    head = f"{number}. {_ICONS.get(mailing.status, '•')} {when} · <b>{quote(mailing.name)}</b>"
    about = " · ".join(
        [
            kind_text(row),
            quote(segment_text(row)),
            channels_text(mailing.channels),
            status_name(mailing.status),
        ]
    )
    tally = _("guests: {total} · reached: {sent} · failed: {failed}").format(
        total=counts.recipients, sent=counts.reached, failed=counts.failed
    )
    return f"{head}\n    {about}\n    {tally}"


def _button(text: str, action: HistoryAction, **fields: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text,
        callback_data=HistoryCb(action=action, **fields).pack(),
    )


def list_markup(found: HistoryPage, service: HistoryService) -> InlineKeyboardBuilder:
    """A button per mailing on the page, then Newer / Older."""
    kb = InlineKeyboardBuilder()
    for row in found.rows:
        mailing = row.mailing
        when = service.local(mailing.scheduled_at).strftime("%d.%m %H:%M")
        name = mailing.name if len(mailing.name) <= 32 else mailing.name[:31] + "…"
        kb.row(
            _button(
                f"{_ICONS.get(mailing.status, '•')} {when} · {name}",
                HistoryAction.OPEN,
                mailing_id=mailing.id,
                page=found.page,
            )
        )
    nav = []
    if found.page > 0:
        nav.append(_button(_("‹ Newer"), HistoryAction.PAGE, page=found.page - 1))
    if found.has_next:
        nav.append(_button(_("Older ›"), HistoryAction.PAGE, page=found.page + 1))
    if nav:
        kb.row(*nav)
    return kb


def filter_markup(found: HistoryPage, flt: HistoryFilter) -> InlineKeyboardBuilder:
    """The quick periods, Export and Clear search (a message of their own under the list)."""
    kb = InlineKeyboardBuilder()
    quick = [
        _button(("✓ " if flt.preset == p else "") + name, HistoryAction.FILTER, value=p.value)
        for p, name in preset_names().items()
    ]
    kb.row(*quick[:3])
    kb.row(*quick[3:])
    tools = []
    if found.total:
        tools.append(_button(_("📥 Export XLSX"), HistoryAction.EXPORT))
    if flt.words:
        tools.append(_button(_("✖️ Clear search"), HistoryAction.RESET))
    if tools:
        kb.row(*tools)
    return kb


async def show_history(
    target: Message,
    mailings: MailingService,
    service: HistoryService,
    page: int = 0,
    flt: HistoryFilter | None = None,
) -> None:
    """A page of the history under the filter (the whole history without one)."""
    flt = flt or HistoryFilter()
    found = await service.page(flt, page)
    if found.total == 0 and not flt.narrowed:
        await target.answer(_("There are no mailings yet. /new creates one."))
        return
    lines = [_("<b>Mailings</b> ({total}): scheduled first, then the newest.").format(
        total=found.total
    )]  # fmt: skip
    narrowed = filter_text(flt)
    if narrowed:
        lines.append(narrowed)
    if found.total == 0:
        lines.append(_("No mailings match. Choose another period or clear the search."))
    else:
        pages = (found.total + PAGE - 1) // PAGE
        lines.append(_("Page {page} of {pages}.").format(page=found.page + 1, pages=pages))
    lines.append("")
    # In guests, as the card and the progress: kept numbers for finished mailings.
    tallies = await mailings.guest_counts_many([row.mailing.id for row in found.rows])
    for index, row in enumerate(found.rows, start=found.page * PAGE + 1):
        lines.append(_line(index, row, tallies.get(row.mailing.id, GuestCounts()), service))
    await target.answer("\n".join(lines), reply_markup=list_markup(found, service).as_markup())
    hint = _("Filter by a period or type one like {example}; type words of a name to search.")
    today = mailings.today()
    await target.answer(
        hint.format(example=f"{today:01.%m.%Y}-{today:%d.%m.%Y}"),
        reply_markup=filter_markup(found, flt).as_markup(),
    )
