"""The progress message always ends showing the mailing's final state, however short the run."""

from __future__ import annotations

from tests.conftest import ADMIN, BotFactory
from tests.delivery_world import add_guests, create_mailing, engine_of, wait_status, wait_until


async def test_a_mailing_shorter_than_the_edit_interval_ends_edited_to_completed(
    start_bot: BotFactory,
) -> None:
    bot = await start_bot()
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 3))  # two guests: the run takes well under 3 s
    mailing = await create_mailing(db)
    await engine_of(bot).launch(mailing.id)
    await wait_status(db, mailing.id, "completed")

    def progress_texts() -> list[str]:
        texts = [m.plain_text or "" for m in bot.api.messages[ADMIN].values()]
        return [t for t in texts if t.startswith("📨")]

    await wait_until(lambda: "completed" in "".join(progress_texts()), what="the final edit")
    [progress] = progress_texts()
    assert "running" not in progress
    assert "Reached: 2 of 2 guests" in progress, progress
