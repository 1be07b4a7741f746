"""The product's statuses and choices as types, shared by storage, services and handlers.

Each is a StrEnum: the stored text is the member's value, so rows read back compare
equal to members, and a mistyped status fails in mypy instead of matching nothing.
The state machines are drawn in docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Literal


class MailingStatus(StrEnum):
    """Where a mailing stands: scheduled -> running -> completed, or paused/cancelled/missed."""

    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    MISSED = "missed"  # its moment passed while the bot was down longer than the grace


# A mailing reaching one of these has finished (finished_at is set).
FINISHED_MAILING = frozenset(
    {MailingStatus.COMPLETED, MailingStatus.CANCELLED, MailingStatus.MISSED}
)


class DeliveryStatus(StrEnum):
    """One guest on one channel: pending -> sending -> sent, or failed/skipped/unknown."""

    PENDING = "pending"
    SENDING = "sending"  # claimed: its request may be in flight
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # no contact, unsubscribed, blocked, cancelled
    UNKNOWN = "unknown"  # was in flight when the process died; never resent by itself


# Rows in these statuses are done: nothing will change them without an admin.
TERMINAL_DELIVERY = frozenset(
    {DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED, DeliveryStatus.UNKNOWN}
)


# How a send ended for its claimed row (never SENDING); PENDING hands the row back
# unsent. The plain spellings are accepted too: a sender may write Result("failed", ...).
Outcome = Literal[
    DeliveryStatus.SENT,
    DeliveryStatus.FAILED,
    DeliveryStatus.UNKNOWN,
    DeliveryStatus.PENDING,
    DeliveryStatus.SKIPPED,
    "sent",
    "failed",
    "unknown",
    "pending",
    "skipped",
]


class GuestMark(StrEnum):
    """What a send learnt about the guest, written with the row's finish."""

    TG_BLOCKED = "tg_blocked"  # the guest blocked the bot
    EMAIL_BOUNCED = "email_bounced"  # the address does not exist


# A guest mark as a send reports it (the plain spellings are accepted, as for Outcome).
Mark = Literal[GuestMark.TG_BLOCKED, GuestMark.EMAIL_BOUNCED, "tg_blocked", "email_bounced"]


class TelegramStatus(StrEnum):
    """Whether a guest's Telegram takes mailings (guests.tg_status)."""

    NONE = "none"  # not linked
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"  # /stop
    BLOCKED = "blocked"  # the guest blocked the bot


class EmailStatus(StrEnum):
    """Whether a guest's address takes mailings (guests.email_status)."""

    NONE = "none"  # no address
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"  # the address does not exist


class Channel(StrEnum):
    """A way to reach a guest."""

    TELEGRAM = "telegram"
    EMAIL = "email"


class MailingKind(StrEnum):
    """A one-off mailing, or one occurrence of a segment promotion."""

    ONE_OFF = "one_off"
    PROMOTION = "promotion"


class SendMode(StrEnum):
    """How a two-channel mailing uses its channels (stored on the mailing)."""

    ALL = "all"  # every selected channel
    PRIORITY = "priority"  # the first channel that reaches the guest; the other as fallback


class ModeChoice(StrEnum):
    """The send mode as the admin picks it: a stored mode plus, for priority, which channel
    comes first. Built and parsed here only."""

    ALL = "all"
    PRIORITY_TELEGRAM = "priority-telegram"
    PRIORITY_EMAIL = "priority-email"

    @classmethod
    def of(cls, send_mode: str, channels: Sequence[str]) -> ModeChoice:
        """The choice a stored mailing stands for (channels in priority order)."""
        if send_mode == SendMode.PRIORITY and channels:
            return cls(f"priority-{channels[0]}")
        return cls.ALL

    @property
    def send_mode(self) -> SendMode:
        return SendMode.ALL if self is ModeChoice.ALL else SendMode.PRIORITY

    @property
    def first(self) -> Channel | None:
        """The priority channel (None for all channels)."""
        if self is ModeChoice.ALL:
            return None
        return Channel(self.value.removeprefix("priority-"))

    def order(self, channels: Sequence[str]) -> tuple[Channel, ...]:
        """`channels` in the order this choice sends them (the priority channel first)."""
        chosen = tuple(Channel(c) for c in channels)
        first = self.first
        if first is None or first not in chosen:
            return chosen
        return (first, *(c for c in chosen if c != first))
