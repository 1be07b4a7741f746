"""The admin's buttons racing the run: Resume while another channel still sends, Cancel while
sends hang past the engine's wait, Resend unknown as the run ends, a restart whose progress
edit is refused for now. Nothing is lost, nothing goes out after Cancel, no row is left open."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import bot.delivery.engine as engine_module
import bot.delivery.journal as journal_module
from storage.mailings import Mailing
from tests.conftest import ADMIN, BotFactory, RunningBot
from tests.delivery_smtp import sink
from tests.delivery_world import (
    add_guests,
    chat_of,
    create_mailing,
    email_of,
    engine_of,
    journal,
    journal_counts,
    leave_crashed_run,
    offline_db,
    press_now,
    status_of,
    use_smtp,
    wait_status,
    wait_until,
)


def guest_sends(bot: RunningBot) -> list[float]:
    """When each message to a guest (not the admin) was answered."""
    return [c.at for c in bot.api.calls_of("sendMessage") if c.chat_id != ADMIN and c.ok]


def progress_text(bot: RunningBot) -> str:
    """The progress message as the admin sees it now."""
    texts = [m.plain_text or "" for m in bot.api.messages.get(ADMIN, {}).values()]
    return next(t for t in texts if t.startswith("📨"))


async def mailing_under_way(start_bot: BotFactory) -> tuple[RunningBot, Mailing]:
    """A bot at 10 messages a second sending a mailing to 30 guests, the first few out."""
    bot = await start_bot(telegram_rate=10)
    assert bot.app is not None
    await add_guests(bot.app.db, range(1, 31))
    mailing = await create_mailing(bot.app.db)
    await engine_of(bot).launch(mailing.id)
    await wait_until(lambda: len(guest_sends(bot)) >= 3, what="the first sends")
    return bot, mailing


async def test_resume_sends_a_paused_email_while_telegram_is_still_sending(
    bot: RunningBot, data_dir: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    engine = engine_of(bot)
    engine.failure_limit = 2
    await add_guests(db, range(1, 13))
    # The first Telegram answer comes late: the run's Telegram side is busy for a while,
    # with that row `sending` (its request in flight) until then.
    bot.api.fail_next("sendMessage", status=200, delay=8, chat_id=chat_of(1))
    async with sink() as server:
        await use_smtp(db, data_dir, server)
        await server.stop()
        mailing = await create_mailing(db, channels=["telegram", "email"])
        await engine.launch(mailing.id)
        await wait_until(
            lambda: any("paused after" in t for t in bot.api.sent_texts(ADMIN)),
            what="the email channel's notice",
        )
        assert await status_of(db, mailing.id) == "running"  # Telegram goes on
        await server.start()
        await press_now(bot, ADMIN, "Resume")

        async def email_done() -> bool:
            return (await journal_counts(db, mailing.id))[("email", "sent")] == 12

        await wait_until(email_done, timeout=6, what="the emails after Resume")
        # Resumed within the run: the late Telegram answer has not even come yet.
        assert (await journal_counts(db, mailing.id))[("telegram", "sending")] >= 1
        assert await wait_status(db, mailing.id, "completed") == "completed"
        assert server.recorder.per_recipient() == {email_of(i): 1 for i in range(1, 13)}
    assert await journal_counts(db, mailing.id) == {("telegram", "sent"): 12, ("email", "sent"): 12}


async def test_cancel_while_sends_wait_out_a_429_sends_nothing_more_and_closes_every_row(
    start_bot: BotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The engine waits this long for in-flight sends before it cancels the rest.
    monkeypatch.setattr(engine_module, "STOP_TIMEOUT", 0.3)
    bot = await start_bot(telegram_rate=5)
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 11))
    # Telegram asks to wait 3 s at the first guest: every send waits for its slot.
    bot.api.fail_next("sendMessage", status=429, retry_after=3, chat_id=chat_of(1))
    mailing = await create_mailing(db)
    await engine_of(bot).launch(mailing.id)
    await wait_until(lambda: bot.api.rate_limited_count or bot.api.injected_count, what="429")
    assert await engine_of(bot).cancel(mailing.id)
    cancelled_at = asyncio.get_running_loop().time()
    assert await status_of(db, mailing.id) == "cancelled"
    await engine_of(bot).wait(mailing.id)  # the run's last sends end

    # The one send that met the 429 was already on its way; nothing else went out.
    assert len([t for t in guest_sends(bot) if t > cancelled_at]) <= 1
    counts = await journal_counts(db, mailing.id)
    assert set(counts) <= {("telegram", "sent"), ("telegram", "skipped")}
    assert counts[("telegram", "sent")] == len(guest_sends(bot))
    assert sum(counts.values()) == 10
    rows = await journal(db, mailing.id)
    assert {r["error_code"] for r in rows if r["status"] == "skipped"} == {"cancelled"}
    # The progress message ends saying cancelled, with the final figures.
    assert any("was cancelled" in t for t in bot.api.sent_texts(ADMIN))
    sent = counts[("telegram", "sent")]
    final = [f"Reached: {sent} of 10 guest"]
    if sent < 10:
        final.append(f"Not sent (cancelled or held back): {10 - sent} guest")
    await wait_until(
        lambda: (
            "cancelled" in progress_text(bot)
            and all(line in progress_text(bot) for line in final)
            and "Still to send" not in progress_text(bot)
        ),
        what="the final progress",
    )


async def test_resend_unknown_as_the_run_ends_is_sent_before_it_completes(
    bot: RunningBot,
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 6))
    # Guest 2's answer is lost: unknown. The last guest's answer comes late, so the
    # run is still going when the admin resends the unknown one.
    bot.api.fail_next("sendMessage", status=0, deliver=False, chat_id=chat_of(2))
    bot.api.fail_next("sendMessage", status=200, delay=1.5, chat_id=chat_of(5))
    mailing = await create_mailing(db)
    engine = engine_of(bot)
    await engine.launch(mailing.id)

    async def unknown_written() -> bool:
        return (await journal_counts(db, mailing.id))[("telegram", "unknown")] == 1

    await wait_until(unknown_written, what="the unknown row")
    assert await engine.resend_unknown(mailing.id) == 1
    assert await wait_status(db, mailing.id, "completed") == "completed"
    assert await journal_counts(db, mailing.id) == {("telegram", "sent"): 5}
    reached = [c.chat_id or 0 for c in bot.api.calls_of("sendMessage") if c.ok]
    assert sorted(c for c in reached if c != ADMIN) == [chat_of(i) for i in range(1, 6)]


async def test_a_crash_just_after_cancel_leaves_the_rows_in_flight_unknown_not_open(
    start_bot: BotFactory, data_dir: Path
) -> None:
    db = await offline_db(data_dir)
    await add_guests(db, range(1, 5))
    mailing = await create_mailing(db)
    # The state a process killed right after Cancel leaves: the mailing cancelled, the
    # unsent rows skipped, one send still in flight (its run never ended).
    await leave_crashed_run(db, mailing, 4, status="cancelled", rest="skipped")
    await db.close()
    bot = await start_bot()
    assert bot.app is not None
    db = bot.app.db

    async def recovered() -> bool:
        return (await journal_counts(db, mailing.id))[("telegram", "sending")] == 0

    await wait_until(recovered, what="the recovery")
    assert await journal_counts(db, mailing.id) == {
        ("telegram", "sent"): 1,
        ("telegram", "unknown"): 1,
        ("telegram", "skipped"): 2,
    }
    assert await status_of(db, mailing.id) == "cancelled"
    assert guest_sends(bot) == []


async def test_a_restart_keeps_one_progress_message_even_when_its_edit_must_wait(
    start_bot: BotFactory,
) -> None:
    bot, mailing = await mailing_under_way(start_bot)
    await bot.restart()  # a clean stop mid-run: the run resumes at start
    assert bot.app is not None
    # Telegram asks the first edit after the restart to wait.
    bot.api.fail_next("editMessageText", status=429, retry_after=1, chat_id=ADMIN)
    assert await wait_status(bot.app.db, mailing.id, "completed") == "completed"

    def progress() -> list[str]:
        texts = [m.plain_text or "" for m in bot.api.messages[ADMIN].values()]
        return [t for t in texts if t.startswith("📨")]

    # The final edit takes its slot of the bot's budget (the 429 paused it): wait for it.
    await wait_until(lambda: "completed" in "".join(progress()), what="the final progress")
    assert len(progress()) == 1


async def test_a_journal_that_cannot_write_pauses_the_mailing_and_tells_the_admin(
    start_bot: BotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "RETRIES", 1)  # give up on the first error
    bot, mailing = await mailing_under_way(start_bot)
    assert bot.app is not None
    await engine_of(bot).writer.close()  # the engine's database connection breaks
    assert await wait_status(bot.app.db, mailing.id, "paused") == "paused"
    await wait_until(
        lambda: any("stopped on an error" in t for t in bot.api.sent_texts(ADMIN)),
        what="the notice",
    )
    sent = len(guest_sends(bot))
    await asyncio.sleep(0.3)
    assert len(guest_sends(bot)) == sent  # it stopped rather than spinning on

    await engine_of(bot).writer.open()  # the connection is back; no restart
    await press_now(bot, ADMIN, "Resume")  # rows the broken run left in flight: unknown
    assert await wait_status(bot.app.db, mailing.id, "completed") == "completed"
    counts = await journal_counts(bot.app.db, mailing.id)
    assert set(counts) <= {("telegram", "sent"), ("telegram", "unknown")}
    assert sum(counts.values()) == 30
    reached = [c.chat_id for c in bot.api.calls_of("sendMessage") if c.ok and c.chat_id != ADMIN]
    assert len(reached) == len(set(reached))  # nobody got it twice
    assert counts[("telegram", "sent")] <= len(reached)
