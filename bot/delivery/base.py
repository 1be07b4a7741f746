"""What every channel sender shares: the result of one send and the channel's interface."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple, Protocol

from bot.render import Recipient
from storage.deliveries import PendingDelivery
from storage.statuses import Channel, DeliveryStatus, Mark, Outcome

# How many times a row is tried on network errors, 5xx and 4xx answers.
MAX_TRIES = 3
BACKOFF = (0.5, 1.5, 4.0)


def backoff(tries: int) -> float:
    """Seconds to wait before try number `tries + 1`."""
    return BACKOFF[min(tries, len(BACKOFF)) - 1] if tries > 0 else 0.0


class ChannelDown(Exception):
    """The channel cannot send at all right now (no connection, not set up); nothing was sent."""

    def __init__(self, code: str, text: str, *, fatal: bool = False) -> None:
        """`fatal`: retrying will not help until the admin acts (pause the channel at once)."""
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text
        self.fatal = fatal


class Result(NamedTuple):
    """How one send ended. Status PENDING: never reached the server, so it may go again."""

    status: Outcome
    code: str | None = None
    text: str | None = None
    external_id: str | None = None
    mark_guest: Mark | None = None
    # The channel itself failed (server down or erroring), not this guest's address:
    # these count towards pausing the channel after CHANNEL_FAILURE_LIMIT in a row.
    channel_failure: bool = False
    # Part of the message reached the guest (the photo, not the text after it): the
    # row fails, but no other channel is tried, or the guest would get it twice.
    partial: bool = False

    @classmethod
    def sent(cls, external_id: str) -> Result:
        """A delivered message with the id the other side gave it."""
        return cls(DeliveryStatus.SENT, external_id=external_id)


class Sender(Protocol):
    """One channel of a run: `workers` slots, each waiting until ready, then sending."""

    # Concurrent sends; also how many rows a crash can leave `unknown` (each worker
    # claims its row only once `ready` lets it send).
    workers: int

    @property
    def channel(self) -> Channel | str:
        """The channel it sends on."""

    async def ready(self, slot: int) -> None:
        """Wait until worker `slot` may send (rate slot, open connection); ChannelDown if not."""

    async def send(self, slot: int, row: PendingDelivery) -> Result:
        """Send one claimed row; every failure comes back as a Result, never raised."""

    async def close(self) -> None:
        """Release what the sender holds (connections)."""


def recipient_of(row: PendingDelivery) -> Recipient:
    """The template data of a pending row's guest."""
    return Recipient(
        first_name=row.first_name,
        last_name=row.last_name,
        middle_name=row.middle_name,
        balance=Decimal(row.balance_cents).scaleb(-2),
    )


def short(text: object, limit: int = 200) -> str:
    """An error text for the journal: one line, bounded."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
