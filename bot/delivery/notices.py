"""The engine's notices to an admin, worded in their language (outside any update)."""

from __future__ import annotations

import html

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.delivery.progress import CHANNEL_NAMES


def missed_text(
    i18n: I18n, locale: str, name: str, when: str, late_minutes: int, grace: int
) -> str:
    """A mailing's moment passed while the bot was down for longer than the grace period."""
    with i18n.context(), i18n.use_locale(locale):
        return _(
            "⏰ Mailing “{name}” was due at {time} while the bot was not running, "
            "{late} min ago (more than the {grace} min allowed), so it was not sent."
        ).format(name=html.escape(name), time=when, late=late_minutes, grace=grace)


def paused_text(
    i18n: I18n, locale: str, name: str, channel: str, reason: str, count: int, limit: int
) -> str:
    """A channel of a mailing paused: after `limit` failures in a row, or at once (`reason`)."""
    with i18n.context(), i18n.use_locale(locale):
        if count >= limit:
            text = _(
                "⚠️ {channel} of mailing “{name}” is paused after {count} failures in a row: "
                "{error}\nFix the cause and press Resume."
            )
        else:
            text = _(
                "⚠️ {channel} of mailing “{name}” is paused: {error}\n"
                "Fix the cause and press Resume."
            )
        return text.format(
            channel=CHANNEL_NAMES.get(channel, channel),
            name=html.escape(name),
            count=count,
            # A reason of ours has a translation; a server's own words stay as they came.
            error=html.escape(_(reason)),
        )


def failed_text(i18n: I18n, locale: str, name: str, error: str) -> str:
    """A run stopped on an unexpected error (the mailing is paused)."""
    with i18n.context(), i18n.use_locale(locale):
        return _("⚠️ Mailing “{name}” stopped on an error: {error}").format(
            name=html.escape(name), error=html.escape(error[:300])
        )
