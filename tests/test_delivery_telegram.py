"""Telegram deliveries end to end: the fake Bot API plays Telegram and the guests."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from pathlib import Path

from bot.delivery.limiter import RateLimiter
from tests.conftest import ADMIN, BotFactory, RunningBot
from tests.delivery_world import (
    add_guests,
    chat_of,
    create_mailing,
    engine_of,
    journal,
    journal_counts,
    jpeg_in,
    press_now,
    wait_status,
    wait_until,
)
from tests.fakes.botapi import Call


def _received(bot: RunningBot, method: str = "sendMessage") -> Counter[int]:
    """Successful sends per guest chat (the admin's chat left out)."""
    return Counter(
        c.chat_id for c in bot.api.calls_of(method) if c.ok and c.chat_id not in (None, ADMIN)
    )


async def test_each_reachable_guest_gets_the_message_once_and_the_journal_names_the_rest(
    bot: RunningBot,
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 6))
    await add_guests(db, [6], telegram=False)
    await add_guests(db, [7], tg_status="blocked")
    await add_guests(db, [8], tg_status="unsubscribed")
    mailing = await create_mailing(db)
    assert await engine_of(bot).launch(mailing.id)
    assert await wait_status(db, mailing.id, "completed") == "completed"
    assert _received(bot) == {chat_of(i): 1 for i in range(1, 6)}
    text = bot.api.calls_of("sendMessage", chat_of(1))[0].params["text"]
    assert text == "Здравствуйте, <b>Анна</b>! Ваш баланс: 1\xa0500,01 ₽"
    rows = {r["phone"]: r for r in await journal(db, mailing.id)}
    assert len(rows) == 8  # every guest of the segment is accounted for
    assert rows["+79000000001"]["status"] == "sent"
    assert rows["+79000000001"]["external_id"].isdigit()
    reasons = {p: (r["status"], r["error_code"]) for p, r in rows.items() if r["status"] != "sent"}
    assert reasons == {
        "+79000000006": ("skipped", "no_telegram"),
        "+79000000007": ("skipped", "blocked"),
        "+79000000008": ("skipped", "unsubscribed"),
    }
    await bot.expect(ADMIN, "is complete", 0, timeout=15)
    await bot.settle()
    summary = bot.api.sent_texts(ADMIN)[-1]
    assert "is complete" in summary and "Reached: 5 of 8 guests" in summary
    assert "Failed (no channel delivered): 0 guests" in summary
    assert "Unreachable by the chosen channels: 3 guests" in summary


async def test_a_429_storm_pauses_every_send_and_nobody_is_lost_or_doubled(
    bot: RunningBot,
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 21))
    for i in (3, 4, 5, 9):
        bot.api.fail_next("sendMessage", status=429, retry_after=1, chat_id=chat_of(i))
    mailing = await create_mailing(db)
    started = time.monotonic()
    await engine_of(bot).launch(mailing.id)
    await wait_status(db, mailing.id, "completed")
    assert time.monotonic() - started >= 1.0  # everyone waited retry_after
    assert _received(bot) == {chat_of(i): 1 for i in range(1, 21)}
    assert engine_of(bot).limiter.pauses >= 1
    # After the 429, no send went out before retry_after had passed.
    refused = [c for c in bot.api.calls_of("sendMessage") if c.status == 429]
    first_refusal = min(c.at for c in refused)
    later = [c for c in bot.api.calls_of("sendMessage") if c.ok and c.at > first_refusal]
    assert later and min(c.at for c in later) - first_refusal >= 0.95


async def test_a_guest_who_blocked_the_bot_gets_nothing_and_is_marked_blocked(
    bot: RunningBot,
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 4))
    bot.api.block_chat(chat_of(2))
    mailing = await create_mailing(db)
    await engine_of(bot).launch(mailing.id)
    await wait_status(db, mailing.id, "completed")
    rows = {r["address"]: r for r in await journal(db, mailing.id)}
    assert rows[str(chat_of(2))]["status"] == "failed"
    assert rows[str(chat_of(2))]["error_code"] == "blocked"
    assert "blocked" in rows[str(chat_of(2))]["error"]
    status = await db.fetchval("SELECT tg_status FROM guests WHERE tg_chat_id = ?", (chat_of(2),))
    assert status == "blocked"


