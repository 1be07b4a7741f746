"""Real SMTP servers for tests (aiosmtpd, in the test's own event loop, free localhost ports).

Variants: plain with AUTH, STARTTLS required with AUTH, implicit TLS with AUTH, plain
without STARTTLS or AUTH, a TCP server that accepts and never greets, and a closed
port. TLS uses a self-signed certificate made here with `cryptography`; the client
trusts it through `Certificate.client_context()`, not by turning validation off.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER = "mailer@probonus.test"
PASSWORD = "S3cret-пароль-42!"
HOST = "127.0.0.1"

Mode = Literal["plain", "starttls", "tls", "bare"]


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for localhost and 127.0.0.1, with its key."""

    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        """The context a TLS server presents this certificate with."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A validating client context that trusts this certificate (hostname checked)."""
        return ssl.create_default_context(cafile=str(self.cert_path))


def make_certificate(directory: Path) -> Certificate:
    """Generate a self-signed certificate valid for localhost/127.0.0.1 into `directory`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_path, key_path)


class OneUser:
    """An aiosmtpd authenticator accepting exactly one user name and password."""

    def __init__(self, user: str, password: str, *, echo: bool = False) -> None:
        """Remember the one valid login; `echo` makes refusals quote the password tried."""
        self.user, self.password = user.encode(), password.encode()
        self.echo = echo
        self.attempts = 0

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        """Accept the one login; the result never carries the password (aiosmtpd logs it)."""
        self.attempts += 1
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user
            and auth_data.password == self.password
        )
        if not ok and self.echo and isinstance(auth_data, LoginPassword):
            # A careless server quoting the secret back: the client must mask it.
            tried = auth_data.password.decode(errors="replace")
            return AuthResult(success=False, handled=False, message=f"535 bad password {tried}")
        if not ok:
            return AuthResult(success=False, handled=False)  # aiosmtpd answers 535
        return AuthResult(success=True, auth_data=self.user.decode())


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        """The message parsed with the modern policy (headers decoded)."""
        parsed = message_from_bytes(self.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class Pipelining:
    """aiosmtpd handler part: says PIPELINING (RFC 2920) in the EHLO answer.

    aiosmtpd does not advertise it but handles it: it reads commands line by line
    from a buffered stream, so commands written in one go wait their turn, each is
    answered in order, and the body is read only after its 354. Real providers
    (Postfix, Exim, Gmail, Yandex, Mail.ru) advertise it, so the tests do too.
    `pipelining = False` makes an old server that does not.
    """

    pipelining: bool = True

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        """aiosmtpd's EHLO answer, plus PIPELINING before the final line."""
        session.host_name = hostname  # the hook's duty, as aiosmtpd documents
        if self.pipelining:
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses


class GroupReplies(SMTP):
    """aiosmtpd's server, answering a pipelined group of commands in one write.

    RFC 2920 section 3.2 asks a server to hold the replies to grouped commands and
    send them as a unit; Postfix and Exim do so, flushing only when no further
    command is waiting in the input. aiosmtpd writes (and drains) every reply on
    its own. Here a reply is held while a complete command line is already waiting
    in the input buffer, and goes out with the next one. A client sending one
    command at a time always finds the buffer empty: nothing changes for it.
    """

    _held: list[bytes] | None = None

    async def push(self, status: str | bytes) -> None:
        """Hold the reply while the next command waits; else send all held ones with it."""
        if isinstance(status, str):
            status = status.encode("utf-8" if self.enable_SMTPUTF8 else "ascii")
        waiting = getattr(self._reader, "_buffer", b"")  # read from the client, not handled
        if b"\n" in waiting and self.transport is not None and not self.transport.is_closing():
            self._held = [*(self._held or []), status]
            return
        held, self._held = self._held or [], None
        await super().push(b"\r\n".join([*held, status]))


@dataclass
class Recorder(Pipelining):
    """aiosmtpd handler: refuses some senders, records every accepted message."""

    refused_senders: frozenset[str] = frozenset()
    refused_recipients: frozenset[str] = frozenset()
    received: list[Received] = field(default_factory=list)
    senders_seen: list[str] = field(default_factory=list)
    pipelining: bool = True

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        """Refuse listed senders with 553, like a provider refusing a foreign From."""
        self.senders_seen.append(address)
        if address in self.refused_senders:
            return "553 5.7.1 Sender address rejected: not owned by user"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        """Refuse listed recipients with 550, like a mailbox that does not exist."""
        if address in self.refused_recipients:
            return "550 5.1.1 Recipient address rejected: no such user"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Keep the message."""
        content = envelope.original_content or b""
        self.received.append(
            Received(str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos], content)
        )
        return "250 Message accepted for delivery"


@dataclass
class RunningServer:
    """A server listening on HOST:port; `received` holds what it accepted."""

    port: int
    recorder: Recorder
    authenticator: OneUser
    host: str = HOST

    @property
    def received(self) -> list[Received]:
        """Messages accepted so far."""
        return self.recorder.received


@contextlib.asynccontextmanager
async def smtp_server(
    mode: Mode,
    cert: Certificate | None = None,
    *,
    user: str = USER,
    password: str = PASSWORD,
    refused_senders: frozenset[str] = frozenset(),
    refused_recipients: frozenset[str] = frozenset(),
    echo_password: bool = False,
) -> AsyncIterator[RunningServer]:
    """Run one SMTP server variant for the length of the block.

    plain: no TLS, AUTH offered anyway; starttls: STARTTLS required before AUTH/MAIL;
    tls: TLS from the first byte; bare: no STARTTLS and no AUTH (an old relay).
    echo_password: refusals of a login quote the password tried (a careless server).
    """
    if mode in ("starttls", "tls") and cert is None:
        raise ValueError(f"{mode} needs a certificate")
    recorder = Recorder(refused_senders, refused_recipients)
    authenticator = OneUser(user, password, echo=echo_password)
    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        """A fresh aiosmtpd protocol per connection, configured for the mode."""
        kwargs: dict[str, Any] = {"hostname": "localhost", "loop": loop}
        if mode != "bare":
            kwargs["authenticator"] = authenticator
        if mode == "plain":
            kwargs["auth_require_tls"] = False
        elif mode == "tls":
            kwargs["auth_require_tls"] = False  # the whole connection is TLS already
        elif mode == "starttls":
            assert cert is not None
            kwargs.update(tls_context=cert.server_context(), require_starttls=True)
        return SMTP(recorder, **kwargs)

    ssl_context = cert.server_context() if mode == "tls" and cert else None
    server = await loop.create_server(protocol, HOST, 0, ssl=ssl_context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield RunningServer(port, recorder, authenticator)
    finally:
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts connections and never says a word; yields its port."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Keep the connection open until the client leaves."""
        writers.append(writer)
        with contextlib.suppress(ConnectionError):
            await reader.read()

    server = await asyncio.start_server(hold, HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


def closed_port() -> int:
    """A localhost port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
    return port
