"""The IMAP client: log in, select INBOX, list unread messages, read one without marking
it read, flag one \\Seen. Every failure is named as a kind the admin can act on.

Built on the standard library's imaplib, each call run in a worker thread
(asyncio.to_thread). A round is a handful of commands every few minutes, so a thread
costs nothing, and imaplib is maintained with Python itself; the asyncio IMAP clients on
PyPI are small projects we would have to vet and follow. The password goes to the server
only inside AUTHENTICATE PLAIN (or LOGIN for an ASCII password on a server without
PLAIN) and is scrubbed from every text taken from an exception or a server reply.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import socket
import ssl
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import SecretStr

from storage.inbox import ImapSecurity

DEFAULT_TIMEOUT = 15.0
DEFAULT_PORTS: dict[ImapSecurity, int] = {"tls": 993, "starttls": 143}
_MAX_DETAIL = 200


class ImapFailure(StrEnum):
    """Why the mailbox could not be read (or its settings not verified)."""

    HOST_NOT_FOUND = "host_not_found"
    CONNECTION_REFUSED = "connection_refused"
    TIMEOUT = "timeout"
    TLS_FAILED = "tls_failed"
    CERT_INVALID = "cert_invalid"
    NO_STARTTLS = "no_starttls"
    AUTH_FAILED = "auth_failed"
    NO_INBOX = "no_inbox"
    DISCONNECTED = "disconnected"
    KEY_MISMATCH = "key_mismatch"  # the stored password does not decrypt with secret.key
    OTHER = "other"


@dataclass(frozen=True, kw_only=True)
class ImapConfig:
    """Everything needed to read one mailbox; the password's repr is masked."""

    host: str
    port: int
    security: ImapSecurity
    username: str
    password: SecretStr
    timeout: float = DEFAULT_TIMEOUT
    # Certificates are validated like any mail client does; tests pass a context that
    # trusts their own certificate instead of turning validation off.
    tls_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def scrub(self, text: str) -> str:
        """`text` without the password in any form AUTHENTICATE puts on the wire, shortened."""
        plain = self.password.get_secret_value()
        if plain:
            auth = f"\0{self.username}\0{plain}".encode()
            for secret in (plain, base64.b64encode(auth).decode()):
                text = text.replace(secret, "***")
        return text[:_MAX_DETAIL]


class ImapError(Exception):
    """A failure of one IMAP step: its kind and a detail free of secrets."""

    def __init__(self, failure: ImapFailure, detail: str = "") -> None:
        super().__init__(f"{failure.value}: {detail}" if detail else failure.value)
        self.failure = failure
        self.detail = detail


def _classify(exc: BaseException) -> ImapFailure:
    """The kind of a connection-level exception."""
    if isinstance(exc, socket.gaierror):
        return ImapFailure.HOST_NOT_FOUND
    if isinstance(exc, ConnectionRefusedError):
        return ImapFailure.CONNECTION_REFUSED
    if isinstance(exc, TimeoutError | socket.timeout):
        return ImapFailure.TIMEOUT
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ImapFailure.CERT_INVALID
    if isinstance(exc, ssl.SSLError):
        return ImapFailure.TLS_FAILED
    if isinstance(exc, imaplib.IMAP4.abort | OSError | EOFError):
        return ImapFailure.DISCONNECTED
    return ImapFailure.OTHER


def _text(data: object) -> str:
    """A server reply (bytes or a list of them) as text."""
    if isinstance(data, list | tuple):
        return " ".join(_text(d) for d in data if d is not None)
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return str(data)


