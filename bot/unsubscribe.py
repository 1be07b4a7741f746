"""Unsubscribe tokens in emails: a signed token naming the guest, in two ways back to us.

Every mailing email carries the token twice. As a link to the bot,
t.me/<bot>?start=unsub-<token>, for guests who use Telegram; and as a mailto: to the
sender's own mailbox with the subject "unsubscribe-<token>", for email-only guests:
their mail client (or its Unsubscribe button, through List-Unsubscribe) sends that
email, and the bot reads the mailbox over IMAP (bot/inbox). The token is an HMAC of
the guest id, so nobody can unsubscribe another guest by guessing; it is short and
URL-safe ([0-9a-f-]), so it fits Telegram's 64-character start payload and survives
any mail client's subject line.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from bot.secrets import SecretBox

PAYLOAD_PREFIX = "unsub-"
SUBJECT_PREFIX = "unsubscribe-"
_DIGEST_CHARS = 20
# The token anywhere in a subject ("Re: unsubscribe-12-ab…" too), whole words only.
_IN_SUBJECT = re.compile(
    rf"(?<![0-9A-Za-z-]){re.escape(SUBJECT_PREFIX)}(\d{{1,18}}-[0-9A-Za-z]{{1,64}})(?![0-9A-Za-z-])",
    re.IGNORECASE,
)


class UnsubscribeTokens:
    """Makes and checks the tokens of unsubscribe links."""

    def __init__(self, key: bytes) -> None:
        """Sign with `key` (use `from_secret_box` for the application's key)."""
        self._key = key

    @classmethod
    def from_secret_box(cls, box: SecretBox) -> UnsubscribeTokens:
        """Tokens signed with a key derived from DATA_DIR/secret.key."""
        return cls(box.derive("unsubscribe"))

    def token(self, guest_id: int) -> str:
        """The token naming one guest: "<id>-<signature>"."""
        digest = hmac.new(self._key, f"unsubscribe:{guest_id}".encode(), hashlib.sha256)
        return f"{guest_id}-{digest.hexdigest()[:_DIGEST_CHARS]}"

    def guest_of(self, token: str) -> int | None:
        """The guest a token names, or None when it is not one of ours."""
        guest, _, _ = token.strip().partition("-")
        if not guest.isdigit() or len(guest) > 18:
            return None
        return int(guest) if hmac.compare_digest(self.token(int(guest)), token.strip()) else None

    def payload(self, guest_id: int) -> str:
        """The /start payload of a guest's unsubscribe link."""
        return PAYLOAD_PREFIX + self.token(guest_id)

    def guest_of_payload(self, payload: str) -> int | None:
        """The guest a /start payload unsubscribes, or None."""
        if not payload.startswith(PAYLOAD_PREFIX):
            return None
        return self.guest_of(payload[len(PAYLOAD_PREFIX) :])

    def link(self, bot_username: str, guest_id: int) -> str:
        """The https link that opens the bot and unsubscribes the guest's email."""
        return f"https://t.me/{bot_username}?start={self.payload(guest_id)}"

    def subject(self, guest_id: int) -> str:
        """The subject of a guest's unsubscribe request by email."""
        return SUBJECT_PREFIX + self.token(guest_id)

    def guest_of_subject(self, subject: str) -> int | None:
        """The guest an email's subject asks to unsubscribe, or None (no token, or forged)."""
        for match in _IN_SUBJECT.finditer(subject):
            guest = self.guest_of(match.group(1))
            if guest is not None:
                return guest
        return None