async def test_chat_not_found_fails_the_row_and_a_5xx_is_retried(bot: RunningBot) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 6))
    bot.api.known_chats = {ADMIN, *(chat_of(i) for i in (1, 2, 3, 4))}
    bot.api.fail_next("sendMessage", status=502, count=2, chat_id=chat_of(2))
    bot.api.fail_next("sendMessage", status=500, count=3, chat_id=chat_of(3))
    mailing = await create_mailing(db)
    await engine_of(bot).launch(mailing.id)
    await wait_status(db, mailing.id, "completed")
    rows = {r["address"]: r for r in await journal(db, mailing.id)}
    assert rows[str(chat_of(5))]["error_code"] == "chat_not_found"
    assert rows[str(chat_of(2))]["status"] == "sent"  # two 502s, then through
    assert rows[str(chat_of(3))]["status"] == "failed"  # three tries, then given up
    assert rows[str(chat_of(3))]["error_code"] == "telegram_error"
    assert _received(bot) == {chat_of(1): 1, chat_of(2): 1, chat_of(4): 1}


async def test_a_send_whose_answer_was_lost_is_unknown_never_resent_until_the_admin_says(
    bot: RunningBot,
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 4))
    bot.api.fail_next("sendMessage", status=0, deliver=True, chat_id=chat_of(2))
    mailing = await create_mailing(db)
    await engine_of(bot).launch(mailing.id)
    await wait_status(db, mailing.id, "completed")
    rows = {r["address"]: r for r in await journal(db, mailing.id)}
    assert rows[str(chat_of(2))]["status"] == "unknown"
    assert len(bot.api.messages.get(chat_of(2), {})) == 1  # it did arrive, once
    await bot.expect(ADMIN, "is complete", 0, timeout=15)
    await bot.settle()
    assert "Unknown (in flight when the bot stopped): 1 guest" in bot.api.sent_texts(ADMIN)[-1]
    await bot.press(ADMIN, "Resend unknown")
    await wait_status(db, mailing.id, "completed")
    await wait_until(lambda: len(bot.api.messages.get(chat_of(2), {})) == 2, what="the resend")
    assert await journal_counts(db, mailing.id) == {("telegram", "sent"): 3}


async def test_the_photo_is_uploaded_once_then_sent_by_file_id_with_the_caption(
    bot: RunningBot, data_dir: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 6))
    mailing = await create_mailing(db, image_path=jpeg_in(data_dir))
    await engine_of(bot).launch(mailing.id)
    await wait_status(db, mailing.id, "completed")
    photos = [c for c in bot.api.calls_of("sendPhoto") if c.ok]
    assert len(photos) == 5 and not _received(bot)
    uploads = [c for c in photos if "photo" in c.files]
    assert len(uploads) == 1
    file_id = await db.fetchval("SELECT image_file_id FROM mailings WHERE id = ?", (mailing.id,))
    assert file_id and all(c.params["photo"] == file_id for c in photos if c not in uploads)
    assert all("Здравствуйте" in c.params["caption"] for c in photos)


async def test_a_text_too_long_for_a_caption_follows_the_photo_and_image_only_works(
    bot: RunningBot, data_dir: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 3))
    long_text = "{first_name}, " + "очень длинное описание меню. " * 60
    image = jpeg_in(data_dir)
    mailing = await create_mailing(db, image_path=image, text=long_text)
    await engine_of(bot).launch(mailing.id)
    await wait_status(db, mailing.id, "completed")
    for i in (1, 2):
        kinds = [m.kind for m in bot.api.messages[chat_of(i)].values()]
        assert kinds == ["photo", "text"]
    rows = await journal(db, mailing.id)
    assert all(len(r["external_id"].split(",")) == 2 for r in rows)

    only_image = await create_mailing(db, image_path=image, text=None, name="Только фото")
    await engine_of(bot).launch(only_image.id)
    await wait_status(db, only_image.id, "completed")
    last = bot.api.last_message(chat_of(1))
    assert last.kind == "photo" and not last.text


async def test_the_admin_sees_one_progress_message_edited_at_most_every_3_seconds(
    start_bot: BotFactory,
) -> None:
    bot = await start_bot(telegram_rate=5)
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 36))
    mailing = await create_mailing(db)
    await engine_of(bot).launch(mailing.id)
    await wait_status(db, mailing.id, "completed", timeout=30)

    def admin_sends() -> list[Call]:
        return [c for c in bot.api.calls_of("sendMessage", ADMIN) if c.ok]

    # The summary takes its slot of the bot's budget (5/s here) after the last sends.
    await wait_until(lambda: len(admin_sends()) >= 2, what="the summary")
    await bot.settle()
    assert len(admin_sends()) == 2  # the progress message and the summary
    progress_id = admin_sends()[0].result["message_id"]
    edits: list[Call] = [
        c
        for c in bot.api.calls_of("editMessageText", ADMIN)
        if c.params.get("message_id") == progress_id
    ]
    assert len(edits) >= 2
    running = edits[:-1]  # the last one shows the final state at once
    gaps = [b.at - a.at for a, b in itertools.pairwise(running)]
    assert all(gap >= 2.9 for gap in gaps), gaps
    assert "Rate:" in running[-1].params["text"] and "time left" in running[-1].params["text"]
    assert "completed" in edits[-1].params["text"]


