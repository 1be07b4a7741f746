"""A real SMTP server for the delivery tests that can misbehave on cue.

aiosmtpd with AUTH (plain, or STARTTLS with a self-signed certificate), built
from tests/smtp_servers.py, plus knobs: defer a recipient once (451), refuse one
(550), drop the connection at MAIL FROM, count connections and pipelined MAIL
FROMs, say PIPELINING or not, answer a pipelined group in one write (as Postfix
does) or reply by reply, answer 354 after a refused recipient (sloppy), go
down and come up on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.smtp_servers import (
    HOST,
    PASSWORD,
    USER,
    Certificate,
    GroupReplies,
    OneUser,
    Received,
    Recorder,
)


@dataclass
class Flaky(Recorder):
    """A Recorder that can defer, refuse and drop."""

    defer_once: set[str] = field(default_factory=set)
    deferred: Counter[str] = field(default_factory=Counter)
    drop_at_mails: set[int] = field(default_factory=set)
    drop_after_data: set[str] = field(default_factory=set)
    sloppy_recipients: bool = False
    refusals: dict[str, str] = field(default_factory=dict)  # address -> the RCPT reply
    group_replies: bool = True  # replies to a pipelined group in one write, as Postfix does
    mails: int = 0
    pipelined: int = 0
    connections: int = 0

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        """Count MAIL FROMs (and those whose RCPT and DATA came in the same write: the
        client pipelined); on a listed one, drop the connection (an idle timeout, say)."""
        self.mails += 1
        waiting = bytes(getattr(server._reader, "_buffer", b""))  # what is read, not handled
        if b"RCPT TO:" in waiting and b"DATA\r\n" in waiting:
            self.pipelined += 1
        if self.mails in self.drop_at_mails and server.transport is not None:
            server.transport.close()
            return "421 4.4.2 closing"
        return await super().handle_MAIL(server, session, envelope, address, mail_options)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        """451 the first time for listed recipients (greylisting), else as Recorder."""
        if address in self.defer_once and not self.deferred[address]:
            self.deferred[address] += 1
            return "451 4.7.1 Greylisted, try again later"
        if address in self.refusals:
            return self.refusals[address]
        if self.sloppy_recipients and address in self.refused_recipients:
            # A sloppy server: refuses the mailbox, yet answers 354 to the DATA after it.
            envelope.rcpt_tos.append("")
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Keep the message; for listed recipients then drop the line before answering.
        A sloppy server refuses the empty message ended by a lone dot."""
        if self.sloppy_recipients and envelope.rcpt_tos == [""]:
            return "554 5.5.1 Error: no valid recipients"
        answer = await super().handle_DATA(server, session, envelope)
        if set(envelope.rcpt_tos) & self.drop_after_data and server.transport is not None:
            self.drop_after_data -= set(envelope.rcpt_tos)
            server.transport.close()
        return answer

    def per_recipient(self) -> Counter[str]:
        """How many messages each address received."""
        return Counter(r for m in self.received for r in m.rcpt_tos)


@dataclass
class Sink:
    """A running flaky server; `port` stays the same across stop() and start()."""

    recorder: Flaky
    port: int = 0
    cert: Certificate | None = None
    host: str = HOST
    _server: asyncio.Server | None = None
    _sessions: list[SMTP] = field(default_factory=list)

    @property
    def received(self) -> list[Received]:
        """Messages accepted so far."""
        return self.recorder.received

    async def start(self) -> None:
        """Listen (again) on the port."""
        loop = asyncio.get_running_loop()
        authenticator = OneUser(USER, PASSWORD)
        recorder, cert = self.recorder, self.cert

        def protocol() -> SMTP:
            """A fresh protocol per connection."""
            recorder.connections += 1
            kwargs: dict[str, Any] = {"hostname": "localhost", "authenticator": authenticator}
            if cert is not None:
                kwargs.update(tls_context=cert.server_context(), require_starttls=True)
            else:
                kwargs["auth_require_tls"] = False
            session = (GroupReplies if recorder.group_replies else SMTP)(recorder, **kwargs)
            self._sessions.append(session)
            return session

        self._server = await loop.create_server(protocol, HOST, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every open connection (the server went down)."""
        if self._server is not None:
            self._server.close()
            for session in self._sessions:
                if session.transport is not None:
                    session.transport.close()
            self._sessions.clear()
            await self._server.wait_closed()
            self._server = None


@contextlib.asynccontextmanager
async def sink(cert: Certificate | None = None, **knobs: Any) -> AsyncIterator[Sink]:
    """A flaky SMTP server for the length of the block."""
    server = Sink(Flaky(**knobs), cert=cert)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
