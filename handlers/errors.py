"""One answer for a handler that failed: the person is told in plain words, the trace is logged.

Whatever broke inside a handler (Telegram refused the preview's photo, the export
could not be sent, the disk is full), the admin is never left waiting for nothing.
The conversation stays where it was: the FSM state is not touched here, so the
same step can be tried again, and /new offers to continue a draft.
"""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter
from aiogram.types import ErrorEvent, Update, User
from aiogram.utils.i18n import I18nMiddleware
from aiogram.utils.i18n import gettext as _

log = logging.getLogger(__name__)


def _what_failed(exc: Exception) -> str:
    """The failure in words a manager can act on (no internals, no secrets)."""
    if isinstance(exc, TelegramRetryAfter):
        return _("Telegram asked the bot to slow down")
    if isinstance(exc, TelegramNetworkError):
        return _("Telegram could not be reached")
    if isinstance(exc, TelegramAPIError):
        return _("Telegram did not accept the bot's message")
    if isinstance(exc, OSError):
        return _("a file could not be read or written on the server")
    return _("an unexpected error in the bot")


def _chat_of(update: Update) -> int | None:
    if update.message is not None:
        return update.message.chat.id
    query = update.callback_query
    if query is not None and query.message is not None:
        return query.message.chat.id
    return None


async def on_error(
    event: ErrorEvent,
    bot: Bot,
    event_from_user: User | None = None,
    i18n_middleware: I18nMiddleware | None = None,
) -> bool:
    """Log the failure with its trace and tell the person what happened."""
    update = event.update
    log.error(
        "update %s failed: %s", update.update_id, type(event.exception).__name__,
        exc_info=event.exception,
    )  # fmt: skip
    chat_id = _chat_of(update)
    if chat_id is None or event_from_user is None:
        return True
    if i18n_middleware is None:
        return True
    i18n = i18n_middleware.i18n
    locale = await i18n_middleware.get_locale(update, {"event_from_user": event_from_user})
    with i18n.context(), i18n.use_locale(locale):
        text = _(
            "⚠️ That did not work: {what}. Nothing you entered is lost; please try again. "
            "If it keeps failing, /cancel leaves the dialog."
        ).format(what=_what_failed(event.exception))
        popup = _("That did not work. Details below.")
    # Best effort: the fault may be Telegram itself; then the log is all we have.
    if update.callback_query is not None:
        with contextlib.suppress(TelegramAPIError):
            await bot.answer_callback_query(update.callback_query.id, popup)
    with contextlib.suppress(TelegramAPIError):
        await bot.send_message(chat_id, text)
    return True
