"""/promos: the list, a promotion's card and its actions (on/off, edit, duplicate, delete,
run once now, preview for a real guest)."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, FSInputFile, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.delivery.engine import DeliveryEngine
from bot.mailings import MailingService
from bot.promotions.service import PromotionDraft, PromotionService, mailing_draft
from bot.scheduler import MailingScheduler
from handlers.components.common import query_message, retire
from handlers.components.confirm import ask_confirm
from handlers.components.parts_preview import sample_recipient, send_as_guest
from handlers.components.texts import channels_text, segment_title
from handlers.formatting import quote
from handlers.promos.callbacks import PromoAction, PromoCb
from handlers.promos.editor import start_edit, start_new
from handlers.promos.texts import (
    cap_words,
    last_run_words,
    list_line,
    next_run_words,
    on_off,
    period_words,
    schedule_words,
)


def _button(kb: InlineKeyboardBuilder, text: str, action: PromoAction, pid: int = 0) -> None:
    kb.button(text=text, callback_data=PromoCb(action=action, promotion_id=pid))


async def list_view(promotions: PromotionService) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    found = await promotions.all()
    if not found:
        text = _(
            "<b>Segment promotions</b>\nNone yet. A promotion sends a message to a segment on a "
            "schedule: every day, on chosen weekdays, once a month or every N days."
        )
    else:
        lines = [_("<b>Segment promotions</b>")]
        for promotion in found:
            schedule = promotions.schedule_of(promotion)
            upcoming = promotions.next_run(promotion)
            last = await promotions.last_run(promotion)
            lines += ["", list_line(promotion, schedule, upcoming, last, promotions.settings)]
            _button(kb, promotion.name[:40], PromoAction.OPEN, promotion.id)
        text = "\n".join(lines)
    _button(kb, _("➕ New promotion"), PromoAction.NEW)
    kb.adjust(1)
    return text, kb.as_markup()


async def on_promos(message: Message, state: FSMContext, promotions: PromotionService) -> None:
    await state.clear()
    text, markup = await list_view(promotions)
    await message.answer(text, reply_markup=markup)


async def on_list(query: CallbackQuery, promotions: PromotionService) -> None:
    message = await retire(query)
    if message is not None:
        text, markup = await list_view(promotions)
        await message.answer(text, reply_markup=markup)


def card_markup(promotion_id: int, enabled: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if enabled:
        _button(kb, _("⏸ Switch off"), PromoAction.DISABLE, promotion_id)
    else:
        _button(kb, _("▶️ Switch on"), PromoAction.ENABLE, promotion_id)
    _button(kb, _("✏️ Edit"), PromoAction.EDIT, promotion_id)
    _button(kb, _("⚡ Run once now"), PromoAction.RUN, promotion_id)
    _button(kb, _("👁 Preview"), PromoAction.PREVIEW, promotion_id)
    _button(kb, _("📄 Duplicate"), PromoAction.DUPLICATE, promotion_id)
    _button(kb, _("🗑 Delete"), PromoAction.DELETE, promotion_id)
    _button(kb, _("« All promotions"), PromoAction.LIST)
    kb.adjust(2, 2, 2, 1)
    return kb.as_markup()


async def show_card(target: Message, promotion_id: int, promotions: PromotionService) -> None:
    promotion = await promotions.get(promotion_id)
    if promotion is None:
        await target.answer(_("This promotion no longer exists."))
        return
    settings = promotions.settings
    segment = await promotions.segment(promotion.segment_id)
    lines = [
        f"<b>{quote(promotion.name)}</b> · {on_off(promotion)}",
        _("Segment: {name}").format(name=segment_title(segment) if segment else "—"),
        _("Schedule: {words}").format(
            words=schedule_words(promotions.schedule_of(promotion), settings)
        ),
        _("Period: {period}").format(period=period_words(promotion)),
        _("Channels: {channels}").format(channels=channels_text(promotion.channels)),
        _("Frequency cap: {cap}").format(cap=cap_words(promotion.cap_days)),
        _("Next run: {when}").format(when=next_run_words(promotions.next_run(promotion), settings)),
        _("Last run: {result}").format(
            result=last_run_words(await promotions.last_run(promotion), settings)
        ),
    ]
    await target.answer("\n".join(lines), reply_markup=card_markup(promotion.id, promotion.enabled))


async def on_open(
    query: CallbackQuery, callback_data: PromoCb, promotions: PromotionService
) -> None:
    message = await retire(query)
    if message is not None:
        await show_card(message, callback_data.promotion_id, promotions)


async def on_new(query: CallbackQuery, state: FSMContext, mailings: MailingService) -> None:
    message = await retire(query)
    if message is not None:
        await start_new(message, state, mailings)


async def _switch(
    query: CallbackQuery, callback_data: PromoCb, promotions: PromotionService,
    scheduler: MailingScheduler, enabled: bool,
) -> None:  # fmt: skip
    pid = callback_data.promotion_id
    if await promotions.get(pid) is None:
        await query.answer(_("This promotion no longer exists."), show_alert=True)
        return
    await promotions.set_enabled(pid, enabled)
    await scheduler.sync_promotion(pid)
    message = await retire(query, _("Switched on.") if enabled else _("Switched off."))
    if message is not None:
        await show_card(message, pid, promotions)


async def on_enable(
    query: CallbackQuery, callback_data: PromoCb, promotions: PromotionService,
    scheduler: MailingScheduler,
) -> None:  # fmt: skip
    await _switch(query, callback_data, promotions, scheduler, True)


async def on_disable(
    query: CallbackQuery, callback_data: PromoCb, promotions: PromotionService,
    scheduler: MailingScheduler,
) -> None:  # fmt: skip
    await _switch(query, callback_data, promotions, scheduler, False)


async def on_edit(
    query: CallbackQuery, callback_data: PromoCb, state: FSMContext,
    promotions: PromotionService, mailings: MailingService,
) -> None:  # fmt: skip
    message = query_message(query)
    if message is None:
        await query.answer()
        return
    promotion = await promotions.get(callback_data.promotion_id)
    if promotion is None:
        await query.answer(_("This promotion no longer exists."), show_alert=True)
        return
    await retire(query)
    await start_edit(message, state, promotion.id, promotions, mailings)


async def on_duplicate(
    query: CallbackQuery, callback_data: PromoCb, promotions: PromotionService
) -> None:
    try:
        copy = await promotions.duplicate(
            callback_data.promotion_id, query.from_user.id, _(" (copy)")
        )
    except LookupError:
        await query.answer(_("This promotion no longer exists."), show_alert=True)
        return
    message = await retire(query, _("Copied. The copy is switched off until you switch it on."))
    if message is not None:
        await show_card(message, copy.id, promotions)


async def _ask_first(
    query: CallbackQuery,
    callback_data: PromoCb,
    promotions: PromotionService,
    question: str,
    yes: tuple[PromoAction, str],
    no_text: str,
) -> None:
    """Ask before acting on the promotion (`question` names it); "no" opens its card again."""
    promotion = await promotions.get(callback_data.promotion_id)
    message = await retire(query)
    if promotion is None or message is None:
        return
    await ask_confirm(
        message,
        question.format(name=quote(promotion.name)),
        yes=PromoCb(action=yes[0], promotion_id=promotion.id),
        no=PromoCb(action=PromoAction.OPEN, promotion_id=promotion.id),
        yes_text=yes[1],
        no_text=no_text,
    )


async def on_delete(
    query: CallbackQuery, callback_data: PromoCb, promotions: PromotionService
) -> None:
    await _ask_first(
        query,
        callback_data,
        promotions,
        _("Delete “{name}”? It stops running; its past mailings stay in /history."),
        (PromoAction.DELETE_YES, _("🗑 Delete")),
        _("Keep it"),
    )


async def on_delete_yes(
    query: CallbackQuery, callback_data: PromoCb, promotions: PromotionService,
    scheduler: MailingScheduler,
) -> None:  # fmt: skip
    pid = callback_data.promotion_id
    deleted = await promotions.delete(pid)
    await scheduler.sync_promotion(pid)
    message = await retire(query)
    if message is None:
        return
    if deleted:
        await message.answer(_("Deleted. Its past mailings stay in /history."))
    text, markup = await list_view(promotions)
    await message.answer(text, reply_markup=markup)


async def on_run(
    query: CallbackQuery, callback_data: PromoCb, promotions: PromotionService
) -> None:
    await _ask_first(
        query,
        callback_data,
        promotions,
        _("Send “{name}” to its segment now, once, besides its schedule?"),
        (PromoAction.RUN_YES, _("⚡ Send now")),
        _("Not now"),
    )


async def on_run_yes(
    query: CallbackQuery, callback_data: PromoCb, promotions: PromotionService,
    engine: DeliveryEngine,
) -> None:  # fmt: skip
    try:
        mailing = await promotions.run_now(callback_data.promotion_id)
    except LookupError:
        await query.answer(_("This promotion no longer exists."), show_alert=True)
        return
    await retire(query, _("Sending…"))
    await engine.launch(mailing.id, query.from_user.id)


async def on_preview(
    query: CallbackQuery, callback_data: PromoCb, promotions: PromotionService,
    mailings: MailingService,
) -> None:  # fmt: skip
    promotion = await promotions.get(callback_data.promotion_id)
    message = query_message(query)
    if promotion is None or message is None:
        await query.answer(_("This promotion no longer exists."), show_alert=True)
        return
    await query.answer()
    data = PromotionDraft.data_of(promotion)
    draft = mailing_draft(data, promotions.now(), promotions.tz)
    try:
        preview = await mailings.preview(draft, sample_recipient())
    except LookupError:
        await message.answer(_("Its segment no longer exists: edit the promotion."))
        return
    image = FSInputFile(mailings.image_file(draft.image_path)) if draft.image_path else None
    await send_as_guest(message, preview.rendered, image)
    if preview.guest is not None:
        note = _("Above is the message as {guest} will see it.").format(
            guest=quote(preview.guest.full_name or preview.guest.phone)
        )
    else:
        note = _("Above is the message as a guest will see it (the segment is empty today).")
    await message.answer(note)
