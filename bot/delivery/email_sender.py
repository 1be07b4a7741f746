"""The email channel: one mailing's emails over a small pool of kept-open SMTP connections.

Each worker owns one connection (SMTP_POOL_SIZE of them), opened by bot.smtp.connect
as the settings check opens one (TLS, STARTTLS, AUTH) and reused for every
message; a dropped one is reopened. MAIL, RCPT and DATA go in one write when the
server offers PIPELINING (smtp_pipelining.py). 4xx answers and drops before the
message was handed over are retried with backoff; 5xx fail the row; a mailbox
that does not exist (5.1.x, 5.2.1, a bare 550/551/553) marks the address bounced,
while a refusal of the sender (5.7.x, relaying, a blocklist) counts against the channel.
A drop after the message body was sent is `unknown`: the server may have taken it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import aiosmtplib

from bot.delivery.base import MAX_TRIES, ChannelDown, Result, backoff, recipient_of, short
from bot.delivery.email_message import build_email, wire_bytes
from bot.delivery.smtp_pipelining import Step, send_message
from bot.render import RenderContext, render_email_html, render_plain, render_subject
from bot.smtp import SmtpConfig, SmtpError, SmtpFailure, connect
from bot.unsubscribe import UnsubscribeTokens
from storage.deliveries import PendingDelivery
from storage.mailings import Mailing
from storage.statuses import Channel

log = logging.getLogger(__name__)

_BOUNCE_CODES = frozenset({550, 551, 553})
_ENHANCED = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
# Words of refusals aimed at us (a blocklist, relaying, a policy, our sender address
# failing the server's checks): they say nothing about the guest's address.
_SENDER_WORDS = (
    "sender",
    "verify",
    "relay",
    "spam",
    "blocked",
    "blacklist",
    "blocklist",
    "policy",
    "reputation",
)
# Words of a mailbox that does not exist, whatever code the server put on them
# (Yandex says "550 5.7.1 No such user!", Outlook "550 5.5.0 ... mailbox unavailable").
_NO_MAILBOX_WORDS = (
    "no such user",
    "user unknown",
    "unknown user",
    "no such mailbox",
    "mailbox unavailable",
    "mailbox not found",
    "does not exist",
    "recipient not found",
)


def _refusal(exc: aiosmtplib.SMTPResponseException) -> Literal["sender", "mailbox", "other"]:
    """What a 5xx refusal is about. "sender": our server or sender (5.7.x security or
    policy, X.1.7/X.1.8 our sender's address, relaying denied, a blocklist, "Sender
    address rejected"): every email would meet it, so it counts against the channel.
    "mailbox": the guest's mailbox does not exist or is disabled (the usual words, RFC
    3463 5.1.x or 5.2.1, else a bare 550/551/553): the address is marked bounced.
    "other": this email was refused (a full mailbox, say); the row fails."""
    text = exc.message.lower()
    if any(word in text for word in _SENDER_WORDS):
        return "sender"
    if any(word in text for word in _NO_MAILBOX_WORDS):
        return "mailbox"
    enhanced = _ENHANCED.match(exc.message)
    if enhanced:
        subject, detail = enhanced.group(2), enhanced.group(3)
        if subject == "7" or (subject == "1" and detail in ("7", "8")):
            return "sender"
        return "mailbox" if subject == "1" or (subject, detail) == ("2", "1") else "other"
    return "mailbox" if exc.code in _BOUNCE_CODES else "other"


def _image_subtype(path: str) -> str:
    """The MIME subtype of a stored image by its extension (images are JPEG or PNG)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "webp": "webp", "gif": "gif"}.get(
        suffix, "jpeg"
    )


# What the pool does when a connection cannot be opened, by kind. The admin must act
# on these (retrying will not help), so the channel pauses at once; anything else
# (unreachable, a drop, a timeout) counts towards pausing like a failed send.
_FATAL: dict[SmtpFailure, tuple[str, str]] = {
    SmtpFailure.NO_STARTTLS: ("no_starttls", "the server no longer offers STARTTLS"),
    SmtpFailure.AUTH_NOT_SUPPORTED: ("auth_not_supported", "the server no longer offers a login"),
    SmtpFailure.AUTH_FAILED: ("auth_failed", "the SMTP server refused the login"),
    SmtpFailure.CERT_INVALID: ("cert_invalid", "the SMTP server's certificate is not valid"),
}


async def open_connection(cfg: SmtpConfig) -> aiosmtplib.SMTP:
    """A logged-in SMTP connection as the settings say (bot.smtp.connect, as the settings
    check opens one); ChannelDown when it cannot be had."""
    try:
        return await connect(cfg)
    except SmtpError as error:
        fatal = _FATAL.get(error.failure)
        if fatal is not None:
            code, text = fatal
            if error.failure != SmtpFailure.NO_STARTTLS and error.result.detail:
                text = f"{text}: {error.result.detail}"
            raise ChannelDown(code, short(text), fatal=True) from None
        text = short(f"cannot connect to {cfg.host}:{cfg.port}: {error.raised}")
        raise ChannelDown("smtp_unreachable", text) from None


