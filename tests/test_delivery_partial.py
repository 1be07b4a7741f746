"""A message that only partly reached the guest (the photo came, the text after it did not)
fails its row but is never tried on the next channel: the guest would get it twice."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunningBot
from tests.delivery_smtp import sink
from tests.delivery_world import (
    add_guests,
    chat_of,
    create_mailing,
    email_of,
    engine_of,
    journal,
    jpeg_in,
    use_smtp,
    wait_status,
)


async def test_photo_arrived_text_refused_fails_the_row_without_an_email_fallback(
    bot: RunningBot, data_dir: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 4))
    long_text = "{first_name}, " + "очень длинное описание меню. " * 60  # photo, then text
    # Guest 2 blocks the bot between the photo and the text.
    bot.api.fail_next("sendMessage", status=403, chat_id=chat_of(2))
    async with sink() as server:
        await use_smtp(db, data_dir, server)
        mailing = await create_mailing(
            db,
            channels=["telegram", "email"],
            send_mode="priority",
            image_path=jpeg_in(data_dir),
            text=long_text,
        )
        await engine_of(bot).launch(mailing.id)
        assert await wait_status(db, mailing.id, "completed") == "completed"
        assert server.recorder.per_recipient() == {}  # nobody needed the fallback
    assert [m.kind for m in bot.api.messages[chat_of(2)].values()] == ["photo"]
    rows = {(r["phone"], r["channel"]): r for r in await journal(db, mailing.id)}
    refused = rows[("+79000000002", "telegram")]
    assert (refused["status"], refused["error_code"]) == ("failed", "blocked")
    assert "only the photo arrived" in refused["error"]
    assert ("+79000000002", "email") not in rows
    assert email_of(2) not in {r["address"] for r in rows.values()}
    # The guest did block the bot: the next mailing skips their Telegram.
    status = await db.fetchval("SELECT tg_status FROM guests WHERE tg_chat_id = ?", (chat_of(2),))
    assert status == "blocked"
