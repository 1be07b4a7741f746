"""The senders of a run's channels, built from what every run shares.

A run asks for a sender per channel as each of its rounds starts; what the
admin set in /settings (the verified SMTP server, the channel switches) is read
when the run starts and again when it is resumed, so a fix takes effect then.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiogram import Bot

from bot.delivery.base import Sender
from bot.delivery.email_sender import EmailSender
from bot.delivery.limiter import RateLimiter
from bot.delivery.render_clock import RenderClock
from bot.delivery.switched_off import SwitchedOffSender
from bot.delivery.telegram_sender import TelegramSender, telegram_workers
from bot.smtp import SmtpConfig
from bot.unsubscribe import UnsubscribeTokens
from storage.mailings import Mailing
from storage.statuses import Channel

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.mailing_settings import MailingSettingsService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChannelSetup:
    """The admin's settings a run sends with: the SMTP server and the switched-off channels."""

    smtp: SmtpConfig | None
    switched_off: frozenset[Channel] = frozenset()


class SenderFactory:
    """Builds each run's senders: Telegram through the bot's one limiter, email through a
    pool of SMTP connections, a switched-off channel as a sender that pauses at once."""

    def __init__(
        self,
        bot: Bot,
        limiter: RateLimiter,
        settings: Settings,
        mailing_settings: MailingSettingsService | None,
        *,
        bot_username: str | None,
    ) -> None:
        """Senders for the bot's mailings; `bot_username` makes the emails' unsubscribe links."""
        self.bot = bot
        self.limiter = limiter
        self.settings = settings
        self.mailing_settings = mailing_settings
        self.bot_username = bot_username
        self.pool_size = settings.smtp_pool_size
        self.telegram_workers = telegram_workers(settings.telegram_rate)
        self.tokens = UnsubscribeTokens(b"")  # replaced at start by the key in DATA_DIR

    async def setup(self) -> ChannelSetup:
        """The settings in force now."""
        smtp = await self._smtp_config()
        return ChannelSetup(smtp, await self._switched_off(smtp))

    def sender(
        self,
        channel: Channel,
        mailing: Mailing,
        clock: RenderClock,
        setup: ChannelSetup,
        save_file_id: Callable[[str | None], Awaitable[None]],
    ) -> Sender:
        """A fresh sender for one channel of a run of `mailing`."""
        if channel in setup.switched_off:
            return SwitchedOffSender(channel)
        if channel == Channel.TELEGRAM:
            return TelegramSender(
                self.bot,
                self.limiter,
                mailing,
                clock,
                data_dir=self.settings.data_dir,
                workers=self.telegram_workers,
                save_file_id=save_file_id,
            )
        return EmailSender(
            setup.smtp,
            mailing,
            clock,
            data_dir=self.settings.data_dir,
            workers=self.pool_size,
            tokens=self.tokens,
            bot_username=self.bot_username,
        )

    async def _switched_off(self, smtp: SmtpConfig | None) -> frozenset[Channel]:
        """The channels an admin switched off in /settings (their rows wait, paused).
        Email without SMTP settings is left to the email sender, which says "not set up"."""
        if self.mailing_settings is None:
            return frozenset()
        off = set(Channel).difference(await self.mailing_settings.enabled_channels())
        return frozenset(off if smtp is not None else off - {Channel.EMAIL})

    async def _smtp_config(self) -> SmtpConfig | None:
        """The verified SMTP settings (None when email is not set up or cannot be decrypted)."""
        if self.mailing_settings is None:
            return None
        try:
            return await self.mailing_settings.smtp_config()
        except Exception as exc:
            log.error("the SMTP settings cannot be used: %s", exc)
            return None