class EmailSender:
    """Sends one mailing to guests' mailboxes over `workers` kept-open connections."""

    channel: str = Channel.EMAIL

    def __init__(
        self,
        config: SmtpConfig | None,
        mailing: Mailing,
        ctx: Callable[[], RenderContext],
        *,
        data_dir: Path,
        workers: int,
        tokens: UnsubscribeTokens,
        bot_username: str | None = None,
    ) -> None:
        """Send `mailing` through the SMTP server of `config` (None: email is not set up)."""
        self.config = config
        self.mailing = mailing
        self.ctx = ctx
        self.data_dir = data_dir
        self.workers = workers
        # Each email's unsubscribe link opens the bot, which stops emails to that guest.
        self.tokens = tokens
        self.bot_username = bot_username
        self._clients: list[aiosmtplib.SMTP | None] = [None] * workers
        self._image: bytes | None = None
        self.domain = config.domain if config else "localhost"
        self.image_cid = f"mailing-{mailing.id}-image@{self.domain}" if mailing.image_path else None
        self.connects = 0

    async def ready(self, slot: int) -> None:
        """Make sure worker `slot` holds an open connection."""
        if self.config is None:
            raise ChannelDown("smtp_not_configured", "email is not set up (/settings)", fatal=True)
        if self.mailing.image_path and self._image is None:
            path = self.data_dir / self.mailing.image_path
            try:
                self._image = await asyncio.to_thread(path.read_bytes)
            except OSError as exc:
                text = f"the image {path} cannot be read: {exc.strerror}"
                raise ChannelDown("image_missing", text, fatal=True) from None
        client = self._clients[slot]
        if client is None or not client.is_connected:
            self._clients[slot] = await open_connection(self.config)
            self.connects += 1

    async def close(self) -> None:
        """Say QUIT on every open connection."""
        for slot, client in enumerate(self._clients):
            self._clients[slot] = None
            if client is not None and client.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                    await client.quit(timeout=5)
                client.close()

    def message_bytes(self, row: PendingDelivery) -> tuple[bytes, str]:
        """The personalised email for a row, as bytes, and its Message-ID."""
        assert self.config is not None
        recipient, ctx = recipient_of(row), self.ctx()
        template = self.mailing.text_html or ""
        names = [p for p in (row.first_name, row.last_name) if p]
        message = build_email(
            sender_email=self.config.sender_email,
            sender_name=self.config.sender_name,
            to_email=row.address,
            to_name=" ".join(names) or None,
            subject=render_subject(self.mailing.subject or self.mailing.name, recipient, ctx),
            html=render_email_html(template, recipient, ctx, image_cid=self.image_cid),
            plain=render_plain(template, recipient, ctx),
            image=self._image,
            image_subtype=_image_subtype(self.mailing.image_path or ""),
            image_cid=self.image_cid,
            unsubscribe_token=self.tokens.token(row.guest_id),
            message_id_domain=self.domain,
            unsubscribe_link=(
                self.tokens.link(self.bot_username, row.guest_id) if self.bot_username else None
            ),
        )
        message_id = next(str(v) for k, v in message.raw_items() if k == "Message-ID")
        return wire_bytes(message), message_id

    async def send(self, slot: int, row: PendingDelivery) -> Result:
        """Hand one email to the server: MAIL, RCPT, DATA on this worker's connection
        (pipelined in one round trip when the server offers PIPELINING)."""
        assert self.config is not None
        try:
            raw, message_id = self.message_bytes(row)
        except (ValueError, UnicodeError) as exc:
            text = f"the email cannot be built: {exc}"
            return Result("failed", "bad_message", short(self.config.scrub(text)))
        tries = 0
        while True:
            step = Step()
            try:
                await self.ready(slot)
                client = self._clients[slot]
                assert client is not None
                await send_message(client, self.config.sender_email, row.address, raw, step)
                return Result.sent(message_id)
            except ChannelDown as exc:
                return Result("pending", exc.code, exc.text, channel_failure=True)
            except aiosmtplib.SMTPResponseException as exc:
                stage = step.name
                answer = self.config.scrub(f"{exc.code} {exc.message}")
                await self._reset(slot)
                if 400 <= exc.code < 500:
                    tries += 1
                    if tries >= MAX_TRIES:
                        text = f"the server kept deferring ({stage}): {answer}"
                        return Result("failed", "smtp_deferred", short(text), channel_failure=True)
                    await asyncio.sleep(backoff(tries))
                    continue
                refusal = _refusal(exc)
                if stage == "rcpt" and refusal == "mailbox":
                    text = f"the mailbox was refused: {answer}"
                    return Result("failed", "bounced", short(text), mark_guest="email_bounced")
                guest_refused = stage == "rcpt" and refusal != "sender"
                text = f"the server refused the email ({stage}): {answer}"
                return Result(
                    "failed", "smtp_refused", short(text), channel_failure=not guest_refused
                )
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                stage = step.name
                self._drop(slot)
                detail = self.config.scrub(f"{type(exc).__name__}: {exc}")
                if stage == "data":
                    text = f"the connection broke while the email was handed over ({detail})"
                    text = short(f"{text}; it may have arrived")
                    # Counts towards pausing, as on Telegram: a relay that drops every
                    # line after the body would otherwise leave the segment `unknown`.
                    return Result("unknown", "no_answer", text, channel_failure=True)
                tries += 1
                if tries >= MAX_TRIES:
                    text = f"the connection keeps breaking: {detail}"
                    return Result("pending", "smtp_unreachable", short(text), channel_failure=True)
                log.info("SMTP connection %d dropped at %s (%s); reconnecting", slot, stage, detail)
                await asyncio.sleep(backoff(tries))

    async def _reset(self, slot: int) -> None:
        """RSET after a refusal, so the connection is ready for the next envelope."""
        client = self._clients[slot]
        if client is None:
            return
        try:
            await client.rset()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            self._drop(slot)

    def _drop(self, slot: int) -> None:
        """Forget a broken connection; the next send opens a new one."""
        client, self._clients[slot] = self._clients[slot], None
        if client is not None:
            client.close()