async def test_pause_resume_and_cancel_from_the_buttons(start_bot: BotFactory) -> None:
    bot = await start_bot(telegram_rate=10)
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 41))
    mailing = await create_mailing(db)
    await engine_of(bot).launch(mailing.id)
    await wait_until(lambda: len(_received(bot)) >= 3, what="the first sends")
    await press_now(bot, ADMIN, "Pause")
    assert await wait_status(db, mailing.id, "paused") == "paused"
    await asyncio.sleep(0.5)
    paused_at = sum(_received(bot).values())
    await asyncio.sleep(0.5)
    assert sum(_received(bot).values()) == paused_at  # nothing goes out while paused
    counts = await journal_counts(db, mailing.id)
    assert counts[("telegram", "sending")] == 0
    assert counts[("telegram", "sent")] + counts[("telegram", "pending")] == 40

    await press_now(bot, ADMIN, "Resume")
    assert await wait_status(db, mailing.id, "running") == "running"
    await wait_until(lambda: sum(_received(bot).values()) > paused_at + 2, what="more sends")
    await press_now(bot, ADMIN, "Cancel mailing")
    await press_now(bot, ADMIN, "Yes, cancel it")
    assert await wait_status(db, mailing.id, "cancelled") == "cancelled"
    sent = sum(_received(bot).values())
    await asyncio.sleep(0.4)
    assert sum(_received(bot).values()) == sent
    counts = await journal_counts(db, mailing.id)
    assert set(counts) <= {("telegram", "sent"), ("telegram", "skipped")}
    assert counts[("telegram", "sent")] == sent
    assert counts[("telegram", "sent")] + counts[("telegram", "skipped")] == 40
    rows = await journal(db, mailing.id)
    assert {r["error_code"] for r in rows if r["status"] == "skipped"} == {"cancelled"}
    assert max(_received(bot).values()) == 1


async def test_the_limiter_spaces_sends_evenly_and_a_429_holds_everyone() -> None:
    rate = 50
    limiter = RateLimiter(rate)
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def sender() -> None:
        """Sixteen sends, as one worker of a mailing would."""
        for _ in range(16):
            await limiter.acquire()
            times.append(loop.time())

    await asyncio.gather(*(sender() for _ in range(5)))
    times.sort()
    assert len(times) == 80  # more sends than the rate: a one-second window can overflow
    # No send goes before its slot: the k-th comes k/rate seconds after the first at the
    # earliest (a late wake-up may shorten one gap, never bring a later send forward).
    slack = 0.001
    early = [k for k, at in enumerate(times) if at - times[0] < k / rate - slack]
    assert not early, early
    # So no one-second window holds more than `rate` sends.
    busiest = max(sum(1 for t in times if s <= t < s + 1.0) for s in times)
    assert busiest <= rate, busiest
    limiter.pause(0.3)
    before = loop.time()
    await limiter.acquire()
    assert loop.time() - before >= 0.29


def test_a_template_parsed_once_renders_exactly_as_render_telegram() -> None:
    """The sender parses the mailing's text once per run; every guest's text is unchanged."""
    from datetime import date
    from decimal import Decimal

    from bot.render import Recipient, RenderContext, TelegramTemplate, render_telegram

    texts = [
        "Здравствуйте, <b>{first_name}</b>! Баланс: {balance} ₽ на {today}.",
        "{first_name}, привет!\n{full_name} {middle_name} {{не поле}} {last_name}.",
        "Без полей вовсе",
    ]
    guests = [
        Recipient("Анна", "Иванова", None, Decimal("1500.01")),
        Recipient(None, " Пётр\x07 ", "Ильич", Decimal("0")),
        Recipient("<i>&", "", "", Decimal("1234567")),
    ]
    for locale in ("ru", "en"):
        ctx = RenderContext(locale, date(2026, 3, 8))
        for text in texts:
            template = TelegramTemplate(text)
            for guest in guests:
                assert template.render(guest, ctx) == render_telegram(text, guest, ctx)
