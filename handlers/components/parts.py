"""The message parts of a mailing as one unit: channels, send mode, subject, text, image.

A host conversation (/new, a promotion's editor) names its states for these steps
and its own Back/Skip/Cancel row and order (`PartsHost`), asks a part's question with
`question`, and registers the handlers with `register`. The answers go into the host's
FSM data under the keys `bot.mailings.Draft` reads.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Filter
from aiogram.types import InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _

from bot.mailings import Draft, MailingService
from handlers.components.callbacks import ChannelAction, NmChannelCb, NmModeCb
from handlers.components.parts_channels import SUBJECT_MAX, ChannelSteps, channel_rows
from handlers.components.parts_content import ContentSteps
from handlers.components.states import PartsHost
from handlers.components.texts import mode_name, variables_help
from handlers.formatting import quote
from storage.statuses import ModeChoice

# In the order they are asked.
PART_STEPS = ("channels", "mode", "subject", "text", "image")

Rows = list[list[InlineKeyboardButton]]


def _capital(text: str) -> str:
    """A button label starts with a capital: "Сначала Telegram, затем Email"."""
    return text[:1].upper() + text[1:]


def applies(step: str, draft: Draft) -> bool:
    """Whether the draft asks this step: the mode with two channels, the subject with Email."""
    if step == "mode":
        return draft.both_channels
    if step == "subject":
        return draft.uses_email
    return True


def filled(step: str, data: dict[str, Any]) -> bool:
    """Whether the draft holds an answer for a step of the parts."""
    if step == "text":
        return bool(data.get("text_html")) or bool(data.get("no_text"))
    if step == "image":
        return bool(data.get("image_path")) or (
            bool(data.get("no_image")) and bool(data.get("text_html"))
        )
    return bool(data.get(step))


def may_skip(step: str, data: dict[str, Any]) -> bool:
    """Skip is offered for the text, and for the image once there is text."""
    return step == "text" or (step == "image" and bool(data.get("text_html")))


class MessageParts:
    """The steps of the message parts, bound to one host conversation."""

    def __init__(self, host: PartsHost) -> None:
        self.host = host
        self.channels = ChannelSteps(host)
        self.content = ContentSteps(host)

    def register(self, router: Router, skip: Filter) -> None:
        """The parts' handlers in the host's states; `skip` is the host's Skip button."""
        s, c, m = self.host.states, router.callback_query, router.message
        toggle = F.action.in_({ChannelAction.TOGGLE, ChannelAction.OFF})
        c.register(self.channels.on_toggle, NmChannelCb.filter(toggle), s.channels)
        c.register(
            self.channels.on_done, NmChannelCb.filter(F.action == ChannelAction.DONE), s.channels
        )
        c.register(self.channels.on_mode, NmModeCb.filter(), s.mode)
        m.register(self.channels.on_subject, s.subject, F.text)
        c.register(self.content.on_text_skip, skip, s.text)
        m.register(self.content.on_text, s.text, F.text)
        m.register(self.content.on_text_other, s.text)
        c.register(self.content.on_image_skip, skip, s.image)
        m.register(self.content.on_image, s.image, F.photo)
        m.register(self.content.on_image, s.image, F.document)  # Pillow decides what it is
        m.register(self.content.on_image_other, s.image)

    @staticmethod
    def shows_current(step: str, data: dict[str, Any]) -> bool:
        """Whether `show_current` sends something before the step's question."""
        return step == "text" and bool(data.get("text_html"))

    async def show_current(self, target: Message, step: str, data: dict[str, Any]) -> None:
        """Before a new text is asked for, the current one as a message of its own, to copy
        and change (an empty prompt would make the admin retype it from memory)."""
        if self.shows_current(step, data):
            await target.answer(_("The current text is below: copy it, change it, send it back."))
            await target.answer(data["text_html"])

    async def question(
        self, step: str, data: dict[str, Any], mailings: MailingService
    ) -> tuple[str, Rows]:
        """A part's question and its buttons (the host adds its navigation row)."""
        if step == "channels":
            rows, notes = await channel_rows(mailings, data)
            text = _("Step 5. Which channels? Tap to switch them on or off, then Done.")
            return "\n".join([text, *notes]), rows
        if step == "mode":
            return _mode_question(data)
        if step == "subject":
            return _subject_question(data), []
        if step == "text":
            return _text_question(), []
        return _image_question(data), []


def _mode_question(data: dict[str, Any]) -> tuple[str, Rows]:
    current = data.get("mode") or ModeChoice.ALL
    rows = [
        [
            InlineKeyboardButton(
                text=("✅ " if mode == current else "") + _capital(mode_name(mode)),
                callback_data=NmModeCb(mode=mode).pack(),
            )
        ]
        for mode in ModeChoice
    ]
    text = _(
        "Step 6. Both channels are chosen. How should they be used?\n"
        "• All selected channels: every guest gets the mailing in each channel "
        "that reaches them.\n"
        "• One channel first, then the other: a guest gets it in the first channel "
        "that reaches them; the other is the fallback."
    )
    return text, rows


def _subject_question(data: dict[str, Any]) -> str:
    text = (
        _("Step 7. Type the email subject: one line, up to {n} characters.").format(n=SUBJECT_MAX)
        + "\n"
        + variables_help()
    )
    if data.get("subject"):
        text += "\n" + _("Current: {value}").format(value=quote(data["subject"]))
    return text


def _text_question() -> str:
    return (
        _(
            "Step 8. Send the text of the mailing. Bold, italic, links and other "
            "formatting are kept."
        )
        + "\n"
        + variables_help()
        + "\n"
        + _("Skip only if the mailing is just an image.")
    )


def _image_question(data: dict[str, Any]) -> str:
    text = _("Step 9. Send an image: a photo, or a JPEG, PNG or WebP file up to 10 MB.")
    if data.get("text_html"):
        text += " " + _("Or skip it to send the text alone.")
    else:
        text += " " + _("The mailing has no text, so an image is needed.")
    return text
