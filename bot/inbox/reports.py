"""What one message in the sender's mailbox is: a guest's unsubscribe request, a bounce
report for addresses that do not exist, or mail for people (left alone)."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message

from bot.unsubscribe import UnsubscribeTokens


@dataclass(frozen=True)
class UnsubscribeRequest:
    """A guest asked, with the signed token of their emails, to get no more emails."""

    guest_id: int


@dataclass(frozen=True)
class BounceReport:
    """A delivery status notification (RFC 3464): these addresses failed for good."""

    addresses: tuple[str, ...]


Found = UnsubscribeRequest | BounceReport


def _header(message: Message, name: str) -> str:
    """A header as text (RFC 2047 decoded), empty when absent or unreadable."""
    try:
        value = message.get(name)
    except (ValueError, IndexError, AttributeError):
        return ""
    return "" if value is None else " ".join(str(value).split())


def _failed_recipients(report: Message) -> list[str]:
    """The Final-Recipient addresses of a delivery-status part whose Action is failed with
    a permanent (5.x.x) status; a temporary 4.x.x failure is not a bounce."""
    blocks = report.get_payload()
    if not isinstance(blocks, list):
        return []
    found = []
    # The first block is about the message, the others one recipient each.
    for block in blocks[1:]:
        if not isinstance(block, Message):
            continue
        action = _header(block, "Action").lower()
        status = _header(block, "Status")
        recipient = _header(block, "Final-Recipient") or _header(block, "Original-Recipient")
        _kind, _, address = recipient.rpartition(";")
        address = address.strip().strip("<>")
        if action == "failed" and status.startswith("5.") and "@" in address:
            found.append(address.lower())
    return found


def _bounce(message: Message) -> BounceReport | None:
    """The report's permanently failed addresses, when it is a delivery-status report."""
    if message.get_content_type() != "multipart/report":
        return None
    if str(message.get_param("report-type", "")).lower() != "delivery-status":
        return None
    addresses: list[str] = []
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            addresses += _failed_recipients(part)
    return BounceReport(tuple(dict.fromkeys(addresses))) if addresses else None


def read_message(raw: bytes, tokens: UnsubscribeTokens) -> Found | None:
    """What a message is for the bot, or None: mail for people, a forged or broken token,
    a report of a temporary failure."""
    message = message_from_bytes(raw, policy=policy.default)
    bounce = _bounce(message)
    if bounce is not None:
        return bounce
    guest = tokens.guest_of_subject(_header(message, "Subject"))
    return None if guest is None else UnsubscribeRequest(guest)
