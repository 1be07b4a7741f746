"""The editor around its steps: start (new or edit), Back, Cancel, the preview, Save."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.mailings import MailingService
from bot.promotions.service import PromotionDraft, PromotionService, first_run, mailing_draft
from bot.scheduler import MailingScheduler
from handlers.components.common import query_message, retire
from handlers.components.parts_preview import sample_recipient, send_draft
from handlers.components.texts import channels_text, day_text, mode_name, segment_title
from handlers.formatting import quote
from handlers.promos.callbacks import EditorAction, EditStep, PrEditCb, PrNavCb
from handlers.promos.flow import expand_schedule, missing, previous_step, show_step, step_of
from handlers.promos.states import PromoEditor
from handlers.promos.texts import cap_words, next_run_words, schedule_words


async def start_new(target: Message, state: FSMContext, mailings: MailingService) -> None:
    await state.clear()
    await show_step(target, state, "name", mailings)


async def start_edit(
    target: Message, state: FSMContext, promotion_id: int, promotions: PromotionService,
    mailings: MailingService,
) -> bool:  # fmt: skip
    """Open a stored promotion in the editor, at its preview; False when it is gone."""
    promotion = await promotions.get(promotion_id)
    if promotion is None:
        return False
    data = PromotionDraft.data_of(promotion)
    await state.clear()
    await state.set_data({**data, **expand_schedule(data["schedule"]), "editing": True})
    await show_preview(target, state, mailings)
    return True


async def on_cancel_button(query: CallbackQuery, state: FSMContext) -> None:
    message = await retire(query)
    await state.clear()
    if message is not None:
        await message.answer(_("The promotion editor is closed; nothing was saved."))


async def on_cancel_command(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("The promotion editor is closed; nothing was saved."))


async def on_command_midway(message: Message) -> None:
    await message.answer(
        _("You are in the promotion editor. Answer the question above, or /cancel to leave it.")
    )


async def on_back(query: CallbackQuery, state: FSMContext, mailings: MailingService) -> None:
    data = await state.get_data()
    step = step_of(await state.get_state())
    target = previous_step(step, data) if step else None
    if step == "preview" and not data.get("editing"):
        target = "cap"
    await query.answer()
    message = query_message(query)
    if message is not None and target is not None:
        await show_step(message, state, target, mailings, in_place=message)


async def on_stale(query: CallbackQuery) -> None:
    """A button from an earlier question, or from an editor that is closed."""
    await query.answer(_("This button is out of date."), show_alert=True)


async def on_wrong_input(message: Message) -> None:
    await message.answer(_("Use the buttons above, or /cancel to leave the editor."))


# ------------------------------------------------------------------ preview and save
def _summary(data: dict[str, Any], mailings: MailingService, segment_name: str) -> str:
    draft = PromotionDraft.from_data(data)
    schedule = draft.schedule
    assert schedule is not None and draft.starts_on is not None
    upcoming = first_run(data, mailings.now_local(), mailings.settings.tz)
    lines = [
        _("<b>Promotion “{name}”</b>").format(name=quote(draft.name or "")),
        _("Segment: {name}").format(name=segment_name),
        _("Schedule: {words}").format(words=schedule_words(schedule, mailings.settings)),
        _("Runs from {start}").format(start=day_text(draft.starts_on))
        + (
            _(" to {end}").format(end=day_text(draft.ends_on))
            if draft.ends_on
            else _(", no end date")
        ),
        _("Channels: {channels}").format(channels=channels_text(draft.channels)),
    ]
    if len(draft.channels) == 2:
        lines.append(_("Send mode: {mode}").format(mode=mode_name(draft.mode)))
    lines += [
        _("Frequency cap: {cap}").format(cap=cap_words(draft.cap_days)),
        _("First run: {when}").format(when=next_run_words(upcoming, mailings.settings)),
        "",
        _("Above is the message as a guest of the segment will see it. Save the promotion?"),
    ]
    return "\n".join(lines)


def preview_markup() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Save"), callback_data=PrNavCb(action=EditorAction.SAVE))
    kb.button(text=_("✏️ Edit"), callback_data=PrNavCb(action=EditorAction.EDIT))
    kb.button(text=_("✖️ Cancel"), callback_data=PrNavCb(action=EditorAction.CANCEL))
    kb.adjust(1, 2)
    return kb.as_markup()


async def show_preview(target: Message, state: FSMContext, mailings: MailingService) -> None:
    """The message for a real guest of the segment, then the promotion's summary."""
    data = await state.get_data()
    step = missing(data)
    if step is not None:
        await show_step(target, state, step, mailings)
        return
    await state.set_state(PromoEditor.preview)
    draft = mailing_draft(data, mailings.now_local(), mailings.settings.tz)
    try:
        preview = await mailings.preview(draft, sample_recipient())
    except LookupError:
        await target.answer(_("The segment no longer exists. Choose another."))
        await show_step(target, state, "segment", mailings)
        return
    await send_draft(target, state, preview, mailings)
    text = _summary(data, mailings, segment_title(preview.segment))
    await target.answer(text, reply_markup=preview_markup())


async def on_save(
    query: CallbackQuery, state: FSMContext, promotions: PromotionService,
    scheduler: MailingScheduler,
) -> None:  # fmt: skip
    data = await state.get_data()
    draft = PromotionDraft.from_data(data)
    promotion_id = data.get("promotion_id")
    try:
        if promotion_id:
            promotion = await promotions.update(int(promotion_id), draft)
        else:
            promotion = await promotions.create(draft, query.from_user.id)
    except LookupError:
        await query.answer(_("This promotion has been deleted meanwhile."), show_alert=True)
        await state.clear()
        return
    except ValueError:
        await query.answer(_("The promotion is not complete yet."), show_alert=True)
        return
    await state.clear()
    message = await retire(query)
    await scheduler.sync_promotion(promotion.id)
    if message is not None:
        from handlers.promos.cards import show_card

        await message.answer(_("Saved: “{name}”.").format(name=quote(promotion.name)))
        await show_card(message, promotion.id, promotions)


async def on_edit_menu(query: CallbackQuery) -> None:
    await query.answer()
    message = query_message(query)
    if message is None:
        return
    names = {
        EditStep.NAME: _("Name"), EditStep.SEGMENT: _("Segment"),
        EditStep.KIND: _("Schedule"), EditStep.TIME: _("Time"),
        EditStep.CHANNELS: _("Channels"), EditStep.TEXT: _("Text"),
        EditStep.IMAGE: _("Image"), EditStep.STARTS: _("Start date"),
        EditStep.ENDS: _("End date"), EditStep.CAP: _("Frequency cap"),
    }  # fmt: skip
    kb = InlineKeyboardBuilder()
    for step, name in names.items():
        kb.button(text=name, callback_data=PrEditCb(step=step))
    kb.button(text=_("« Back"), callback_data=PrNavCb(action=EditorAction.PREVIEW))
    kb.adjust(2)
    await message.edit_reply_markup(reply_markup=kb.as_markup())


async def on_edit_back(query: CallbackQuery) -> None:
    await query.answer()
    message = query_message(query)
    if message is not None:
        await message.edit_reply_markup(reply_markup=preview_markup())


async def on_edit_step(
    query: CallbackQuery, callback_data: PrEditCb, state: FSMContext, mailings: MailingService
) -> None:
    message = await retire(query)
    if message is None:
        return
    await state.update_data(editing=True)
    await show_step(message, state, callback_data.step.value, mailings)
