"""The order of the steps (DESIGN section 5), which step comes next, and each step's question."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.mailings import NOW, Draft, MailingService
from handlers.formatting import quote
from handlers.new_mailing.calendar import calendar_rows
from handlers.new_mailing.callbacks import (
    NmChannelCb,
    NmModeCb,
    NmNavCb,
    NmSegmentCb,
    NmTimeCb,
)
from handlers.new_mailing.texts import (
    channel_name,
    day_text,
    locale,
    mode_name,
    segment_label,
    variables_help,
)

NAME_MAX = 100
SUBJECT_MAX = 200
STEPS = ("name", "segment", "date", "time", "channels", "mode", "subject", "text", "image")
MODES = ("all", "priority-telegram", "priority-email")


class NewMailing(StatesGroup):
    name = State()
    segment = State()
    date = State()
    time = State()
    channels = State()
    mode = State()
    subject = State()
    text = State()
    image = State()
    preview = State()
    test_email = State()


def state_of(step: str) -> State:
    found = getattr(NewMailing, step)
    assert isinstance(found, State)
    return found


def step_of(state_name: str | None) -> str | None:
    """The step a stored FSM state stands for (None outside this conversation)."""
    if not state_name or not state_name.startswith(f"{NewMailing.__name__}:"):
        return None
    return state_name.split(":", 1)[1]


def applies(step: str, draft: Draft) -> bool:
    if step == "mode":
        return draft.both_channels
    if step == "subject":
        return draft.uses_email
    return True


def filled(step: str, data: dict[str, Any]) -> bool:
    """Whether the draft holds an answer for the step."""
    if step == "text":
        return bool(data.get("text_html")) or bool(data.get("no_text"))
    if step == "image":
        return bool(data.get("image_path")) or (
            bool(data.get("no_image")) and bool(data.get("text_html"))
        )
    key = {"segment": "segment_id", "date": "day", "time": "at"}.get(step, step)
    return bool(data.get(key))


def missing(data: dict[str, Any]) -> str | None:
    """The first step that still needs an answer, or None when the draft is complete."""
    draft = Draft.from_data(data)
    for step in STEPS:
        if applies(step, draft) and not filled(step, data):
            return step
    return None


def next_step(current: str, data: dict[str, Any]) -> str:
    """The step after `current`: in order; when editing, the first unanswered or the preview."""
    draft = Draft.from_data(data)
    if data.get("editing"):
        return missing(data) or "preview"
    for step in STEPS[STEPS.index(current) + 1 :] if current in STEPS else ():
        if applies(step, draft):
            return step
    return missing(data) or "preview"


def previous_step(current: str, data: dict[str, Any]) -> str | None:
    """The step before `current` (the preview when editing a complete draft)."""
    if data.get("editing") and missing(data) is None:
        return "preview"
    draft = Draft.from_data(data)
    if current not in STEPS:
        return None
    for step in reversed(STEPS[: STEPS.index(current)]):
        if applies(step, draft):
            return step
    return None


def nav_row(step: str, data: dict[str, Any], *, skip: bool = False) -> list[InlineKeyboardButton]:
    row = []
    if previous_step(step, data) is not None:
        row.append(
            InlineKeyboardButton(text=_("« Back"), callback_data=NmNavCb(action="back").pack())
        )
    if skip:
        row.append(
            InlineKeyboardButton(text=_("Skip »"), callback_data=NmNavCb(action="skip").pack())
        )
    row.append(
        InlineKeyboardButton(text=_("✖️ Cancel"), callback_data=NmNavCb(action="cancel").pack())
    )
    return row


def _markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=rows)


def time_buttons(mailings: MailingService, data: dict[str, Any]) -> list[InlineKeyboardButton]:
    """ "Now" (today only) and a few round times that are still ahead."""
    now_allowed, times = mailings.quick_times(Draft.from_data(data).day)
    buttons = []
    if now_allowed:
        buttons.append(
            InlineKeyboardButton(text=_("⚡ Now"), callback_data=NmTimeCb(value=NOW).pack())
        )
    for value in times:
        data_value = value.replace(":", "")
        buttons.append(
            InlineKeyboardButton(text=value, callback_data=NmTimeCb(value=data_value).pack())
        )
    return buttons


async def channel_rows(
    mailings: MailingService, data: dict[str, Any]
) -> tuple[list[list[InlineKeyboardButton]], list[str]]:
    """Toggle buttons for the channels, unavailable ones marked; and the reasons shown."""
    switches = await mailings.channel_switches()
    chosen = set(data.get("channels") or [])
    rows: list[list[InlineKeyboardButton]] = []
    notes: list[str] = []
    for channel, enabled in (
        ("telegram", switches.telegram_enabled),
        ("email", switches.email_enabled),
    ):
        name = channel_name(channel)
        if not enabled:
            rows.append(
                [
                    InlineKeyboardButton(
                        text=_("🚫 {channel} — unavailable").format(channel=name),
                        callback_data=NmChannelCb(action="off", channel=channel).pack(),
                    )
                ]
            )
            notes.append(await unavailable_reason(mailings, channel))
            continue
        mark = "✅" if channel in chosen else "⬜"
        rows.append(
            [
                InlineKeyboardButton(
                    text=f"{mark} {name}",
                    callback_data=NmChannelCb(action="toggle", channel=channel).pack(),
                )
            ]
        )
    rows.append(
        [InlineKeyboardButton(text=_("Done ✔️"), callback_data=NmChannelCb(action="done").pack())]
    )
    return rows, notes


async def unavailable_reason(mailings: MailingService, channel: str) -> str:
    if channel == "email" and not await mailings.smtp_configured():
        return _("Email is unavailable: the SMTP server is not set up. Set it up in /settings.")
    return _("{channel} is switched off in /settings.").format(channel=channel_name(channel))


async def show_step(
    target: Message, state: FSMContext, step: str, mailings: MailingService
) -> None:
    """Ask the step's question with its buttons and move the conversation there."""
    if step == "preview":
        from handlers.new_mailing.preview import show_preview

        await show_preview(target, state, mailings)
        return
    await state.set_state(state_of(step))
    data = await state.get_data()
    text, rows = await _question(step, data, mailings)
    skip = step == "text" or (step == "image" and bool(data.get("text_html")))
    rows.append(nav_row(step, data, skip=skip))
    await target.answer(text, reply_markup=_markup(rows))


