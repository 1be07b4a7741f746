"""Message parts, the draft as a guest sees it: sent to the admin's chat for the preview
and the "Send test to me" message."""

from __future__ import annotations

from decimal import Decimal

from aiogram.fsm.context import FSMContext
from aiogram.types import FSInputFile, Message
from aiogram.utils.i18n import gettext as _

from bot.mailings import MailingService, Preview
from bot.render import TELEGRAM_CAPTION_LIMIT, Recipient, telegram_length


def sample_recipient() -> Recipient:
    """Who the preview is shown for when the segment has no guests."""
    return Recipient(_("Anna"), _("Smirnova"), _("Sergeevna"), Decimal("1250"))


async def send_as_guest(
    target: Message, rendered: str, image: str | FSInputFile | None
) -> str | None:
    """Send the message as guests get it; returns the photo's file_id when an image was sent.

    With an image: the text as its caption when it fits (1024), else the photo and then
    the text as a message of its own.
    """
    if image is None:
        await target.answer(rendered)
        return None
    if telegram_length(rendered) <= TELEGRAM_CAPTION_LIMIT:
        sent = await target.answer_photo(image, caption=rendered or None)
    else:
        sent = await target.answer_photo(image)
        await target.answer(rendered)
    return sent.photo[-1].file_id if sent.photo else None


async def send_draft(
    target: Message, state: FSMContext, preview: Preview, mailings: MailingService
) -> None:
    """The draft's Telegram message to the admin's chat; an uploaded image's file_id is kept."""
    draft = preview.draft
    image: str | FSInputFile | None = None
    if draft.image_file_id:
        image = draft.image_file_id
    elif draft.image_path:
        image = FSInputFile(mailings.image_file(draft.image_path))
    file_id = await send_as_guest(target, preview.rendered, image)
    if file_id and not draft.image_file_id:
        await state.update_data(image_file_id=file_id)
