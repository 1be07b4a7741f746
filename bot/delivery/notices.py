"""The engine's notices to an admin, worded in their language (outside any update)."""

from __future__ import annotations

import html

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.delivery.limiter import RateLimiter
from bot.delivery.progress import CHANNEL_NAMES, RunKeyboards, notify
from bot.zones import zone_words
from storage.mailings import Mailing
from storage.statuses import MailingStatus


def missed_text(
    i18n: I18n,
    locale: str,
    name: str,
    when: str,
    late_minutes: int,
    grace: int,
    zone: str = "Europe/Moscow",
) -> str:
    """A mailing's moment passed while the bot was down for longer than the grace period."""
    with i18n.context(), i18n.use_locale(locale):
        return _(
            "⏰ Mailing “{name}” was due at {time} ({tz}) while the bot was not running, "
            "{late} min ago (more than the {grace} min allowed), so it was not sent."
        ).format(
            name=html.escape(name),
            time=when,
            tz=zone_words(zone),
            late=late_minutes,
            grace=grace,
        )


def paused_text(
    i18n: I18n, locale: str, name: str, channel: str, reason: str, count: int, limit: int
) -> str:
    """A channel of a mailing paused: after `limit` failures in a row, or at once (`reason`)."""
    with i18n.context(), i18n.use_locale(locale):
        if count >= limit:
            text = ngettext(
                "⚠️ {channel} of mailing “{name}” is paused after {count} failure in a row: "
                "{error}\nFix the cause and press Resume.",
                "⚠️ {channel} of mailing “{name}” is paused after {count} failures in a row: "
                "{error}\nFix the cause and press Resume.",
                count,
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


class AdminNotices:
    """Sends the engine's notices, each with the buttons that act on it: Send now under a
    missed mailing, Resume and Cancel under a paused one."""

    def __init__(
        self,
        bot: Bot,
        i18n: I18n,
        keyboards: RunKeyboards | None,
        limiter: RateLimiter,
        zone: str = "Europe/Moscow",
    ) -> None:
        """Notices through `bot`, paced by the bot's one limiter; times told in `zone`."""
        self.bot, self.i18n, self.keyboards, self.limiter = bot, i18n, keyboards, limiter
        self.zone = zone

    async def missed(
        self, chat_id: int, locale: str, mailing: Mailing, when: str, late: int, grace: int
    ) -> None:
        """The mailing was missed while the bot was down: Send now."""
        text = missed_text(self.i18n, locale, mailing.name, when, late, grace, self.zone)
        with self.i18n.context(), self.i18n.use_locale(locale):
            markup = self.keyboards.send_now(mailing.id) if self.keyboards else None
        await notify(self.bot, chat_id, text, markup, self.limiter)

    async def channel_paused(
        self,
        chat_id: int,
        locale: str,
        mailing: Mailing,
        channel: str,
        reason: str,
        count: int,
        limit: int,
    ) -> None:
        """A channel of the mailing paused: Resume once fixed."""
        text = paused_text(self.i18n, locale, mailing.name, channel, reason, count, limit)
        await notify(self.bot, chat_id, text, self._paused_markup(mailing.id, locale), self.limiter)

    async def run_failed(self, chat_id: int, locale: str, mailing: Mailing, error: str) -> None:
        """The run stopped on an error and the mailing is paused: Resume."""
        text = failed_text(self.i18n, locale, mailing.name, error)
        await notify(self.bot, chat_id, text, self._paused_markup(mailing.id, locale), self.limiter)

    def _paused_markup(self, mailing_id: int, locale: str) -> InlineKeyboardMarkup | None:
        """Resume / Cancel under a notice about a paused mailing or channel."""
        if self.keyboards is None:
            return None
        with self.i18n.context(), self.i18n.use_locale(locale):
            return self.keyboards.controls(mailing_id, MailingStatus.PAUSED, 0)