async def _question(
    step: str, data: dict[str, Any], mailings: MailingService
) -> tuple[str, list[list[InlineKeyboardButton]]]:
    now = _("Current: {value}")
    if step == "name":
        text = _(
            "<b>New mailing</b>\nStep 1. Type a name for the mailing (up to {n} characters). "
            "Guests do not see it; it is for the history list."
        ).format(n=NAME_MAX)
        if data.get("name"):
            text += "\n" + now.format(value=quote(data["name"]))
        return text, []
    if step == "segment":
        kb = InlineKeyboardBuilder()
        for segment, count in await mailings.segments_with_counts():
            mark = "✅ " if segment.id == data.get("segment_id") else ""
            kb.button(
                text=f"{mark}{segment_label(segment)} · {count}",
                callback_data=NmSegmentCb(segment_id=segment.id),
            )
        kb.adjust(1)
        return _("Step 2. Who gets it? Choose a segment (the number is its guests now)."), list(
            kb.export()
        )
    if step == "date":
        text = _("Step 3. Which day? Pick it in the calendar or type it like {example}.").format(
            example=day_text(mailings.today())
        )
        text += "\n" + _("Times are in {tz}.").format(tz=mailings.settings.timezone)
        return text, calendar_rows(mailings.today(), locale())
    if step == "time":
        day = Draft.from_data(data).day
        text = _(
            "Step 4. At what time on {day}? Type it like 18:30 or choose below. Time zone: {tz}."
        ).format(day=day_text(day) if day else "—", tz=mailings.settings.timezone)
        buttons = time_buttons(mailings, data)
        return text, [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    if step == "channels":
        rows, notes = await channel_rows(mailings, data)
        text = _("Step 5. Which channels? Tap to switch them on or off, then Done.")
        return "\n".join([text, *notes]), rows
    if step == "mode":
        current = data.get("mode") or "all"
        rows = [
            [
                InlineKeyboardButton(
                    text=("✅ " if mode == current else "") + mode_name(mode),
                    callback_data=NmModeCb(mode=mode).pack(),
                )
            ]
            for mode in MODES
        ]
        text = _(
            "Step 6. Both channels are chosen. How should they be used?\n"
            "• All selected channels: every guest gets the mailing in each channel "
            "that reaches them.\n"
            "• Priority: a guest gets it in the first channel that reaches them; "
            "the other is the fallback."
        )
        return text, rows
    if step == "subject":
        text = (
            _("Step 7. Type the email subject: one line, up to {n} characters.").format(
                n=SUBJECT_MAX
            )
            + "\n"
            + variables_help()
        )
        if data.get("subject"):
            text += "\n" + now.format(value=quote(data["subject"]))
        return text, []
    if step == "text":
        text = (
            _(
                "Step 8. Send the text of the mailing. Bold, italic, links and other "
                "formatting are kept."
            )
            + "\n"
            + variables_help()
            + "\n"
            + _("Skip only if the mailing is just an image.")
        )
        return text, []
    text = _("Step 9. Send an image: a photo, or a JPEG, PNG or WebP file up to 10 MB.")
    if data.get("text_html"):
        text += " " + _("Or skip it to send the text alone.")
    else:
        text += " " + _("The mailing has no text, so an image is needed.")
    return text, []


async def go_next(
    target: Message, state: FSMContext, current: str, mailings: MailingService
) -> None:
    await show_step(target, state, next_step(current, await state.get_data()), mailings)
