"""Message parts, steps text and image: the text (formatting kept, variables checked,
lengths for the segment) and the image."""

from __future__ import annotations

import io
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.images import MAX_BYTES, ImageError
from bot.mailings import MailingService
from bot.render import TELEGRAM_CAPTION_LIMIT, TemplateError, check_template
from bot.validators import InputError, check_typed
from handlers.components.common import answered, query_message
from handlers.components.states import PartsHost
from handlers.components.texts import image_error_text, template_error_text

log = logging.getLogger(__name__)
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


def split_note() -> str:
    return _(
        "With the image it is longer than a photo caption ({limit} characters): guests get "
        "the photo first, then the text as a separate message."
    ).format(limit=TELEGRAM_CAPTION_LIMIT)


def text_refusal(error: InputError) -> str:
    """Why a mailing's text is refused: the reason, never the refused character itself."""
    if error.reason == "control_char":
        return _(
            "The text contains a control character ({code}); send it again without it."
        ).format(code=error.code_point)
    return _("The text has no visible characters. Send the text of the mailing.")


def is_image(message: Message) -> bool:
    """A photo, or a file that says it is a JPEG, PNG or WebP image."""
    document = message.document
    return bool(message.photo) or (document is not None and document.mime_type in IMAGE_TYPES)


class ContentSteps:
    """Handlers of the text and image steps, for one host conversation."""

    def __init__(self, host: PartsHost) -> None:
        self.host = host

    async def on_text(self, message: Message, state: FSMContext, mailings: MailingService) -> None:
        if not (message.text or "").strip():
            await message.answer(_("The text cannot be empty. Send the text of the mailing."))
            return
        data = await state.get_data()
        if await self.save_text(
            message, state, mailings, message.html_text, bool(data.get("image_path"))
        ):
            await self.host.go_next(message, state, "text", mailings)

    async def save_text(
        self,
        message: Message,
        state: FSMContext,
        mailings: MailingService,
        template: str,
        has_image: bool,
    ) -> bool:
        """Check the text (variables, lengths for the segment) and keep it; False if refused."""
        try:
            # Line breaks and tabs are the text's own; other control characters are slips.
            check_typed(message.text if message.text is not None else message.caption or "")
        except InputError as error:
            await message.answer(text_refusal(error))
            return False
        try:
            check_template(template)
        except TemplateError as error:
            await message.answer(template_error_text(error))
            return False
        data = await state.get_data()
        segment = await mailings.segment(data.get("segment_id"))
        if segment is None:
            await self.host.show_step(message, state, "segment", mailings)
            return False
        check = await mailings.check_length(template, segment, has_image=has_image)
        if not check.ok:
            excess = check.length - check.limit
            await message.answer(
                ngettext(
                    "The text is too long: for the guest with the longest name in the segment it "
                    "comes to {length} characters, and Telegram allows {limit}. "
                    "Shorten it by {excess} character and send it again.",
                    "The text is too long: for the guest with the longest name in the segment it "
                    "comes to {length} characters, and Telegram allows {limit}. "
                    "Shorten it by {excess} characters and send it again.",
                    excess,
                ).format(length=check.length, limit=check.limit, excess=excess)
            )
            return False
        if check.may_be_empty and not has_image:
            await message.answer(
                _(
                    "For a guest without a name this text comes out empty. "
                    "Add some words besides the variables."
                )
            )
            return False
        await state.update_data(text_html=template, no_text=False)
        note = _("Text saved.")
        if check.split:
            note += " " + split_note()
        await answered(message, state, note)
        return True

    async def on_text_skip(
        self, query: CallbackQuery, state: FSMContext, mailings: MailingService
    ) -> None:
        await state.update_data(text_html=None, no_text=True, no_image=False)
        await self._skipped(query, state, mailings, "text")

    async def on_text_other(
        self, message: Message, state: FSMContext, mailings: MailingService, bot: Bot
    ) -> None:
        if is_image(message) and (message.caption or "").strip():
            # A photo with a caption at the text step: the caption is the text, the photo the image.
            if await self.save_text(message, state, mailings, message.html_text, has_image=True):
                await state.set_state(self.host.states.image)
                await self.on_image(message, state, mailings, bot)
            return
        await message.answer(
            _(
                "This step needs the text as a message. The image comes in the next step; "
                "press Skip if the mailing is only an image."
            )
        )

    async def on_image(
        self, message: Message, state: FSMContext, mailings: MailingService, bot: Bot
    ) -> None:
        file_id: str | None
        if message.photo:
            photo = message.photo[-1]
            source, size, file_id = photo.file_id, photo.file_size, photo.file_id
        elif message.document:
            document = message.document
            source, size, file_id = document.file_id, document.file_size, None
        else:
            await self.on_image_other(message, state)
            return
        if size is not None and size > MAX_BYTES:
            await message.answer(image_error_text(ImageError("too_large", "too large")))
            return
        try:
            buffer = await bot.download(source, destination=io.BytesIO())
        except TelegramAPIError as exc:
            log.info("image download failed: %s", exc.message)
            await message.answer(_("I could not download this file from Telegram. Send it again."))
            return
        data = buffer.getvalue() if isinstance(buffer, io.BytesIO) else b""
        try:
            stored = await mailings.store_image(data)
        except ImageError as error:
            await message.answer(image_error_text(error))
            return
        await state.update_data(
            image_path=stored.relative_path, image_file_id=file_id, no_image=False
        )
        note = _("Image saved ({width}×{height}).").format(width=stored.width, height=stored.height)
        draft = await state.get_data()
        if (message.caption or "").strip() and draft.get("text_html") != message.html_text:
            if draft.get("text_html"):
                note += " " + _(
                    "Its caption was not used: the mailing keeps the text you sent before "
                    "(change it with Edit in the preview)."
                )
            elif await self.save_text(message, state, mailings, message.html_text, has_image=True):
                draft = await state.get_data()
            else:
                return
        segment = await mailings.segment(draft.get("segment_id"))
        if draft.get("text_html") and segment is not None:
            check = await mailings.check_length(draft["text_html"], segment, has_image=True)
            if check.split:
                note += " " + split_note()
        await answered(message, state, note)
        await self.host.go_next(message, state, "image", mailings)

    async def on_image_skip(
        self, query: CallbackQuery, state: FSMContext, mailings: MailingService
    ) -> None:
        data = await state.get_data()
        if not data.get("text_html"):
            await query.answer(
                _(
                    "The mailing has no text, so it needs an image. "
                    "Send one, or go back and add text."
                ),
                show_alert=True,
            )
            return
        segment = await mailings.segment(data.get("segment_id"))
        if segment is not None:
            check = await mailings.check_length(data["text_html"], segment, has_image=False)
            if check.may_be_empty:
                await query.answer(
                    _(
                        "Without an image the text comes out empty for a guest without a name. "
                        "Send an image, or change the text."
                    ),
                    show_alert=True,
                )
                return
        await state.update_data(image_path=None, image_file_id=None, no_image=True)
        await self._skipped(query, state, mailings, "image")

    async def _skipped(
        self, query: CallbackQuery, state: FSMContext, mailings: MailingService, step: str
    ) -> None:
        """Say what the mailing will be without the skipped part, and go on."""
        await query.answer()
        message = query_message(query)
        if message is None:
            return
        note = (
            _("No text: the mailing will be the image alone.")
            if step == "text"
            else _("No image: the mailing will be the text alone.")
        )
        await answered(message, state, note)
        await self.host.go_next(message, state, step, mailings)

    async def on_image_other(self, message: Message, state: FSMContext) -> None:
        data = await state.get_data()
        text = _("Please send an image: a photo, or a JPEG, PNG or WebP file.")
        if data.get("text_html"):
            text += " " + _("Or press Skip to send the text alone.")
        await message.answer(text)
