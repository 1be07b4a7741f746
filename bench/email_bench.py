"""Email delivery speed to a local SMTP sink (aiosmtpd, STARTTLS + AUTH, its own process).

5,000 personalised messages (subject, text and HTML per guest), three ways, same
sink, same run:
- the engine (SMTP_POOL_SIZE kept-open connections, the journal in SQLite);
- baseline: connecting once per message (connect, EHLO, STARTTLS, EHLO, AUTH,
  send, QUIT) with the same concurrency as the pool; the engine should be >= 5x
  faster. (One connection at a time is shown too, for information only: it
  would flatter the engine.)
- baseline: a bare aiosmtplib loop on kept-open connections building the same
  messages, no database; the engine should reach >= 80% of it.
Every way builds its messages as the engine does (build_email, written out by
wire_bytes). The sink says PIPELINING and answers a pipelined group of commands
in one write, as Postfix, Exim and the big providers do (aiosmtpd handles
pipelined input; see tests/smtp_servers.py Pipelining, GroupReplies): the engine
pipelines MAIL, RCPT and DATA (bot/delivery/smtp_pipelining.py); both baselines
are plain aiosmtplib (sendmail, one command at a time), for which the sink
behaves exactly as stock aiosmtpd. The sink runs in its own process, so each client has a core as in
production. The machine is shared and noisy: the three ways take turns for a few
rounds (in a rotating order) and the table shows the median of each.

    python bench/email_bench.py [--quick] [--messages N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiosmtplib
from delivery_common import (
    TEMPLATE,
    Row,
    ServerProcess,
    add_guests,
    create_mailing,
    guest_rows,
    make_engine,
    open_db,
    peak_mb,
    print_table,
    run_mailing,
    serve_commands,
    settings_for,
)

from bot.delivery.email_message import build_email, wire_bytes
from bot.delivery.email_sender import open_connection
from bot.mailing_settings import MailingSettingsService
from bot.render import (
    Recipient,
    RenderContext,
    render_email_html,
    render_plain,
    render_subject,
)
from bot.secrets import SecretBox
from bot.smtp import SmtpConfig
from bot.unsubscribe import UnsubscribeTokens
from storage.audit import AuditLog
from storage.mailing_settings import MailingSettingsRepository, SmtpSettings

POOL = 3
SENDER = "mailer@probonus.test"
TOKENS = UnsubscribeTokens(b"bench")
SUBJECT = "{first_name}, бонусы ждут"


async def serve_sink(cert_dir: str) -> None:
    """Child process: an SMTP server with STARTTLS and AUTH that counts what it accepts."""
    from aiosmtpd.smtp import SMTP, Envelope, Session

    from tests.smtp_servers import (
        HOST,
        PASSWORD,
        USER,
        GroupReplies,
        OneUser,
        Pipelining,
        make_certificate,
    )

    cert = make_certificate(Path(cert_dir))
    counts = {"messages": 0, "connections": 0}

    class Counter(Pipelining):
        """Counts messages; keeps nothing. Says PIPELINING, as real providers do (aiosmtpd
        handles pipelined commands, reading them line by line; see Pipelining)."""

        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            """Accept and forget."""
            counts["messages"] += 1
            return "250 OK"

    def protocol() -> SMTP:
        """One session per connection."""
        counts["connections"] += 1
        return GroupReplies(
            Counter(),
            hostname="localhost",
            authenticator=OneUser(USER, PASSWORD),
            tls_context=cert.server_context(),
            require_starttls=True,
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol, HOST, 0)
    port = server.sockets[0].getsockname()[1]

    def reset() -> dict[str, int]:
        """Zero the counters; returns them before."""
        before = dict(counts)
        counts.update(messages=0, connections=0)
        return before

    info = {"port": port, "cert": str(cert.cert_path), "user": USER, "password": PASSWORD}
    await serve_commands({"stats": lambda: dict(counts), "reset": reset}, info)
    server.close()


@dataclass
class Sink:
    """Where the sink listens and how to log in."""

    port: int
    cert: str
    user: str
    password: str

    def config(self) -> SmtpConfig:
        """The SMTP settings the clients use (the sink's certificate trusted)."""
        import ssl

        from pydantic import SecretStr

        return SmtpConfig(
            host="localhost",
            port=self.port,
            security="starttls",
            sender_email=SENDER,
            sender_name="Ресторан «Пхали»",
            username=self.user,
            password=SecretStr(self.password),
            tls_context=ssl.create_default_context(cafile=self.cert),
        )


def personalised(count: int) -> list[tuple[str, int, str, str, int]]:
    """(address, guest id, first name, last name, balance in cents) of the bench's guests:
    their stored fields, made template data as each message is built (as the engine does)."""
    return [(row[1], i + 1, row[2], row[3], row[4]) for i, row in enumerate(guest_rows(count))]


def message_for(cfg: SmtpConfig, address: str, guest_id: int, recipient: Recipient) -> bytes:
    """The same personalised email the engine builds."""
    ctx = RenderContext(locale="ru", today=datetime.now(UTC).date())
    message = build_email(
        sender_email=cfg.sender_email,
        sender_name=cfg.sender_name,
        to_email=address,
        to_name=f"{recipient.first_name} {recipient.last_name}",
        subject=render_subject(SUBJECT, recipient, ctx),
        html=render_email_html(TEMPLATE, recipient, ctx),
        plain=render_plain(TEMPLATE, recipient, ctx),
        image=None,
        image_subtype=None,
        image_cid=None,
        unsubscribe_token=TOKENS.token(guest_id),
        unsubscribe_link=TOKENS.link("probonus_bench_bot", guest_id),
        message_id_domain="probonus.test",
    )
    return wire_bytes(message)  # as the engine writes it out (the same bytes as as_bytes())


async def bare_loop(cfg: SmtpConfig, count: int, *, reconnect: bool, workers: int = POOL) -> float:
    """`workers` senders sending every message; kept-open connections, or one per message."""
    work = personalised(count)
    queue: asyncio.Queue[tuple[str, int, str, str, int]] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)

    async def worker() -> None:
        """Send queued messages until none are left."""
        client: aiosmtplib.SMTP | None = None
        while not queue.empty():
            address, guest_id, first, last, cents = queue.get_nowait()
            recipient = Recipient(first, last, None, Decimal(cents).scaleb(-2))
            raw = message_for(cfg, address, guest_id, recipient)
            if client is None:
                client = await open_connection(cfg)
            await client.sendmail(cfg.sender_email, [address], raw)
            if reconnect:
                await client.quit()
                client = None
        if client is not None:
            await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - started


