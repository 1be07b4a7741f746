"""A small but honest IMAP4rev1 server for tests, run as its own process.

One user, one mailbox (INBOX), kept in memory for the life of the process. It speaks the
subset the bot and the tests use: CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN,
AUTHENTICATE PLAIN, SELECT/EXAMINE, APPEND (how the tests deliver mail), UID SEARCH,
UID FETCH (BODY.PEEK[], BODY[], RFC822, FLAGS), UID STORE ±FLAGS[.SILENT], CLOSE. Like a
real server it refuses a wrong password, refuses a login in clear text before STARTTLS,
and sets \\Seen only when a message is read without PEEK or flagged.

    python -m tests.fakes.imap_server --mode ssl|starttls --cert C --key K --user U --password P

prints "PORT <n>" once listening (`--port 0`: any free port). `imap_server_process` runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import re
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_TOKEN = re.compile(rb'\s*(?:"((?:[^"\\]|\\.)*)"|(\([^)]*\))|([^\s()]+))')
_LITERAL = re.compile(rb"\{(\d+)\+?\}$")


@dataclass
class Stored:
    uid: int
    data: bytes
    flags: set[str] = field(default_factory=set)


@dataclass
class Mailbox:
    messages: list[Stored] = field(default_factory=list)
    next_uid: int = 1

    def append(self, data: bytes, flags: set[str]) -> int:
        uid = self.next_uid
        self.next_uid += 1
        self.messages.append(Stored(uid, data, flags))
        return uid

    def by_uids(self, spec: bytes) -> Iterator[tuple[int, Stored]]:
        """(sequence number, message) for a UID set like 1,3:5,7:*."""
        if not self.messages:
            return
        top = self.messages[-1].uid
        wanted: set[int] = set()
        for part in spec.split(b","):
            low, _, high = part.partition(b":")
            a = top if low == b"*" else int(low)
            b = a if not high else (top if high == b"*" else int(high))
            wanted.update(range(min(a, b), max(a, b) + 1))
        for seq, message in enumerate(self.messages, start=1):
            if message.uid in wanted:
                yield seq, message


def _words(line: bytes) -> list[bytes]:
    """The arguments of a command line: atoms, quoted strings (unquoted), parenthesised lists."""
    found = []
    for quoted, listed, atom in _TOKEN.findall(line):
        if quoted:
            found.append(re.sub(rb"\\(.)", rb"\1", quoted))
        else:
            found.append(listed or atom)
    return found


class Session:
    """One client connection."""

    def __init__(
        self, server: FakeImap, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.tls = server.mode == "ssl"
        self.user: str | None = None
        self.selected = False
        self.read_only = False

    async def send(self, line: str | bytes) -> None:
        self.writer.write((line.encode() if isinstance(line, str) else line) + b"\r\n")
        await self.writer.drain()

    def capabilities(self) -> str:
        caps = ["IMAP4rev1", "UIDPLUS"]
        if self.server.mode == "starttls" and not self.tls:
            caps += ["STARTTLS", "LOGINDISABLED"]
        else:
            caps.append("AUTH=PLAIN")
        return " ".join(caps)

    async def run(self) -> None:
        await self.send("* OK fake IMAP ready")
        while True:
            line = await self.reader.readline()
            if not line:
                return
            line = line.rstrip(b"\r\n")
            tag, _, rest = line.partition(b" ")
            command, _, args = rest.partition(b" ")
            name = command.decode(errors="replace").upper()
            if name == "UID":
                sub, _, args = args.partition(b" ")
                name = "UID " + sub.decode(errors="replace").upper()
            handler = getattr(self, "do_" + name.replace(" ", "_"), None)
            authenticated = {"CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "LOGIN", "AUTHENTICATE"}
            t = tag.decode(errors="replace")
            if handler is None:
                await self.send(f"{t} BAD unknown command")
            elif self.user is None and name not in authenticated:
                await self.send(f"{t} NO log in first")
            elif name.startswith("UID ") and name != "UID SEARCH" and not self.selected:
                await self.send(f"{t} NO select a mailbox first")
            elif await handler(t, args) is False:
                return

    async def do_CAPABILITY(self, tag: str, args: bytes) -> None:
        await self.send(f"* CAPABILITY {self.capabilities()}")
        await self.send(f"{tag} OK CAPABILITY completed")

    async def do_NOOP(self, tag: str, args: bytes) -> None:
        await self.send(f"{tag} OK NOOP completed")

    async def do_LOGOUT(self, tag: str, args: bytes) -> bool:
        await self.send("* BYE logging out")
        await self.send(f"{tag} OK LOGOUT completed")
        self.writer.close()
        return False

    async def do_STARTTLS(self, tag: str, args: bytes) -> None:
        if self.tls or self.server.mode != "starttls":
            await self.send(f"{tag} BAD TLS is already on")
            return
        await self.send(f"{tag} OK Begin TLS negotiation now")
        await self.writer.start_tls(self.server.tls_context())
        self.tls = True

    async def _login(self, tag: str, user: str, password: str) -> None:
        if not self.tls:
            await self.send(f"{tag} NO [PRIVACYREQUIRED] use STARTTLS first")
        elif user == self.server.user and password == self.server.password:
            self.user = user
            await self.send(f"{tag} OK [CAPABILITY {self.capabilities()}] logged in")
        else:
            await asyncio.sleep(0.05)  # like a real server, a failure is not instant
            await self.send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials")

    async def do_LOGIN(self, tag: str, args: bytes) -> None:
        words = _words(args)
        if len(words) != 2:
            await self.send(f"{tag} BAD LOGIN needs a user and a password")
            return
        await self._login(tag, words[0].decode(errors="replace"), words[1].decode(errors="replace"))

    async def do_AUTHENTICATE(self, tag: str, args: bytes) -> None:
        words = _words(args)
        if not words or words[0].upper() != b"PLAIN":
            await self.send(f"{tag} NO only PLAIN")
            return
        if len(words) > 1:
            answer = words[1]
        else:
            await self.send("+ ")
            answer = (await self.reader.readline()).strip()
        try:
            _zid, user, password = base64.b64decode(answer, validate=True).split(b"\0")
            await self._login(tag, user.decode(), password.decode())
        except (binascii.Error, ValueError, UnicodeDecodeError):
            await self.send(f"{tag} BAD malformed PLAIN answer")

    async def _select(self, tag: str, args: bytes, read_only: bool) -> None:
        words = _words(args)
        if not words or words[0].upper() != b"INBOX":
            self.selected = False
            await self.send(f"{tag} NO [NONEXISTENT] no such mailbox")
            return
        box = self.server.mailbox
        self.selected, self.read_only = True, read_only
        await self.send(r"* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)")
        await self.send(f"* {len(box.messages)} EXISTS")
        await self.send("* 0 RECENT")
        await self.send("* OK [UIDVALIDITY 1] UIDs valid")
        await self.send(f"* OK [UIDNEXT {box.next_uid}] predicted next UID")
        mode = "READ-ONLY" if read_only else "READ-WRITE"
        await self.send(f"{tag} OK [{mode}] selected")

    async def do_SELECT(self, tag: str, args: bytes) -> None:
        await self._select(tag, args, read_only=False)

    async def do_EXAMINE(self, tag: str, args: bytes) -> None:
        await self._select(tag, args, read_only=True)

    async def do_CLOSE(self, tag: str, args: bytes) -> None:
        self.selected = False
        await self.send(f"{tag} OK CLOSE completed")

    async def do_APPEND(self, tag: str, args: bytes) -> None:
        literal = _LITERAL.search(args)
        words = _words(args)
        if literal is None or not words or words[0].upper() != b"INBOX":
            await self.send(f"{tag} NO APPEND to INBOX with a literal only")
            return
        flags = set()
        if len(words) > 1 and words[1].startswith(b"("):
            flags = {f.decode() for f in words[1].strip(b"()").split()}
        if not literal.group(0).endswith(b"+}"):
            await self.send("+ Ready for literal data")
        data = await self.reader.readexactly(int(literal.group(1)))
        await self.reader.readline()
        uid = self.server.mailbox.append(data, flags)
        await self.send(f"{tag} OK [APPENDUID 1 {uid}] APPEND completed")

    async def do_UID_SEARCH(self, tag: str, args: bytes) -> None:
        if not self.selected:
            await self.send(f"{tag} NO select a mailbox first")
            return
        key = args.strip().upper()
        messages = self.server.mailbox.messages
        if key == b"UNSEEN":
            found = [m.uid for m in messages if "\\Seen" not in m.flags]
        elif key == b"SEEN":
            found = [m.uid for m in messages if "\\Seen" in m.flags]
        elif key == b"ALL":
            found = [m.uid for m in messages]
        else:
            await self.send(f"{tag} BAD only ALL, SEEN and UNSEEN")
            return
        await self.send("* SEARCH" + "".join(f" {uid}" for uid in found))
        await self.send(f"{tag} OK SEARCH completed")

    async def do_UID_FETCH(self, tag: str, args: bytes) -> None:
        spec, _, items = args.partition(b" ")
        wanted = items.strip().strip(b"()").upper().split()
        for seq, message in list(self.server.mailbox.by_uids(spec)):
            parts = [f"UID {message.uid}".encode()]
            for item in wanted:
                if item in (b"BODY.PEEK[]", b"BODY[]", b"RFC822"):
                    name = b"RFC822" if item == b"RFC822" else b"BODY[]"
                    parts.append(name + b" {%d}\r\n" % len(message.data) + message.data)
                    if item != b"BODY.PEEK[]" and not self.read_only:
                        message.flags.add("\\Seen")
                elif item == b"FLAGS":
                    parts.append(f"FLAGS ({' '.join(sorted(message.flags))})".encode())
                elif item != b"UID":
                    await self.send(f"{tag} BAD unsupported FETCH item")
                    return
            await self.send(b"* %d FETCH (" % seq + b" ".join(parts) + b")")
        await self.send(f"{tag} OK FETCH completed")

    async def do_UID_STORE(self, tag: str, args: bytes) -> None:
        if self.read_only:
            await self.send(f"{tag} NO mailbox is read-only")
            return
        words = _words(args)
        if len(words) != 3 or words[1].upper().lstrip(b"+-") not in (b"FLAGS", b"FLAGS.SILENT"):
            await self.send(f"{tag} BAD STORE <uids> +FLAGS (<flags>)")
            return
        flags = {f.decode() for f in words[2].strip(b"()").split()}
        op = words[1][:1]
        for seq, message in list(self.server.mailbox.by_uids(words[0])):
            if op == b"+":
                message.flags |= flags
            elif op == b"-":
                message.flags -= flags
            else:
                message.flags = set(flags)
            if not words[1].upper().endswith(b".SILENT"):
                shown = " ".join(sorted(message.flags))
                await self.send(f"* {seq} FETCH (UID {message.uid} FLAGS ({shown}))")
        await self.send(f"{tag} OK STORE completed")


class FakeImap:
    """The server: one user, one INBOX, implicit TLS (ssl) or STARTTLS."""

    def __init__(self, mode: str, cert: Path, key: Path, user: str, password: str) -> None:
        self.mode = mode
        self.cert, self.key = cert, key
        self.user, self.password = user, password
        self.mailbox = Mailbox()

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            await Session(self, reader, writer).run()
        writer.close()

    async def serve(self, host: str, port: int) -> None:
        context = self.tls_context() if self.mode == "ssl" else None
        server = await asyncio.start_server(self.handle, host, port, ssl=context)
        print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
        async with server:
            await server.serve_forever()


@contextlib.contextmanager
def imap_server_process(
    *, mode: str, cert: Path, key: Path, user: str, password: str, port: int = 0
) -> Iterator[int]:
    """Run the server as a separate process for the block; yields its port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.imap_server", "--mode", mode, "--cert", str(cert),
         "--key", str(key), "--user", user, "--password", password, "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the IMAP server did not start: {line!r}")
        yield int(line.split()[1])
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=("ssl", "starttls"), required=True)
    parser.add_argument("--cert", type=Path, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = FakeImap(args.mode, args.cert, args.key, args.user, args.password)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve(args.host, args.port))


if __name__ == "__main__":
    main()