class ImapMailbox:
    """One connection to the mailbox. Blocking: call each method through asyncio.to_thread,
    one at a time."""

    def __init__(self, config: ImapConfig) -> None:
        self.config = config
        self._imap: imaplib.IMAP4 | None = None

    def _fail(self, failure: ImapFailure, exc: BaseException | str) -> ImapError:
        detail = exc if isinstance(exc, str) else (str(exc) or type(exc).__name__)
        return ImapError(failure, self.config.scrub(detail))

    def open(self) -> None:
        """Connect, secure the connection, log in and select INBOX (read-write)."""
        config = self.config
        context = config.tls_context or ssl.create_default_context()
        try:
            if config.security == "tls":
                imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    config.host, config.port, ssl_context=context, timeout=config.timeout
                )
            else:
                imap = imaplib.IMAP4(config.host, config.port, timeout=config.timeout)
            self._imap = imap
            if config.security == "starttls":
                if "STARTTLS" not in imap.capabilities:
                    raise self._fail(ImapFailure.NO_STARTTLS, "")
                imap.starttls(ssl_context=context)
        except ImapError:
            raise
        except (imaplib.IMAP4.error, OSError, EOFError) as exc:
            raise self._fail(_classify(exc), exc) from None
        self._login(imap)
        try:
            status, data = imap.select("INBOX")
        except imaplib.IMAP4.abort as exc:
            raise self._fail(ImapFailure.DISCONNECTED, exc) from None
        except (imaplib.IMAP4.error, OSError) as exc:
            raise self._fail(
                _classify(exc) if isinstance(exc, OSError) else ImapFailure.NO_INBOX, exc
            ) from None
        if status != "OK":
            raise self._fail(ImapFailure.NO_INBOX, _text(data))

    def _login(self, imap: imaplib.IMAP4) -> None:
        """AUTHENTICATE PLAIN (UTF-8 passwords travel safely), else LOGIN."""
        user, password = self.config.username, self.config.password.get_secret_value()
        try:
            if "AUTH=PLAIN" in imap.capabilities:
                token = f"\0{user}\0{password}".encode()
                imap.authenticate("PLAIN", lambda _challenge: token)
            elif password.isascii() and user.isascii():
                imap.login(user, password)
            else:
                raise self._fail(
                    ImapFailure.AUTH_FAILED, "the server takes only ASCII logins (no AUTH=PLAIN)"
                )
        except ImapError:
            raise
        except imaplib.IMAP4.abort as exc:
            raise self._fail(ImapFailure.DISCONNECTED, exc) from None
        except imaplib.IMAP4.error as exc:
            raise self._fail(ImapFailure.AUTH_FAILED, exc) from None
        except (OSError, EOFError) as exc:
            raise self._fail(_classify(exc), exc) from None

    def _run(self, *args: str) -> list[object]:
        """One UID command; its data, or ImapError."""
        if self._imap is None:
            raise ImapError(ImapFailure.DISCONNECTED, "not connected")
        try:
            status, data = self._imap.uid(*args)
        except (imaplib.IMAP4.error, OSError, EOFError) as exc:
            raise self._fail(_classify(exc), exc) from None
        if status != "OK":
            raise self._fail(ImapFailure.OTHER, f"{args[0]}: {_text(data)}")
        return list(data)

    def unseen(self) -> list[str]:
        """The UIDs of the unread messages, oldest first."""
        data = self._run("SEARCH", "UNSEEN")
        return [uid.decode() for chunk in data if isinstance(chunk, bytes) for uid in chunk.split()]

    def fetch(self, uid: str) -> bytes | None:
        """One message's bytes, read with BODY.PEEK[] so it stays unread (mail for people
        stays as they left it); None when it is gone."""
        for item in self._run("FETCH", uid, "(BODY.PEEK[])"):
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        return None

    def mark_seen(self, uid: str) -> None:
        """Flag one handled message \\Seen."""
        self._run("STORE", uid, "+FLAGS", "(\\Seen)")

    def close(self) -> None:
        """Log out, ignoring a connection already gone."""
        imap, self._imap = self._imap, None
        if imap is not None:
            with contextlib.suppress(imaplib.IMAP4.error, OSError, EOFError):
                imap.logout()
