"""A name typed for a mailing or a promotion: checked the same way in both conversations."""

from __future__ import annotations

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.validators import InputError, check_typed


def name_refusal(error: InputError) -> str:
    """Why a typed name is refused: the reason, never the refused character itself."""
    if error.reason == "control_char":
        return _(
            "The name contains a control character ({code}); type it again without it."
        ).format(code=error.code_point)
    if error.reason == "invisible":
        return _("The name has no visible characters. Type a few words, e.g. “Spring menu”.")
    return _("The name cannot be empty. Type a few words, e.g. “Spring menu”.")


async def typed_name(message: Message, limit: int) -> str | None:
    """The name in `message` with its spaces tidied; None after saying why it is refused
    (the question stays where it was)."""
    try:
        name = " ".join(check_typed(message.text or "").split())
    except InputError as error:
        await message.answer(name_refusal(error))
        return None
    if len(name) > limit:
        await message.answer(
            _("The name is {n} characters long; the limit is {max}. Make it shorter.").format(
                n=len(name), max=limit
            )
        )
        return None
    return name
