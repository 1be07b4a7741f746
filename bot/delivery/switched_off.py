"""A channel switched off in /settings while a mailing was scheduled: it pauses at once.

The mailing keeps its rows `pending`; when an admin switches the channel on again
and presses Resume, the run builds the real sender and the rows go out.
"""

from __future__ import annotations

from bot.delivery.base import ChannelDown, Result
from storage.deliveries import PendingDelivery
from storage.statuses import Channel, DeliveryStatus


def N_(text: str) -> str:
    """Mark a message for translation; the admin's notice translates it (see notices.py)."""
    return text


REASONS = {
    Channel.EMAIL: N_("the Email channel is switched off in /settings"),
    Channel.TELEGRAM: N_("the Telegram channel is switched off in /settings"),
}


class SwitchedOffSender:
    """Stands in for a switched-off channel's sender: never sends, pauses the channel."""

    workers = 1
    claim_ahead = 1

    def __init__(self, channel: Channel) -> None:
        """The channel that is off."""
        self.channel = channel

    async def ready(self, slot: int) -> None:
        """Always refuses, as a fatal channel failure (the admin must act)."""
        raise ChannelDown("channel_off", REASONS[self.channel], fatal=True)

    async def send(self, slot: int, row: PendingDelivery) -> Result:
        """Never reached (ready refuses); the row stays pending."""
        return Result(DeliveryStatus.PENDING)

    async def close(self) -> None:
        """Nothing to release."""
