"""Unsubscribe links in emails: a signed token naming the guest, opened in the bot.

Email mailings carry a link to the bot, t.me/<bot>?start=unsub-<token>; the guest
taps it, Telegram opens the bot with that /start payload, and the guest's email is
unsubscribed at once. The token is an HMAC of the guest id, so nobody can
unsubscribe another guest by guessing, and it fits Telegram's 64-character
start payload ([A-Za-z0-9_-]).
"""

from __future__ import annotations

import hashlib
import hmac

from bot.secrets import SecretBox

PAYLOAD_PREFIX = "unsub-"
_DIGEST_CHARS = 20


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
