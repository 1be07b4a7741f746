"""The bot's one SMTP path: open a connection (TLS, STARTTLS, AUTH), verify settings,
send a test email, and name any failure as a kind the admin can act on.

connect() is how settings verification, the test email and the delivery engine's
pool all reach the server, with one classification of what can go wrong
(SmtpError). The checks here never raise on a network or server problem: the
answer is a VerifyResult. The password lives in a SecretStr, goes to the server
only inside AUTH, and is scrubbed (SmtpConfig.scrub) from every text taken from
an exception or a server reply.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import socket
import ssl
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from enum import StrEnum

import aiosmtplib
from pydantic import SecretStr

from bot.delivery.email_message import build_email, html_of_plain, wire_bytes
from bot.delivery.smtp_pipelining import Step, send_message
from storage.mailing_settings import Security

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0
DEFAULT_PORTS: dict[Security, int] = {"starttls": 587, "tls": 465, "none": 25}
_MAX_DETAIL = 300


class SmtpFailure(StrEnum):
    """Why SMTP settings could not be verified (or a test email not sent)."""

    HOST_NOT_FOUND = "host_not_found"
    CONNECTION_REFUSED = "connection_refused"
    TIMEOUT = "timeout"
    DISCONNECTED = "disconnected"
    TLS_FAILED = "tls_failed"
    CERT_INVALID = "cert_invalid"
    NO_STARTTLS = "no_starttls"
    AUTH_FAILED = "auth_failed"
    AUTH_NOT_SUPPORTED = "auth_not_supported"
    SENDER_REFUSED = "sender_refused"
    RECIPIENT_REFUSED = "recipient_refused"
    # The stored password does not decrypt: DATA_DIR/secret.key was replaced.
    KEY_MISMATCH = "key_mismatch"
    NOT_CONFIGURED = "not_configured"
    OTHER = "other"


class SmtpStage(StrEnum):
    """The step of the SMTP conversation a failure happened in."""

    CONNECT = "connect"
    GREETING = "greeting"
    EHLO = "ehlo"
    STARTTLS = "starttls"
    AUTH = "auth"
    SENDER = "sender"
    SEND = "send"


@dataclass(frozen=True)
class VerifyResult:
    """Success, or a failure kind with the stage and a detail free of secrets."""

    failure: SmtpFailure | None = None
    stage: SmtpStage | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """True when the check (or the send) succeeded."""
        return self.failure is None

    def __str__(self) -> str:
        """A one-line summary for logs and the audit log."""
        if self.failure is None:
            return "ok"
        text = f"{self.failure.value} at {self.stage.value if self.stage else '?'}"
        return f"{text}: {self.detail}" if self.detail else text


@dataclass(frozen=True, kw_only=True)
class SmtpConfig:
    """Everything needed to talk to one SMTP server; the password's repr is masked."""

    host: str
    port: int
    security: Security
    sender_email: str
    sender_name: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = DEFAULT_TIMEOUT
    # Certificates are validated like any mail client does; tests (or a private CA)
    # pass their own context trusting the certificate instead of turning this off.
    validate_certs: bool = True
    tls_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def secrets(self) -> list[str]:
        """The password and the encodings of it AUTH puts on the wire, for scrubbing."""
        if self.password is None or not self.password.get_secret_value():
            return []
        plain = self.password.get_secret_value()
        user = self.username or ""
        forms = [
            plain,
            base64.b64encode(plain.encode()).decode(),
            base64.b64encode(f"\0{user}\0{plain}".encode()).decode(),
        ]
        return sorted(set(forms), key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """`text` (an exception's or a server's words) safe to show, log or keep: the
        password in every form masked, one line, bounded. Servers may quote it back."""
        return _sanitize(text, self.secrets())

    @property
    def domain(self) -> str:
        """The sender address's domain, for Message-IDs."""
        return self.sender_email.rsplit("@", 1)[-1]


class SmtpError(Exception):
    """A step of the SMTP conversation failed: the result to show, free of secrets, and
    what was raised ("SMTPConnectError: ...", also scrubbed) for the delivery journal."""

    def __init__(self, result: VerifyResult, raised: str = "") -> None:
        """Carry the failure kind, stage and detail; `raised` defaults to the detail."""
        super().__init__(str(result))
        self.result = result
        self.raised = raised or result.detail

    @property
    def failure(self) -> SmtpFailure:
        """The failure kind (never None: an error is a failure)."""
        assert self.result.failure is not None
        return self.result.failure


class Deadline:
    """One time budget for the whole conversation, handed out per command."""

    def __init__(self, seconds: float) -> None:
        """Start the clock."""
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left for the next command (a small floor so it can fail cleanly)."""
        return max(0.05, self.end - time.monotonic())


def _sanitize(text: str, secrets: list[str]) -> str:
    """An error text for the admin: secrets masked, one printable line, bounded length.
    Only SmtpConfig.scrub() calls it, with that config's secrets."""
    for secret in secrets:
        text = text.replace(secret, "***")
    text = " ".join(text.split())
    text = "".join(ch for ch in text if ch.isprintable())
    return text[:_MAX_DETAIL]


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and every cause or context behind it, outermost first."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _response_text(exc: aiosmtplib.SMTPResponseException) -> str:
    """A server's reply as "550 sender not allowed"."""
    return f"{exc.code} {exc.message}"


def _classify(exc: BaseException, stage: SmtpStage) -> tuple[SmtpFailure, SmtpStage, str]:
    """Map what aiosmtplib, asyncio or ssl raised to a failure kind, stage and raw detail."""
    chain = list(_chain(exc))
    for item in chain:
        if isinstance(item, socket.gaierror):
            return SmtpFailure.HOST_NOT_FOUND, SmtpStage.CONNECT, item.strerror or str(item)
        if isinstance(item, ConnectionRefusedError):
            return SmtpFailure.CONNECTION_REFUSED, SmtpStage.CONNECT, item.strerror or ""
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            return SmtpFailure.CERT_INVALID, stage, item.verify_message or item.reason or ""
        if isinstance(item, ssl.SSLError):
            reason = (item.reason or str(item)).replace("_", " ").lower()
            return SmtpFailure.TLS_FAILED, stage, reason
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return SmtpFailure.AUTH_FAILED, stage, _response_text(exc)
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return SmtpFailure.SENDER_REFUSED, SmtpStage.SENDER, _response_text(exc)
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return SmtpFailure.RECIPIENT_REFUSED, stage, _response_text(exc)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refused = exc.recipients[0] if exc.recipients else None
        return SmtpFailure.RECIPIENT_REFUSED, stage, _response_text(refused) if refused else ""
    if stage == SmtpStage.CONNECT and any(
        isinstance(item, aiosmtplib.SMTPReadTimeoutError | aiosmtplib.SMTPServerDisconnected)
        for item in chain[1:]
    ):
        # Connected, but the server's "220" greeting never came.
        stage = SmtpStage.GREETING
    if any(isinstance(item, TimeoutError) for item in chain):
        return SmtpFailure.TIMEOUT, stage, ""
    if stage == SmtpStage.STARTTLS and isinstance(
        exc, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPResponseException
    ):
        detail = _response_text(exc) if isinstance(exc, aiosmtplib.SMTPResponseException) else ""
        return SmtpFailure.TLS_FAILED, stage, detail or str(exc)
    if any(
        isinstance(item, aiosmtplib.SMTPServerDisconnected | ConnectionResetError | EOFError)
        for item in chain
    ):
        return SmtpFailure.DISCONNECTED, stage, ""
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return SmtpFailure.OTHER, stage, _response_text(exc)
    for item in chain:
        if isinstance(item, OSError) and item.strerror:
            return SmtpFailure.OTHER, stage, item.strerror
    return SmtpFailure.OTHER, stage, str(exc) or type(exc).__name__


def _failure(cfg: SmtpConfig, exc: BaseException, stage: SmtpStage, what: str) -> SmtpError:
    """What `exc` (raised at `stage`) means, as an SmtpError with every text scrubbed; an
    unexpected kind is logged with where it came from."""
    failure, stage, detail = _classify(exc, stage)
    raised = cfg.scrub(f"{type(exc).__name__}: {exc}")
    if failure == SmtpFailure.OTHER:
        frame = traceback.extract_tb(exc.__traceback__)[-1:] or None
        where = f" ({frame[0].filename}:{frame[0].lineno})" if frame else ""
        log.warning("SMTP %s: unexpected %s%s: %s", what, type(exc).__name__, where, raised)
    return SmtpError(VerifyResult(failure, stage, cfg.scrub(detail)), raised)


async def connect(
    cfg: SmtpConfig, deadline: Deadline | None = None, *, what: str = "connection"
) -> aiosmtplib.SMTP:
    """A logged-in connection as `cfg` says: connect (TLS for "tls"), EHLO, STARTTLS
    (refused unless offered), EHLO again, AUTH (refused unless a method is offered).

    The one way the bot opens SMTP: settings verification, the test email and the
    delivery engine's pool. Any failure is an SmtpError naming the kind and the stage,
    the connection closed; `deadline` bounds the whole conversation (cfg.timeout).
    """
    deadline = deadline or Deadline(cfg.timeout)
    stage = SmtpStage.CONNECT
    client = aiosmtplib.SMTP(
        hostname=cfg.host,
        port=cfg.port,
        use_tls=cfg.security == "tls",
        start_tls=False,
        validate_certs=cfg.validate_certs,
        tls_context=cfg.tls_context,
        timeout=cfg.timeout,
    )
    try:
        # A safety net over the per-command budgets (the local host name lookup has none).
        async with asyncio.timeout(deadline.left() + 1):
            await client.connect(timeout=deadline.left())
            stage = SmtpStage.EHLO
            await client.ehlo(timeout=deadline.left())
            if cfg.security == "starttls":
                stage = SmtpStage.STARTTLS
                if not client.supports_extension("starttls"):
                    offered = "STARTTLS is not offered"
                    raise SmtpError(VerifyResult(SmtpFailure.NO_STARTTLS, stage, offered))
                await client.starttls(timeout=deadline.left())
                await client.ehlo(timeout=deadline.left())
            if cfg.username:
                stage = SmtpStage.AUTH
                if not client.supports_extension("auth") or not client.supported_auth_methods:
                    offered = client.esmtp_extensions.get("auth", "").strip() or "none"
                    detail = cfg.scrub(f"AUTH methods: {offered}")
                    raise SmtpError(VerifyResult(SmtpFailure.AUTH_NOT_SUPPORTED, stage, detail))
                password = cfg.password.get_secret_value() if cfg.password else ""
                await client.login(cfg.username, password, timeout=deadline.left())
    except SmtpError:
        client.close()
        raise
    except Exception as exc:  # every failure becomes one the admin can read
        client.close()
        raise _failure(cfg, exc, stage, what) from None
    return client


Action = Callable[[aiosmtplib.SMTP, Deadline], Awaitable[None]]


async def _session(cfg: SmtpConfig, action: Action, what: str) -> VerifyResult:
    """Connect as `cfg` says, run `action`, QUIT; the outcome, never an exception."""
    deadline = Deadline(cfg.timeout)
    try:
        client = await connect(cfg, deadline, what=what)
    except SmtpError as error:
        result = error.result
    else:
        stage = SmtpStage.SEND if what == "send" else SmtpStage.SENDER
        try:
            async with asyncio.timeout(deadline.left() + 1):
                await action(client, deadline)
                # The work is done; a server that drops QUIT changes nothing.
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await client.quit(timeout=deadline.left())
        except Exception as exc:  # every failure becomes a result the admin can read
            result = _failure(cfg, exc, stage, what).result
        else:
            result = VerifyResult()
        finally:
            client.close()
    log.info("SMTP %s via %s:%d (%s): %s", what, cfg.host, cfg.port, cfg.security, result)
    return result


async def verify_smtp(cfg: SmtpConfig) -> VerifyResult:
    """Prove the settings work: connect, EHLO, STARTTLS, AUTH, MAIL FROM the sender, RSET."""

    async def sender_accepted(client: aiosmtplib.SMTP, deadline: Deadline) -> None:
        """MAIL FROM shows whether the server lets this account send as the sender."""
        await client.mail(cfg.sender_email, timeout=deadline.left())
        await client.rset(timeout=deadline.left())

    return await _session(cfg, sender_accepted, "check")


def build_message(cfg: SmtpConfig, to: str, subject: str, body: str) -> EmailMessage:
    """The test email: `body` as plain text and as HTML, from the configured sender (name,
    Message-ID, Date), built as every mailing email is."""
    return build_email(
        sender_email=cfg.sender_email,
        sender_name=cfg.sender_name,
        to_email=to,
        to_name=None,
        subject=subject,
        html=html_of_plain(body),
        plain=body,
        image=None,
        image_subtype=None,
        image_cid=None,
        unsubscribe_token=None,
        message_id_domain=cfg.domain,
    )


async def send_test_email(cfg: SmtpConfig, to: str, subject: str, body: str) -> VerifyResult:
    """Send one email through the settings and report the outcome like a verification."""
    return await send_one_email(cfg, build_message(cfg, to, subject, body), to)


async def send_one_email(cfg: SmtpConfig, message: EmailMessage, to: str) -> VerifyResult:
    """Send one ready message (a mailing's test, say) in its own session; the outcome."""
    raw = wire_bytes(message)

    async def send(client: aiosmtplib.SMTP, deadline: Deadline) -> None:
        """Hand the message over as the engine does: MAIL FROM, RCPT TO, DATA (pipelined
        when offered), the same bytes a mailing would put on the wire."""
        await send_message(client, cfg.sender_email, to, raw, Step())

    return await _session(cfg, send, "send")
