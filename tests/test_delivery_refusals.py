"""What an SMTP refusal says about the guest: only a mailbox that does not exist marks the
address bounced; a refusal of our server (a blocklist, relaying, a policy) leaves the guest's
address alone and counts against the channel, which pauses with a notice."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ADMIN, RunningBot
from tests.delivery_smtp import sink
from tests.delivery_world import (
    add_guests,
    create_mailing,
    email_of,
    engine_of,
    journal,
    use_smtp,
    wait_status,
    wait_until,
)

BLOCKLISTED = (
    "550 5.7.1 Service unavailable; client host [203.0.113.7] blocked using zen.spamhaus.org"
)


async def email_statuses(bot: RunningBot) -> dict[str, str]:
    """Each guest's email status by address."""
    assert bot.app is not None
    rows = await bot.app.db.fetchall("SELECT email, email_status FROM guests")
    return {str(r[0]): str(r[1]) for r in rows}


async def test_only_a_mailbox_that_does_not_exist_marks_the_address_bounced(
    bot: RunningBot, data_dir: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 10))
    refusals = {
        email_of(7): "550 5.1.0 <mailer@probonus.test>: Sender address rejected: User unknown "
        "in virtual mailbox table",
        email_of(8): "550 5.7.1 No such user!",
        email_of(9): "550 5.5.0 Requested action not taken: mailbox unavailable",
        email_of(1): "550 5.1.1 <guest1@example.test>: Recipient address rejected: User unknown",
        email_of(2): BLOCKLISTED,
        email_of(3): "552 5.2.2 Mailbox full",
        email_of(4): "550 Relaying denied",
        email_of(5): "550 No such user here",
    }
    async with sink(refusals=refusals) as server:
        await use_smtp(db, data_dir, server)
        mailing = await create_mailing(db, channels=["email"])
        await engine_of(bot).launch(mailing.id)
        assert await wait_status(db, mailing.id, "completed") == "completed"
        assert server.recorder.per_recipient() == {email_of(6): 1}
    rows = {r["address"]: r for r in await journal(db, mailing.id)}
    assert {a: (r["status"], r["error_code"]) for a, r in rows.items()} == {
        email_of(1): ("failed", "bounced"),
        email_of(2): ("failed", "smtp_refused"),
        email_of(3): ("failed", "smtp_refused"),
        email_of(4): ("failed", "smtp_refused"),
        email_of(5): ("failed", "bounced"),
        email_of(6): ("sent", None),
        email_of(7): ("failed", "smtp_refused"),  # our sender was refused, not the guest
        email_of(8): ("failed", "bounced"),
        email_of(9): ("failed", "bounced"),
    }
    assert "spamhaus" in rows[email_of(2)]["error"]
    statuses = await email_statuses(bot)
    bounced = [a for a, s in sorted(statuses.items()) if s == "bounced"]
    assert bounced == [email_of(i) for i in (1, 5, 8, 9)]


async def test_a_blocklisted_server_pauses_email_without_marking_the_guests(
    bot: RunningBot, data_dir: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    engine = engine_of(bot)
    engine.failure_limit = 3
    await add_guests(db, range(1, 11))
    async with sink(refusals={email_of(i): BLOCKLISTED for i in range(1, 11)}) as server:
        await use_smtp(db, data_dir, server)
        mailing = await create_mailing(db, channels=["email"])
        await engine.launch(mailing.id)
        assert await wait_status(db, mailing.id, "paused") == "paused"
    await wait_until(
        lambda: any("paused after" in t for t in bot.api.sent_texts(ADMIN)), what="the notice"
    )
    notice = next(t for t in bot.api.sent_texts(ADMIN) if "paused after" in t)
    assert "spamhaus" in notice
    rows = await journal(db, mailing.id)
    # A few failed before the pause; the rest wait for the admin, nobody is marked bounced.
    assert sum(r["status"] == "failed" for r in rows) <= 3 + engine.pool_size
    assert sum(r["status"] == "pending" for r in rows) >= 10 - 3 - engine.pool_size
    assert set((await email_statuses(bot)).values()) == {"active"}
