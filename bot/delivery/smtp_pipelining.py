"""One message's SMTP transaction, pipelined (RFC 2920) when the server offers PIPELINING.

aiosmtplib sends MAIL FROM, RCPT TO and DATA one round trip each. A server that
advertises PIPELINING (Postfix, Exim, Gmail, Yandex, Mail.ru...) takes the three
in one write; the client then reads the three replies, in order, and checks every
one of them (RFC 2920 section 3.1): a refused sender or recipient, or a refused
DATA, ends the transaction before the body is sent; if the server answered 354
although nobody can receive the message, a lone "." ends the empty message (the
server refuses it). The body then goes as aiosmtplib sends it (line endings made
CRLF, leading dots doubled) and its reply is read.

Refusals raise the exceptions aiosmtplib's mail(), rcpt() and data() raise
(SMTPSenderRefused, SMTPRecipientRefused, SMTPDataError, with the server's code
and text), so the sender's classification does not care which path was taken.
`Step.name` tells how far a transaction got: "data" only once the server said
354, i.e. the body may have been handed over. A server without PIPELINING gets
the plain one-command-at-a-time path.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import aiosmtplib
from aiosmtplib.email import quote_address
from aiosmtplib.protocol import (
    COMMAND_INJECTION_REGEX,
    MAX_RESPONSE_LENGTH,
    PERIOD_REGEX,
    SMTPProtocol,
    normalize_message_line_endings,
)
from aiosmtplib.response import SMTPResponse

_COMPLETED, _WILL_FORWARD, _START_INPUT, _CLOSING = 250, 251, 354, 421


@dataclass
class Step:
    """How far one transaction got: "connect", "mail", "rcpt" or "data"."""

    name: str = "connect"


class PipeliningProtocol(SMTPProtocol):
    """aiosmtplib's protocol, able to read several replies to commands written at once.

    The base class parses one reply per arrival of data and drops bytes that arrive
    while a parsed reply waits to be picked up: right for one command at a time, but
    the replies to a pipelined group may arrive together or back to back. While
    replies are owed, this one keeps every byte and takes the next reply from what
    is already buffered before waiting for more. Otherwise it behaves as the base.
    """

    _owed = 0  # replies still owed to the commands written by exchange()

    def data_received(self, data: bytes) -> None:
        """Keep bytes that arrive while an earlier reply waits to be read."""
        waiter = self._response_waiter
        if self._owed and waiter is not None and (waiter.done() or not self._response_pending):
            self._buffer.extend(data)
            if len(self._buffer) > MAX_RESPONSE_LENGTH * self._owed and self.transport:
                self.transport.close()  # a server streaming garbage: read_response fails
            return
        super().data_received(data)

    async def _next_reply(self, timeout: float | None) -> SMTPResponse:
        """The next reply: already buffered, or when it arrives."""
        waiter = self._response_waiter
        if waiter is not None and not waiter.done() and self._buffer:
            try:
                reply = self._read_response_from_buffer()
            except Exception as exc:  # a malformed reply, as the base class reports it
                self._set_response_exception(waiter, exc)
            else:
                if reply is not None:
                    waiter.set_result(reply)
        return await self.read_response(timeout=timeout)

    async def exchange(
        self, data: bytes, replies: int, timeout: float | None
    ) -> list[SMTPResponse]:
        """Write `data` (one or more commands, or a message body) and read `replies` replies."""
        if self._command_lock is None:
            raise aiosmtplib.SMTPServerDisconnected("Server not connected")
        async with self._command_lock:
            self._owed = replies
            try:
                self._response_pending = True
                self.write(data)
                answers: list[SMTPResponse] = []
                for _ in range(replies):
                    answers.append(await self._next_reply(timeout))
                    self._owed -= 1
                return answers
            finally:
                self._owed = 0


def pipelines(client: aiosmtplib.SMTP) -> bool:
    """True when the server said PIPELINING in its (last) EHLO answer."""
    return client.supports_extension("pipelining")


def _protocol(client: aiosmtplib.SMTP) -> PipeliningProtocol:
    """The connection's protocol, made able to read pipelined replies.

    aiosmtplib builds its protocol inside connect() with no way to choose the class;
    the subclass only adds behaviour while replies are owed and no state of its own,
    so the object is switched over between transactions (nothing is in flight then).
    """
    protocol = client.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Server not connected")
    if not isinstance(protocol, PipeliningProtocol):
        protocol.__class__ = PipeliningProtocol
    assert isinstance(protocol, PipeliningProtocol)
    return protocol


def _command(verb: bytes, address: str) -> bytes:
    """MAIL FROM:<a> or RCPT TO:<a>, refused as aiosmtplib refuses control characters."""
    line = verb + quote_address(address).encode("ascii")
    if COMMAND_INJECTION_REGEX.search(line):
        raise ValueError("Command arg contains a prohibited control character")
    return line + b"\r\n"


async def _exchange(
    client: aiosmtplib.SMTP, protocol: PipeliningProtocol, data: bytes, replies: int
) -> list[SMTPResponse]:
    """protocol.exchange(); a connection left out of step (drop, timeout, garbage) is closed."""
    try:
        return await protocol.exchange(data, replies, client.timeout)
    except BaseException:
        client.close()
        raise


async def send_message(
    client: aiosmtplib.SMTP, sender: str, recipient: str, message: bytes, step: Step
) -> SMTPResponse:
    """Hand one message for one recipient to the server; the final reply (250).

    Raises what aiosmtplib's mail(), rcpt() and data() raise; `step` says how far it got.
    """
    if not pipelines(client):
        step.name = "mail"
        await client.mail(sender)
        step.name = "rcpt"
        await client.rcpt(recipient)
        step.name = "data"
        return await client.data(message)
    envelope = _command(b"MAIL FROM:", sender) + _command(b"RCPT TO:", recipient) + b"DATA\r\n"
    protocol = _protocol(client)
    step.name = "mail"
    mail, rcpt, data = await _exchange(client, protocol, envelope, 3)
    refusal: aiosmtplib.SMTPResponseException | None = None
    if mail.code != _COMPLETED:
        refusal = aiosmtplib.SMTPSenderRefused(mail.code, mail.message, sender)
    elif rcpt.code not in (_COMPLETED, _WILL_FORWARD):
        step.name = "rcpt"
        refusal = aiosmtplib.SMTPRecipientRefused(rcpt.code, rcpt.message, recipient)
    elif data.code != _START_INPUT:
        step.name = "data"
        refusal = aiosmtplib.SMTPDataError(data.code, data.message)
    if refusal is not None:
        if _CLOSING in (mail.code, rcpt.code, data.code):
            client.close()  # the server is closing the connection (as aiosmtplib does)
        elif data.code == _START_INPUT:
            # 354 with nobody to deliver to: end the empty message; the server refuses it.
            # If that breaks the connection, it is closed; the refusal is what matters.
            with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                await _exchange(client, protocol, b".\r\n", 1)
        raise refusal
    step.name = "data"
    body = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(message)) + b".\r\n"
    (done,) = await _exchange(client, protocol, body, 1)
    if done.code == _CLOSING:
        client.close()
    if done.code != _COMPLETED:
        raise aiosmtplib.SMTPDataError(done.code, done.message)
    return done