async def engine_run(sink: Sink, count: int, data_dir: Path) -> float:
    """The engine sends an email mailing to `count` guests; seconds from launch to done."""
    db = await open_db(data_dir)
    await add_guests(db, count)
    cfg = sink.config()
    box = SecretBox.load_or_create(data_dir)
    now = datetime.now(UTC)
    await MailingSettingsRepository(db).save_verified(
        SmtpSettings(
            host=cfg.host,
            port=cfg.port,
            username=sink.user,
            password_encrypted=box.encrypt(sink.password),
            security="starttls",
            sender_email=SENDER,
            sender_name=cfg.sender_name,
            verified_at=now,
            updated_at=now,
            updated_by=None,
        )
    )
    await MailingSettingsRepository(db).set_channel("email", True, None)
    service = MailingSettingsService(db, box, AuditLog(db), tls_context=cfg.tls_context)
    # The fake Bot API is not needed: the admin's progress messages fail quietly.
    settings = settings_for(data_dir, "http://127.0.0.1:9", smtp_pool_size=POOL)
    engine = await make_engine(db, settings, service)
    try:
        mailing = await create_mailing(db, ["email"], text_html=TEMPLATE, subject=SUBJECT)
        return await run_mailing(engine, db, mailing)
    finally:
        await engine.stop()
        await engine.bot.session.close()
        await db.close()


def main() -> int:
    """Run the three ways, in turns, and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a smoke run with few messages")
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--serve-sink", metavar="CERT_DIR")
    args = parser.parse_args()
    if args.serve_sink:
        asyncio.run(serve_sink(args.serve_sink))
        return 0
    count = args.messages or (300 if args.quick else 5000)
    rounds = args.rounds or (1 if args.quick else 3)
    once_count = max(count // 10, 50)  # a tenth is plenty to time the slow ways
    times: dict[str, list[float]] = {"engine": [], "kept": [], "once": [], "once1": []}
    sent: dict[str, list[Any]] = {name: [] for name in times}
    with tempfile.TemporaryDirectory() as tmp:
        child = ServerProcess([str(Path(__file__).resolve()), "--serve-sink", f"{tmp}/cert"])
        try:
            sink = Sink(**child.info)
            cfg = sink.config()
            asyncio.run(bare_loop(cfg, 30, reconnect=False))  # warm up (imports, TLS)
            gc.freeze()
            child.ask("reset")
            ways: dict[str, Any] = {
                "engine": lambda turn: engine_run(sink, count, Path(tmp) / f"engine{turn}"),
                "kept": lambda turn: bare_loop(cfg, count, reconnect=False),
                "once": lambda turn: bare_loop(cfg, once_count, reconnect=True),
            }
            order = list(ways)
            for turn in range(rounds):
                for name in order[turn % 3 :] + order[: turn % 3]:
                    times[name].append(asyncio.run(ways[name](turn)))
                    sent[name].append(child.ask("reset"))
            times["once1"].append(
                asyncio.run(bare_loop(cfg, once_count, reconnect=True, workers=1))
            )
            sent["once1"].append(child.ask("reset"))
        finally:
            child.close()
    median = {name: statistics.median(t) for name, t in times.items()}

    def row(name: str, scenario: str) -> Row:
        stats = sent[name][0]
        return Row(scenario, stats["messages"], median[name], peak_mb(),
                   f"{stats['connections']} connections")  # fmt: skip

    rows = [
        row("engine", f"engine, pool of {POOL}, journal in SQLite"),
        row("kept", f"baseline: bare loop, {POOL} kept-open connections"),
        row("once", f"baseline: connect once per message, {POOL} at a time"),
        row("once1", "  (the same, one at a time: information only)"),
    ]
    title = f"Email delivery: {count} personalised messages, STARTTLS + AUTH"
    print_table(f"{title} (median of {rounds} rounds)", rows)
    vs_kept = rows[0].rate / rows[1].rate
    vs_once = rows[0].rate / rows[2].rate
    pairs = zip(times["engine"], times["once"], strict=True)
    per_round = ", ".join(f"{(count / e) / (once_count / o):.1f}x" for e, o in pairs)
    print(f"engine / bare kept-open loop: {vs_kept:.1%} (target >= 80%)")
    print(f"engine / connect per message, {POOL} at a time: {vs_once:.1f}x (target >= 5x; "
          f"rounds: {per_round}); / one at a time: {rows[0].rate / rows[3].rate:.1f}x")  # fmt: skip
    delivered = all(stats["messages"] == count for stats in sent["engine"])
    ok = vs_kept >= 0.8 and vs_once >= 5 and delivered
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
