"""Killing the bot mid-mailing: nobody gets the same mailing twice, every row ends terminal.

The bot runs as operators run it (`python -m bot` with a .env) against the fake
Bot API and a real SMTP server in this process, and is killed with SIGKILL at
random moments of a 2,000-guest mailing on both channels, then started again.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.db import Database
from storage.schema import migrate
from tests.delivery_smtp import sink
from tests.delivery_world import CHAT_BASE, add_guests, create_mailing, use_smtp
from tests.fakes.botapi import FakeBotAPI

ROOT = Path(__file__).resolve().parents[1]
GUESTS = 2000
KILLS = 6
TERMINAL = {"sent", "failed", "skipped", "unknown"}


def _env() -> dict[str, str]:
    """The environment of the bot process: this one's, minus settings, plus the repo."""
    drop = ("BOT_", "ADMIN_", "DATA_", "TIMEZONE", "LOCALE", "TELEGRAM_", "LOG_LEVEL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PYTHONPATH"] = str(ROOT)
    return env


async def _start(cwd: Path) -> asyncio.subprocess.Process:
    """`python -m bot` in cwd (its .env points at the fakes)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=cwd,
        env=_env(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_sigkill_at_random_moments_never_sends_twice_and_every_row_ends(
    tmp_path: Path, api: FakeBotAPI
) -> None:
    seed = int(os.environ.get("CRASH_SEED", random.randrange(1 << 30)))
    rnd = random.Random(seed)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    db = await Database(data_dir / "probonus.sqlite3").open()
    await migrate(db.conn)
    await add_guests(db, range(1, GUESTS + 1))
    async with sink() as server:
        await use_smtp(db, data_dir, server)
        mailing = await create_mailing(
            db, channels=["telegram", "email"], when=datetime.now(UTC) - timedelta(seconds=5)
        )
        (tmp_path / ".env").write_text(
            f"BOT_TOKEN={api.token}\nADMIN_IDS=1001\nTELEGRAM_API_URL={api.base_url}\n"
            "DATA_DIR=./data\nTELEGRAM_RATE=1000\nLOCALE=en\nLOG_LEVEL=WARNING\n"
        )

        def delivered() -> int:
            """Messages that reached a guest so far, on both channels."""
            guest_sends = [c for c in api.calls if c.ok and (c.chat_id or 0) >= CHAT_BASE]
            return len(guest_sends) + len(server.received)

        loop = asyncio.get_running_loop()
        kills = 0
        while kills < KILLS:
            proc = await _start(tmp_path)
            target = delivered() + rnd.randint(40, 500)
            deadline = loop.time() + 20
            while True:  # let it send a random stretch, then kill it
                if delivered() >= target or proc.returncode is not None:
                    break
                if loop.time() > deadline:
                    break
                await asyncio.sleep(0.005)
            status = await db.fetchval("SELECT status FROM mailings WHERE id = ?", (mailing.id,))
            if proc.returncode is not None or status != "running":
                err = await proc.stderr.read() if proc.stderr else b""
                raise AssertionError(f"seed {seed}: bot ended early ({status}): {err.decode()}")
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            kills += 1

        proc = await _start(tmp_path)
        try:
            deadline = loop.time() + 60
            while loop.time() < deadline:
                status = await db.fetchval(
                    "SELECT status FROM mailings WHERE id = ?", (mailing.id,)
                )
                if status == "completed":
                    break
                await asyncio.sleep(0.1)
            assert status == "completed", f"seed {seed}: the mailing is {status}"
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 20)
        per_email = Counter(r for m in server.received for r in m.rcpt_tos)

    rows = [
        dict(r)
        for r in await db.fetchall(
            "SELECT d.channel, d.status, d.address, g.id AS guest FROM deliveries d "
            "JOIN guests g ON g.id = d.guest_id WHERE d.mailing_id = ?",
            (mailing.id,),
        )
    ]
    await db.close()
    per_chat = Counter(c.chat_id for c in api.calls if c.ok and (c.chat_id or 0) >= CHAT_BASE)
    message = f"seed {seed}"
    # Nobody received the mailing twice on a channel.
    assert max(per_chat.values()) == 1, message
    assert max(per_email.values()) == 1, message
    # Every row is terminal and the rows add up to the segment on each channel.
    assert {r["status"] for r in rows} <= TERMINAL, message
    assert len({r["guest"] for r in rows}) == GUESTS, message
    by_channel = Counter(r["channel"] for r in rows)
    assert by_channel == {"telegram": GUESTS, "email": GUESTS}, message
    # The journal agrees with what arrived: sent rows arrived once, failed ones never;
    # unknown rows were in flight at a kill (arrived or not).
    for row in rows:
        received = (
            per_chat[int(row["address"])]
            if row["channel"] == "telegram"
            else per_email[row["address"]]
        )
        if row["status"] == "sent":
            assert received == 1, (message, row)
        elif row["status"] in ("failed", "skipped"):
            assert received == 0, (message, row)
    unknown = sum(r["status"] == "unknown" for r in rows)
    assert unknown <= KILLS * 2 * 3 * 32, message  # a few per kill at most, never the list
    statuses = Counter((r["channel"], r["status"]) for r in rows)
    print(f"{message}: {kills} kills, {unknown} unknown rows, {dict(statuses)}")
